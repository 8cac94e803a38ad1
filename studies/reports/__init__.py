"""PDF reports: consultation reports for families and colleagues, and shared building blocks.

``blocks`` holds the reusable pieces; ``consultation`` builds the per-case report. The blinded
study report (studies engineer) is built from the same ``blocks``.
"""

from studies.reports.consultation import (
    ConsultationReportInput,
    PostopForReport,
    PredictionForReport,
    build_consultation_report,
)
from studies.reports.errors import ReportError, ReportInputError, ReportWriteError

__all__ = [
    "ConsultationReportInput",
    "PostopForReport",
    "PredictionForReport",
    "ReportError",
    "ReportInputError",
    "ReportWriteError",
    "build_consultation_report",
]
