"""The case list: reopen earlier work, searchable by pseudonym/ID."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studies.cases import CaseInfo, CaseStore


class CaseListDialog(QDialog):
    def __init__(self, store: CaseStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open case")
        self.resize(640, 420)
        self._store = store
        self.search = QLineEdit(placeholderText="Search pseudonym / patient ID…")
        self.search.setClearButtonEnabled(True)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Pseudonym / ID", "Created", "Last change", "Mask", "Same photo as"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.doubleClicked.connect(lambda _i: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self._open = buttons.button(QDialogButtonBox.StandardButton.Open)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self.refresh)
        self.table.itemSelectionChanged.connect(lambda: self._open.setEnabled(self.selected_case_id() is not None))
        self.cases: list[CaseInfo] = []
        self.refresh()

    def refresh(self) -> None:
        self.cases = self._store.list_cases(self.search.text().strip() or None)
        self.table.setRowCount(len(self.cases))
        for row, case in enumerate(self.cases):
            values = [case.pseudonym, case.created_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                      case.updated_at.astimezone().strftime("%Y-%m-%d %H:%M"), "yes" if case.has_mask else "—",
                      ("⚠ " + ", ".join(case.same_photo_as)) if case.same_photo_as else ""]
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, case.id)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        if self.cases:
            self.table.selectRow(0)
        self._open.setEnabled(self.selected_case_id() is not None)

    def selected_case_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return int(self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))
