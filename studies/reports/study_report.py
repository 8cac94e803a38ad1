"""The PDF report of an unblinded study, and the one-line plain-language reading of each statistic.

Built from :mod:`studies.reports.blocks` like the consultation report, so both look alike and
share embedded fonts, neutral metadata and atomic writing. The ``read_*`` functions are also
used by the app's analysis screen, so the screen and the PDF say the same thing.

Reading thresholds are the usual published conventions: Landis & Koch (1977) for kappa,
Koo & Li (2016) for ICC, and the customary bands for Kendall's W.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer, Table, TableStyle
from scipy import stats

from studies.analysis import ExampleOutput, ModelComment, StudyAnalysis
from studies.reports import blocks
from studies.reports.errors import ReportInputError
from studies.statistics import (
    AgreementResult,
    BradleyTerryResult,
    FriedmanResult,
    ICCResult,
    IntraRaterResult,
    ModelSummary,
    ScaleSummary,
)
from studies.study_setup import StudyInfo
from studies.unblinding import LogEntry

SIGNIFICANCE = 0.05

METHOD_NOTE = (
    "Valid probability: outputs of a model judged valid divided by the outputs of that model rated "
    "(first presentations only), with a Wilson 95 % interval. Average ranking: mean rank "
    "(1 = best) among the valid outputs of a case, over the cases where the model's output was "
    "valid. For the Friedman test and Kendall's W every rater x case ranking is completed by "
    "placing invalid outputs tied after the valid ones. Cases shown a second time are used only "
    "for the intra-rater agreement. Asher-McDade scales (1 = very good, 5 = very poor): each output's "
    "scores are averaged over the raters, then over cases, with a t 95 % interval over the case means. "
    "ICC: two-way ANOVA (Shrout & Fleiss 1979); 95 % intervals from the F distribution (McGraw & Wong "
    "1996), ends outside -1 to 1 set to the bound. Case comments are listed under every model whose output "
    "letter they name (the letter is followed by the model)."
)

PAIRWISE_METHOD_NOTE = (
    "Pairwise comparison: every pair of models was shown for every case, left and right drawn at random, "
    "and the rater chose the better output. Bradley-Terry scores (log strengths, mean 0) were fitted with "
    "Hunter's MM algorithm, with half a pseudo-win each way per pair so that a model that always wins has a "
    "finite score; 95 % intervals are percentiles of {n_bootstrap} bootstrap refits on resampled comparisons "
    "(seed {seed}). 'Preferred over an average model' is the Bradley-Terry probability of being chosen "
    "against a model of mean strength. Pairs shown a second time are left out."
)


# ------------------------------------------------------------------------- plain-language readings


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def _p_value(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def kappa_band(kappa: float) -> str:
    """Landis & Koch (1977) words for a kappa value."""
    if kappa < 0:
        return "poor (worse than chance)"
    for limit, word in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if kappa <= limit:
            return word
    return "almost perfect"


def icc_band(icc: float) -> str:
    """Koo & Li (2016) words for an ICC value."""
    for limit, word in ((0.5, "poor"), (0.75, "moderate"), (0.9, "good")):
        if icc < limit:
            return word
    return "excellent"


def w_band(w: float) -> str:
    for limit, word in ((0.1, "very weak"), (0.3, "weak"), (0.5, "moderate"), (0.7, "strong")):
        if w < limit:
            return word
    return "very strong"


def read_models(summaries: Sequence[ModelSummary]) -> str:
    rated = [s for s in summaries if s.valid_probability is not None]
    if not rated:
        return "No output has been rated yet."
    top = max(s.valid_probability or 0.0 for s in rated)
    best = [s.model for s in rated if s.valid_probability == top]
    if len(best) == len(rated) and len(rated) > 1:
        text = f"All models were judged valid equally often ({_pct(top)})"
    else:
        text = f"{_join(best)} {'was' if len(best) == 1 else 'were'} judged valid most often ({_pct(top)})"
    ranked = [s for s in rated if s.average_ranking is not None]
    if ranked:
        low = min(s.average_ranking or 0.0 for s in ranked)
        leaders = [s.model for s in ranked if s.average_ranking == low]
        if len(leaders) == len(ranked) and len(ranked) > 1:
            text += f"; all had the same average ranking ({_fmt(low)})"
        else:
            text += f"; {_join(leaders)} had the best average ranking ({_fmt(low)}, 1 = best)"
    return text + "."


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def read_friedman(result: FriedmanResult | None) -> str:
    if result is None:
        return "The Friedman test could not be run (too few complete rankings)."
    if result.p_value < SIGNIFICANCE:
        return (f"The rankings show a real difference between the models: chance alone would rarely give "
                f"differences this large ({_p(result.p_value)}, {result.n_blocks} rankings).")
    return (f"No clear difference between the models' rankings was found ({_p(result.p_value)}, "
            f"{result.n_blocks} rankings).")


def read_kendall(result: FriedmanResult | None) -> str:
    if result is None:
        return "Kendall's W could not be computed."
    return (f"Kendall's W = {result.kendall_w:.2f}: {w_band(result.kendall_w)} concordance in how the "
            "models were ordered across raters and cases (0 = none, 1 = always the same order).")


def read_fleiss(result: AgreementResult) -> str:
    if result.kappa is None:
        if result.n_raters >= 2 and result.n_subjects >= 2 and result.observed_agreement == 1.0:
            return (f"Fleiss' kappa is undefined: every rater gave every one of the {result.n_subjects} outputs "
                    "the same answer, so there is no disagreement to measure (agreement 100 %).")
        return (f"Fleiss' kappa could not be computed ({result.n_raters} raters, {result.n_subjects} outputs rated "
                "by all of them; at least 2 of each are needed).")
    return (f"Fleiss' kappa = {result.kappa:.2f}: {kappa_band(result.kappa)} agreement between raters on "
            f"which outputs are valid ({result.n_raters} raters, {result.n_subjects} outputs).")


def scale_title(scale: str) -> str:
    return scale.replace("_", " ").capitalize()


def _with_ci(value: float, ci: tuple[float, float] | None) -> str:
    return f"{value:.2f}" + ("" if ci is None else f", 95 % CI {_ci(ci)}")


def read_icc(result: ICCResult) -> str:
    name = scale_title(result.scale)
    if result.icc2k is None and result.icc3k is None:
        return (f"{name}: ICC could not be computed ({result.n_raters} raters, {result.n_targets} outputs scored "
                "by all; at least 2 raters and 3 outputs are needed).")
    parts = []
    if result.icc2k is not None:
        parts.append(f"{icc_band(result.icc2k)} for absolute agreement "
                     f"(ICC(2,k) = {_with_ci(result.icc2k, result.icc2k_ci)})")
    if result.icc3k is not None:
        parts.append(f"{icc_band(result.icc3k)} for consistency (ICC(3,k) = {_with_ci(result.icc3k, result.icc3k_ci)})")
    text = f"{name}: reliability of the raters' mean score is " + " and ".join(parts)
    if result.icc21 is not None:
        text += f"; a single rater's score: ICC(2,1) = {_with_ci(result.icc21, result.icc21_ci)}"
    return text + "."


def read_scales(means: Sequence[ScaleSummary]) -> str:
    """Which model scored best (lowest mean) on each scale."""
    lines = []
    for scale in dict.fromkeys(m.scale for m in means):
        scored = [m for m in means if m.scale == scale and m.mean is not None]
        if not scored:
            lines.append(f"{scale_title(scale)}: no scores yet.")
            continue
        best = min(m.mean or 0.0 for m in scored)
        leaders = [m.model for m in scored if m.mean == best]
        lines.append(f"{scale_title(scale)}: best (lowest) mean score {_fmt(best)} for {_join(leaders)}.")
    return " ".join(lines)


def read_bradley_terry(result: BradleyTerryResult | None) -> str:
    if result is None:
        return "No pair has been compared yet."
    scored = [m for m in result.models if m.score is not None]
    if not scored:
        return "No pair has been compared yet."
    best = max(scored, key=lambda m: m.score or 0.0)
    text = (f"{best.model} was preferred most often ({best.wins} of {best.comparisons} comparisons; chosen over a "
            f"model of average strength with probability {_pct(best.preference)}).")
    others = [m for m in scored if m is not best and m.ci_high is not None]
    if best.ci_low is not None and others and all(best.ci_low > (m.ci_high or 0.0) for m in others):
        text += " Its 95 % interval lies above those of all other models."
    return text


def read_intra(result: IntraRaterResult) -> str:
    if result.n_repeated_cases == 0 or result.validity_agreement is None:
        return f"{result.rater}: no repeated case was completed, so self-consistency is unknown."
    text = (f"{result.rater} gave the same valid/invalid answer to {_pct(result.validity_agreement)} of "
            f"{result.n_outputs} outputs seen twice")
    if result.validity_kappa is not None:
        text += f" (kappa {result.validity_kappa:.2f}, {kappa_band(result.validity_kappa)})"
    if result.mean_kendall_tau is not None:
        text += f"; rankings matched with Kendall's tau {result.mean_kendall_tau:.2f}"
    return text + "."


def ranking_interval(summary: ModelSummary) -> tuple[float, float] | None:
    """95 % t-interval of the average ranking (None with fewer than two ranked outputs)."""
    if summary.average_ranking is None or summary.ranking_sd is None or summary.n_ranked < 2:
        return None
    half = stats.t.ppf(0.975, summary.n_ranked - 1) * summary.ranking_sd / math.sqrt(summary.n_ranked)
    return summary.average_ranking - half, summary.average_ranking + half


# ---------------------------------------------------------------------------------------- report


def _model_rows(summaries: Sequence[ModelSummary]) -> list[list[str]]:
    rows = []
    for s in summaries:
        ci = ("n/a" if s.valid_ci_low is None or s.valid_ci_high is None
              else f"{100 * s.valid_ci_low:.0f}–{100 * s.valid_ci_high:.0f} %")
        rank = _fmt(s.average_ranking)
        if s.ranking_sd is not None:
            rank += f" ± {s.ranking_sd:.2f}"
        rows.append([s.model, str(s.n_rated), str(s.n_valid), _pct(s.valid_probability), ci, rank,
                     str(s.n_ranked)])
    return rows


MODEL_HEADER = ["Model", "Rated", "Valid", "Valid %", "95\u00a0%\u00a0CI (Wilson)", "Avg. ranking ±\u00a0SD", "Ranked"]
CELL_SIZE = 9  # points, the size of blocks' "cell" and "cell_bold" styles
CELL_PADDING = 12 + 2  # the table's left + right padding, and a little air


def _text_width(text: str, bold: bool) -> float:
    font = blocks.FONT_BOLD if bold else blocks.FONT_REGULAR
    return max((stringWidth(line, font, CELL_SIZE) for line in text.split("\n")), default=0.0)


def _word_widths(text: str, bold: bool) -> float:
    return max((_text_width(word, bold) for word in text.replace("\n", " ").split(" ")), default=0.0)


def _wrap(text: str, width: float, bold: bool) -> str:
    """``text`` broken at spaces so that each line fits ``width`` (the table's cells would
    otherwise break it inside a word)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in (w for w in paragraph.split(" ") if w):  # a no-break space keeps "95 % CI" whole
            candidate = f"{line} {word}" if line else word
            if line and _text_width(candidate, bold) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def fitted_table(header: Sequence[str], rows: Sequence[Sequence[str]], width: float,
                 numeric_columns: Sequence[int] = (), flexible: int = 0) -> Table:
    """:func:`blocks.data_table` with column widths from the text, so no word is ever split.

    Each column gets the width of its longest line if the table fits; otherwise columns shrink
    towards their longest word and their text is broken at spaces. Spare width goes to column
    ``flexible``.
    """
    columns = list(zip(*([list(header)] + [list(map(str, r)) for r in rows])))
    bold = [[True] + [False] * len(rows) for _ in header]
    full = [max(_text_width(t, b) for t, b in zip(col, bs)) + CELL_PADDING for col, bs in zip(columns, bold)]
    least = [max(_word_widths(t, b) for t, b in zip(col, bs)) + CELL_PADDING for col, bs in zip(columns, bold)]
    widths = list(full)
    if sum(full) > width:
        slack = [f - m for f, m in zip(full, least)]
        excess = min(sum(full) - width, sum(slack))
        widths = [f - excess * s / sum(slack) if sum(slack) else f for f, s in zip(full, slack)]
    else:
        widths[flexible] += width - sum(full)
    wrap = [w - CELL_PADDING for w in widths]
    head = [_wrap(h, w, True) for h, w in zip(header, wrap)]
    body = [[_wrap(str(c), w, False) for c, w in zip(r, wrap)] for r in rows]
    return blocks.data_table(head, body, col_widths=widths, numeric_columns=numeric_columns)


