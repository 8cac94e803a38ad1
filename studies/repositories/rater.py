"""Rater-facing queries. By construction this module cannot reach the sealed model mapping:
it imports no model-related table, and its unit of work has no repository for one.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from studies.database import Database, database_errors, end_session
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
    ValidityAnswer,
)


class RaterRepository:
    """Everything one rater's screen needs, always filtered by that rater."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def rater(self, rater_id: int) -> Rater:
        rater = self.session.get(Rater, rater_id)
        if rater is None:
            raise NotFoundError(f"Rater {rater_id} does not exist.")
        return rater

    def study(self, study_id: int) -> Study:
        study = self.session.get(Study, study_id)
        if study is None:
            raise NotFoundError(f"Study {study_id} does not exist.")
        return study

    def study_case(self, study_case_id: int) -> StudyCase:
        sc = self.session.get(StudyCase, study_case_id)
        if sc is None:
            raise NotFoundError(f"Study case {study_case_id} does not exist.")
        return sc

    def item(self, rater_id: int, position: int) -> RaterItem:
        item = self.session.scalar(
            select(RaterItem).where(RaterItem.rater_id == rater_id, RaterItem.position == position))
        if item is None:
            raise NotFoundError(f"This rater has no case at position {position}.")
        return item

    def items(self, rater_id: int) -> list[RaterItem]:
        return list(self.session.scalars(
            select(RaterItem).where(RaterItem.rater_id == rater_id).order_by(RaterItem.position)))

    def count_items(self, rater_id: int) -> tuple[int, int]:
        total, done = self.session.execute(
            select(func.count(RaterItem.id), func.count(RaterItem.completed_at))
            .where(RaterItem.rater_id == rater_id)).one()
        return int(total), int(done)

    def shown_outputs(self, item_id: int) -> list[tuple[RaterItemOutput, str, str]]:
        """(slot row, file path, sha256) in display order; only columns with no model information."""
        rows = self.session.execute(
            select(RaterItemOutput, Output.file_path, Output.sha256)
            .join(Output, Output.id == RaterItemOutput.output_id)
            .where(RaterItemOutput.item_id == item_id).order_by(RaterItemOutput.slot))
        return [(r[0], r[1], r[2]) for r in rows]

    def validity(self, item_output_id: int) -> ValidityAnswer | None:
        return self.session.scalar(select(ValidityAnswer).where(ValidityAnswer.item_output_id == item_output_id))

    def rank(self, item_output_id: int) -> RankAnswer | None:
        return self.session.scalar(select(RankAnswer).where(RankAnswer.item_output_id == item_output_id))

    def scales(self, item_output_id: int) -> list[ScaleAnswer]:
        return list(self.session.scalars(select(ScaleAnswer).where(ScaleAnswer.item_output_id == item_output_id)))

    def scale(self, item_output_id: int, scale: str) -> ScaleAnswer | None:
        return self.session.scalar(select(ScaleAnswer).where(
            ScaleAnswer.item_output_id == item_output_id, ScaleAnswer.scale == scale))

    def comment(self, item_id: int) -> CommentAnswer | None:
        return self.session.scalar(select(CommentAnswer).where(CommentAnswer.item_id == item_id))

    def delete_rank(self, item_output_id: int) -> None:
        self.session.execute(delete(RankAnswer).where(RankAnswer.item_output_id == item_output_id))

    def add(self, row: object) -> None:
        self.session.add(row)


class RaterUnitOfWork:
    """Unit of work of the rating screen: a session and the rater repository, nothing else."""

    session: Session
    raters: RaterRepository

    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> "RaterUnitOfWork":
        # The rating screen's own connections: on SQLite they cannot read the case store, the model
        # names or the sealed mapping at all (studies.database, schema.RATER_HIDDEN_TABLES).
        self.session = (self.db.rater_session_factory or self.db.session_factory)()
        self.raters = RaterRepository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        end_session(self.session, exc)  # a raw database error leaves as a typed DatabaseWriteError

    def commit(self) -> None:
        with database_errors():
            self.session.commit()
