"""Study statistics on plain tables; no database here.

Input is a long table with one row per (rater, presentation, case, output):
``rater, case, model, repeat (bool), valid (bool), rank (float, NaN unless valid and ranked)``
and optionally one float column per Asher-McDade scale. Main analyses use first presentations
only (``repeat == False``); repeats feed the intra-rater agreement.

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
    scale: str
    n_targets: int
    n_raters: int
    icc2k: float | None  # two-way random, absolute agreement, mean of k raters
    icc2k_ci: tuple[float, float] | None
    icc3k: float | None  # two-way mixed, consistency, mean of k raters
    icc3k_ci: tuple[float, float] | None


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


def scale_icc(ratings: pd.DataFrame, scale: str) -> ICCResult:
    """ICC(2,k) and ICC(3,k) (pingouin) for one scale; targets = outputs rated by every rater."""
    import pingouin as pg

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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = pg.intraclass_corr(data=sub, targets="target", raters="rater", ratings=scale)
    table = table.set_index("Type")
    ci_col = "CI95%" if "CI95%" in table.columns else "CI95"

    def pick(*names: str) -> tuple[float | None, tuple[float, float] | None]:
        for name in names:
            if name in table.index:
                value, ci = _finite(float(table.loc[name, "ICC"])), table.loc[name, ci_col]
                bounds = (float(ci[0]), float(ci[1]))
                return value, bounds if value is not None and all(map(math.isfinite, bounds)) else None
        return None, None

    icc2, ci2 = pick("ICC2k", "ICC(A,k)")
    icc3, ci3 = pick("ICC3k", "ICC(C,k)")
    return ICCResult(scale, n_targets, n_raters, icc2, ci2, icc3, ci3)


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
