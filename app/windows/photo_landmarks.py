"""Correcting the photo's detected landmarks by dragging them on the paint canvas.

dlib's points fail on cleft anatomy (mouth points on the chin), and "Suggest mask", the face crop
and the measures all read them. While correcting is on, the lip and nose points are handles on the
canvas (a press on one drags it instead of painting); each release hands the corrected points to
the window's ``commit`` (which stores them with the case and updates the face), or ``None`` when
they are back to the detector's own. Undo and Reset work on the same ``LandmarkEdits`` history as
the prediction editor.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.canvas.landmark_editor import LandmarkEdits, LandmarkHandles
from app.canvas.view import MaskCanvas


class PhotoLandmarksController(QObject):
    """History and handles of the photo's landmarks; the window owns storing and applying them."""

    changed = Signal()  # on/off or the history changed (the window's Undo follows)

    def __init__(self, canvas: MaskCanvas, commit: Callable[[np.ndarray | None], bool],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._commit = commit
        self.handles = LandmarkHandles("#39d353")
        self.handles.setVisible(False)
        canvas.scene().addItem(self.handles)
        canvas.landmark_handles = self.handles
        self.edits: LandmarkEdits | None = None
        self._on = False
        self.handles.dragged.connect(lambda points: self._change(lambda e: e.apply(points)))

    def start(self, detected: np.ndarray | None, current: np.ndarray | None) -> None:
        """A new face: ``detected`` are the detector's points (Reset), ``current`` the stored correction."""
        self.edits = None if detected is None else LandmarkEdits(detected, current)
        self._update()

    @property
    def available(self) -> bool:
        return self.edits is not None

    @property
    def active(self) -> bool:
        return self._on and self.edits is not None

    @property
    def can_undo(self) -> bool:
        return self.active and self.edits is not None and self.edits.can_undo

    @property
    def corrected(self) -> bool:
        return self.edits is not None and not self.edits.is_network

    def set_active(self, on: bool) -> None:
        self._on = bool(on)
        self._update()

    def undo(self) -> bool:
        return self._change(lambda e: e.undo())

    def reset(self) -> bool:
        return self._change(lambda e: e.reset())

    def _change(self, step: Callable[[LandmarkEdits], bool]) -> bool:
        if self.edits is None or not step(self.edits):
            self._update()
            return False
        if not self._commit(None if self.edits.is_network else self.edits.current.copy()):
            self.edits.undo()  # not stored: the points go back to what the case holds
            self._update()
            return False
        self._update()
        return True

    def _update(self) -> None:
        self.handles.set_points(None if self.edits is None else self.edits.current)
        self.handles.setVisible(self.active)
        self.changed.emit()
