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

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer
from scipy import stats

from studies.analysis import StudyAnalysis
from studies.reports import blocks
from studies.reports.errors import ReportInputError
from studies.statistics import AgreementResult, FriedmanResult, ICCResult, IntraRaterResult, ModelSummary
from studies.study_setup import StudyInfo
from studies.unblinding import LogEntry

SIGNIFICANCE = 0.05

METHOD_NOTE = (
    "Valid probability: outputs of a model judged valid divided by the outputs of that model rated "
    "(first presentations only), with a Wilson 95 % interval. Average ranking: mean rank "
    "(1 = best) among the valid outputs of a case, over the cases where the model's output was "
    "valid. For the Friedman test and Kendall's W every rater x case ranking is completed by "
    "placing invalid outputs tied after the valid ones. Cases shown a second time are used only "
    "for the intra-rater agreement."
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


def read_icc(result: ICCResult) -> str:
    name = scale_title(result.scale)
    if result.icc2k is None and result.icc3k is None:
        return (f"{name}: ICC could not be computed ({result.n_raters} raters, {result.n_targets} outputs scored "
                "by all; at least 2 raters and 3 outputs are needed).")
    parts = []
    if result.icc2k is not None:
        parts.append(f"{icc_band(result.icc2k)} for absolute agreement (ICC(2,k) = {result.icc2k:.2f})")
    if result.icc3k is not None:
        parts.append(f"{icc_band(result.icc3k)} for consistency (ICC(3,k) = {result.icc3k:.2f})")
    return f"{name}: reliability of the raters' mean score is " + " and ".join(parts) + "."


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


MODEL_HEADER = ["Model", "Rated", "Valid", "Valid %", "95 % CI (Wilson)", "Avg. ranking ± SD", "Ranked"]


def _model_columns(width: float) -> list[float]:
    fixed = [16 * mm, 15 * mm, 18 * mm, 31 * mm, 37 * mm, 18 * mm]
    return [width - sum(fixed), *fixed]


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
             ("Cases", str(analysis.n_cases)),
             ("Answers analysed", f"{analysis.n_ratings} output ratings from completed cases")]
    if study is not None:
        o = study.options
        asked = [q for q, on in (("validity", o.ask_validity), ("ranking", o.ask_ranking),
                                 ("comment", o.ask_comment)) if on]
        asked += [scale_title(s.value) + " (1–5)" for s in o.scales]
        shown = [w for w, on in (("unmasked original", o.show_original), ("masked input", o.show_masked_input)) if on]
        rows += [("Questions", ", ".join(asked)),
                 ("Shown beside outputs", ", ".join(shown) or "outputs only"),
                 ("Repeated cases", f"{100 * o.repeat_fraction:.0f} % of cases shown twice")]
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
    return [blocks.para("Unblinding log", "h2"), blocks.para(summary, "body"), Spacer(1, 2 * mm),
            blocks.data_table(["When (UTC)", "Action", "By", "Done", "Detail"], rows,
                              col_widths=[37 * mm, 20 * mm, 35 * mm, 18 * mm, width - 110 * mm])]


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
        _section("Results per model (all raters)",
                 blocks.data_table(MODEL_HEADER, _model_rows(analysis.overall), numeric_columns=(1, 2, 3, 4, 5, 6),
                                   col_widths=_model_columns(width)),
                 Spacer(1, 2 * mm), blocks.para(read_models(analysis.overall), "body")),
    ]
    charts = _charts(analysis.overall, width)
    story += [KeepTogether(charts[i:i + 2]) for i in range(0, len(charts), 2)]

    story.append(CondPageBreak(60 * mm))
    story.append(blocks.para("Results per rater", "h2"))
    for rater, summaries in analysis.by_rater.items():
        story.append(KeepTogether([
            blocks.para(f"Rater {rater}", "cell_bold"),
            blocks.data_table(MODEL_HEADER, _model_rows(summaries), numeric_columns=(1, 2, 3, 4, 5, 6),
                              col_widths=_model_columns(width)),
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

    if analysis.scale_icc:
        rows = [[scale_title(r.scale), _fmt(r.icc2k), _ci(r.icc2k_ci), _fmt(r.icc3k), _ci(r.icc3k_ci),
                 str(r.n_targets), str(r.n_raters)] for r in analysis.scale_icc]
        story.append(_section(
            "ICC of the Asher-McDade scales",
            blocks.data_table(["Scale", "ICC(2,k)", "95 % CI", "ICC(3,k)", "95 % CI", "Outputs", "Raters"], rows,
                              numeric_columns=(1, 2, 3, 4, 5, 6)),
            Spacer(1, 2 * mm), *[blocks.para(read_icc(r), "body") for r in analysis.scale_icc]))
    else:
        story.append(_section("ICC of the Asher-McDade scales",
                              blocks.para("This study did not ask the Asher-McDade scales.", "body")))

    if analysis.intra_rater:
        rows = [[r.rater, str(r.n_repeated_cases), str(r.n_outputs), _pct(r.validity_agreement),
                 _fmt(r.validity_kappa), _fmt(r.mean_kendall_tau)] for r in analysis.intra_rater]
        story.append(_section(
            "Intra-rater agreement (cases shown twice)",
            blocks.data_table(["Rater", "Repeated cases", "Outputs", "Same validity", "Kappa", "Kendall's tau"],
                              rows, numeric_columns=(1, 2, 3, 4, 5)),
            Spacer(1, 2 * mm), *[blocks.para(read_intra(r), "body") for r in analysis.intra_rater]))

    story += _log_section(log, width)
    story += [Spacer(1, 5 * mm), blocks.para("Method", "h2"), blocks.para(METHOD_NOTE, "small")]

    decor = blocks.PageDecor(header_left=clinic_name.strip() or "Blinded rating study",
                             header_right="Study report",
                             footer_left=f"Study {analysis.study_uid[:8]} · research use only")
    return blocks.build_pdf(out_path, story, decor, page_size=page_size, title="Blinded rating study report",
                            author=clinic_name.strip())


def _ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"{ci[0]:.2f} to {ci[1]:.2f}"
