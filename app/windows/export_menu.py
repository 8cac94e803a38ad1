"""The File menu's exports of the current prediction: image file, clipboard, DICOM, consultation report.

The dialogs ask here (through ``Prompts``); what an export reads is copied on the GUI thread and the
work runs on the :class:`~app.export_service.ExportService` (off the GUI thread), whose progress
shows in the status bar's small bar and whose result or failure follows as a status line or a message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from app.case_controller import CaseController, Refusal
from app.export_service import ExportService, PredictionExport, report_snapshot
from app.prompts import DICOM_FILTER, IMAGE_SAVE_FILTER, PDF_FILTER, Prompts
from app.workers import TaskRunner


class ExportMenu(QObject):
    def __init__(self, cases: CaseController, settings: Callable[[], Any], prompts: Prompts, tasks: TaskRunner,
                 status_bar: QStatusBar, save_notes: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cases, self.state, self._settings, self.prompts = cases, cases.state, settings, prompts
        self._status, self._save_notes = status_bar, save_notes
        self.service = ExportService(tasks, self)
        self.bar = QProgressBar(maximumWidth=160, maximum=100, textVisible=False)
        self.bar.setMaximumHeight(QLabel().sizeHint().height())  # the status bar keeps its height (hidden or not)
        status_bar.addPermanentWidget(self.bar)
        self.bar.setVisible(False)
        self.service.progress.connect(self._progress)
        self.service.done.connect(lambda text: self._finished(text, None))
        self.service.failed.connect(self._finished)

    @property
    def busy(self) -> bool:
        return self.service.busy

    def _source(self, mark: bool = True) -> PredictionExport | None:
        """The current prediction to export; ``mark``: with the research mark if the settings ask for it."""
        p, photo, store = self.state.current_prediction, self.state.photo, self.cases.store
        if p is None or photo is None or store is None:
            return None
        return PredictionExport(store, p, photo.rgb, mark and self._settings().research_mark)

    def _progress(self, text: str, fraction: float) -> None:
        self.bar.setValue(round(100 * fraction))
        self.bar.setVisible(True)
        self._status.showMessage(text)

    def _finished(self, text: str, error: str | None) -> None:
        self.bar.setVisible(self.service.busy)
        if error is None:
            self._status.showMessage(text, 4000)
        else:
            self._status.clearMessage()
            self.prompts.error(text, error)

    # ---------------------------------------------------------------- image file and clipboard
    def save_prediction_dialog(self) -> None:
        p = self.state.current_prediction
        path = p and self.prompts.save_file("Save prediction", IMAGE_SAVE_FILTER, f"prediction-{p.model_name}.png")
        if path:
            self.save_prediction(path)

    def save_prediction(self, path: Path) -> bool:
        """Full resolution, PNG or JPEG by suffix, without any metadata; marked as the settings say.

        Written on a worker; False when there is nothing to save.
        """
        source = self._source()
        if source is None:
            return False
        self.service.save_image(source, path)
        return True

    def copy_prediction(self) -> None:
        """Full resolution to the clipboard, with the research-visualisation mark unless turned off."""
        source = self._source()
        if source is not None:
            self.service.copy_to_clipboard(source)

    # ---------------------------------------------------------------- DICOM
    def export_dicom_dialog(self) -> None:
        p = self.state.current_prediction
        path = p and self.prompts.save_file("Export prediction as DICOM", DICOM_FILTER,
                                            f"prediction-{p.model_name}.dcm")
        if not path:
            return
        deidentify = self.prompts.confirm(
            "De-identify?", "Remove the patient's identifying attributes from the exported DICOM file?\n\n"
            "Yes: for colleagues or teaching. No: to file it next to the photo in your PACS.")
        self.export_dicom(path, deidentify)

    def export_dicom(self, path: Path, deidentify: bool) -> bool:
        """Write the prediction as DICOM on a worker; False when there is nothing to export."""
        source, case = self._source(mark=False), self.state.case  # a clinical record: the stored pixels
        if source is None or case is None:
            return False
        self.service.export_dicom(source, path, self.state.photo.dicom, deidentify, case.pseudonym)
        return True

    # ---------------------------------------------------------------- consultation report
    def report_snapshot(self) -> Any:
        """What a report of the open case needs, copied now (None, with a message, if incomplete)."""
        if self.state.current_prediction is None or self.state.case is None or self.state.mask is None:
            return None
        self._save_notes()
        try:
            return report_snapshot(self.state, self.cases.store, self._settings(),
                                   self.cases.second_model_candidates())
        except Refusal as refusal:
            self.prompts.error(refusal.title, str(refusal))
            return None

    def export_report_dialog(self) -> None:
        """One dialog (copy, contents, page 1 preview), then the file name; written on a worker."""
        from app.dialogs.report_dialog import ReportChoices
        from app.windows.report_export import preview_page_one

        snapshot = self.report_snapshot()
        if snapshot is None:
            return
        choices = ReportChoices(
            second_models=[(name, f"{o.display_name} ({o.created_at})") for name, o in snapshot.others.items()],
            has_notes=bool(snapshot.notes.strip()), has_landmarks=snapshot.primary.landmarks is not None,
            mark_default=self._settings().research_mark, has_postop=snapshot.has_postop, preview=lambda options: preview_page_one(snapshot, options))
        options = self.prompts.report_options(choices)
        if options is None:
            return
        suggested = {"clinical": "consultation-report-clinical-record.pdf",
                     "deidentified": "consultation-report-deidentified.pdf"}.get(options.kind, "consultation-report.pdf")
        path = self.prompts.save_file("Export consultation report", PDF_FILTER, suggested)
        if path is not None:
            self.export_report(path, options, snapshot)

    def export_report(self, path: Path, options: Any = None, snapshot: Any = None) -> bool:
        """Start writing the report on a worker; False when it cannot start (the message is shown).

        ``options`` is a ``ReportOptions`` (default: the family copy, marked as the settings say).
        """
        from app.dialogs.report_dialog import ReportOptions

        snapshot = snapshot or self.report_snapshot()
        if snapshot is None:
            return False
        options = options or ReportOptions(mark_predictions=self._settings().research_mark)
        self.service.export_report(snapshot, options, path)
        return True
