"""Owner-side study queries (setup, raters, orders, analysis inputs). Not used by the rating screen."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from studies.errors import NotFoundError
from studies.schema import (
    CommentAnswer,
    Output,
    RankAnswer,
    Rater,
    RaterItem,
    RaterItemOutput,
    ScaleAnswer,
    Study,
    StudyCase,
    StudyModel,
    UnblindingLog,
    ValidityAnswer,
)


class StudyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: object) -> None:
        self.session.add(row)
        self.session.flush()

    def get(self, study_id: int, *, lock: bool = False) -> Study:
        study = self.session.get(Study, study_id, with_for_update=lock)
        if study is None:
            raise NotFoundError(f"Study {study_id} does not exist.")
        return study

    def by_uid(self, uid: str) -> Study | None:
        return self.session.scalar(select(Study).where(Study.uid == uid))

    def list(self) -> list[Study]:
        return list(self.session.scalars(select(Study).order_by(Study.created_at.desc(), Study.id.desc())))

    def models(self, study_id: int) -> list[StudyModel]:
        return list(self.session.scalars(
            select(StudyModel).where(StudyModel.study_id == study_id).order_by(StudyModel.position)))

    def cases(self, study_id: int) -> list[StudyCase]:
        return list(self.session.scalars(
            select(StudyCase).where(StudyCase.study_id == study_id).order_by(StudyCase.position)))

    def outputs(self, study_id: int) -> list[Output]:
        return list(self.session.scalars(select(Output).where(Output.study_id == study_id).order_by(Output.id)))

    def delete_outputs(self, study_id: int) -> None:
        self.session.execute(delete(Output).where(Output.study_id == study_id))

    def raters(self, study_id: int) -> list[Rater]:
        return list(self.session.scalars(select(Rater).where(Rater.study_id == study_id).order_by(Rater.id)))

    def rater(self, rater_id: int) -> Rater:
        rater = self.session.get(Rater, rater_id)
        if rater is None:
            raise NotFoundError(f"Rater {rater_id} does not exist.")
        return rater

    def rater_by_uid(self, study_id: int, uid: str) -> Rater | None:
        return self.session.scalar(select(Rater).where(Rater.study_id == study_id, Rater.uid == uid))

    def items(self, rater_id: int) -> list[RaterItem]:
        return list(self.session.scalars(
            select(RaterItem).where(RaterItem.rater_id == rater_id).order_by(RaterItem.position)))

    def item_outputs(self, item_ids: Sequence[int]) -> list[RaterItemOutput]:
        if not item_ids:
            return []
        return list(self.session.scalars(
            select(RaterItemOutput).where(RaterItemOutput.item_id.in_(item_ids))
            .order_by(RaterItemOutput.item_id, RaterItemOutput.slot)))

    def count_items(self, rater_id: int) -> int:
        return self.session.scalar(select(func.count()).select_from(RaterItem)
                                   .where(RaterItem.rater_id == rater_id)) or 0

    def answers(self, item_output_ids: Sequence[int]) -> tuple[
        dict[int, ValidityAnswer], dict[int, RankAnswer], dict[int, list[ScaleAnswer]]
    ]:
        ids = list(item_output_ids)
        if not ids:
            return {}, {}, {}
        validity = {a.item_output_id: a for a in self.session.scalars(
            select(ValidityAnswer).where(ValidityAnswer.item_output_id.in_(ids)))}
        ranks = {a.item_output_id: a for a in self.session.scalars(
            select(RankAnswer).where(RankAnswer.item_output_id.in_(ids)))}
        scales: dict[int, list[ScaleAnswer]] = {}
        for a in self.session.scalars(select(ScaleAnswer).where(ScaleAnswer.item_output_id.in_(ids))):
            scales.setdefault(a.item_output_id, []).append(a)
        return validity, ranks, scales

    def comments(self, item_ids: Sequence[int]) -> dict[int, CommentAnswer]:
        if not item_ids:
            return {}
        return {c.item_id: c for c in self.session.scalars(
            select(CommentAnswer).where(CommentAnswer.item_id.in_(list(item_ids))))}

    def log(self, study_id: int) -> list[UnblindingLog]:
        return list(self.session.scalars(
            select(UnblindingLog).where(UnblindingLog.study_id == study_id).order_by(UnblindingLog.id)))
