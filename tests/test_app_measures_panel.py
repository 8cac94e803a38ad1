"""The read-only measures panel follows the photo's face and the current prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.state import AppState, FaceInfo, PredictionView
from app.windows.measures_panel import NO_VALUE, PHOTO_COLUMN, PREDICTION_COLUMN, MeasuresPanel
from inference.measures import DEFINITIONS
from tests.test_measures import asymmetric_face, place, symmetric_face

ALAR = [d.key for d in DEFINITIONS].index("alar_base_height_difference")


def _prediction(landmarks: np.ndarray | None) -> PredictionView:
    return PredictionView(1, "nclg-mt-lite", "NCLG-MT lite", Path("p.png"), "cpu", None, "0", "2024-01-01",
                          landmarks)


def test_panel_follows_face_and_prediction(qtbot) -> None:
    state = AppState()
    panel = MeasuresPanel(state)
    qtbot.addWidget(panel)
    assert panel.cell(ALAR, PHOTO_COLUMN) == NO_VALUE and panel.cell(ALAR, PREDICTION_COLUMN) == NO_VALUE
    state.set_face(FaceInfo((0, 0, 500, 500), place(asymmetric_face()), manual=False))
    assert panel.cell(ALAR, PHOTO_COLUMN) == "left higher by 10.0 %"
    state.set_current_prediction(_prediction(symmetric_face() + 200))
    assert panel.cell(ALAR, PREDICTION_COLUMN) == "even"
    assert "NCLG-MT lite" in panel.table.horizontalHeaderItem(PREDICTION_COLUMN).text()
    assert panel.table.verticalHeaderItem(ALAR).text() == "Height of the nostril bases, left minus right"
    state.set_current_prediction(_prediction(None))                # a classical model: no landmarks
    assert panel.cell(ALAR, PREDICTION_COLUMN) == NO_VALUE
    state.set_face(FaceInfo((0, 0, 500, 500), None, manual=True))
    assert panel.cell(ALAR, PHOTO_COLUMN) == NO_VALUE
    assert not panel.table.editTriggers()                           # read-only
