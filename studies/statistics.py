"""Study statistics on plain tables; no database here.

Input is a long table with one row per (rater, presentation, case, output):
``rater, case, model, repeat (bool), valid (bool), rank (float, NaN unless valid and ranked)``
and optionally one float column per Asher-McDade scale. Main analyses use first presentations
only (``repeat == False``); repeats feed the intra-rater agreement.

Pairwise studies give a table of preferences (one row per pair: winner, loser), scored with
Bradley-Terry (:func:`bradley_terry`).

Definitions follow the paper (Chen et al., BHI 2022, Tables 3.1 and 3.2):
valid probability = outputs of the model marked valid / outputs of the model rated;
average ranking = mean rank (1 = best, among the valid outputs of a case) over the cases where
the model's output was valid.
For the Friedman test and Kendall's W every block (rater x case) needs a full ranking: invalid
outputs share the ranks after the valid ones (mid-rank), i.e. invalid counts as worse than any
valid output.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

REQUIRED_COLUMNS = ("rater", "case", "model", "repeat", "valid", "rank")


@dataclass(frozen=True)
class ModelSummary:
    model: str
    n_rated: int
    n_valid: int
    valid_probability: float | None
    valid_ci_low: float | None  # Wilson 95 %
    valid_ci_high: float | None
    n_ranked: int
    average_ranking: float | None
    ranking_sd: float | None


@dataclass(frozen=True)
class FriedmanResult:
    models: tuple[str, ...]
    mean_ranks: tuple[float, ...]  # full-ranking mean per model (invalid = tied last)
    n_blocks: int
    statistic: float
    df: int
    p_value: float
    kendall_w: float


@dataclass(frozen=True)
class AgreementResult:
    """Fleiss' kappa on validity between raters (outputs rated by every rater)."""

    kappa: float | None
    n_subjects: int
    n_raters: int
    observed_agreement: float | None


@dataclass(frozen=True)
class ICCResult:
    """Intraclass correlations of one scale with 95 % intervals from the F distribution
    (McGraw & Wong 1996, Shrout & Fleiss 1979), each interval bounded to [-1, 1]."""

    scale: str
    n_targets: int
    n_raters: int
    icc2k: float | None  # two-way random, absolute agreement, mean of k raters: ICC(2,k) = ICC(A,k)
    icc2k_ci: tuple[float, float] | None
    icc3k: float | None  # two-way mixed, consistency, mean of k raters: ICC(3,k) = ICC(C,k)
    icc3k_ci: tuple[float, float] | None
    icc21: float | None = None  # one rater, absolute agreement: ICC(2,1) = ICC(A,1)
    icc21_ci: tuple[float, float] | None = None
    icc31: float | None = None  # one rater, consistency: ICC(3,1) = ICC(C,1)
    icc31_ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class ScaleSummary:
    """Mean Asher-McDade score of one model on one scale (1 = very good ... 5 = very poor).

    Each output's scores are averaged over the raters who gave them, then over cases; the 95 %
    interval is the t interval over the case means (cases are the independent units)."""

    model: str
    scale: str
    n_scores: int
    n_cases: int
    mean: float | None
    sd: float | None  # of the case means
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class BradleyTerryModel:
    model: str
    wins: int
    comparisons: int
    score: float | None  # log strength, mean 0 over the models; +1 = e times the odds of being preferred
    ci_low: float | None  # bootstrap 95 % percentile interval (comparisons resampled, fixed seed)
    ci_high: float | None
    preference: float | None  # probability of being preferred over a model of average strength
    preference_low: float | None
    preference_high: float | None


@dataclass(frozen=True)
class BradleyTerryResult:
    models: tuple[BradleyTerryModel, ...]
    n_comparisons: int
    n_bootstrap: int
    prior: float  # pseudo-wins each way for every pair, so a model that always wins has a finite score
    seed: int


@dataclass(frozen=True)
class IntraRaterResult:
    rater: str
    n_repeated_cases: int
    n_outputs: int
    validity_agreement: float | None  # share of outputs judged the same both times
    validity_kappa: float | None  # Cohen's kappa, first vs repeat
    mean_kendall_tau: float | None  # full rankings, first vs repeat, averaged over cases


