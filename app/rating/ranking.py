"""The ranking of the valid outputs: a list ordered best first, reordered by drag and drop or keys."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

LABEL_ROLE = Qt.ItemDataRole.UserRole


class RankingList(QListWidget):
    """Emits ``order_changed`` (labels best first) when the rater drags an entry to a new place."""

    order_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAccessibleName("Ranking of the valid outputs, best first")
        self.model().rowsMoved.connect(lambda *_: self._moved())
        self._updating = False

    def labels(self) -> list[str]:
        return [self.item(i).data(LABEL_ROLE) for i in range(self.count())]

    def set_order(self, labels: Sequence[str], selected: str | None = None) -> None:
        self._updating = True
        try:
            self.clear()
            for label in labels:
                item = QListWidgetItem()
                item.setData(LABEL_ROLE, label)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
                self.addItem(item)
                if label == selected:
                    item.setSelected(True)
            self._renumber()
        finally:
            self._updating = False

    def _renumber(self) -> None:
        for i in range(self.count()):
            item = self.item(i)
            item.setText(f"{i + 1}.   Output {item.data(LABEL_ROLE)}")

    def _moved(self) -> None:
        self._renumber()
        if not self._updating:
            self.order_changed.emit(self.labels())


def moved(labels: Sequence[str], label: str, step: int) -> list[str]:
    """``labels`` with ``label`` moved ``step`` places (negative = towards best), clamped."""
    order = list(labels)
    if label not in order:
        return order
    i = order.index(label)
    j = max(0, min(len(order) - 1, i + step))
    order.insert(j, order.pop(i))
    return order
