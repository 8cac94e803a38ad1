"""One dialog for the consultation report: which copy, what goes in, and a preview of page 1.

It replaces a chain of Yes/No questions in which "Yes" meant de-identified: every choice is a
labelled control, the options a copy cannot print are greyed out, and page 1 is rendered (on a
worker thread, with poppler's ``pdftoppm``) whenever a choice changes, so the clinician sees what
the family will hold before the file is written.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.canvas.images import rgb_to_qimage
from app.workers import TaskRunner, describe_error
from studies.reports.consultation import CLINICAL, DEIDENTIFIED, FAMILY

KIND_LABELS = (
    (FAMILY, "&Family copy", "Patient pseudonym, nose-and-mouth close-up and whole face; "
                             "no notes, landmarks or technical details"),
    (CLINICAL, "&Clinical record", "Family copy plus, as chosen, notes and landmarks, and a "
                                   "technical appendix (model versions, weights hashes)"),
    (DEIDENTIFIED, "&De-identified", "For colleagues and teaching: no name or ID, year only, "
                                     "nose and mouth only, no notes"),
)
PREVIEW_WIDTH = 330


@dataclass(frozen=True)
class ReportOptions:
    """What the clinician chose; ``second_model`` is a model name among the offered ones."""

    kind: str = FAMILY
    include_notes: bool = False
    include_landmarks: bool = False
    second_model: str | None = None
    mark_predictions: bool = True
    include_postop: bool = False


@dataclass(frozen=True)
class ReportChoices:
    """What the dialog can offer for the current case (built by the window)."""

    second_models: Sequence[tuple[str, str]] = ()  # (model name, label shown)
    has_notes: bool = False
    has_landmarks: bool = False
    mark_default: bool = True
    has_postop: bool = False  # the case has a post-operative photo (and the photo has landmarks to align it)
    preview: Callable[[ReportOptions], np.ndarray] | None = None  # page 1 as RGB; runs on a worker


def render_first_page(pdf: Path, dpi: int = 60) -> np.ndarray:
    """Page 1 of ``pdf`` as an RGB array (poppler's ``pdftoppm``); OSError when it is missing."""
    from PIL import Image

    tool = shutil.which("pdftoppm")
    if tool is None:
        raise FileNotFoundError("pdftoppm (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory(prefix="cleftlip-preview-") as tmp:
        prefix = Path(tmp) / "page"
        subprocess.run([tool, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(prefix)], check=True, capture_output=True, timeout=60)
        with Image.open(prefix.with_suffix(".png")) as img:
            return np.asarray(img.convert("RGB"))


class ReportExportDialog(QDialog):
    """Modal; ``options()`` after ``exec()`` returns the choices. Page 1 renders on a worker."""

    def __init__(self, choices: ReportChoices, defaults: ReportOptions | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export consultation report")
        self._choices = choices
        self.tasks = TaskRunner(self, max_threads=1)
        self._token = 0
        defaults = defaults or ReportOptions(mark_predictions=choices.mark_default)

        kinds = QGroupBox("Which copy")
        kind_layout = QVBoxLayout(kinds)
        self.kind_group = QButtonGroup(self)
        self.kind_buttons: dict[str, QRadioButton] = {}
        for kind, label, help_text in KIND_LABELS:
            button = QRadioButton(label)
            button.setToolTip(help_text)
            note = QLabel(help_text)
            note.setWordWrap(True)
            note.setStyleSheet("color: palette(mid); margin-left: 22px;")
            self.kind_group.addButton(button)
            kind_layout.addWidget(button)
            kind_layout.addWidget(note)
            self.kind_buttons[kind] = button
        self.kind_buttons[defaults.kind].setChecked(True)

        self.notes = QCheckBox("Include the clinician's &notes")
        self.landmarks = QCheckBox("Include predicted &landmarks")
        self.mark = QCheckBox("&Mark predicted pictures \u201cresearch visualisation\u201d")
        self.notes.setChecked(defaults.include_notes and choices.has_notes)
        self.landmarks.setChecked(defaults.include_landmarks and choices.has_landmarks)
        self.mark.setChecked(defaults.mark_predictions)
        self.postop = QCheckBox("Include the &post-operative photo")
        self.postop.setChecked(defaults.include_postop and choices.has_postop)
        self.second = QComboBox()
        self.second.addItem("No second model", None)
        for name, label in choices.second_models:
            self.second.addItem(label, name)
        self.second.setCurrentIndex(max(0, self.second.findData(defaults.second_model)))
        contents = QGroupBox("What goes in")
        form = QFormLayout(contents)
        form.addRow(self.notes)
        form.addRow(self.landmarks)
        form.addRow(self.mark)
        form.addRow(self.postop)
        second_label = QLabel("&Second model:")
        second_label.setBuddy(self.second)
        form.addRow(second_label, self.second)

        self.preview = QLabel("Preview of page 1…")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedWidth(PREVIEW_WIDTH)
        self.preview.setMinimumHeight(round(PREVIEW_WIDTH * 1.42))
        self.preview.setStyleSheet("background: #e8e8e8; border: 1px solid #b0b0b0;")
        self.preview.setWordWrap(True)
        self.preview_image: np.ndarray | None = None

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        left = QVBoxLayout()
        left.addWidget(kinds)
        left.addWidget(contents)
        left.addStretch(1)
        left.addWidget(self.buttons)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(self.preview)

        self._preview_timer = QTimer(self, singleShot=True, interval=250)
        self._preview_timer.timeout.connect(self._render_preview)
        self.kind_group.buttonToggled.connect(lambda _b, on: on and self._changed())
        for box in (self.notes, self.landmarks, self.mark, self.postop):
            box.toggled.connect(lambda _on: self._changed())
        self.second.currentIndexChanged.connect(lambda _i: self._changed())
        self._changed()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        """Start on the chosen copy, so the arrow keys move between the three at once."""
        super().showEvent(event)
        self.kind_buttons[self.kind].setFocus(Qt.FocusReason.ActiveWindowFocusReason)

    # ------------------------------------------------------------------ choices
    @property
    def kind(self) -> str:
        return next(k for k, b in self.kind_buttons.items() if b.isChecked())

    def options(self) -> ReportOptions:
        kind = self.kind
        return ReportOptions(
            kind=kind,
            include_notes=self.notes.isEnabled() and self.notes.isChecked(),
            include_landmarks=self.landmarks.isEnabled() and self.landmarks.isChecked(),
            second_model=self.second.currentData(),
            mark_predictions=self.mark.isChecked(),
            include_postop=self.postop.isEnabled() and self.postop.isChecked(),
        )

    def done(self, result: int) -> None:  # noqa: D102 - let a running preview finish first
        self._preview_timer.stop()
        self._token += 1
        super().done(result)
        self.tasks.wait()

    def _changed(self) -> None:
        kind = self.kind
        c = self._choices
        self.notes.setEnabled(kind == CLINICAL and c.has_notes)
        self.notes.setToolTip("" if self.notes.isEnabled() else
                              "Notes only go into the clinical record" if c.has_notes else "This case has no notes")
        self.landmarks.setEnabled(kind != FAMILY and c.has_landmarks)
        self.landmarks.setToolTip("" if self.landmarks.isEnabled() else
                                  "The family copy never shows landmarks" if c.has_landmarks
                                  else "The chosen model predicts no landmarks")
        self.second.setEnabled(bool(c.second_models))
        self.postop.setEnabled(c.has_postop)
        self.postop.setToolTip("" if c.has_postop else
                               "This case has no post-operative photo (File > Add post-op photo…)")
        self._preview_timer.start()

    # ------------------------------------------------------------------ preview
    def _render_preview(self) -> None:
        preview = self._choices.preview
        if preview is None:
            self.preview.setText("No preview available.")
            return
        self._token += 1
        token, options = self._token, self.options()
        self.preview.setText("Rendering page 1…")
        self.tasks.submit(lambda: preview(options), lambda rgb: self._show_preview(token, rgb),
                          lambda exc: self._preview_failed(token, exc))

    def _show_preview(self, token: int, rgb: np.ndarray) -> None:
        if token != self._token:
            return  # a newer choice is being rendered
        self.preview_image = rgb
        pixmap = QPixmap.fromImage(rgb_to_qimage(rgb))
        self.preview.setPixmap(pixmap.scaledToWidth(PREVIEW_WIDTH - 4, Qt.TransformationMode.SmoothTransformation))

    def _preview_failed(self, token: int, exc: BaseException) -> None:
        if token != self._token:
            return
        self.preview_image = None
        if isinstance(exc, FileNotFoundError):
            text = "No preview: install poppler-utils (pdftoppm). The export itself works without it."
        else:
            text = f"No preview: {describe_error(exc)}"
        self.preview.setText(text)