def _charts(summaries: Sequence[ModelSummary], width: float) -> list[Flowable]:
    out: list[Flowable] = []
    rated = [s for s in summaries if s.valid_probability is not None]
    if rated:
        out += [blocks.para("Valid probability with Wilson 95 % interval", "h2"),
                blocks.bar_chart_with_intervals(
                    [s.model for s in rated], [100 * (s.valid_probability or 0.0) for s in rated],
                    [100 * (s.valid_ci_low or 0.0) for s in rated], [100 * (s.valid_ci_high or 0.0) for s in rated],
                    width=width, height=62 * mm, value_label="Valid (%)", value_min=0, value_max=100)]
    ranked = [s for s in summaries if s.average_ranking is not None]
    if ranked:
        intervals = [ranking_interval(s) or (s.average_ranking, s.average_ranking) for s in ranked]
        out += [blocks.para("Average ranking (1 = best) with 95 % interval of the mean", "h2"),
                blocks.bar_chart_with_intervals(
                    [s.model for s in ranked], [s.average_ranking or 0.0 for s in ranked],
                    [max(1.0, lo) for lo, _ in intervals], [hi for _, hi in intervals],
                    width=width, height=62 * mm, value_label="Average rank", value_min=0)]
    return out


def _study_rows(analysis: StudyAnalysis, study: StudyInfo | None) -> list[tuple[str, str]]:
    rows = [("Study", analysis.title), ("Study ID", analysis.study_uid)]
    if study is not None:
        rows.append(("Owner", study.owner_name))
        if study.description.strip():
            rows.append(("Description", study.description.strip()))
    rows += [("Models", f"{len(analysis.models)}: {', '.join(analysis.models)}"),
             ("Raters", f"{len(analysis.raters)}: {', '.join(analysis.raters)}"),
             ("Cases", str(analysis.n_cases))]
    if analysis.pairwise and analysis.bradley_terry is not None:
        rows.append(("Answers analysed", f"{analysis.bradley_terry.n_comparisons} pairs compared "
                                         "(first presentations)"))
    else:
        rows.append(("Answers analysed", f"{analysis.n_ratings} output ratings from completed cases"))
    if study is not None:
        o = study.options
        asked = [q for q, on in (("pairwise comparison (the better of two outputs)", o.pairwise),
                                 ("validity", o.ask_validity), ("ranking", o.ask_ranking),
                                 ("comment", o.ask_comment)) if on]
        asked += [scale_title(s.value) + " (1–5)" for s in o.scales]
        shown = [w for w, on in (("unmasked original", o.show_original), ("masked input", o.show_masked_input)) if on]
        rows += [("Questions", ", ".join(asked)),
                 ("Shown beside outputs", ", ".join(shown) or "outputs only"),
                 ("Repeated pairs" if o.pairwise else "Repeated cases",
                  f"{100 * o.repeat_fraction:.0f} % of {'pairs' if o.pairwise else 'cases'} shown twice")]
        for label, when in (("Opened", study.opened_at), ("Closed", study.closed_at),
                            ("Unblinded", study.unblinded_at)):
            if when is not None:
                rows.append((label, when.strftime("%Y-%m-%d %H:%M UTC")))
    rows.append(("Analysis computed", analysis.computed_at.strftime("%Y-%m-%d %H:%M UTC")))
    return rows


