"""The questions the study screens put to the user, on top of the app's :class:`app.prompts.Prompts`.

Screens never open modal dialogs themselves; tests pass a scripted implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QLineEdit, QWidget

from app.prompts import PDF_FILTER, DialogPrompts, Prompts  # noqa: F401  (PDF_FILTER re-exported)

ZIP_FILTER = "Study package (*.zip)"
CSV_FILTER = "Answer sheet (*.csv)"


class StudyPrompts(Prompts, Protocol):
    def choose_item(self, title: str, label: str, items: Sequence[str], current: int = 0) -> int | None: ...
    def ask_passphrase(self, title: str, label: str) -> str | None: ...
    def choose_folder(self, title: str) -> Path | None: ...
    def run_dialog(self, dialog: QDialog) -> bool: ...


class DialogStudyPrompts(DialogPrompts):
    """Real modal dialogs (passphrases are typed hidden)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent_widget = parent

    def choose_item(self, title: str, label: str, items: Sequence[str], current: int = 0) -> int | None:
        """Index of the item picked, the list opening on ``current``; None when cancelled."""
        if not items:
            return None
        current = current if 0 <= current < len(items) else 0
        value, ok = QInputDialog.getItem(self._parent_widget, title, label, list(items), current, False)
        return list(items).index(value) if ok else None

    def ask_passphrase(self, title: str, label: str) -> str | None:
        value, ok = QInputDialog.getText(self._parent_widget, title, label, QLineEdit.EchoMode.Password)
        return value if ok else None

    def choose_folder(self, title: str) -> Path | None:
        name = QFileDialog.getExistingDirectory(self._parent_widget, title, str(Path.home()))
        return Path(name) if name else None

    def run_dialog(self, dialog: QDialog) -> bool:
        return dialog.exec() == QDialog.DialogCode.Accepted
