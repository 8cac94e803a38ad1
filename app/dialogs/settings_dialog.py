"""Settings: device, default model, data folder, clinic name/logo and clinician (for reports)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.settings import DEVICES, AppSettings
from inference.devices import cpu_has_native_bf16
from app.state import ModelChoice


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, models: list[ModelChoice], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self._settings = settings
        self.device = QComboBox()
        for name, label in zip(DEVICES, ["Automatic (GPU if present)", "CPU", "NVIDIA GPU (CUDA)", "Apple GPU (MPS)"]):
            self.device.addItem(label, name)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.precision = QComboBox()
        native = "available" if cpu_has_native_bf16() else "not available on this CPU"
        for name, label in [("auto", f"Automatic (bf16 where native: {native})"), ("fp32", "Full precision (fp32)"),
                            ("bf16", "bf16 (faster only on CPUs with native bf16)")]:
            self.precision.addItem(label, name)
        self.precision.setCurrentIndex(max(0, self.precision.findData(settings.cpu_precision)))
        self.model = QComboBox()
        for m in models:
            self.model.addItem(m.display_name, m.name)
        if self.model.findData(settings.default_model) < 0:
            self.model.addItem(settings.default_model, settings.default_model)
        self.model.setCurrentIndex(self.model.findData(settings.default_model))
        self.data_dir = QLineEdit(str(settings.data_dir))
        self.clinic = QLineEdit(settings.clinic_name)
        self.clinician = QLineEdit(settings.clinician_name)
        self.logo = QLineEdit(str(settings.clinic_logo or ""))
        self.logo.setPlaceholderText("PNG or JPEG, optional")
        form = QFormLayout(self)
        form.addRow("Compute device", self.device)
        form.addRow("CPU precision", self.precision)
        form.addRow("Default model", self.model)
        form.addRow("Data folder", self._with_browse(self.data_dir, folder=True))
        note = QLabel("Cases, masks and predictions are stored here, on this computer only.")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        form.addRow("", note)
        form.addRow("Clinic name", self.clinic)
        form.addRow("Clinic logo", self._with_browse(self.logo, folder=False))
        form.addRow("Clinician", self.clinician)
        self.research_mark = QCheckBox("Mark saved and copied predictions “research visualisation”")
        self.research_mark.setChecked(settings.research_mark)
        form.addRow("Pictures", self.research_mark)
        mark_note = QLabel("Also the default for the pictures in a consultation report. Turn it off only for "
                           "pictures that stay with the clinical team.")
        mark_note.setWordWrap(True)
        mark_note.setStyleSheet("color: palette(mid);")
        form.addRow("", mark_note)
        self.reopen_last = QCheckBox("Reopen the last case at start")
        self.reopen_last.setChecked(settings.reopen_last_case)
        form.addRow("Start", self.reopen_last)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _with_browse(self, edit: QLineEdit, folder: bool) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit)
        button = QPushButton("Browse…")

        def browse() -> None:
            if folder:
                chosen = QFileDialog.getExistingDirectory(self, "Data folder", edit.text())
            else:
                chosen, _ = QFileDialog.getOpenFileName(self, "Clinic logo", edit.text(), "Images (*.png *.jpg *.jpeg)")
            if chosen:
                edit.setText(chosen)

        button.clicked.connect(browse)
        row.addWidget(button)
        return box

    def result_settings(self) -> AppSettings:
        logo = self.logo.text().strip()
        return self._settings.with_changes(
            device=self.device.currentData(), cpu_precision=self.precision.currentData(),
            default_model=self.model.currentData(),
            data_dir=Path(self.data_dir.text().strip() or self._settings.data_dir).expanduser(),
            clinic_name=self.clinic.text().strip(), clinician_name=self.clinician.text().strip(),
            clinic_logo=Path(logo).expanduser() if logo else None, research_mark=self.research_mark.isChecked(),
            reopen_last_case=self.reopen_last.isChecked())