def _log_section(log: Sequence[LogEntry], width: float) -> list[Flowable]:
    if not log:
        return [blocks.para("Unblinding log", "h2"),
                blocks.para("No closing or unblinding attempt was recorded in this database.", "body")]
    failed = sum(not e.success for e in log)
    unblinds = [e for e in log if e.action == "unblind" and e.success]
    summary = f"{len(log)} owner actions were logged, {failed} of them refused (wrong passphrase or wrong phase)."
    if unblinds:
        summary += f" The study was unblinded by {unblinds[-1].actor} on {unblinds[-1].at:%Y-%m-%d %H:%M} UTC."
    rows = [[e.at.strftime("%Y-%m-%d %H:%M"), e.action, e.actor, "yes" if e.success else "refused",
             e.detail or ""] for e in log]
    return [KeepTogether([blocks.para("Unblinding log", "h2"), blocks.para(summary, "body"), Spacer(1, 2 * mm),
                          blocks.data_table(["When (UTC)", "Action", "By", "Done", "Detail"], rows,
                                            col_widths=[37 * mm, 20 * mm, 35 * mm, 18 * mm, width - 110 * mm])])]


def _section(heading: str, *parts: Flowable) -> KeepTogether:
    return KeepTogether([blocks.para(heading, "h2"), *parts])


