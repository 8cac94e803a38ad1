"""A read-only panel of nasolabial symmetry measures: the photo's and the current prediction's, side by side.

It only reads ``AppState``: the photo column follows ``face_changed`` (the detected landmarks), the
prediction column follows ``current_prediction_changed`` (the landmarks the prediction was drawn
from: the clinician's steering points if it was steered, else the network's).
A column without landmarks (a manual face square, a classical model) shows dashes. The measures
are defined in ``docs/measures.md``; computing them is a few microseconds, so no worker is needed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.state import AppState, FaceInfo, PredictionView
from inference.errors import InferenceError
from inference.measures import DEFINITIONS, describe, nasolabial_measures

PHOTO_COLUMN, PREDICTION_COLUMN = 0, 1
NO_VALUE = "–"
NOTE = ("From the landmarks on the 2-D picture; left and right are the patient's; distances in % of the "
        "width between the outer eye corners. A research aid, not a clinical score.")


def measure_cells(landmarks: np.ndarray | None) -> tuple[list[str], str]:
    """One column's cell texts (in ``DEFINITIONS`` order) and a tooltip saying why it is empty, if it is."""
    if landmarks is None:
        return [NO_VALUE] * len(DEFINITIONS), "No landmarks for this picture."
    try:
        result = nasolabial_measures(landmarks)
    except InferenceError as exc:
        return [NO_VALUE] * len(DEFINITIONS), str(exc)
    return [describe(m) for m in result.measures], ""



def fill_measure_column(table: QTableWidget, column: int, landmarks: np.ndarray | None) -> None:
    """One column of a measures table (one row per definition), centred, with the reason when empty."""
    cells, why = measure_cells(landmarks)
    for row, text in enumerate(cells):
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        item.setToolTip(why)
        table.setItem(row, column, item)

class MeasuresPanel(QWidget):
    """Rows: the measures in plain language; columns: the photo and the current prediction."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.table = QTableWidget(len(DEFINITIONS), 2, self)
        self.table.setObjectName("measuresTable")
        self.table.setHorizontalHeaderLabels(["Photo", "Prediction"])
        self.table.setVerticalHeaderLabels([d.label for d in DEFINITIONS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for row, definition in enumerate(DEFINITIONS):
            header = self.table.verticalHeaderItem(row)
            header.setToolTip(f"{definition.definition} Positive: {definition.positive}.")
        note = QLabel(NOTE, self)
        note.setWordWrap(True)
        note.setObjectName("measuresNote")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addWidget(note)
        state.face_changed.connect(self._on_face)
        state.current_prediction_changed.connect(self._on_prediction)
        self._on_face(state.face)
        self._on_prediction(state.current_prediction)

    def _on_face(self, face: FaceInfo | None) -> None:
        self._fill_column(PHOTO_COLUMN, None if face is None else face.landmarks)

    def _on_prediction(self, prediction: PredictionView | None) -> None:
        title = "Prediction" if prediction is None else f"Prediction ({prediction.display_name})"
        self.table.setHorizontalHeaderItem(PREDICTION_COLUMN, QTableWidgetItem(title))
        self._fill_column(PREDICTION_COLUMN, None if prediction is None else prediction.drawn_landmarks)

    def _fill_column(self, column: int, landmarks: np.ndarray | None) -> None:
        fill_measure_column(self.table, column, landmarks)

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return "" if item is None else item.text()
