"""The case list: reopen earlier work, searchable by pseudonym/ID, with a preview of each photo,
the date it was taken and the date the case was made; a case can be deleted here (confirmed;
refused for a case that a study includes, and for the case open in the main window).

Previews are made (and cached in the data folder) on a worker thread, one photo at a time, so
the list shows at once and fills in its pictures as they come.
"""

from __future__ import annotations

import logging
import threading
import weakref
from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QSize, Qt
from PySide6.QtGui import QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.prompts import DialogPrompts, Prompts
from app.workers import TaskRunner, describe_error
from studies.cases import CaseInfo, CaseStore, case_in_use_message
from studies.errors import NotFoundError, StudyError
from studies.thumbnails import CaseThumbnail, case_thumbnail

log = logging.getLogger(__name__)
ICON = 64
COLUMNS = ["Pseudonym / ID", "Created", "Last change", "Mask", "Same photo as", "Photo taken"]
COL_TAKEN = 5
_PENDING, _FAILED = "…", "—"


class CaseListDialog(QDialog):
    def __init__(self, store: CaseStore, parent: QWidget | None = None, *, prompts: Prompts | None = None,
                 current_case_id: int | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open case")
        self.resize(820, 520)
        self._store = store
        self.prompts: Prompts = prompts or DialogPrompts(self)
        self._current_case_id = current_case_id  # open in the main window: not deleted from here
        self.search = QLineEdit(placeholderText="Search pseudonym / patient ID…")
        self.search.setClearButtonEnabled(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(ICON, ICON))
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(ICON + 8)
        self.table.doubleClicked.connect(lambda _i: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        self.delete_button = QPushButton("Delete case…")
        self.delete_button.setToolTip("Delete the selected case with its photo, mask and predictions (asks first)")
        buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.delete_button.clicked.connect(self.delete_selected)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._open = buttons.button(QDialogButtonBox.StandardButton.Open)
        delete_key = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table, self.delete_selected)
        delete_key.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self.refresh)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.cases: list[CaseInfo] = []
        self._thumbs: dict[int, CaseThumbnail | str] = {}  # case id -> preview, or why there is none
        self._asked: set[int] = set()
        self._stop = threading.Event()  # set when the list closes or is deleted: queued previews are skipped
        stop = self._stop
        self.destroyed.connect(lambda *_: stop.set())
        self._finish_interrupted_deletions()
        self.refresh()

    # ------------------------------------------------------------------ list

    def refresh(self) -> None:
        self.cases = self._store.list_cases(self.search.text().strip() or None)
        self.table.setRowCount(len(self.cases))
        for row, case in enumerate(self.cases):
            values = [case.pseudonym, case.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                      case.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"), "yes" if case.has_mask else "—",
                      ("⚠ " + ", ".join(case.same_photo_as)) if case.same_photo_as else "", _PENDING]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, case.id)
                self.table.setItem(row, col, item)
            self._show_thumbnail(case.id)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, max(self.table.columnWidth(0), ICON + 120))
        if self.cases:
            self.table.selectRow(0)
        self._selection_changed()
        for case in self.cases:
            self._request_thumbnail(case)

    def selected_case_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return int(self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))

    def selected_case(self) -> CaseInfo | None:
        case_id = self.selected_case_id()
        return next((c for c in self.cases if c.id == case_id), None)

    def _selection_changed(self) -> None:
        has = self.selected_case_id() is not None
        self._open.setEnabled(has)
        self.delete_button.setEnabled(has)

    # ------------------------------------------------------------------ deleting

    def delete_selected(self) -> bool:
        """Ask, then delete the selected case with its files; True when it was deleted."""
        case = self.selected_case()
        if case is None:
            return False
        if case.id == self._current_case_id:
            self.prompts.error("Case not deleted", f"The case {case.pseudonym!r} is open in the main window. "
                                                   "Open another case first, then delete this one.")
            return False
        try:
            studies = self._store.studies_using(case.id)
            n_predictions = 0 if studies else len(self._store.list_predictions(case.id))
        except StudyError as exc:
            self.prompts.error("Case not deleted", describe_error(exc))
            return False
        if studies:
            self.prompts.error("Case not deleted", case_in_use_message(case.pseudonym, studies))
            return False
        created = case.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        what = "its photo" + (", its mask" if case.has_mask else "") + \
            (f" and {n_predictions} prediction{'s' if n_predictions != 1 else ''}" if n_predictions else "")
        if not self.prompts.confirm("Delete case", f"Delete the case {case.pseudonym!r} (created {created})?\n\n"
                                                   f"{what[0].upper()}{what[1:]} will be removed from the data "
                                                   "folder. This cannot be undone."):
            return False
        try:
            self._store.delete_case(case.id)
        except StudyError as exc:
            self.prompts.error("Case not deleted" if not _rows_gone(self._store, case.id) else "Case deleted",
                               describe_error(exc))
            self.refresh()
            return _rows_gone(self._store, case.id)
        self._thumbs.pop(case.id, None)
        self.refresh()
        return True

    def _finish_interrupted_deletions(self) -> None:
        try:
            self._store.finish_deletions()
        except StudyError as exc:  # the files stay; the next deletion tries again
            log.warning("Interrupted deletions not finished: %s", type(exc).__name__)

    # ------------------------------------------------------------------ previews

    @property
    def thumbnails_pending(self) -> int:
        return len(self._asked - set(self._thumbs))

    def _request_thumbnail(self, case: CaseInfo) -> None:
        if case.id in self._asked:
            return
        self._asked.add(case.id)
        stop = self._stop
        path, sha = Path(case.photo_path), case.photo_sha256

        def make() -> CaseThumbnail | None:
            return None if stop.is_set() else case_thumbnail(path, sha)

        me = weakref.ref(self)

        def deliver(case_id: int, result: CaseThumbnail | str | None) -> None:
            dialog = me()  # the list may have been closed and deleted while the preview was made
            if dialog is not None and not stop.is_set() and shiboken6.isValid(dialog):
                dialog._thumbnail_done(case_id, result)

        _preview_runner().submit(make, lambda result, cid=case.id: deliver(cid, result),
                                 lambda exc, cid=case.id: deliver(cid, describe_error(exc)))

    def _thumbnail_done(self, case_id: int, result: CaseThumbnail | str | None) -> None:
        self._thumbs[case_id] = result if result is not None else "Not made (the list was closed)."
        self._show_thumbnail(case_id)

    def _show_thumbnail(self, case_id: int) -> None:
        result = self._thumbs.get(case_id)
        if result is None:
            return
        for row in range(self.table.rowCount()):
            first = self.table.item(row, 0)
            if first is None or first.data(Qt.ItemDataRole.UserRole) != case_id:
                continue
            taken = self.table.item(row, COL_TAKEN)
            if isinstance(result, CaseThumbnail):
                first.setIcon(QIcon(QPixmap(str(result.path))))
                taken.setText(result.photo_taken.strftime("%Y-%m-%d %H:%M") if result.photo_taken else _FAILED)
                taken.setToolTip("" if result.photo_taken else "The photo file does not say when it was taken.")
            else:
                first.setToolTip(result)
                taken.setText(_FAILED)

    def done(self, result: int) -> None:  # noqa: D102 - closing stops the previews still queued
        self._stop.set()
        super().done(result)


_RUNNER: TaskRunner | None = None


def _preview_runner() -> TaskRunner:
    """One worker thread for previews, owned by the application, so it outlives any case list."""
    global _RUNNER
    if _RUNNER is None or not shiboken6.isValid(_RUNNER):
        _RUNNER = TaskRunner(QCoreApplication.instance(), max_threads=1)
    return _RUNNER


def _rows_gone(store: CaseStore, case_id: int) -> bool:
    """Whether the case's rows are deleted (its files may still be waiting to be removed)."""
    try:
        store.get_case(case_id)
    except NotFoundError:
        return True
    except StudyError:
        return False
    return False