def build_study_report(analysis: StudyAnalysis, out_path: str | os.PathLike[str], page_size: str = "A4", *,
                       study: StudyInfo | None = None, log: Sequence[LogEntry] = (),
                       clinic_name: str = "") -> Path:
    """Write the study report PDF (atomically) and return its path.

    ``study`` adds the owner, options and dates; ``log`` the unblinding log (both optional, so a
    report can be built from an exported analysis alone).
    """
    if not analysis.models or not analysis.overall:
        raise ReportInputError("The analysis has no models; analyse the study again.")
    width = blocks.content_width(page_size)
    story: list[Flowable] = [
        blocks.title_block("Blinded rating study report", analysis.title),
        blocks.key_value_table(_study_rows(analysis, study), width),
        Spacer(1, 4 * mm),
    ]
    if analysis.pairwise:
        story += _pairwise_sections(analysis, width)
    else:
        story += _ranking_sections(analysis, width)
    story += _scale_sections(analysis, width)
    story += _comment_section(analysis.comments, width)
    story += _example_section(analysis.examples, analysis.models, width)
    story += _log_section(log, width)
    note = METHOD_NOTE
    if analysis.pairwise and analysis.bradley_terry is not None:
        note = PAIRWISE_METHOD_NOTE.format(n_bootstrap=analysis.bradley_terry.n_bootstrap,
                                           seed=analysis.bradley_terry.seed)
    story += [Spacer(1, 5 * mm), blocks.para("Method", "h2"), blocks.para(note, "small")]

    decor = blocks.PageDecor(header_left=clinic_name.strip() or "Blinded rating study",
                             header_right="Study report",
                             footer_left=f"Study {analysis.study_uid[:8]} · research use only")
    return blocks.build_pdf(out_path, story, decor, page_size=page_size, title="Blinded rating study report",
                            author=clinic_name.strip())


