"""Statistics against a small example worked out by hand, and against scipy / pingouin."""

from __future__ import annotations

import math

import pandas as pd
import pingouin as pg
import pytest
from scipy import stats

from studies.statistics import (
    friedman_kendall,
    full_rankings,
    intra_rater_agreement,
    scale_icc,
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
