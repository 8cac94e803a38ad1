"""Viewing predictions: side by side (linked zoom/pan), before/after slider, and the gallery
(where a prediction can be deleted: right click or the Delete key, confirmed first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.canvas.view import BeforeAfterViewer, ImageViewer
from app.state import AppState, PredictionView
from app.workers import describe_error
from studies.errors import StudyError

if TYPE_CHECKING:
    from app.prompts import Prompts
    from studies.cases import CaseStore

THUMB = 96


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("font-weight: bold; padding: 3px;")
    return label


class CompareWidget(QWidget):
    """Original and prediction next to each other; zoom or pan either and the other follows."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.left, self.right = ImageViewer(), ImageViewer()
        self.left.link(self.right)
        self.left_caption, self.right_caption = _caption("Original"), _caption("No prediction yet")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for caption, view in ((self.left_caption, self.left), (self.right_caption, self.right)):
            column = QVBoxLayout()
            column.addWidget(caption)
            column.addWidget(view, 1)
            layout.addLayout(column, 1)
        state.predicted_landmarks_visible_changed.connect(lambda _v: self._overlay())
        state.mask_fingerprint_changed.connect(lambda _f: self._caption())

    def _caption(self) -> None:
        p = getattr(self, "_prediction", None)
        if p is None:
            self.right_caption.setText("No prediction yet")
        elif self.state.is_out_of_date(p):
            self.right_caption.setText(f"{p.display_name} (made with an older mask: out of date)")
        else:
            self.right_caption.setText(p.display_name)

    def set_photo(self, levels: list[QPixmap] | None) -> None:
        self.left.set_levels(levels)

    def set_prediction(self, prediction: PredictionView | None, levels: list[QPixmap] | None) -> None:
        self.right.set_levels(levels)
        self._prediction = prediction
        self._caption()
        self._overlay()
        if levels:  # start the new image where the original is
            self.left._moved()

    def _overlay(self) -> None:
        prediction = getattr(self, "_prediction", None)
        landmarks = prediction.landmarks if prediction else None
        self.right.overlay.set_data(None, landmarks)
        self.right.overlay.setVisible(self.state.predicted_landmarks_visible and landmarks is not None)


class BeforeAfterWidget(QWidget):
    """One view: prediction left of the line, original right of it; the slider moves the line."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = BeforeAfterViewer()
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=1000, value=500)
        self.slider.setToolTip("Drag to compare: left of the line is the prediction, right is the original")
        self.slider.valueChanged.connect(lambda v: self.viewer.set_split(v / 1000))
        self.caption = _caption("Before / after")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.viewer, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Prediction"))
        row.addWidget(self.slider, 1)
        row.addWidget(QLabel("Original"))
        layout.addLayout(row)

    def set_photo(self, levels: list[QPixmap] | None) -> None:
        self.viewer.set_levels(levels)

    def set_prediction(self, prediction: PredictionView | None, levels: list[QPixmap] | None) -> None:
        self.viewer.set_after(levels)
        self.caption.setText(f"Before / after: {prediction.display_name}" if prediction else "Before / after")


class Gallery(QListWidget):
    """Every prediction of the case as a thumbnail; clicking one shows it in the viewers.

    Right click (or Delete) on a prediction emits ``delete_requested(record id)``; the window
    answers with :func:`delete_prediction`.
    """

    delete_requested = Signal(int)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setSpacing(6)
        self.setFixedHeight(THUMB + 68)
        self._thumbs: dict[int, QPixmap] = {}
        self.currentItemChanged.connect(self._picked)
        state.predictions_changed.connect(self._fill)
        state.current_prediction_changed.connect(self._select)
        state.mask_fingerprint_changed.connect(lambda _f: self._fill(self.state.predictions))

    def set_thumbnail(self, record_id: int, pixmap: QPixmap) -> None:
        self._thumbs[record_id] = pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                Qt.TransformationMode.SmoothTransformation)
        for i in range(self.count()):
            item = self.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == record_id:
                item.setIcon(QIcon(self._thumbs[record_id]))

    def _fill(self, predictions: list[PredictionView]) -> None:
        self.blockSignals(True)
        self.clear()
        for p in predictions:
            stale = self.state.is_out_of_date(p)
            item = QListWidgetItem(f"{p.display_name}\n{p.created_at}" + ("\nolder mask" if stale else ""))
            item.setData(Qt.ItemDataRole.UserRole, p.record_id)
            item.setToolTip(("Out of date: made with an older mask. Run the model again to update it.\n"
                             if stale else "") +
                            f"Model: {p.model_name}\nWeights SHA-256: {p.weights_sha256 or 'none (classical)'}\n"
                            f"Device: {p.device}\nApp version: {p.app_version}")
            if stale:
                item.setForeground(QColor("#9a6700"))
            if p.record_id in self._thumbs:
                item.setIcon(QIcon(self._thumbs[p.record_id]))
            self.addItem(item)
        self.blockSignals(False)
        self._select(self.state.current_prediction)

    def _select(self, prediction: PredictionView | None) -> None:
        self.blockSignals(True)
        for i in range(self.count()):
            if prediction is not None and self.item(i).data(Qt.ItemDataRole.UserRole) == prediction.record_id:
                self.setCurrentRow(i)
                break
        else:
            self.setCurrentRow(-1)
        self.blockSignals(False)

    def _menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        menu = QMenu(self)
        action = menu.addAction("Delete prediction…")
        record_id = int(item.data(Qt.ItemDataRole.UserRole))
        action.triggered.connect(lambda: self.delete_requested.emit(record_id))
        menu.popup(self.viewport().mapToGlobal(pos))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        item = self.currentItem()
        if event.matches(QKeySequence.StandardKey.Delete) and item is not None:
            self.delete_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))
            return
        super().keyPressEvent(event)

    def _picked(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is None:
            return
        record_id = item.data(Qt.ItemDataRole.UserRole)
        match = next((p for p in self.state.predictions if p.record_id == record_id), None)
        if match is not None and match is not self.state.current_prediction:
            self.state.set_current_prediction(match)


def delete_prediction(state: AppState, store: CaseStore | None, prompts: Prompts, record_id: int) -> bool:
    """Ask, then delete one prediction of the open case (its row, then its files); True if deleted.

    A prediction is never part of a blinded study (studies make their own outputs), so nothing
    else depends on it. Refused while a model runs, since a run may be re-rendering it.
    """
    prediction = next((p for p in state.predictions if p.record_id == record_id), None)
    if prediction is None or state.case is None or store is None:
        return False
    if state.busy:
        prompts.error("Please wait", "A model is running. Wait for it to finish or cancel it, then delete.")
        return False
    if not prompts.confirm("Delete prediction", f"Delete the prediction of {prediction.display_name} made "
                                                f"{prediction.created_at}?\n\nIts image is removed from the "
                                                "data folder. This cannot be undone."):
        return False
    try:
        store.delete_prediction(state.case.id, record_id)
    except StudyError as exc:
        stored = _stored_predictions(store, state.case.id)
        still_there = stored is None or any(p.id == record_id for p in stored)
        prompts.error("Prediction not deleted" if still_there else "Prediction deleted", describe_error(exc))
        if still_there:
            return False
    state.set_predictions([p for p in state.predictions if p.record_id != record_id])
    return True


def _stored_predictions(store: CaseStore, case_id: int) -> list | None:
    """The case's stored predictions, or None when the database cannot say."""
    try:
        return store.list_predictions(case_id)
    except StudyError:
        return None