def _ranking_sections(analysis: StudyAnalysis, width: float) -> list[Flowable]:
    """Validity, ranking and agreement: the sections of a study that asks them."""
    numeric = (1, 2, 3, 4, 5, 6)
    story: list[Flowable] = [
        _section("Results per model (all raters)",
                 fitted_table(MODEL_HEADER, _model_rows(analysis.overall), width, numeric_columns=numeric),
                 Spacer(1, 2 * mm), blocks.para(read_models(analysis.overall), "body")),
    ]
    charts = _charts(analysis.overall, width)
    story += [KeepTogether(charts[i:i + 2]) for i in range(0, len(charts), 2)]

    story.append(CondPageBreak(60 * mm))
    story.append(blocks.para("Results per rater", "h2"))
    for rater, summaries in analysis.by_rater.items():
        story.append(KeepTogether([
            blocks.para(f"Rater {rater}", "cell_bold"),
            fitted_table(MODEL_HEADER, _model_rows(summaries), width, numeric_columns=numeric),
            blocks.para(read_models(summaries), "small"), Spacer(1, 3 * mm)]))

    f = analysis.friedman
    friedman_parts: list[Flowable] = [blocks.para(read_friedman(f), "body")]
    if f is not None:
        friedman_parts += [Spacer(1, 2 * mm), blocks.key_value_table([
            ("Chi-square", f"{f.statistic:.2f} (df {f.df})"), ("p-value", _p_value(f.p_value)),
            ("Rankings (rater x case)", str(f.n_blocks)),
            ("Mean full rank", ", ".join(f"{m} {r:.2f}" for m, r in zip(f.models, f.mean_ranks, strict=True)))],
            width)]
    story.append(_section("Friedman test", *friedman_parts))
    story.append(_section("Kendall's W (concordance of rankings)", blocks.para(read_kendall(f), "body")))

    a = analysis.validity_agreement
    story.append(_section("Fleiss' kappa (agreement on validity)", blocks.para(read_fleiss(a), "body"),
                          blocks.para(f"Observed agreement: {_pct(a.observed_agreement)}.", "small")))

    if analysis.intra_rater:
        rows = [[r.rater, str(r.n_repeated_cases), str(r.n_outputs), _pct(r.validity_agreement),
                 _fmt(r.validity_kappa), _fmt(r.mean_kendall_tau)] for r in analysis.intra_rater]
        story.append(_section(
            "Intra-rater agreement (cases shown twice)",
            fitted_table(["Rater", "Repeated cases", "Outputs", "Same validity", "Kappa", "Kendall's tau"],
                         rows, width, numeric_columns=(1, 2, 3, 4, 5)),
            Spacer(1, 2 * mm), *[blocks.para(read_intra(r), "body") for r in analysis.intra_rater]))
    return story


