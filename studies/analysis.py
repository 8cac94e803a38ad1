"""Analysis of an unblinded study: answers + revealed models -> statistics -> CSV/JSON.

Only completed items count. The PDF study report (studies/reports) renders :class:`StudyAnalysis`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from studies.database import Database
from studies.errors import AnalysisError
from studies.options import Scale, StudyOptions, StudyStatus, output_label
from studies.files import resolve_inside
from studies.schema import PairAnswer, utcnow
from studies.statistics import (
    AgreementResult,
    BradleyTerryResult,
    FriedmanResult,
    ICCResult,
    IntraRaterResult,
    ModelSummary,
    ScaleSummary,
    bradley_terry,
    friedman_kendall,
    intra_rater_agreement,
    scale_icc,
    scale_summaries,
    summarise_by_rater,
    summarise_models,
    validity_agreement,
)
from studies.unit_of_work import UnitOfWork

SCALE_COLUMNS = tuple(s.value for s in Scale)
EXAMPLE_CASES = 2
PAIR_COLUMNS = ("rater", "rater_uid", "site", "position", "case", "repeat", "left", "right", "winner", "loser",
                "comment")
# An output letter standing alone in a comment ("C looks natural", "A/B", "output D:")
_LABEL = re.compile(r"(?<![A-Za-z0-9])([A-Z])(?![A-Za-z0-9])")


@dataclass(frozen=True)
class ModelComment:
    """A rater's words about a model's output, after unblinding.

    ``source`` is ``"invalid"`` (the note given with an invalid reason, always about one output)
    or ``"case"`` (the comment on the whole case, filed under every model whose letter it names,
    or under ``model=None`` when it names none). ``text`` has each letter followed by its model.
    """

    model: str | None
    rater: str
    case: str
    source: str
    text: str


@dataclass(frozen=True)
class ExampleOutput:
    """An output shown as an example in the report: the same cases for every model."""

    model: str
    case: str
    image_path: Path
    input_path: Path | None  # the masked input raters saw (or the original), if stored


@dataclass(frozen=True)
class StudyAnalysis:
    study_id: int
    study_uid: str
    title: str
    models: tuple[str, ...]
    raters: tuple[str, ...]
    n_cases: int
    n_ratings: int
    overall: tuple[ModelSummary, ...]
    by_rater: dict[str, tuple[ModelSummary, ...]]
    friedman: FriedmanResult | None
    validity_agreement: AgreementResult
    scale_icc: tuple[ICCResult, ...]
    intra_rater: tuple[IntraRaterResult, ...]
    computed_at: datetime = field(default_factory=utcnow)
    scales: tuple[str, ...] = ()  # the Asher-McDade scales the study asked
    scale_means: tuple[ScaleSummary, ...] = ()
    scale_means_by_rater: dict[str, tuple[ScaleSummary, ...]] = field(default_factory=dict)
    comments: tuple[ModelComment, ...] = ()
    examples: tuple[ExampleOutput, ...] = ()
    pairwise: bool = False
    bradley_terry: BradleyTerryResult | None = None
    bradley_terry_by_rater: dict[str, BradleyTerryResult | None] = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["computed_at"] = self.computed_at.isoformat()
        return _json_safe(data)


def ratings_frame(db: Database, study_id: int) -> pd.DataFrame:
    """Long table of all completed answers with the revealed model (unblinded studies only)."""
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        if study.status != StudyStatus.UNBLINDED.value:
            raise AnalysisError("The study must be closed and unblinded by its owner before analysis.")
        options = StudyOptions.from_json(study.options_json)
        model_of = {row.output_id: row.revealed_model for row in uow.sealed.for_study(study_id)}
        code_of = {c.id: c.code for c in uow.studies.cases(study_id)}
        records = []
        for row in uow.studies.answer_rows(study_id, completed_only=True):
            rater, item, s, v = row.rater, row.item, row.shown, row.validity
            record = {
                "rater": rater.initials, "rater_uid": rater.uid, "site": rater.site,
                "position": item.position, "case": code_of[item.study_case_id],
                "model": model_of.get(s.output_id), "output_id": s.output_id, "label": output_label(s.slot),
                "repeat": item.is_repeat,
                "valid": True if not options.ask_validity else bool(v is not None and v.valid),
                "invalid_reason": None if v is None else v.reason,
                "invalid_note": "" if v is None else v.note,
                "rank": math.nan if row.rank is None else float(row.rank.rank),
                "comment": "" if row.comment is None else row.comment.text,
            }
            for col in SCALE_COLUMNS:
                record[col] = math.nan
            for a in row.scales:
                record[a.scale] = float(a.score)
            records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[
        "rater", "rater_uid", "site", "position", "case", "model", "output_id", "label", "repeat", "valid",
        "invalid_reason", "invalid_note", "rank", "comment", *SCALE_COLUMNS])
    if frame["model"].isna().any():
        raise AnalysisError("Some outputs have no revealed model; unblind the study again.")
    return frame


def pairs_frame(db: Database, study_id: int) -> pd.DataFrame:
    """Pairwise studies: one row per completed pair with both models, the preferred one (winner)
    and the other (loser); unblinded studies only."""
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        if study.status != StudyStatus.UNBLINDED.value:
            raise AnalysisError("The study must be closed and unblinded by its owner before analysis.")
        model_of = {row.output_id: row.revealed_model for row in uow.sealed.for_study(study_id)}
        code_of = {c.id: c.code for c in uow.studies.cases(study_id)}
        records = []
        for rater in uow.studies.raters(study_id):
            items = [i for i in uow.studies.items(rater.id) if i.completed_at is not None]
            shown: dict[int, dict[int, str]] = {}
            for s in uow.studies.item_outputs([i.id for i in items]):
                shown.setdefault(s.item_id, {})[s.slot] = model_of.get(s.output_id)
            answers = {a.item_id: a for a in uow.session.scalars(
                select(PairAnswer).where(PairAnswer.item_id.in_([i.id for i in items])))} if items else {}
            comments = uow.studies.comments([i.id for i in items])
            for item in items:
                pair, answer = shown.get(item.id, {}), answers.get(item.id)
                if answer is None or set(pair) != {0, 1}:
                    continue
                winner, loser = pair[answer.preferred_slot], pair[1 - answer.preferred_slot]
                records.append({"rater": rater.initials, "rater_uid": rater.uid, "site": rater.site,
                                "position": item.position, "case": code_of[item.study_case_id],
                                "repeat": item.is_repeat, "left": pair[0], "right": pair[1], "winner": winner,
                                "loser": loser,
                                "comment": comments[item.id].text if item.id in comments else ""})
    frame = pd.DataFrame.from_records(records, columns=list(PAIR_COLUMNS))
    if frame[["left", "right"]].isna().any().any():
        raise AnalysisError("Some outputs have no revealed model; unblind the study again.")
    return frame


def annotate_labels(text: str, model_of_label: dict[str, str]) -> tuple[str, list[str]]:
    """``text`` with every output letter it names followed by its model ("C (model-x)"), and the
    models named, in order of first mention."""
    named: list[str] = []

    def swap(match: re.Match[str]) -> str:
        label = match.group(1)
        model = model_of_label.get(label)
        if model is None:
            return label
        if model not in named:
            named.append(model)
        return f"{label} ({model})"

    return _LABEL.sub(swap, text), named


def model_comments(frame: pd.DataFrame, pairs: pd.DataFrame | None = None) -> tuple[ModelComment, ...]:
    """Invalid-output notes and case comments filed per model (see :class:`ModelComment`)."""
    out: list[ModelComment] = []
    if not frame.empty:
        notes = frame[frame["invalid_note"].fillna("").str.strip() != ""]
        for row in notes.itertuples(index=False):
            out.append(ModelComment(row.model, row.rater, row.case, "invalid", str(row.invalid_note).strip()))
        for (rater, position), block in frame.groupby(["rater", "position"], sort=True):
            text = str(block["comment"].iloc[0] or "").strip()
            if not text:
                continue
            annotated, named = annotate_labels(text, dict(zip(block["label"], block["model"])))
            case = block["case"].iloc[0]
            for model in named or [None]:
                out.append(ModelComment(model, rater, case, "case", annotated))
    if pairs is not None and not pairs.empty:
        for row in pairs.itertuples(index=False):
            text = str(row.comment or "").strip()
            if not text:
                continue
            annotated, named = annotate_labels(text, {"A": row.left, "B": row.right})
            annotated = f"[A = left: {row.left}, B = right: {row.right}] {annotated}"
            for model in named or [row.left, row.right]:
                out.append(ModelComment(model, row.rater, row.case, "case", annotated))
    order = {m: i for i, m in enumerate(sorted({c.model for c in out if c.model is not None}))}
    return tuple(sorted(out, key=lambda c: (c.model is None, order.get(c.model, 0), c.case, c.rater)))


def example_outputs(db: Database, study_id: int, n_cases: int = EXAMPLE_CASES) -> tuple[ExampleOutput, ...]:
    """The outputs of every model for the study's first ``n_cases`` cases (by position) that have an
    output of every model: the same faces for each model, so they can be compared."""
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        if study.status != StudyStatus.UNBLINDED.value:
            raise AnalysisError("The study must be closed and unblinded by its owner before analysis.")
        models = [m.name for m in uow.studies.models(study_id)]
        model_of = {row.output_id: row.revealed_model for row in uow.sealed.for_study(study_id)}
        by_case: dict[int, dict[str, str]] = {}
        for out in uow.studies.outputs(study_id):
            by_case.setdefault(out.study_case_id, {})[model_of.get(out.id) or ""] = out.file_path
        examples: list[ExampleOutput] = []
        chosen = 0
        for sc in uow.studies.cases(study_id):
            files = by_case.get(sc.id, {})
            if chosen >= n_cases or not all(m in files for m in models):
                continue
            chosen += 1
            shown = sc.masked_path or sc.original_path
            source = None if shown is None else resolve_inside(db.data_dir, shown)
            examples += [ExampleOutput(model=m, case=sc.code, image_path=resolve_inside(db.data_dir, files[m]),
                                       input_path=source) for m in models]
    return tuple(examples)


def analyse_study(db: Database, study_id: int) -> StudyAnalysis:
    frame = ratings_frame(db, study_id)
    if frame.empty:
        raise AnalysisError("No rater has completed a case yet; there is nothing to analyse.")
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        models = tuple(m.name for m in uow.studies.models(study_id))
        options = StudyOptions.from_json(study.options_json)
        uid, title, n_cases = study.uid, study.title, len(uow.studies.cases(study_id))
    scales = tuple(s.value for s in options.scales)
    pairs = pairs_frame(db, study_id) if options.pairwise else None
    by_rater_bt: dict[str, BradleyTerryResult | None] = {}
    if pairs is not None:
        by_rater_bt = {str(r): bradley_terry(g, models) for r, g in pairs.groupby("rater", sort=True)}
    return StudyAnalysis(
        study_id=study_id, study_uid=uid, title=title, models=models,
        raters=tuple(sorted(frame["rater"].unique())), n_cases=n_cases, n_ratings=len(frame),
        overall=summarise_models(frame, models), by_rater=summarise_by_rater(frame),
        friedman=friedman_kendall(frame) if options.ask_ranking else None,
        validity_agreement=validity_agreement(frame),
        scale_icc=tuple(scale_icc(frame, s.value) for s in options.scales),
        intra_rater=() if options.pairwise else intra_rater_agreement(frame),
        scales=scales, scale_means=scale_summaries(frame, scales, models),
        scale_means_by_rater={str(r): scale_summaries(g, scales, models)
                              for r, g in frame.groupby("rater", sort=True)},
        comments=model_comments(frame if pairs is None else frame.iloc[0:0], pairs),
        examples=example_outputs(db, study_id),
        pairwise=options.pairwise, bradley_terry=None if pairs is None else bradley_terry(pairs, models),
        bradley_terry_by_rater=by_rater_bt)


def export_analysis(db: Database, study_id: int, folder: Path) -> list[Path]:
    """Write ratings.csv, model_summary.csv and analysis.json into ``folder``; return their paths."""
    analysis = analyse_study(db, study_id)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ratings_path = folder / "ratings.csv"
    ratings_frame(db, study_id).to_csv(ratings_path, index=False)
    rows = [{"scope": "overall", **asdict(s)} for s in analysis.overall]
    for rater, summaries in analysis.by_rater.items():
        rows += [{"scope": f"rater {rater}", **asdict(s)} for s in summaries]
    summary_path = folder / "model_summary.csv"
    pd.DataFrame(rows).to_csv(summary_path, index=False)
    json_path = folder / "analysis.json"
    json_path.write_text(json.dumps(analysis.to_dict(), indent=2, allow_nan=False), encoding="utf-8")
    paths = [ratings_path, summary_path, json_path]
    if analysis.pairwise:
        pairs_path = folder / "pairs.csv"
        pairs_frame(db, study_id).to_csv(pairs_path, index=False)
        paths.append(pairs_path)
    return paths


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):  # only the file name: no folder of this computer in the export
        return value.name
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    return value
