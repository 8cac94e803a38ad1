"""Predictions drawn as the photo's pyramid plus the patch's, and exports off the GUI thread.

The viewers never get a second full-resolution copy of the photo: each level of a prediction is the
photo's level with the patch's region filtered again on top. That must be, pixel for pixel, the
pyramid of the repaired photo (what was shown before), at every level and for odd sizes too.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF  # noqa: E402

from app.canvas.images import (  # noqa: E402
    PredictionLevels,
    patch_pyramid,
    patched_pyramid,
    pyramid,
    pyramid_arrays,
    pyramid_images,
    qimage_to_rgb,
    to_pixmaps,
)
from app.canvas.view import ImageViewer  # noqa: E402
from app.export_service import ExportService, PredictionExport  # noqa: E402
from app.workers import TaskRunner  # noqa: E402
from studies.prediction_store import PredictionPatch  # noqa: E402

pytestmark = pytest.mark.gui


def _photo_and_patch(h: int, w: int, box: tuple[int, int, int, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (h, w, 3), np.uint8)
    x0, y0, x1, y1 = box
    pixels = rng.integers(0, 256, (y1 - y0, x1 - x0, 3), np.uint8)
    repaired = rgb.copy()
    repaired[y0:y1, x0:x1] = pixels
    return rgb, pixels, repaired


@pytest.mark.parametrize("h, w, box", [
    (2048, 3072, (1001, 777, 1400, 1013)),     # even sizes: only the patch's region is filtered again
    (1101, 1531, (300, 401, 777, 655)),        # odd: the next level is filtered whole
    (2048, 2048, (0, 0, 3, 5)),                # a patch in the corner
    (1024, 2050, (2040, 1000, 2050, 1024)),    # and at the far edge
])
def test_the_patch_pyramid_is_the_repaired_photos_pyramid(qapp, h, w, box) -> None:  # noqa: ANN001
    rgb, pixels, repaired = _photo_and_patch(h, w, box)
    expected = [qimage_to_rgb(image) for image in pyramid_images(repaired)]
    got = [qimage_to_rgb(image) for image in patched_pyramid(pyramid_arrays(rgb), pixels, box)]
    assert len(got) == len(expected) and all(np.array_equal(a, b) for a, b in zip(got, expected))
    levels = PredictionLevels(pyramid(rgb), patch_pyramid(pyramid_arrays(rgb), pixels, box))
    assert np.array_equal(qimage_to_rgb(levels.composed().toImage()), expected[-1])  # the gallery's thumbnail


def test_a_viewer_draws_the_patch_over_the_photo_like_the_repaired_photo(qtbot) -> None:
    box = (1001, 777, 1400, 1013)
    rgb, pixels, repaired = _photo_and_patch(2048, 3072, box, seed=1)
    views = []
    for levels in (to_pixmaps(pyramid_images(repaired)),
                   PredictionLevels(pyramid(rgb), patch_pyramid(pyramid_arrays(rgb), pixels, box))):
        view = ImageViewer()
        qtbot.addWidget(view)
        view.resize(500, 400)
        view.show()
        view.set_levels(levels)
        views.append(view)
    for zoom in (1.0, 0.5, 0.25):                 # one zoom per pyramid level, drawn 1:1 from it
        shots = []
        for view in views:
            view.set_zoom(zoom)
            view.centerOn(QPointF(1200, 900))
            shots.append(qimage_to_rgb(view.viewport().grab().toImage()))
        assert np.array_equal(shots[0], shots[1]), zoom


def test_exports_run_off_the_gui_thread_and_report_progress(qtbot, tmp_path: Path) -> None:
    rgb, pixels, repaired = _photo_and_patch(120, 160, (40, 30, 90, 70), seed=2)
    threads: list[threading.Thread] = []

    class Store:
        def prediction_image(self, stored, photo_rgb):  # noqa: ANN001, ANN201
            threads.append(threading.current_thread())
            return PredictionPatch(pixels, (40, 30, 90, 70), (160, 120)).apply(photo_rgb)

    tasks = TaskRunner()
    service = ExportService(tasks)
    progress, done = [], []
    service.progress.connect(lambda text, fraction: progress.append((text, fraction)))
    service.done.connect(done.append)
    source = PredictionExport(Store(), SimpleNamespace(stored=object()), rgb, mark=False)
    out = service.save_image(source, tmp_path / "prediction")
    assert out.suffix == ".png" and service.busy
    qtbot.waitUntil(lambda: not service.busy, timeout=30000)
    assert threads and threads[0] is not threading.main_thread()
    assert [text for text, _ in progress] == ["Reading the prediction…", "Writing prediction.png…"]
    assert done == [f"Saved {out}"]
    assert np.array_equal(np.asarray(Image.open(out)), repaired)
    tasks.wait()


def test_a_run_shows_its_prediction_before_it_is_stored_and_takes_it_back_if_storing_fails(qtbot) -> None:
    from app.state import AppState, PredictionView
    from app.windows.prediction_display import PredictionDisplay
    from app.windows.predictions import BeforeAfterWidget, CompareWidget, Gallery

    box = (100, 80, 220, 160)
    rgb, pixels, _ = _photo_and_patch(600, 800, box, seed=4)
    state = AppState()
    compare, before_after, gallery = CompareWidget(state), BeforeAfterWidget(state), Gallery(state)
    for widget in (compare, before_after, gallery):
        qtbot.addWidget(widget)
    errors: list = []
    display = PredictionDisplay(state, compare, before_after, gallery, TaskRunner(), lambda: None,
                                lambda *a: errors.append(a))
    display.set_photo(pyramid_arrays(rgb), pyramid(rgb))
    pyramid_of_patch = patch_pyramid(pyramid_arrays(rgb), pixels, box)
    provisional = PredictionView(-1, "m", "Model (saving…)", Path(), "CPU", None, "", "", None)
    display.preview(provisional, pyramid_of_patch)
    assert compare.right.has_image() and compare.right_caption.text() == "Model (saving…)"
    shown = display.shown
    assert display.add(7, pyramid_of_patch) is shown        # stored: the very levels on screen are kept
    view = PredictionView(7, "m", "Model", Path(), "CPU", None, "1", "now", None)
    state.add_prediction(view)
    assert display.shown is shown and compare.right_caption.text() == "Model"
    # A second prediction shown early but never stored: the viewers go back to the listed one.
    display.preview(provisional, patch_pyramid(pyramid_arrays(rgb), pixels[::-1].copy(), box))
    assert display.shown is not shown
    display.show(state.current_prediction)
    assert display.shown is shown and compare.right_caption.text() == "Model" and errors == []
