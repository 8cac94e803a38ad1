"""Analysis of an unblinded study: answers + revealed models -> statistics -> CSV/JSON.

Only completed items count. The PDF study report (studies/reports) renders :class:`StudyAnalysis`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from studies.database import Database
from studies.errors import AnalysisError
from studies.options import Scale, StudyOptions, StudyStatus
from studies.schema import utcnow
from studies.statistics import (
    AgreementResult,
    FriedmanResult,
    ICCResult,
    IntraRaterResult,
    ModelSummary,
    friedman_kendall,
    intra_rater_agreement,
    scale_icc,
    summarise_by_rater,
    summarise_models,
    validity_agreement,
)
from studies.unit_of_work import UnitOfWork

SCALE_COLUMNS = tuple(s.value for s in Scale)


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
        for rater in uow.studies.raters(study_id):
            items = [i for i in uow.studies.items(rater.id) if i.completed_at is not None]
            shown = uow.studies.item_outputs([i.id for i in items])
            validity, ranks, scales = uow.studies.answers([s.id for s in shown])
            comments = uow.studies.comments([i.id for i in items])
            item_by_id = {i.id: i for i in items}
            for s in shown:
                item = item_by_id[s.item_id]
                v = validity.get(s.id)
                record = {
                    "rater": rater.initials, "rater_uid": rater.uid, "site": rater.site,
                    "position": item.position, "case": code_of[item.study_case_id],
                    "model": model_of.get(s.output_id), "output_id": s.output_id, "repeat": item.is_repeat,
                    "valid": True if not options.ask_validity else bool(v is not None and v.valid),
                    "invalid_reason": None if v is None else v.reason,
                    "rank": float(ranks[s.id].rank) if s.id in ranks else math.nan,
                    "comment": comments[item.id].text if item.id in comments else "",
                }
                for col in SCALE_COLUMNS:
                    record[col] = math.nan
                for a in scales.get(s.id, []):
                    record[a.scale] = float(a.score)
                records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[
        "rater", "rater_uid", "site", "position", "case", "model", "output_id", "repeat", "valid",
        "invalid_reason", "rank", "comment", *SCALE_COLUMNS])
    if frame["model"].isna().any():
        raise AnalysisError("Some outputs have no revealed model; unblind the study again.")
    return frame


def analyse_study(db: Database, study_id: int) -> StudyAnalysis:
    frame = ratings_frame(db, study_id)
    if frame.empty:
        raise AnalysisError("No rater has completed a case yet; there is nothing to analyse.")
    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        models = tuple(m.name for m in uow.studies.models(study_id))
        options = StudyOptions.from_json(study.options_json)
        uid, title, n_cases = study.uid, study.title, len(uow.studies.cases(study_id))
    return StudyAnalysis(
        study_id=study_id, study_uid=uid, title=title, models=models,
        raters=tuple(sorted(frame["rater"].unique())), n_cases=n_cases, n_ratings=len(frame),
        overall=summarise_models(frame, models), by_rater=summarise_by_rater(frame),
        friedman=friedman_kendall(frame) if options.ask_ranking else None,
        validity_agreement=validity_agreement(frame),
        scale_icc=tuple(scale_icc(frame, s.value) for s in options.scales),
        intra_rater=intra_rater_agreement(frame))


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
    return [ratings_path, summary_path, json_path]


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_safe(value.item())
    return value
