"""The "All models" grid (issue 13): the photo and each model's latest prediction, zoom and pan linked."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint  # noqa: E402

from app.state import AppState, PredictionView  # noqa: E402
from app.windows.grid_view import PHOTO_LABEL, GridCompareWidget, latest_per_model  # noqa: E402
from app_support import face_photo, screenshot  # noqa: E402

MODELS = (("opencv-telea", "Telea (OpenCV)"), ("opencv-ns", "Navier-Stokes (OpenCV)"),
          ("nclg-mt-lite", "NCLG-MT lite"))


def run_now(fn, on_done, on_error, on_progress=None):  # noqa: ANN001, ANN201 - TaskRunner.submit, at once
    try:
        value = fn()
    except BaseException as exc:  # noqa: BLE001
        on_error(exc)
    else:
        on_done(value)


def view(record_id: int, model: str, name: str, created: str) -> PredictionView:
    return PredictionView(record_id, model, name, Path(f"{record_id}.png"), "cpu", None, "0", created, None,
                          stored=SimpleNamespace(record_id=record_id))


class FakeStore:
    """``prediction_image`` as the case store answers it: the photo with the mouth repainted per record."""

    def __init__(self) -> None:
        self.decoded: list[int] = []

    def prediction_image(self, stored, photo_rgb):  # noqa: ANN001, ANN201
        self.decoded.append(stored.record_id)
        out = photo_rgb.copy()
        h, w = out.shape[:2]
        cv2.ellipse(out, (w // 2, int(h * 0.72)), (w // 7, h // 20), 0, 0, 360,
                    (60 * stored.record_id % 255, 120, 200), -1)
        return out


def test_grid_shows_every_models_latest_prediction_with_linked_zoom(qtbot, tmp_path: Path, utkface_paths) -> None:
    rgb = face_photo(utkface_paths[0], 512)
    state = AppState()
    state.set_case(SimpleNamespace(id=1, pseudonym="CL-1"))
    state.set_photo(SimpleNamespace(rgb=rgb))
    predictions = [view(i + 1, m, n, f"2024-01-0{i + 1}") for i, (m, n) in enumerate(MODELS)]
    predictions.append(view(9, "opencv-telea", "Telea (OpenCV)", "2024-02-01"))  # a newer Telea
    state.set_predictions(predictions)
    assert [p.record_id for p in latest_per_model(predictions)] == [9, 2, 3]
    store = FakeStore()
    errors: list = []
    grid = GridCompareWidget(state, run_now, lambda: store, lambda *e: errors.append(e))
    qtbot.addWidget(grid)
    grid.resize(1000, 760)
    grid.show()
    qtbot.waitExposed(grid)
    grid.refresh()
    assert errors == [] and sorted(store.decoded) == [2, 3, 9]
    assert len(grid.tiles) == len(MODELS) + 1
    assert [t.caption.text() for t in grid.tiles] == [PHOTO_LABEL, "Telea (OpenCV)", "Navier-Stokes (OpenCV)",
                                                      "NCLG-MT lite"]
    qtbot.waitUntil(lambda: all(v.isVisible() and v.width() > 100 for v in grid.viewers))
    first, *others = grid.viewers
    first.set_zoom(first.zoom * 3.0)
    first.centerOn(rgb.shape[1] / 2, rgb.shape[0] * 0.72)
    centre = first.mapToScene(first.viewport().rect().center())
    for other in others:
        assert other.zoom == pytest.approx(first.zoom)
        c = other.mapToScene(other.viewport().rect().center())
        assert abs(c.x() - centre.x()) < 2 and abs(c.y() - centre.y()) < 2
    others[-1].zoom_by(0.8)  # any tile leads
    assert all(v.zoom == pytest.approx(others[-1].zoom) for v in grid.viewers)
    shot = screenshot(grid, "grid-view", tmp_path)
    assert shot.is_file()
    target = os.environ.get("CLEFTLIP_GRID_GRAB")
    if target:
        grid.grab().save(target)
    state.set_case(None)  # closing the case empties the grid
    assert grid.tiles == [] and grid.note.isVisible()
