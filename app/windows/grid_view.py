"""Every model's latest prediction of the open case beside the photo, in one grid (issue 13, IOPaint-style).

Each tile is an :class:`~app.canvas.view.ImageViewer` captioned with the model's display name; all tiles
are linked, so zooming or panning one zooms and pans every one (as in "Side by side"). The predictions
are decoded with ``CaseStore.prediction_image`` (the one decoder) on a worker, whenever the tab is shown
or the case's predictions change while it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from app.canvas.images import pyramid_images, to_pixmaps
from app.canvas.view import ImageViewer
from app.state import AppState, PredictionView
from app.workers import describe_error

PHOTO_LABEL = "Photo"


def latest_per_model(predictions: list[PredictionView]) -> list[PredictionView]:
    """The newest prediction of each model, in the order the models first appear."""
    latest: dict[str, PredictionView] = {}
    for p in predictions:
        old = latest.get(p.model_name)
        if old is None or (p.created_at, p.record_id) >= (old.created_at, old.record_id):
            latest[p.model_name] = p
    return list(latest.values())


def decode_latest(store: Any, photo_rgb: np.ndarray, predictions: list[PredictionView]) -> list[tuple[str, list]]:
    """(caption, display pyramid as QImages) of each model's latest prediction (runs on a worker)."""
    tiles = []
    for p in latest_per_model(predictions):
        rgb = store.prediction_image(p.stored if p.stored is not None else p, photo_rgb)
        tiles.append((p.display_name, pyramid_images(rgb)))
    return tiles


class GridTile(QWidget):
    def __init__(self, caption: str, levels: list[QPixmap] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel(caption)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setStyleSheet("font-weight: bold; padding: 2px;")
        self.viewer = ImageViewer()
        self.viewer.setAcceptDrops(False)
        self.viewer.set_levels(levels)
        column = QVBoxLayout(self)
        column.setContentsMargins(1, 1, 1, 1)
        column.setSpacing(0)
        column.addWidget(self.caption)
        column.addWidget(self.viewer, 1)


class GridCompareWidget(QWidget):
    """The photo and each model's latest prediction as linked tiles."""

    def __init__(self, state: AppState, submit: Callable[..., None], store: Callable[[], Any],
                 on_error: Callable[[str, str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self._submit, self._store, self._on_error = state, submit, store, on_error
        self.tiles: list[GridTile] = []
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.note = QLabel("Open a case and run the models to compare them here.")
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid.addWidget(self.note, 0, 0)
        self._token = 0
        self.loading = False
        state.predictions_changed.connect(lambda _p: self.isVisible() and self.refresh())
        state.case_changed.connect(lambda _c: self.refresh() if self.isVisible() else self.set_tiles([]))

    def refresh(self) -> None:
        """Decode each model's latest prediction on a worker, then lay out the tiles."""
        self._token += 1
        token, store, photo = self._token, self._store(), self.state.photo
        predictions = list(self.state.predictions)
        if store is None or photo is None or self.state.case is None:
            self.set_tiles([])
            return
        self.loading = True
        self._submit(lambda: decode_latest(store, photo.rgb, predictions),
                     lambda tiles: self._decoded(token, photo.rgb, tiles), lambda exc: self._failed(token, exc))

    def _decoded(self, token: int, photo_rgb: np.ndarray, tiles: list[tuple[str, list]]) -> None:
        if token != self._token:
            return
        self.loading = False
        photo = to_pixmaps(pyramid_images(photo_rgb))
        self.set_tiles([(PHOTO_LABEL, photo)] + [(name, to_pixmaps(images)) for name, images in tiles])

    def _failed(self, token: int, exc: BaseException) -> None:
        if token == self._token:
            self.loading = False
            self._on_error("Predictions not shown", describe_error(exc))

    def set_tiles(self, items: list[tuple[str, list[QPixmap] | None]]) -> None:
        """Replace the tiles: (caption, display pyramid) each, the photo first; every tile linked to every other."""
        for tile in self.tiles:
            self.grid.removeWidget(tile)
            tile.deleteLater()
        self.tiles = []
        self.note.setVisible(len(items) <= 1)
        if len(items) <= 1:
            return
        columns = math.ceil(math.sqrt(len(items)))
        for i, (caption, levels) in enumerate(items):
            tile = GridTile(caption, levels)
            for other in self.tiles:
                tile.viewer.link(other.viewer)
            self.tiles.append(tile)
            self.grid.addWidget(tile, i // columns, i % columns)
            tile.show()  # (a child added to a shown widget stays hidden until shown)
        for c in range(columns):
            self.grid.setColumnStretch(c, 1)

    @property
    def viewers(self) -> list[ImageViewer]:
        return [t.viewer for t in self.tiles]
