"""Owner-side unit of work: one session, committed only by an explicit ``commit()``.

Rater-facing code uses :class:`studies.repositories.rater.RaterUnitOfWork`, which has no
repository for the sealed mapping. Both turn every database error (disk full, database
locked, damaged file) into a typed :class:`studies.errors.DatabaseWriteError`, so the screens'
handlers for ``StudyError`` show it and nothing raw escapes.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from studies.database import Database, database_errors, end_session
from studies.repositories.cases import CaseRepository
from studies.repositories.sealed import SealedMappingRepository
from studies.repositories.studies import StudyRepository


class UnitOfWork:
    session: Session
    cases: CaseRepository
    studies: StudyRepository
    sealed: SealedMappingRepository

    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self) -> "UnitOfWork":
        self.session = self.db.session_factory()
        self.cases = CaseRepository(self.session)
        self.studies = StudyRepository(self.session)
        self.sealed = SealedMappingRepository(self.session)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        end_session(self.session, exc)

    def commit(self) -> None:
        with database_errors():
            self.session.commit()

    def rollback(self) -> None:
        with database_errors():
            self.session.rollback()
