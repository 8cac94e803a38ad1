"""The consultation report of the open case, built off the GUI thread.

The window takes a :class:`ReportSnapshot` on the GUI thread (the photo, the case's texts, the
stored predictions and the store that decodes them); :func:`build_report` and
:func:`preview_page_one` then run on a worker and read nothing but the snapshot, so the clinician
can keep painting while the PDF is written and the dialog's preview is rendered. The report draws
the mask the prediction was made with (stored with it), not the one on screen.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.dialogs.report_dialog import ReportOptions, render_first_page

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class PredictionSource:
    """One stored prediction and the provenance the clinical appendix lists."""

    stored: Any  # studies.cases.PredictionInfo: what CaseStore.prediction_image / prediction_mask read
    display_name: str
    version: str
    weights_sha256: str | None
    landmarks: np.ndarray | None
    created_at: str
    device: str
    app_version: str
    guide_landmarks: np.ndarray | None = None  # the points it was steered with, if any
    mask_sha256: str | None = None  # the mask it was made with


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
    mask: np.ndarray  # the mask on screen: drawn only for older predictions stored without theirs
    face_box: tuple[float, float, float, float]
    photo_landmarks: np.ndarray | None
    primary: PredictionSource
    others: dict[str, PredictionSource] = field(default_factory=dict)  # model name -> latest
    date: dt.date = field(default_factory=dt.date.today)
    store: Any = None  # studies.cases.CaseStore: decodes the predictions (on the worker)
    case_id: int | None = None  # reads the post-operative photo, if the report includes it
    has_postop: bool = False  # the case has a post-operative photo and the photo has landmarks to align it


def prediction_source(p: Any, card: dict | None) -> PredictionSource:
    """A report's view of a ``PredictionView`` (``card``: its model's card, for the code version)."""
    return PredictionSource(p.stored if p.stored is not None else p, p.display_name,
                            str((card or {}).get("code_version", p.app_version)), p.weights_sha256, p.landmarks,
                            p.created_at, p.device, p.app_version, p.guide_landmarks, p.mask_sha256)


def report_mask(snap: ReportSnapshot) -> np.ndarray:
    """The mask the primary prediction was made with; the one on screen for a row stored without its mask."""
    mask = snap.store.prediction_mask(snap.primary.stored)
    if mask is None:
        log.info("prediction stored without its mask: the report draws the mask on screen")
        return snap.mask
    return mask


def _for_report(snap: ReportSnapshot, src: PredictionSource) -> object:
    from studies.reports.consultation import PredictionForReport

    return PredictionForReport(snap.store.prediction_image(src.stored, snap.photo_rgb), src.display_name,
                               src.version, src.weights_sha256, src.landmarks, src.guide_landmarks)


def report_postop(snap: ReportSnapshot) -> object:
    """The case's post-operative photo aligned to the pre-operative photo (runs on a worker)."""
    from inference.alignment import align_postop
    from studies.errors import CaseError
    from studies.postop import PostopStore
    from studies.reports.consultation import PostopForReport

    postop = PostopStore(snap.store.db)
    info = None if snap.case_id is None else postop.postop_photo(snap.case_id)
    if info is None:
        raise CaseError("This case has no post-operative photo: add one with “Add post-op photo…”.")
    if snap.photo_landmarks is None:
        raise CaseError("The post-operative photo cannot be aligned: no landmarks were found on the "
                        "pre-operative photo.")
    h, w = snap.photo_rgb.shape[:2]
    aligned = align_postop(postop.load_postop_rgb(info), info.landmarks, np.asarray(snap.photo_landmarks, np.float32),
                           (w, h))
    return PostopForReport(aligned.image, aligned.landmarks, aligned.alignment.describe())


def has_postop_photo(store: Any, case_id: int) -> bool:
    """Whether the case has a post-operative photo stored (a quick database read; False on any error)."""
    from studies.errors import StudyError
    from studies.postop import PostopStore

    try:
        return PostopStore(store.db).postop_photo(case_id) is not None
    except (StudyError, OSError, AttributeError):
        return False


def build_report(snap: ReportSnapshot, options: ReportOptions, out_path: Path,
                 progress: Callable[[str, float], None] | None = None) -> Path:
    """Write the PDF the options ask for (runs on a worker; raises the library's typed errors)."""
    from studies.reports.consultation import ConsultationReportInput, build_consultation_report

    step = progress or (lambda _text, _fraction: None)
    step("Reading the predictions…", 0.1)
    postop = report_postop(snap) if options.include_postop else None
    second = snap.others.get(options.second_model) if options.second_model else None
    p = snap.primary
    provenance = (
        ("Prediction made", f"{p.created_at} on {p.device}"),
        ("App version", p.app_version),
        ("Photo SHA-256", snap.photo_sha256),
    )
    report = ConsultationReportInput(
        clinic_name=snap.clinic_name, logo_path=snap.clinic_logo, patient_label=snap.patient_label,
        date=snap.date, clinician=snap.clinician, photo_rgb=snap.photo_rgb, mask=report_mask(snap),
        face_box=snap.face_box, primary=_for_report(snap, p),  # type: ignore[arg-type]
        second=None if second is None else _for_report(snap, second),  # type: ignore[arg-type]
        notes=snap.notes if options.include_notes else "",
        show_landmarks=options.include_landmarks and p.landmarks is not None,
        photo_landmarks=snap.photo_landmarks, kind=options.kind,
        mark_predictions=options.mark_predictions, provenance=provenance,
        postop=postop, show_postop=postop is not None)  # type: ignore[arg-type]
    step("Writing the report…", 0.4)
    return build_consultation_report(report, out_path)


def preview_page_one(snap: ReportSnapshot, options: ReportOptions) -> np.ndarray:
    """Page 1 of the report the options ask for, as RGB (built in a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="cleftlip-report-") as tmp:
        return render_first_page(build_report(snap, options, Path(tmp) / "preview.pdf"))
