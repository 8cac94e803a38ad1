"""The PDF study report: built from a real, rated and unblinded study; rendered with poppler,
its text checked against the analysis; the plain-language readings checked at their thresholds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studies.analysis import StudyAnalysis, analyse_study
from studies.errors import PassphraseError
from studies.reports import ReportInputError
from studies.reports.study_report import (
    build_study_report,
    icc_band,
    kappa_band,
    ranking_interval,
    read_fleiss,
    read_friedman,
    read_models,
)
from studies.statistics import AgreementResult, FriedmanResult, ModelSummary
from studies.study_setup import StudySetup
from studies.unblinding import UnblindingService
from test_rating_support import MODELS, PASSPHRASE, unblinded_study

POPPLER = all(shutil.which(t) for t in ("pdftotext", "pdftoppm", "pdfinfo"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="Debian poppler-utils is not installed")


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    db, study_id = unblinded_study(tmp_path_factory.mktemp("report"))
    with pytest.raises(PassphraseError):  # refused, and logged
        UnblindingService(db).unblind(study_id, "a wrong passphrase typed", "Dr Intruder")
    yield db, study_id, analyse_study(db, study_id)
    db.close()


def test_report_text_matches_the_analysis(study, tmp_path: Path) -> None:
    db, study_id, analysis = study
    out = build_study_report(analysis, tmp_path / "study.pdf", study=StudySetup(db).get_study(study_id),
                             log=UnblindingService(db).log(study_id), clinic_name="Cleft Centre")
    assert out == tmp_path / "study.pdf"
    if not POPPLER:
        pytest.skip("poppler-utils missing: only the build was checked")
    text = " ".join(_run("pdftotext", "-layout", out, "-").split())
    for heading in ("Blinded rating study report", "Results per model", "Wilson 95 % interval",
                    "Results per rater", "Friedman test", "Kendall's W", "Fleiss' kappa",
                    "ICC of the Asher-McDade scales", "Intra-rater agreement", "Unblinding log", "Method"):
        assert heading in text, heading
    for model in MODELS:
        assert model in text
    for summary in analysis.overall:
        row = f"{summary.model} {summary.n_rated} {summary.n_valid} {100 * summary.valid_probability:.0f} %"
        assert row.replace(" ", "") in text.replace(" ", ""), row  # pdftotext may drop the space in "0 %"
    f = analysis.friedman
    assert f is not None and f"{f.statistic:.2f} (df {f.df})" in text
    assert f"Kendall's W = {f.kendall_w:.2f}" in text
    assert "Dr Intruder" in text and "refused" in text and "1 of them refused" in text
    for rater in analysis.raters:
        assert f"Rater {rater}" in text
    assert "Cleft Centre" in text and "Page 1 of" in text
    info = _run("pdfinfo", out)
    assert "Blinded rating study report" in info and PASSPHRASE not in _run("pdftotext", out, "-")


@needs_poppler
def test_report_pages_render_with_charts(study, tmp_path: Path) -> None:
    _, _, analysis = study
    out = build_study_report(analysis, tmp_path / "study.pdf", page_size="Letter")
    _run("pdftoppm", "-r", "40", "-png", out, tmp_path / "page")
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    first = np.asarray(Image.open(pages[0]).convert("RGB"), np.int16)
    bar_blue = (np.abs(first - np.array([0x2B, 0x6C, 0xB0])).sum(axis=2) < 60).mean()
    assert bar_blue > 0.02  # the chart's bars (accent blue) cover part of page 1
    assert "Unblinding log" in _run("pdftotext", out, "-")  # without study/log the section still says so


def test_report_refuses_an_empty_analysis_and_an_unknown_page_size(study, tmp_path: Path) -> None:
    _, _, analysis = study
    empty = StudyAnalysis(**{**analysis.__dict__, "models": (), "overall": ()})
    with pytest.raises(ReportInputError):
        build_study_report(empty, tmp_path / "x.pdf")
    with pytest.raises(ReportInputError, match="paper size"):
        build_study_report(analysis, tmp_path / "x.pdf", page_size="A5")
    assert not list(tmp_path.glob("*.pdf"))


def summary(model: str, valid: int, n: int, rank: float | None, sd: float | None = None, ranked: int = 0):
    return ModelSummary(model, n, valid, valid / n, 0.0, 1.0, ranked, rank, sd)


def test_readings_follow_the_published_bands() -> None:
    assert [kappa_band(k) for k in (-0.1, 0.1, 0.3, 0.5, 0.7, 0.9)] == [
        "poor (worse than chance)", "slight", "fair", "moderate", "substantial", "almost perfect"]
    assert [icc_band(v) for v in (0.4, 0.6, 0.8, 0.95)] == ["poor", "moderate", "good", "excellent"]
    significant = FriedmanResult(("a", "b"), (1.2, 1.8), 20, 7.2, 1, 0.0073, 0.36)
    assert "real difference" in read_friedman(significant) and "p = 0.007" in read_friedman(significant)
    flat = FriedmanResult(("a", "b"), (1.5, 1.5), 20, 0.0, 1, 1.0, 0.0)
    assert "No clear difference" in read_friedman(flat) and "could not" in read_friedman(None)
    assert "undefined" in read_fleiss(AgreementResult(None, 8, 2, 1.0))
    assert "0.45: moderate" in read_fleiss(AgreementResult(0.45, 8, 3, 0.8))
    text = read_models([summary("net", 9, 10, 1.2), summary("telea", 5, 10, 1.8)])
    assert text.startswith("net was judged valid most often (90 %)") and "net had the best average" in text
    tie = read_models([summary("a", 5, 10, 1.5), summary("b", 5, 10, 1.5)])
    assert tie.startswith("All models were judged valid equally often") and "same average ranking" in tie


def test_ranking_interval_is_a_t_interval() -> None:
    s = summary("net", 10, 10, 1.5, sd=0.5, ranked=10)
    low, high = ranking_interval(s)
    assert (low + high) / 2 == pytest.approx(1.5) and high - low == pytest.approx(2 * 2.2622 * 0.5 / 10**0.5, 1e-3)
    assert ranking_interval(summary("net", 1, 1, 1.0, ranked=1)) is None


# --------------------------------------------------------------------------- issue 13


@needs_poppler
def test_report_has_scale_means_comments_examples_and_bounded_icc_intervals(study, tmp_path: Path) -> None:
    from studies.reports.study_report import BT_HEADER, MODEL_HEADER

    _, _, analysis = study
    out = build_study_report(analysis, tmp_path / "study.pdf")
    text = _run("pdftotext", "-layout", out, "-").replace("\u00a0", " ")
    flat = " ".join(text.split())
    for heading in ("Asher-McDade scales per model", "Rater comments per model", "Example outputs"):
        assert heading in flat, heading
    for m in analysis.scale_means:
        if m.mean is not None and m.ci_low is not None:
            assert f"{m.mean:.2f} [{m.ci_low:.2f}, {m.ci_high:.2f}]" in flat, m
    for r in analysis.scale_icc:
        for ci in (r.icc21_ci, r.icc2k_ci, r.icc3k_ci):
            assert ci is not None and -1 <= ci[0] <= ci[1] <= 1
            assert f"[{ci[0]:.2f}, {ci[1]:.2f}]" in flat
    # header words are never split inside a word (each prints whole somewhere in the text)
    words = set(flat.split())
    for header in (MODEL_HEADER, ["ICC(2,1) one rater", "ICC(2,k) mean of raters", "ICC(3,k) consistency"]):
        for word in " ".join(header).replace("\u00a0", " ").split():
            assert word in words, word
    assert not set(BT_HEADER) & {line.strip() for line in text.splitlines()}  # a ranking study has no pairs table
    images = _run("pdfimages", "-list", out).splitlines()[2:]
    assert len(images) >= len(analysis.models) * 2  # two example outputs per model (plus the inputs)


def test_fitted_table_breaks_headers_only_between_words() -> None:
    from studies.reports.study_report import _text_width, fitted_table

    header = ["Model", "Rated", "95\u00a0%\u00a0CI (Wilson)", "Average ranking ± SD of everything"]
    rows = [["nclg-mt", "12", "76–100 %", "1.00 ± 0.00"]]
    for width in (500.0, 300.0, 200.0):
        table = fitted_table(header, rows, width)
        widths = table._colWidths  # noqa: SLF001 - reportlab keeps them here
        assert sum(widths) == pytest.approx(width, abs=1) or sum(widths) > width  # never narrower than the words
        for col, cell in enumerate(table._cellvalues[0]):  # noqa: SLF001
            for line in cell.text.split("<br/>"):
                plain = line.replace("&amp;", "&")
                assert _text_width(plain, True) <= widths[col] - 12 + 0.5, (width, plain)
        assert "95\u00a0%\u00a0CI" in table._cellvalues[0][2].text  # noqa: SLF001 - kept on one line
