"""Every question and message the app puts to the user goes through one object.

The window never calls QMessageBox/QFileDialog directly: it asks ``Prompts``. Tests hand the
window a recording implementation with scripted answers and assert on the messages shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

if TYPE_CHECKING:
    from app.dialogs.report_dialog import ReportChoices, ReportOptions

PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.dcm *.dicom);;All files (*)"
MASK_FILTER = "Mask PNG (*.png)"
IMAGE_SAVE_FILTER = "PNG image (*.png);;JPEG image (*.jpg *.jpeg)"
PDF_FILTER = "PDF document (*.pdf)"
DICOM_FILTER = "DICOM file (*.dcm)"


class Prompts(Protocol):
    def error(self, title: str, text: str) -> None: ...
    def info(self, title: str, text: str) -> None: ...
    def confirm(self, title: str, text: str) -> bool: ...
    def ask_text(self, title: str, label: str, text: str = "") -> str | None: ...
    def open_file(self, title: str, file_filter: str) -> Path | None: ...
    def save_file(self, title: str, file_filter: str, suggested: str) -> Path | None: ...
    def choose_item(self, title: str, label: str, items: Sequence[str]) -> int | None: ...
    def report_options(self, choices: ReportChoices) -> ReportOptions | None: ...


class DialogPrompts:
    """The real thing: modal Qt dialogs parented to the main window."""

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent
        self._last_dir = str(Path.home())

    def error(self, title: str, text: str) -> None:
        QMessageBox.warning(self._parent, title, text)

    def info(self, title: str, text: str) -> None:
        QMessageBox.information(self._parent, title, text)

    def confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self._parent, title, text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def ask_text(self, title: str, label: str, text: str = "") -> str | None:
        value, ok = QInputDialog.getText(self._parent, title, label, QLineEdit.EchoMode.Normal, text)
        return value if ok else None

    def open_file(self, title: str, file_filter: str) -> Path | None:
        name, _ = QFileDialog.getOpenFileName(self._parent, title, self._last_dir, file_filter)
        return self._remember(name)

    def save_file(self, title: str, file_filter: str, suggested: str) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self._parent, title, str(Path(self._last_dir) / suggested), file_filter)
        return self._remember(name)

    def choose_item(self, title: str, label: str, items: Sequence[str]) -> int | None:
        """Index of the item picked from a list, or None when cancelled."""
        if not items:
            return None
        value, ok = QInputDialog.getItem(self._parent, title, label, list(items), 0, False)
        return list(items).index(value) if ok else None

    def report_options(self, choices: ReportChoices) -> ReportOptions | None:
        """The consultation report dialog (copy, contents, page 1 preview); None when cancelled."""
        from app.dialogs.report_dialog import ReportExportDialog

        dialog = ReportExportDialog(choices, parent=self._parent)
        return dialog.options() if dialog.exec() else None

    def _remember(self, name: str) -> Path | None:
        if not name:
            return None
        self._last_dir = str(Path(name).parent)
        return Path(name)
