"""Typed errors of the studies package; messages are written for the clinician using the app."""

from __future__ import annotations


class StudyError(Exception):
    """Base of every error raised by :mod:`studies`."""


class DatabaseError(StudyError):
    """The database cannot be opened, migrated or is in an unexpected state."""


class DatabaseTooNewError(DatabaseError):
    """The database was written by a newer version of the app than this one."""


class DatabaseWriteError(DatabaseError):
    """A read or write failed (disk full, database locked, no permission); nothing was saved."""


class NotFoundError(StudyError):
    """A case, study, rater or item that was asked for does not exist."""


class CaseError(StudyError):
    """Bad input for the clinical case store (photo, mask, prediction)."""


class DuplicateCaseError(CaseError):
    """Another case already has this pseudonym."""


class CaseInUseError(CaseError):
    """A case cannot be deleted: a study includes it (its images and answers depend on it)."""


class StudyStateError(StudyError):
    """The action is not allowed in the study's current phase (draft, open, closed, unblinded)."""


class SetupError(StudyError):
    """The study cannot be set up or its outputs cannot be generated as asked."""


class AnswerError(StudyError):
    """A rating answer is invalid (unknown label, bad rank, scale value out of range...)."""


class PassphraseError(StudyError):
    """The study owner's passphrase is wrong or too weak."""


class IntegrityError(StudyError):
    """A stored study file does not match its recorded content hash (tampered or corrupted)."""


class ExchangeError(StudyError):
    """A study package or an answer sheet from another site cannot be read or merged."""


class AnalysisError(StudyError):
    """The study cannot be analysed (not unblinded yet, or not enough answers)."""
