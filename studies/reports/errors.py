"""Typed errors of the PDF reports; messages are written for the clinician using the app."""

from __future__ import annotations

from studies.errors import StudyError


class ReportError(StudyError):
    """Base of every error raised while building a PDF report."""


class ReportInputError(ReportError):
    """The data given for a report is incomplete or inconsistent (image sizes, missing fields)."""


class ReportWriteError(ReportError):
    """The PDF could not be written (disk full, folder missing or read-only)."""
