"""Showing predictions: the current one in the side-by-side and before/after views, every one's thumbnail.

A prediction is drawn as the photo's own display pyramid with its patch's pyramid on top
(``app.canvas.images.PredictionLevels``), so showing one never builds or converts a second
full-resolution image. A Run or a steering re-render hands the patch pyramid over ready-made; the
predictions of a reopened case are read through ``CaseStore`` (the one decoder) on a worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QPixmap

from app.canvas.images import PatchPyramid, PredictionLevels, patch_pyramid, pyramid_images, to_pixmaps
from app.state import AppState, PredictionView
from app.windows.predictions import BeforeAfterWidget, CompareWidget, Gallery
from app.workers import TaskRunner, describe_error


def read_levels(store: Any, prediction: PredictionView, photo_levels: list[np.ndarray]) -> PatchPyramid | list:
    """A stored prediction's display pyramid (runs on a worker): its patch over the photo's levels.

    A row from before patches whose picture is not the photo's size gets a pyramid of its own.
    """
    h, w = photo_levels[0].shape[:2]
    patch = store.predictions.patch(prediction.stored if prediction.stored is not None else prediction,
                                    photo_levels[0])
    if patch.photo_size != (w, h):
        return pyramid_images(patch.apply(None))
    return patch_pyramid(photo_levels, patch.pixels, patch.box)


class PredictionDisplay(QObject):
    """Keeps each prediction's levels of the open case and shows the state's current prediction."""

    def __init__(self, state: AppState, compare: CompareWidget, before_after: BeforeAfterWidget, gallery: Gallery,
                 tasks: TaskRunner, store: Callable[[], Any], on_error: Callable[[str, str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.compare, self.before_after, self.gallery = state, compare, before_after, gallery
        self._tasks, self._store, self._on_error = tasks, store, on_error
        self.photo_arrays: list[np.ndarray] = []  # the photo's pyramid (level 0 is the photo itself)
        self.photo_levels: list[QPixmap] = []
        self.levels: dict[int, Any] = {}  # record id -> PredictionLevels (or a plain pyramid)
        self.shown: Any = None  # the levels in the viewers now
        self._preview: tuple[PatchPyramid, Any] | None = None  # a prediction being stored, and its levels
        self._reading: set[int] = set()
        self._token = 0
        state.current_prediction_changed.connect(self.show)

    def set_photo(self, arrays: list[np.ndarray] | None, levels: list[QPixmap] | None) -> None:
        """A new case's photo (``arrays``/``levels``: its pyramid as arrays and pixmaps), or None when it closes."""
        self._token += 1
        self.levels.clear()
        self._reading.clear()
        self._preview = None
        self.photo_arrays = list(arrays or [])
        self.photo_levels = list(levels or [])
        self.compare.set_photo(self.photo_levels or None)
        self.before_after.set_photo(self.photo_levels or None)

    def preview(self, prediction: PredictionView, pyramid: PatchPyramid) -> None:
        """Show a prediction that is still being stored (``add`` follows with its record id)."""
        levels = PredictionLevels(self.photo_levels, pyramid)
        self._preview = (pyramid, levels)
        self._set(prediction, levels)

    def add(self, record_id: int, pyramid: PatchPyramid | list) -> Any:
        """Levels of a prediction just made or re-rendered; its thumbnail follows."""
        if self._preview is not None and self._preview[0] is pyramid:
            levels = self._preview[1]  # shown already while it was stored
        elif isinstance(pyramid, PatchPyramid):
            levels = PredictionLevels(self.photo_levels, pyramid)
        else:
            levels = to_pixmaps(pyramid)
        self._preview = None
        self.levels[record_id] = levels
        self.gallery.set_thumbnail(record_id, levels.composed() if isinstance(levels, PredictionLevels)
                                   else levels[-1])
        return levels

    def load(self, predictions: list[PredictionView]) -> None:
        """Read every prediction of a reopened case (thumbnails first, then the one shown)."""
        for p in predictions:
            self._read(p)

    def show(self, prediction: PredictionView | None) -> None:
        levels = None if prediction is None else self.levels.get(prediction.record_id)
        if prediction is not None and levels is None:
            self._read(prediction)
            return
        self._set(prediction, levels)

    def _set(self, prediction: PredictionView | None, levels: Any) -> None:
        self.shown = levels
        self.compare.set_prediction(prediction, levels)
        self.before_after.set_prediction(prediction, levels)

    def _read(self, prediction: PredictionView) -> None:
        record_id = prediction.record_id
        if record_id in self._reading or record_id in self.levels or not self.photo_arrays:
            return
        self._reading.add(record_id)
        store, arrays, token = self._store(), self.photo_arrays, self._token
        self._tasks.submit(lambda: read_levels(store, prediction, arrays),
                           lambda pyramid: self._read_done(token, record_id, pyramid),
                           lambda exc: self._read_failed(token, record_id, exc))

    def _read_done(self, token: int, record_id: int, pyramid: PatchPyramid | list) -> None:
        if token != self._token:
            return
        self._reading.discard(record_id)
        self.add(record_id, pyramid)
        current = self.state.current_prediction
        if current is not None and current.record_id == record_id:
            self.show(current)

    def _read_failed(self, token: int, record_id: int, exc: BaseException) -> None:
        if token != self._token:
            return
        self._reading.discard(record_id)
        current = self.state.current_prediction
        if current is not None and current.record_id == record_id:
            self._on_error("Prediction not shown", describe_error(exc))
