"""Every export of a prediction, off the GUI thread, with progress: image file, DICOM, PDF report, clipboard.

The window copies what an export reads on the GUI thread (:class:`PredictionExport`, a
``ReportSnapshot``) and hands it to :class:`ExportService`; the prediction is decoded
(``CaseStore.prediction_image``, the one decoder), marked and written on the window's worker pool,
and the service reports progress, the result or a message for the clinician through its signals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication, QImage

from app.case_controller import Refusal
from app.state import AppState, ModelChoice, PredictionView
from app.workers import TaskRunner, describe_error

Progress = Callable[[str, float], None]


@dataclass(frozen=True, eq=False)
class PredictionExport:
    """One prediction to export and what decoding it needs, copied on the GUI thread."""

    store: Any  # studies.cases.CaseStore
    prediction: PredictionView
    photo_rgb: np.ndarray
    mark: bool  # the research-visualisation mark, as the settings say

    def rgb(self) -> np.ndarray:
        """The prediction at full resolution, marked if asked (runs on the worker)."""
        p = self.prediction
        rgb = self.store.prediction_image(p.stored if p.stored is not None else p, self.photo_rgb)
        if not self.mark:
            return rgb
        from studies.reports.marks import add_research_mark

        return add_research_mark(rgb)


def with_suffix(path: Path, suffix: str) -> Path:
    path = Path(path)
    return path if path.suffix else path.with_suffix(suffix)


def write_image(source: PredictionExport, path: Path, progress: Progress) -> Path:
    """Full resolution, PNG or JPEG by suffix, without any metadata."""
    from inference.io.photo import save_image

    progress("Reading the prediction…", 0.1)
    rgb = source.rgb()
    progress(f"Writing {path.name}…", 0.5)
    save_image(path, rgb)
    return path


def write_dicom(source: PredictionExport, path: Path, dicom: Any, description: str, deidentify: bool,
                pseudonym: str, progress: Progress) -> Path:
    """A Secondary Capture next to the photo's study (``dicom``: the photo's dataset, if it was DICOM)."""
    from app.version import app_version
    from inference.io.dicom_export import export_secondary_capture

    progress("Reading the prediction…", 0.1)
    rgb = source.rgb()
    progress(f"Writing {path.name}…", 0.5)
    export_secondary_capture(rgb, path, dicom, description, deidentify, software_version=app_version(),
                             patient_name=pseudonym, patient_id=pseudonym)
    return path


def clipboard_image(source: PredictionExport, progress: Progress) -> QImage:
    """The image the clipboard gets (a QImage may be made on a worker; the clipboard is set on the GUI thread)."""
    from app.canvas.images import rgb_to_qimage

    progress("Reading the prediction…", 0.2)
    return rgb_to_qimage(source.rgb())


def model_description(p: PredictionView) -> str:
    sha = p.weights_sha256[:16] if p.weights_sha256 else "no learned weights"
    return f"{p.display_name} ({p.model_name}); weights {sha}; app {p.app_version}; {p.device}"


def report_snapshot(state: AppState, store: Any, settings: Any, others: list[PredictionView]) -> Any:
    """What a report of the open case needs, copied now; raises ``Refusal`` when it cannot be made."""
    from app.windows.report_export import ReportSnapshot, has_postop_photo, prediction_source

    p, case, face, photo, mask = state.current_prediction, state.case, state.face, state.photo, state.mask
    if p is None or case is None or mask is None or photo is None:
        raise Refusal("Report not made", "Open a case and run a model first.")
    if face is None or face.analysis is None:
        raise Refusal("Report not made", "The face has not been marked on this photo.")

    def source(view: PredictionView) -> Any:
        return prediction_source(view, (state.model_choice(view.model_name) or ModelChoice("", "", False, "", False,
                                                                                         "")).card)

    return ReportSnapshot(
        clinic_name=settings.clinic_name, clinic_logo=settings.clinic_logo, clinician=settings.clinician_name,
        patient_label=case.pseudonym, notes=case.notes, photo_rgb=photo.rgb, photo_sha256=case.photo_sha256,
        mask=mask, face_box=face.analysis.crop.box, photo_landmarks=face.landmarks, primary=source(p),
        others={o.model_name: source(o) for o in others}, store=store, case_id=case.id,
        has_postop=face.landmarks is not None and has_postop_photo(store, case.id))


class ExportService(QObject):
    """Runs exports on ``tasks`` (the window's worker pool) one call each; results come back as signals."""

    progress = Signal(str, float)  # what is being done, fraction done
    done = Signal(str)  # a line for the status bar
    failed = Signal(str, str)  # dialog title, message for the clinician

    def __init__(self, tasks: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._pending = 0

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def _run(self, job: Callable[[Progress], Any], done: Callable[[Any], str], title: str) -> None:
        self._pending += 1

        def finished(value: Any) -> None:
            self._pending -= 1
            self.done.emit(done(value))

        def failed(exc: BaseException) -> None:
            self._pending -= 1
            self.failed.emit(title, describe_error(exc))

        self._tasks.submit(job, finished, failed, on_progress=self.progress.emit)

    def save_image(self, source: PredictionExport, path: Path) -> Path:
        path = with_suffix(path, ".png")
        self._run(lambda report: write_image(source, path, report), lambda out: f"Saved {out}",
                  "Prediction not saved")
        return path

    def export_dicom(self, source: PredictionExport, path: Path, dicom: Any, deidentify: bool,
                     pseudonym: str) -> Path:
        path = with_suffix(path, ".dcm")
        description = model_description(source.prediction)
        self._run(lambda report: write_dicom(source, path, dicom, description, deidentify, pseudonym, report),
                  lambda out: f"DICOM written to {out}", "DICOM not exported")
        return path

    def export_report(self, snapshot: Any, options: Any, path: Path) -> Path:
        from app.windows.report_export import build_report

        path = with_suffix(path, ".pdf")
        self._run(lambda report: build_report(snapshot, options, path, report),
                  lambda out: f"Report written to {out}", "Report not made")
        return path

    def copy_to_clipboard(self, source: PredictionExport) -> None:
        def put(image: QImage) -> str:
            QGuiApplication.clipboard().setImage(image)
            return "Prediction copied to the clipboard"

        self._run(lambda report: clipboard_image(source, report), put, "Prediction not copied")