def check_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED_COLUMNS if c not in ratings.columns]
    if missing:
        raise ValueError(f"ratings table lacks columns {missing}")
    out = ratings.copy()
    out["valid"] = out["valid"].astype(bool)
    out["repeat"] = out["repeat"].astype(bool)
    out["rank"] = pd.to_numeric(out["rank"], errors="coerce")
    return out


def first_presentations(ratings: pd.DataFrame) -> pd.DataFrame:
    return ratings[~ratings["repeat"].astype(bool)]


def wilson_interval(count: int, n: int, alpha: float = 0.05) -> tuple[float, float] | None:
    if n <= 0:
        return None
    low, high = proportion_confint(count, n, alpha=alpha, method="wilson")
    return float(low), float(high)


def summarise_models(ratings: pd.DataFrame, models: tuple[str, ...] | None = None) -> tuple[ModelSummary, ...]:
    """Valid probability (Wilson 95 % CI) and average ranking per model, first presentations only."""
    data = first_presentations(check_ratings(ratings))
    names = models if models is not None else tuple(sorted(data["model"].unique()))
    result = []
    for name in names:
        rows = data[data["model"] == name]
        n, k = len(rows), int(rows["valid"].sum())
        ci = wilson_interval(k, n)
        ranks = rows.loc[rows["valid"], "rank"].dropna().to_numpy(float)
        result.append(ModelSummary(
            model=name, n_rated=n, n_valid=k, valid_probability=k / n if n else None,
            valid_ci_low=None if ci is None else ci[0], valid_ci_high=None if ci is None else ci[1],
            n_ranked=len(ranks), average_ranking=float(ranks.mean()) if len(ranks) else None,
            ranking_sd=float(ranks.std(ddof=1)) if len(ranks) > 1 else None))
    return tuple(result)


def summarise_by_rater(ratings: pd.DataFrame) -> dict[str, tuple[ModelSummary, ...]]:
    data = check_ratings(ratings)
    models = tuple(sorted(data["model"].unique()))
    return {str(r): summarise_models(g, models) for r, g in data.groupby("rater", sort=True)}


