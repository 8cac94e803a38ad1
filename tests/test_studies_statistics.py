"""Statistics against a small example worked out by hand, a textbook example (Shrout & Fleiss 1979),
scipy / pingouin, and simulated pairwise comparisons of known strengths (Bradley-Terry)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from studies.statistics import (
    bradley_terry,
    fit_bradley_terry,
    friedman_kendall,
    full_rankings,
    icc_table,
    intra_rater_agreement,
    scale_icc,
    scale_summaries,
    summarise_by_rater,
    summarise_models,
    validity_agreement,
    wilson_interval,
)

V, I = True, False
# (rater, case, model, valid, rank, nasal_form); first presentations
ROWS = [
    ("R1", "c1", "X", V, 1, 1), ("R1", "c1", "Y", V, 2, 2), ("R1", "c1", "Z", I, None, None),
    ("R1", "c2", "X", V, 2, 3), ("R1", "c2", "Y", V, 1, 4), ("R1", "c2", "Z", V, 3, None),
    ("R1", "c3", "X", V, 1, None), ("R1", "c3", "Y", I, None, None), ("R1", "c3", "Z", I, None, None),
    ("R2", "c1", "X", V, 1, 2), ("R2", "c1", "Y", V, 2, 2), ("R2", "c1", "Z", I, None, None),
    ("R2", "c2", "X", V, 1, 4), ("R2", "c2", "Y", I, None, 5), ("R2", "c2", "Z", V, 2, None),
    ("R2", "c3", "X", I, None, None), ("R2", "c3", "Y", V, 1, None), ("R2", "c3", "Z", I, None, None),
]
# R1 sees c1 again later: X valid rank 1, Y and Z invalid
REPEATS = [("R1", "c1", "X", V, 1, None), ("R1", "c1", "Y", I, None, None), ("R1", "c1", "Z", I, None, None)]


def frame(with_repeats: bool = True) -> pd.DataFrame:
    rows = [(*r, False) for r in ROWS] + ([(*r, True) for r in REPEATS] if with_repeats else [])
    df = pd.DataFrame(rows, columns=["rater", "case", "model", "valid", "rank", "nasal_form", "repeat"])
    df["rank"] = df["rank"].astype(float)
    df["nasal_form"] = df["nasal_form"].astype(float)
    return df


def hand_wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_valid_probability_and_average_ranking_as_in_the_paper() -> None:
    by_model = {s.model: s for s in summarise_models(frame())}  # repeats must not count
    assert (by_model["X"].n_valid, by_model["X"].n_rated) == (5, 6)
    assert by_model["X"].valid_probability == pytest.approx(5 / 6)
    assert by_model["Y"].valid_probability == pytest.approx(4 / 6)
    assert by_model["Z"].valid_probability == pytest.approx(2 / 6)
    assert by_model["X"].average_ranking == pytest.approx((1 + 2 + 1 + 1 + 1) / 5)
    assert by_model["Y"].average_ranking == pytest.approx((2 + 1 + 2 + 1) / 4)
    assert by_model["Z"].average_ranking == pytest.approx((3 + 2) / 2)
    assert (by_model["X"].valid_ci_low, by_model["X"].valid_ci_high) == pytest.approx(hand_wilson(5, 6))
    assert wilson_interval(0, 0) is None
    assert summarise_models(frame(False)) == summarise_models(frame(True))


def test_per_rater_summary() -> None:
    r2 = {s.model: s for s in summarise_by_rater(frame())["R2"]}
    assert r2["X"].valid_probability == pytest.approx(2 / 3) and r2["X"].average_ranking == pytest.approx(1.0)
    assert r2["Y"].average_ranking == pytest.approx(1.5)
    assert r2["Z"].n_valid == 1 and r2["Z"].average_ranking == pytest.approx(2.0)
    r1 = {s.model: s for s in summarise_by_rater(frame())["R1"]}
    assert r1["X"].average_ranking == pytest.approx(4 / 3)


def test_friedman_and_kendall_w_by_hand_and_against_libraries() -> None:
    result = friedman_kendall(frame())
    assert result is not None and result.n_blocks == 6 and result.df == 2
    # by hand: rank sums 8.5, 11.5, 16; two blocks with a tie of two -> correction 11/12
    assert result.statistic == pytest.approx(57 / 11)
    assert result.kendall_w == pytest.approx(19 / 44)
    assert result.p_value == pytest.approx(math.exp(-57 / 22))
    table = full_rankings(frame()[~frame()["repeat"]])
    scipy_result = stats.friedmanchisquare(*(table[m] for m in table.columns))
    assert result.statistic == pytest.approx(scipy_result.statistic)
    assert result.p_value == pytest.approx(scipy_result.pvalue)
    long = table.reset_index().melt(id_vars=["rater", "case", "repeat"], var_name="model", value_name="r")
    long["block"] = long["rater"] + long["case"]
    pg_result = pg.friedman(long, dv="r", within="model", subject="block")
    assert result.kendall_w == pytest.approx(float(pg_result["W"].iloc[0]))


def test_invalid_outputs_tie_last_in_full_rankings() -> None:
    table = full_rankings(frame(False))
    assert list(table.loc[("R1", "c3", False)]) == [1.0, 2.5, 2.5]
    assert list(table.loc[("R2", "c2", False)]) == [1.0, 3.0, 2.0]


def test_fleiss_kappa_on_validity_by_hand() -> None:
    result = validity_agreement(frame())
    assert (result.n_subjects, result.n_raters) == (9, 2)
    assert result.observed_agreement == pytest.approx(6 / 9)
    assert result.kappa == pytest.approx(23 / 77)  # (2/3 - 170/324) / (1 - 170/324)


def test_icc_by_hand() -> None:
    result = scale_icc(frame(), "nasal_form")
    assert (result.n_targets, result.n_raters) == (4, 2)
    # two-way ANOVA by hand: MSR = 11.375/3, MSC = 1.125, MSE = 0.125, n = 4
    msr, msc, mse, n = 11.375 / 3, 1.125, 0.125, 4
    assert result.icc3k == pytest.approx((msr - mse) / msr)
    assert result.icc2k == pytest.approx((msr - mse) / (msr + (msc - mse) / n))
    assert result.icc3k == pytest.approx(0.967033, abs=1e-6)
    assert result.icc2k_ci is not None and result.icc2k_ci[0] < result.icc2k < result.icc2k_ci[1]


def test_intra_rater_agreement_by_hand() -> None:
    results = {r.rater: r for r in intra_rater_agreement(frame())}
    r1 = results["R1"]
    assert (r1.n_repeated_cases, r1.n_outputs) == (1, 3)
    assert r1.validity_agreement == pytest.approx(2 / 3)
    assert r1.validity_kappa == pytest.approx(0.4)  # Po = 2/3, Pe = 4/9
    assert r1.mean_kendall_tau == pytest.approx(2 / math.sqrt(6))  # [1,2,3] vs [1,2.5,2.5], tau-b
    assert results["R2"].n_repeated_cases == 0 and results["R2"].validity_agreement is None


def test_degenerate_inputs_do_not_crash() -> None:
    one_rater = frame()[frame()["rater"] == "R1"]
    assert validity_agreement(one_rater).kappa is None
    assert friedman_kendall(one_rater.iloc[:3]) is None
    assert scale_icc(one_rater, "nasal_form").icc2k is None
    with pytest.raises(ValueError, match="lacks columns"):
        summarise_models(frame().drop(columns=["rank"]))


# --------------------------------------------------------------------------- ICC intervals (issue 13)

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_icc_matches_the_shrout_fleiss_textbook_example() -> None:
    found = icc_table(np.array(SHROUT_FLEISS, float))
    # point estimates as printed in the paper
    assert found["2,1"][0] == pytest.approx(0.29, abs=0.005)
    assert found["3,1"][0] == pytest.approx(0.71, abs=0.005)
    assert found["2,k"][0] == pytest.approx(0.62, abs=0.005)
    assert found["3,k"][0] == pytest.approx(0.91, abs=0.005)
    # 95 % intervals from the F distribution, as R's psych::ICC prints them for these data
    assert found["2,1"][1] == pytest.approx((0.019, 0.76), abs=0.005)
    assert found["3,1"][1] == pytest.approx((0.342, 0.95), abs=0.005)
    assert found["2,k"][1] == pytest.approx((0.071, 0.93), abs=0.005)
    assert found["3,k"][1] == pytest.approx((0.676, 0.99), abs=0.005)


def _long(table: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame([(f"t{i}", f"r{j}", float(v)) for i, row in enumerate(table) for j, v in enumerate(row)],
                        columns=["target", "rater", "score"])


@pytest.mark.parametrize("table", [SHROUT_FLEISS, [[1, 2], [2, 2], [3, 4], [4, 5], [5, 3], [2, 1], [4, 4]]])
def test_icc_agrees_with_pingouin_where_pingouin_is_bounded(table) -> None:
    found = icc_table(np.array(table, float))
    pg_table = pg.intraclass_corr(_long(table), targets="target", raters="rater", ratings="score").set_index("Type")
    for ours, theirs in (("2,1", "ICC(A,1)"), ("3,1", "ICC(C,1)"), ("2,k", "ICC(A,k)"), ("3,k", "ICC(C,k)")):
        value, (low, high) = found[ours]
        assert value == pytest.approx(float(pg_table.loc[theirs, "ICC"]), abs=1e-9)
        pg_low, pg_high = (float(x) for x in pg_table.loc[theirs, "CI95"])
        if -1 <= pg_low <= 1:  # pingouin rounds its intervals to 2 decimals
            assert low == pytest.approx(pg_low, abs=0.006)
        assert high == pytest.approx(pg_high, abs=0.006)


def test_icc_intervals_stay_within_minus_one_and_one() -> None:
    """Few targets and poor agreement: the unbounded formulas give ends like -1.58 or -7.9 (and
    pingouin's ICC(A,k) even a lower end above its upper end); ours are clipped to [-1, 1]."""
    table = [[2, 3], [3, 2], [4, 4], [1, 3], [3, 1]]
    pg_table = pg.intraclass_corr(_long(table), targets="target", raters="rater", ratings="score").set_index("Type")
    assert float(pg_table.loc["ICC(C,k)", "CI95"][0]) < -1  # what the report printed before
    for key, (value, (low, high)) in icc_table(np.array(table, float)).items():
        assert -1 <= low <= high <= 1, key
        assert low <= value <= high, key
    rng = np.random.default_rng(3)
    for _ in range(200):
        n, k = int(rng.integers(3, 8)), int(rng.integers(2, 5))
        for key, (value, (low, high)) in icc_table(rng.integers(1, 6, (n, k)).astype(float)).items():
            assert -1 <= value <= 1, (key, value)
            if not (math.isnan(low) and math.isnan(high)):  # undefined when the targets do not differ at all
                assert -1 <= low <= high <= 1, (key, low, high)


def test_icc_of_perfect_agreement_and_of_no_variation() -> None:
    perfect = icc_table(np.array([[1, 1], [2, 2], [4, 4]], float))
    assert all(value == 1 and ci == (1.0, 1.0) for value, ci in perfect.values())
    assert icc_table(np.ones((4, 3))) == {}  # no variation: ICC undefined


def test_scale_icc_reports_single_rater_and_mean_of_raters() -> None:
    result = scale_icc(frame(), "nasal_form")
    assert result.icc21 is not None and result.icc31 is not None
    assert result.icc21 <= result.icc2k and result.icc31 <= result.icc3k
    for ci in (result.icc21_ci, result.icc31_ci, result.icc2k_ci, result.icc3k_ci):
        assert ci is not None and -1 <= ci[0] <= ci[1] <= 1


# --------------------------------------------------------------------------- scale means


def test_scale_means_average_raters_then_cases_with_a_t_interval() -> None:
    means = {(m.model, m.scale): m for m in scale_summaries(frame(), ("nasal_form",))}
    x = means[("X", "nasal_form")]  # c1: (1 + 2) / 2, c2: (3 + 4) / 2 -> 1.5, 3.5
    assert (x.n_scores, x.n_cases) == (4, 2) and x.mean == pytest.approx(2.5)
    half = stats.t.ppf(0.975, 1) * math.sqrt(2) / math.sqrt(2)
    assert (x.ci_low, x.ci_high) == pytest.approx((max(1.0, 2.5 - half), min(5.0, 2.5 + half)))
    z = means[("Z", "nasal_form")]
    assert z.mean is None and z.n_cases == 0 and z.ci_low is None


# --------------------------------------------------------------------------- Bradley-Terry


def simulated_pairs(strengths: dict[str, float], per_pair: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    names = list(strengths)
    for _ in range(per_pair):
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                p = 1 / (1 + math.exp(strengths[b] - strengths[a]))
                rows.append((a, b) if rng.random() < p else (b, a))
    return pd.DataFrame(rows, columns=["winner", "loser"])


def test_bradley_terry_recovers_known_strengths() -> None:
    truth = {"a": -1.0, "b": -0.3, "c": 0.2, "d": 1.1}
    mean = sum(truth.values()) / len(truth)
    result = bradley_terry(simulated_pairs(truth, per_pair=400, seed=1), tuple(truth))
    assert result is not None and result.n_comparisons == 6 * 400
    for m in result.models:
        assert m.score == pytest.approx(truth[m.model] - mean, abs=0.12), m
        assert m.ci_low < truth[m.model] - mean < m.ci_high, m  # the interval covers the truth
        assert m.ci_high - m.ci_low < 0.4
    assert [m.model for m in sorted(result.models, key=lambda m: m.score)] == ["a", "b", "c", "d"]
    assert sum(m.score for m in result.models) == pytest.approx(0, abs=1e-9)


def test_bradley_terry_fit_matches_the_likelihood_optimum() -> None:
    """The MM fit (without the prior) is the maximum of the Bradley-Terry likelihood (scipy)."""
    from scipy.optimize import minimize

    wins = np.array([[0, 7, 9], [3, 0, 6], [1, 4, 0]], float)

    def neg_log_likelihood(free: np.ndarray) -> float:
        s = np.concatenate([[0.0], free])
        diff = s[:, None] - s[None, :]
        return float(-(wins * (diff - np.logaddexp(0, diff))).sum())

    best = minimize(neg_log_likelihood, np.zeros(2), method="BFGS").x
    expected = np.concatenate([[0.0], best])
    expected -= expected.mean()
    assert fit_bradley_terry(wins, prior=0.0) == pytest.approx(expected, abs=1e-5)


def test_bradley_terry_bootstrap_is_reproducible_and_finite_for_an_unbeaten_model() -> None:
    pairs = pd.DataFrame([("a", "b")] * 8 + [("a", "c")] * 8 + [("b", "c")] * 5 + [("c", "b")] * 3,
                         columns=["winner", "loser"])
    first = bradley_terry(pairs, ("a", "b", "c"), n_bootstrap=300, seed=7)
    again = bradley_terry(pairs, ("a", "b", "c"), n_bootstrap=300, seed=7)
    assert first == again
    a = first.models[0]
    assert a.wins == 16 and a.comparisons == 16 and math.isfinite(a.score) and a.score > 0
    assert a.ci_low is not None and a.ci_low > max(m.ci_low for m in first.models[1:])
    assert 0.5 < a.preference < 1 and a.preference_low < a.preference < a.preference_high
    repeats = pairs.assign(repeat=[False] * 20 + [True] * 4)
    assert bradley_terry(repeats, ("a", "b", "c"), n_bootstrap=0).n_comparisons == 20
    assert bradley_terry(pairs.iloc[0:0], ("a", "b")) is None
    lonely = bradley_terry(pairs, ("a", "b", "c", "never-shown"), n_bootstrap=50)
    assert lonely.models[-1].score is None and lonely.models[-1].comparisons == 0
