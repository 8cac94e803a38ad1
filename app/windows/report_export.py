"""The consultation report of the open case, built off the GUI thread.

The window takes a :class:`ReportSnapshot` on the GUI thread (copies of the photo and mask, the
case's texts, where each prediction is stored); :func:`build_report` and :func:`preview_page_one`
then run on a worker and read nothing but the snapshot, so the clinician can keep painting while
the PDF is written and the dialog's preview is rendered.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.dialogs.report_dialog import ReportOptions, render_first_page


@dataclass(frozen=True, eq=False)
class PredictionSource:
    """One stored prediction and the provenance the clinical appendix lists."""

    image_path: Path
    display_name: str
    version: str
    weights_sha256: str | None
    landmarks: np.ndarray | None
    created_at: str
    device: str
    app_version: str
    guide_landmarks: np.ndarray | None = None  # the points it was steered with, if any


@dataclass(frozen=True, eq=False)
class ReportSnapshot:
    """Everything a report of the open case needs, copied on the GUI thread."""

    clinic_name: str
    clinic_logo: Path | None
    clinician: str
    patient_label: str
    notes: str
    photo_rgb: np.ndarray
    photo_sha256: str
    mask: np.ndarray
    face_box: tuple[float, float, float, float]
    photo_landmarks: np.ndarray | None
    primary: PredictionSource
    others: dict[str, PredictionSource] = field(default_factory=dict)  # model name -> latest
    date: dt.date = field(default_factory=dt.date.today)


def _for_report(src: PredictionSource) -> object:
    from inference.io.photo import load_photo
    from studies.reports.consultation import PredictionForReport

    return PredictionForReport(load_photo(src.image_path).rgb, src.display_name, src.version,
                               src.weights_sha256, src.landmarks, src.guide_landmarks)


def build_report(snap: ReportSnapshot, options: ReportOptions, out_path: Path) -> Path:
    """Write the PDF the options ask for (runs on a worker; raises the library's typed errors)."""
    from studies.reports.consultation import ConsultationReportInput, build_consultation_report

    second = snap.others.get(options.second_model) if options.second_model else None
    p = snap.primary
    provenance = (
        ("Prediction made", f"{p.created_at} on {p.device}"),
        ("App version", p.app_version),
        ("Photo SHA-256", snap.photo_sha256),
    )
    report = ConsultationReportInput(
        clinic_name=snap.clinic_name, logo_path=snap.clinic_logo, patient_label=snap.patient_label,
        date=snap.date, clinician=snap.clinician, photo_rgb=snap.photo_rgb, mask=snap.mask,
        face_box=snap.face_box, primary=_for_report(p),  # type: ignore[arg-type]
        second=None if second is None else _for_report(second),  # type: ignore[arg-type]
        notes=snap.notes if options.include_notes else "",
        show_landmarks=options.include_landmarks and p.landmarks is not None,
        photo_landmarks=snap.photo_landmarks, kind=options.kind,
        mark_predictions=options.mark_predictions, provenance=provenance)
    return build_consultation_report(report, out_path)


def preview_page_one(snap: ReportSnapshot, options: ReportOptions) -> np.ndarray:
    """Page 1 of the report the options ask for, as RGB (built in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="cleftlip-report-") as tmp:
        return render_first_page(build_report(snap, options, Path(tmp) / "preview.pdf"))