CI = "95\u00a0%\u00a0CI"  # never broken across lines
BT_HEADER = ["Model", "Wins", "Compared", f"Bradley-Terry score ({CI})", f"Preferred over an average model, % ({CI})"]


def _bt_rows(result: BradleyTerryResult) -> list[list[str]]:
    rows = []
    for m in result.models:
        score = "n/a" if m.score is None else f"{m.score:+.2f}" + (
            "" if m.ci_low is None or m.ci_high is None else f" [{m.ci_low:+.2f}, {m.ci_high:+.2f}]")
        pref = _pct(m.preference) + ("" if m.preference_low is None or m.preference_high is None
                                      else f" [{100 * m.preference_low:.0f}, {100 * m.preference_high:.0f}]")
        rows.append([m.model, str(m.wins), str(m.comparisons), score, pref])
    return rows


def _pairwise_sections(analysis: StudyAnalysis, width: float) -> list[Flowable]:
    result = analysis.bradley_terry
    if result is None:
        return [_section("Pairwise preferences (Bradley-Terry)", blocks.para(read_bradley_terry(None), "body"))]
    story: list[Flowable] = [_section(
        "Pairwise preferences (Bradley-Terry)",
        fitted_table(BT_HEADER, _bt_rows(result), width, numeric_columns=(1, 2, 3, 4)),
        Spacer(1, 2 * mm), blocks.para(read_bradley_terry(result), "body"),
        blocks.para(f"{result.n_comparisons} pairs compared; intervals from {result.n_bootstrap} bootstrap refits.",
                    "small"))]
    scored = [m for m in result.models if m.preference is not None]
    if scored:
        story.append(KeepTogether([
            blocks.para("Probability of being preferred over a model of average strength (95 % interval)", "h2"),
            blocks.bar_chart_with_intervals(
                [m.model for m in scored], [100 * (m.preference or 0.0) for m in scored],
                [100 * (m.preference_low if m.preference_low is not None else m.preference or 0.0) for m in scored],
                [100 * (m.preference_high if m.preference_high is not None else m.preference or 0.0)
                 for m in scored],
                width=width, height=62 * mm, value_label="Preferred (%)", value_min=0, value_max=100)]))
    if len(analysis.bradley_terry_by_rater) > 1:
        story.append(blocks.para("Per rater", "h2"))
        for rater, own in analysis.bradley_terry_by_rater.items():
            if own is not None:
                story.append(KeepTogether([blocks.para(f"Rater {rater}", "cell_bold"),
                                           fitted_table(BT_HEADER, _bt_rows(own), width, numeric_columns=(1, 2, 3, 4)),
                                           Spacer(1, 3 * mm)]))
    return story


