"""Owner-side study queries (setup, raters, orders, analysis inputs). Not used by the rating screen."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from studies.errors import NotFoundError
from studies.schema import (
    CommentAnswer,
    Output,
    PairAnswer,
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


@dataclass(frozen=True)
class AnswerRow:
    """One output shown in one rater's item, with every answer given to it (rows of the open session)."""

    rater: Rater
    item: RaterItem
    shown: RaterItemOutput
    validity: ValidityAnswer | None
    rank: RankAnswer | None
    comment: CommentAnswer | None  # the item's comment (one per item, repeated on each of its outputs)
    scales: tuple[ScaleAnswer, ...]


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

    def answer_rows(self, study_id: int, rater_ids: Collection[int] | None = None,
                    completed_only: bool = False) -> list[AnswerRow]:
        """Every shown output of the study's raters with its answers: the one answers join.

        Analysis, the answer-sheet export and the exchange read answers through this, so they
        cannot disagree on which answers belong to which output. Ordered by rater, item (as
        created, i.e. by position) and display slot; ``completed_only`` keeps finished items only.
        """
        scope = [Rater.study_id == study_id]
        if rater_ids is not None:
            scope.append(Rater.id.in_(list(rater_ids)))
        if completed_only:
            scope.append(RaterItem.completed_at.is_not(None))
        rows = self.session.execute(
            select(Rater, RaterItem, RaterItemOutput, ValidityAnswer, RankAnswer, CommentAnswer)
            .join(RaterItem, RaterItem.rater_id == Rater.id)
            .join(RaterItemOutput, RaterItemOutput.item_id == RaterItem.id)
            .outerjoin(ValidityAnswer, ValidityAnswer.item_output_id == RaterItemOutput.id)
            .outerjoin(RankAnswer, RankAnswer.item_output_id == RaterItemOutput.id)
            .outerjoin(CommentAnswer, CommentAnswer.item_id == RaterItem.id)
            .where(*scope).order_by(Rater.id, RaterItem.id, RaterItemOutput.slot)).all()
        scales: dict[int, list[ScaleAnswer]] = {}
        for answer in self.session.scalars(
                select(ScaleAnswer).join(RaterItemOutput, RaterItemOutput.id == ScaleAnswer.item_output_id)
                .join(RaterItem, RaterItem.id == RaterItemOutput.item_id).join(Rater, Rater.id == RaterItem.rater_id)
                .where(*scope).order_by(ScaleAnswer.id)):
            scales.setdefault(answer.item_output_id, []).append(answer)
        return [AnswerRow(rater, item, shown, validity, rank, comment, tuple(scales.get(shown.id, ())))
                for rater, item, shown, validity, rank, comment in rows]

    def comments(self, item_ids: Sequence[int]) -> dict[int, CommentAnswer]:
        if not item_ids:
            return {}
        return {c.item_id: c for c in self.session.scalars(
            select(CommentAnswer).where(CommentAnswer.item_id.in_(list(item_ids))))}

    def pair_answers(self, item_ids: Sequence[int]) -> dict[int, PairAnswer]:
        """Pairwise studies: the preference given for each of these items (item id -> answer)."""
        if not item_ids:
            return {}
        return {p.item_id: p for p in self.session.scalars(
            select(PairAnswer).where(PairAnswer.item_id.in_(list(item_ids))))}

    def log(self, study_id: int) -> list[UnblindingLog]:
        return list(self.session.scalars(
            select(UnblindingLog).where(UnblindingLog.study_id == study_id).order_by(UnblindingLog.id)))