def full_rankings(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per block (rater, case, repeat), one column per model: complete ranks, invalid tied last."""
    data = check_ratings(ratings)
    models = sorted(data["model"].unique())
    rows, index = [], []
    for key, block in data.groupby(["rater", "case", "repeat"], sort=True):
        if set(block["model"]) != set(models) or len(block) != len(models):
            continue
        valid = block[block["valid"]]
        if valid["rank"].isna().any():
            continue  # unfinished ranking
        k, v = len(models), len(valid)
        tied_last = (v + 1 + k) / 2.0
        ranks = {m: tied_last for m in models}
        ranks.update(dict(zip(valid["model"], valid["rank"].astype(float))))
        rows.append([ranks[m] for m in models])
        index.append(key)
    return pd.DataFrame(rows, columns=models, index=pd.MultiIndex.from_tuples(
        index, names=["rater", "case", "repeat"]) if index else None)


def friedman_kendall(ratings: pd.DataFrame) -> FriedmanResult | None:
    """Friedman chi-square (tie-corrected) across models with Kendall's W = chi2 / (n (k - 1))."""
    table = full_rankings(first_presentations(check_ratings(ratings)))
    n, k = table.shape if len(table) else (0, 0)
    if n < 2 or k < 2:
        return None
    ranked = np.apply_along_axis(stats.rankdata, 1, table.to_numpy(float))
    rank_sums = ranked.sum(axis=0)
    ties = sum((c**3 - c).sum() for c in (np.unique(row, return_counts=True)[1] for row in ranked))
    denominator = 1.0 - ties / (n * (k**3 - k))
    if denominator <= 0:
        return None  # every block is one big tie: nothing to test
    chi2 = (12.0 / (n * k * (k + 1)) * np.sum(rank_sums**2) - 3.0 * n * (k + 1)) / denominator
    p = float(stats.chi2.sf(chi2, k - 1))
    return FriedmanResult(models=tuple(table.columns), mean_ranks=tuple(float(x) for x in ranked.mean(axis=0)),
                          n_blocks=n, statistic=float(chi2), df=k - 1, p_value=p,
                          kendall_w=float(chi2 / (n * (k - 1))))


def validity_agreement(ratings: pd.DataFrame) -> AgreementResult:
    """Fleiss' kappa (statsmodels) on valid/invalid, subjects = outputs rated by every rater."""
    data = first_presentations(check_ratings(ratings))
    wide = data.pivot_table(index=["case", "model"], columns="rater", values="valid", aggfunc="first")
    wide = wide.dropna()
    n_raters = wide.shape[1]
    if n_raters < 2 or len(wide) < 2:
        return AgreementResult(None, len(wide), n_raters, None)
    counts, _ = aggregate_raters(wide.to_numpy(dtype=int), n_cat=2)
    agree = float(np.mean([(row * (row - 1)).sum() / (n_raters * (n_raters - 1)) for row in counts]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kappa = float(fleiss_kappa(counts, method="fleiss"))
    return AgreementResult(_finite(kappa), len(wide), n_raters, agree)


def icc_table(table: np.ndarray, alpha: float = 0.05) -> dict[str, tuple[float, tuple[float, float]]]:
    """ICC(2,1), ICC(2,k), ICC(3,1), ICC(3,k) of a complete targets x raters table.

    Two-way ANOVA; point estimates as Shrout & Fleiss (1979); ``1 - alpha`` intervals from the
    F distribution as McGraw & Wong (1996, Table 7), with Satterthwaite's degrees of freedom for
    absolute agreement. An interval end outside [-1, 1] (possible with few targets for the mean of
    k raters, whose formula is not bounded below) is set to the bound, and so is an estimate (the
    estimators can leave [-1, 1] when targets hardly differ). Keys: ``"2,1"``, ``"2,k"``, ``"3,1"``,
    ``"3,k"``; a non-finite estimate is left out, an undefined interval is ``(nan, nan)``.
    """
    x = np.asarray(table, float)
    n, k = x.shape
    if n < 2 or k < 2 or not np.isfinite(x).all():
        return {}
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_err = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    df_r, df_c, df_e = n - 1, k - 1, (n - 1) * (k - 1)
    msr, msc, mse = ss_rows / df_r, ss_cols / df_c, max(ss_err, 0.0) / df_e
    out: dict[str, tuple[float, tuple[float, float]]] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        icc31 = (msr - mse) / (msr + (k - 1) * mse)
        icc3k = (msr - mse) / msr
        icc21 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        icc2k = (msr - mse) / (msr + (msc - mse) / n)
        # consistency: F = MSR / MSE on (n - 1, (n - 1)(k - 1)) degrees of freedom
        f_obs = msr / mse if mse > 0 else math.inf
        f_low = f_obs / stats.f.ppf(1 - alpha / 2, df_r, df_e)
        f_up = f_obs * stats.f.ppf(1 - alpha / 2, df_e, df_r)
        ci31 = ((f_low - 1) / (f_low + k - 1), (f_up - 1) / (f_up + k - 1))
        ci3k = (1 - 1 / f_low, 1 - 1 / f_up)
        if mse == 0 and msr > 0:  # every rater gave every target the same score: perfect agreement
            ci31 = ci3k = (1.0, 1.0)
        # absolute agreement: Satterthwaite's df for the denominator mean square
        a = k * icc21 / (n * (1 - icc21))
        b = 1 + k * icc21 * (n - 1) / (n * (1 - icc21))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / df_c + (b * mse) ** 2 / df_e)
        if math.isfinite(v) and v > 0:
            f_star = stats.f.ppf(1 - alpha / 2, df_r, v)
            f_star2 = stats.f.ppf(1 - alpha / 2, v, df_r)
            shared = k * msc + (k * n - k - n) * mse
            ci21 = (n * (msr - f_star * mse) / (f_star * shared + n * msr),
                    n * (f_star2 * msr - mse) / (shared + n * f_star2 * msr))
            # the mean of k raters: Spearman-Brown of the single-rater bounds (McGraw & Wong's
            # closed form, but defined where that form's denominator changes sign)
            ci2k = tuple(_spearman_brown(bound, k) for bound in ci21)
        elif mse == 0 and msr > 0:  # perfect agreement
            ci21 = ci2k = (1.0, 1.0)
        else:
            ci21 = ci2k = (math.nan, math.nan)
    for key, value, ci in (("2,1", icc21, ci21), ("2,k", icc2k, ci2k), ("3,1", icc31, ci31), ("3,k", icc3k, ci3k)):
        value = float(value)
        if not math.isfinite(value):
            continue
        low, high = (float(np.clip(c, -1.0, 1.0)) for c in ci)
        if math.isnan(low) or math.isnan(high):  # undefined (e.g. no variation between targets)
            low = high = math.nan
        out[key] = (float(np.clip(value, -1.0, 1.0)), (low, high))
    return out


def _spearman_brown(single: float, k: int) -> float:
    """Reliability of the mean of k raters from one rater's; -inf below -1/(k - 1)."""
    return -math.inf if 1 + (k - 1) * single <= 0 else k * single / (1 + (k - 1) * single)


def scale_icc(ratings: pd.DataFrame, scale: str) -> ICCResult:
    """ICC(2,1), ICC(2,k), ICC(3,1) and ICC(3,k) of one scale (:func:`icc_table`);
    targets = outputs scored by every rater (first presentations)."""
    data = first_presentations(check_ratings(ratings))
    if scale not in data.columns:
        return ICCResult(scale, 0, 0, None, None, None, None)
    sub = data[["case", "model", "rater", scale]].dropna()
    sub = sub.assign(target=sub["case"].astype(str) + "|" + sub["model"].astype(str))
    n_raters = sub["rater"].nunique()
    complete = sub.groupby("target")["rater"].nunique()
    sub = sub[sub["target"].isin(complete[complete == n_raters].index)]
    n_targets = sub["target"].nunique()
    if n_raters < 2 or n_targets < 3:
        return ICCResult(scale, n_targets, n_raters, None, None, None, None)
    wide = sub.pivot_table(index="target", columns="rater", values=scale, aggfunc="mean")
    found = icc_table(wide.to_numpy(float))

    def pick(key: str) -> tuple[float | None, tuple[float, float] | None]:
        if key not in found:
            return None, None
        value, ci = found[key]
        return value, ci if all(map(math.isfinite, ci)) else None

    icc21, ci21 = pick("2,1")
    icc2k, ci2k = pick("2,k")
    icc31, ci31 = pick("3,1")
    icc3k, ci3k = pick("3,k")
    return ICCResult(scale, n_targets, n_raters, icc2k, ci2k, icc3k, ci3k, icc21, ci21, icc31, ci31)


def scale_summaries(ratings: pd.DataFrame, scales: tuple[str, ...],
                    models: tuple[str, ...] | None = None) -> tuple[ScaleSummary, ...]:
    """Mean score with a 95 % t interval per model and scale (first presentations; see ScaleSummary)."""
    data = first_presentations(check_ratings(ratings))
    names = models if models is not None else tuple(sorted(data["model"].unique()))
    result = []
    for scale in scales:
        for name in names:
            rows = data.loc[data["model"] == name, ["case", scale]].dropna() if scale in data.columns \
                else pd.DataFrame(columns=["case", scale])
            per_case = rows.groupby("case")[scale].mean().to_numpy(float)
            n = len(per_case)
            mean = float(per_case.mean()) if n else None
            sd = float(per_case.std(ddof=1)) if n > 1 else None
            low = high = None
            if n > 1 and sd is not None:
                half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
                low, high = max(1.0, mean - half), min(5.0, mean + half)
            result.append(ScaleSummary(model=name, scale=scale, n_scores=len(rows), n_cases=n, mean=mean, sd=sd,
                                       ci_low=low, ci_high=high))
    return tuple(result)


# --------------------------------------------------------------------------- pairwise comparisons


def fit_bradley_terry(wins: np.ndarray, prior: float = 0.5, tol: float = 1e-9,
                      max_iter: int = 10000) -> np.ndarray:
    """Log strengths (mean 0) from ``wins[..., i, j]`` = times i was preferred over j.

    Hunter's (2004) MM algorithm on the counts plus ``prior`` pseudo-wins each way for every
    pair, which keeps a model that always (or never) wins finite and the fit defined when some
    pair was never compared. A stack of tables (``(B, m, m)``, e.g. bootstrap replicates) is
    fitted at once.
    """
    w = np.array(wins, float)
    m = w.shape[-1]
    w = w + prior * (1 - np.eye(m))
    w *= 1 - np.eye(m)
    games = w + np.swapaxes(w, -1, -2)
    total = w.sum(axis=-1)
    log_p = np.zeros(w.shape[:-1])
    for _ in range(max_iter):
        p = np.exp(log_p)
        denom = (games / (p[..., :, None] + p[..., None, :])).sum(axis=-1)
        new = np.log(total / denom)
        new -= new.mean(axis=-1, keepdims=True)
        done = np.max(np.abs(new - log_p)) < tol
        log_p = new
        if done:
            break
    return log_p


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def bradley_terry(pairs: pd.DataFrame, models: tuple[str, ...] | None = None, *, n_bootstrap: int = 1000,
                  seed: int = 20240607, prior: float = 0.5) -> BradleyTerryResult | None:
    """Bradley-Terry scores of the models from pairwise preferences, with bootstrap 95 % intervals.

    ``pairs`` has one row per answered pair: ``winner``, ``loser`` (model names) and optionally
    ``repeat`` (repeated pairs are left out). The intervals resample the comparisons with
    replacement (``n_bootstrap`` times, fixed ``seed``) and refit.
    """
    data = pairs[~pairs["repeat"].astype(bool)] if "repeat" in pairs.columns else pairs
    data = data.dropna(subset=["winner", "loser"])
    names = models if models is not None else tuple(sorted(set(data["winner"]) | set(data["loser"])))
    if len(names) < 2 or data.empty:
        return None
    index = {name: i for i, name in enumerate(names)}
    known = data["winner"].isin(index) & data["loser"].isin(index)
    winners = data.loc[known, "winner"].map(index).to_numpy(int)
    losers = data.loc[known, "loser"].map(index).to_numpy(int)
    m, n = len(names), len(winners)
    if n == 0:
        return None

    def counts(idx: np.ndarray) -> np.ndarray:
        w = np.zeros((m, m))
        np.add.at(w, (winners[idx], losers[idx]), 1.0)
        return w

    everything = np.arange(n)
    scores = fit_bradley_terry(counts(everything), prior)
    rng = np.random.default_rng(seed)
    if n_bootstrap:
        tables = np.stack([counts(rng.integers(0, n, n)) for _ in range(n_bootstrap)])
        low, high = np.percentile(fit_bradley_terry(tables, prior), [2.5, 97.5], axis=0)
    else:
        low = high = np.full(m, np.nan)
    wins = np.bincount(winners, minlength=m)
    played = wins + np.bincount(losers, minlength=m)
    result = []
    for i, name in enumerate(names):
        if not played[i]:
            result.append(BradleyTerryModel(name, 0, 0, None, None, None, None, None, None))
            continue
        lo, hi = _finite(float(low[i])), _finite(float(high[i]))
        result.append(BradleyTerryModel(
            model=name, wins=int(wins[i]), comparisons=int(played[i]), score=float(scores[i]), ci_low=lo,
            ci_high=hi, preference=_logistic(float(scores[i])),
            preference_low=None if lo is None else _logistic(lo),
            preference_high=None if hi is None else _logistic(hi)))
    return BradleyTerryResult(models=tuple(result), n_comparisons=n, n_bootstrap=n_bootstrap, prior=prior, seed=seed)


def intra_rater_agreement(ratings: pd.DataFrame) -> tuple[IntraRaterResult, ...]:
    """First vs repeated presentation of the same case, per rater (validity and full ranking)."""
    data = check_ratings(ratings)
    results = []
    for rater, group in data.groupby("rater", sort=True):
        first = group[~group["repeat"]].set_index(["case", "model"])
        again = group[group["repeat"]].set_index(["case", "model"])
        both = first[["valid"]].merge(again[["valid"]], left_index=True, right_index=True,
                                      suffixes=("", "_again"))
        cases = sorted(set(again.index.get_level_values("case")))
        if both.empty:
            results.append(IntraRaterResult(str(rater), 0, 0, None, None, None))
            continue
        a, b = both["valid"].to_numpy(bool), both["valid_again"].to_numpy(bool)
        table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]], float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            kappa = _finite(float(cohens_kappa(table, return_results=False)))
        full = full_rankings(group)
        taus = []
        for case in cases:
            if full.empty:  # no complete ranking (e.g. a study without ranking)
                break
            try:
                r1, r2 = full.loc[(rater, case, False)], full.loc[(rater, case, True)]
            except KeyError:
                continue
            tau = stats.kendalltau(r1.to_numpy(), r2.to_numpy()).statistic
            if _finite(float(tau)) is not None:
                taus.append(float(tau))
        results.append(IntraRaterResult(str(rater), len(cases), len(both), float(np.mean(a == b)), kappa,
                                        float(np.mean(taus)) if taus else None))
    return tuple(results)


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None