def _scale_cell(m: ScaleSummary) -> str:
    if m.mean is None:
        return "n/a"
    ci = "" if m.ci_low is None or m.ci_high is None else f" [{m.ci_low:.2f}, {m.ci_high:.2f}]"
    return f"{m.mean:.2f}{ci}"


def _scale_sections(analysis: StudyAnalysis, width: float) -> list[Flowable]:
    if not analysis.scales:
        if analysis.pairwise:
            return []
        return [_section("ICC of the Asher-McDade scales",
                         blocks.para("This study did not ask the Asher-McDade scales.", "body"))]
    means = {(m.model, m.scale): m for m in analysis.scale_means}
    header = ["Model", *[f"{scale_title(s)} ({CI})" for s in analysis.scales], "Cases"]
    rows = []
    for model in analysis.models:
        cells = [means.get((model, s)) for s in analysis.scales]
        cases = max((c.n_cases for c in cells if c is not None), default=0)
        rows.append([model, *[("n/a" if c is None else _scale_cell(c)) for c in cells], str(cases)])
    story: list[Flowable] = [_section(
        "Asher-McDade scales per model (mean score, 1 = very good, 5 = very poor)",
        fitted_table(header, rows, width, numeric_columns=tuple(range(1, len(header)))),
        Spacer(1, 2 * mm), blocks.para(read_scales(analysis.scale_means), "body"))]
    charts: list[list[Flowable]] = []
    half = (width - 6 * mm) / 2
    for scale in analysis.scales:
        scored = [means[(m, scale)] for m in analysis.models
                  if (m, scale) in means and means[(m, scale)].mean is not None]
        if not scored:
            continue
        charts.append([
            blocks.para(f"{scale_title(scale)}: mean with 95 % interval (lower is better)", "cell_bold"),
            blocks.bar_chart_with_intervals(
                [m.model for m in scored], [m.mean or 0.0 for m in scored],
                [m.ci_low if m.ci_low is not None else m.mean or 0.0 for m in scored],
                [m.ci_high if m.ci_high is not None else m.mean or 0.0 for m in scored],
                width=half, height=48 * mm, value_label="Score", value_min=0, value_max=5)])
    for i in range(0, len(charts), 2):
        pair = charts[i:i + 2]
        row = Table([[pair[0], "", pair[1] if len(pair) > 1 else ""]], colWidths=[half, 6 * mm, half],
                    hAlign="LEFT")
        row.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                 ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
        story += [row, Spacer(1, 3 * mm)]

    rows = [[scale_title(r.scale), _icc_cell(r.icc21, r.icc21_ci), _icc_cell(r.icc2k, r.icc2k_ci),
             _icc_cell(r.icc3k, r.icc3k_ci), str(r.n_targets), str(r.n_raters)] for r in analysis.scale_icc]
    story.append(_section(
        "ICC of the Asher-McDade scales",
        fitted_table(["Scale", f"ICC(2,1) one rater ({CI})", f"ICC(2,k) mean of raters ({CI})",
                      f"ICC(3,k) consistency ({CI})", "Outputs", "Raters"], rows, width,
                     numeric_columns=(1, 2, 3, 4, 5)),
        Spacer(1, 2 * mm), *[blocks.para(read_icc(r), "body") for r in analysis.scale_icc]))
    return story


