"""Closing a study and unblinding it: owner only (passphrase), only after closing, always logged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from studies.database import Database
from studies.errors import PassphraseError, StudyStateError
from studies.options import StudyRole, StudyStatus
from studies.schema import Study, UnblindingLog, utcnow
from studies.sealing import Seal, verify_passphrase
from studies.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class LogEntry:
    action: str
    actor: str
    success: bool
    detail: str
    at: datetime


@dataclass(frozen=True)
class UnblindingResult:
    study_id: int
    unblinded_at: datetime
    n_outputs: int
    outputs_per_model: dict[str, int]


class UnblindingService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def close_study(self, study_id: int, passphrase: str, actor: str) -> None:
        """Stop rating (answers become read-only). The study stays blinded."""
        with UnitOfWork(self.db) as uow:
            study = uow.studies.get(study_id)
            problem = self._refusal(study, passphrase, expected=StudyStatus.OPEN)
            if problem is None:
                study.status = StudyStatus.CLOSED.value
                study.closed_at = utcnow()
            self._log(uow, study_id, "close", actor, problem)
            uow.commit()
        self._raise(problem)

    def unblind(self, study_id: int, passphrase: str, actor: str) -> UnblindingResult:
        """Reveal which model made each output (needed for the analysis). Irreversible and logged."""
        with UnitOfWork(self.db) as uow:
            study = uow.studies.get(study_id)
            problem = self._refusal(study, passphrase, expected=StudyStatus.CLOSED)
            if problem is not None:
                self._log(uow, study_id, "unblind", actor, problem)
                uow.commit()
                self._raise(problem)
            seal = Seal(passphrase, study.seal_salt or "")
            names = {m.position: m.name for m in uow.studies.models(study_id)}
            counts: dict[str, int] = {}
            for row in uow.sealed.for_study(study_id):
                name = names[seal.open(row.sealed_token)]
                row.revealed_model = name
                counts[name] = counts.get(name, 0) + 1
            now = utcnow()
            study.status = StudyStatus.UNBLINDED.value
            study.unblinded_at = now
            self._log(uow, study_id, "unblind", actor, None)
            uow.commit()
            return UnblindingResult(study_id=study_id, unblinded_at=now, n_outputs=sum(counts.values()),
                                    outputs_per_model=counts)

    def log(self, study_id: int) -> list[LogEntry]:
        with UnitOfWork(self.db) as uow:
            return [LogEntry(action=e.action, actor=e.actor, success=e.success, detail=e.detail, at=e.at)
                    for e in uow.studies.log(study_id)]

    @staticmethod
    def _refusal(study: Study, passphrase: str, *, expected: StudyStatus) -> str | None:
        if study.role != StudyRole.HOME.value or not study.passphrase_hash:
            return "role: only the site that owns the study can close or unblind it"
        if not verify_passphrase(passphrase, study.passphrase_hash):
            return "passphrase: wrong passphrase"
        if study.status != expected.value:
            return f"state: the study is {study.status}, it must be {expected.value}"
        return None

    @staticmethod
    def _log(uow: UnitOfWork, study_id: int, action: str, actor: str, problem: str | None) -> None:
        uow.studies.add(UnblindingLog(study_id=study_id, action=action, actor=actor.strip() or "unknown",
                                      success=problem is None, detail=problem or "", at=utcnow()))

    @staticmethod
    def _raise(problem: str | None) -> None:
        if problem is None:
            return
        kind, _, message = problem.partition(": ")
        if kind == "passphrase":
            raise PassphraseError("The study passphrase is not correct. The attempt was logged.")
        if kind == "state" and "open" in message and "closed" in message:
            raise StudyStateError("Close the study before unblinding it.")
        raise StudyStateError(message[0].upper() + message[1:] + ".")