def _icc_cell(value: float | None, ci: tuple[float, float] | None) -> str:
    return _fmt(value) + ("" if value is None or ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def _comment_section(comments: Sequence[ModelComment], width: float) -> list[Flowable]:
    if not comments:
        return [_section("Rater comments per model", blocks.para("No rater wrote a comment.", "body"))]
    story: list[Flowable] = [CondPageBreak(40 * mm), blocks.para("Rater comments per model", "h2")]
    groups: dict[str | None, list[ModelComment]] = {}
    for c in comments:
        groups.setdefault(c.model, []).append(c)
    for model, items in groups.items():
        title = model if model is not None else "Comments that name no output"
        lines = [blocks.para(f"{c.rater} · {c.case}" + (" · invalid output" if c.source == "invalid" else "")
                             + f": {c.text}", "small") for c in items]
        story.append(KeepTogether([blocks.para(title, "cell_bold"), *lines[:3]]))
        story += lines[3:]
        story.append(Spacer(1, 2 * mm))
    return story


def _example_section(examples: Sequence[ExampleOutput], models: Sequence[str], width: float) -> list[Flowable]:
    if not examples:
        return []
    cases = list(dict.fromkeys(e.case for e in examples))
    side = min(36 * mm, (width - 36 * mm) / max(1, len(cases)) - 4 * mm)
    by_key = {(e.model, e.case): e for e in examples}
    inputs = {e.case: e.input_path for e in examples}
    def picture(path: Path | None) -> Flowable | str:
        if path is None or not Path(path).is_file():
            return "n/a"
        with Image.open(path) as img:
            return blocks.print_image(np.asarray(img.convert("RGB")), side, side)

    data: list[list[Flowable | str]] = [[blocks.para("", "cell_bold")]
                                        + [blocks.para(c, "cell_bold") for c in cases]]
    if any(inputs.values()):
        data.append([blocks.para("Input shown to raters", "cell")] + [picture(inputs[c]) for c in cases])
    for model in models:
        data.append([blocks.para(model, "cell_bold")] + [picture(by_key[(model, c)].image_path)
                                                          if (model, c) in by_key else "n/a" for c in cases])
    table = Table(data, colWidths=[width - len(cases) * (side + 4 * mm)] + [side + 4 * mm] * len(cases),
                  repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), blocks.FONT_REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 0), (-1, -1), "CENTER"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, blocks.INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, blocks.RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    # on one page when it fits (a long table still splits, its header row repeated)
    return [KeepTogether([blocks.para("Example outputs (the same cases for every model)", "h2"),
                          blocks.para("Outputs as the raters saw them; which model made each is known only "
                                      "after unblinding.", "small"), Spacer(1, 2 * mm), table])]


def _ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"{ci[0]:.2f} to {ci[1]:.2f}"


__all__ = ["build_study_report", "fitted_table", "icc_band", "kappa_band", "ranking_interval", "read_bradley_terry",
           "read_fleiss", "read_friedman", "read_icc", "read_intra", "read_kendall", "read_models", "read_scales",
           "w_band"]
