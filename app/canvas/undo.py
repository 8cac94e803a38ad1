"""Undo commands for mask edits: each stroke, fill, clear, suggestion or import is one step."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from app.canvas.mask_layer import MaskLayer, MaskPatch


class MaskEditCommand(QUndoCommand):
    """Holds the tiles an edit changed; the edit is already on the layer when pushed."""

    def __init__(self, layer: MaskLayer, patch: MaskPatch, text: str, on_applied: Callable[[], None]) -> None:
        super().__init__(text)
        self._layer = layer
        self._patch = patch
        self._on_applied = on_applied
        self._first_redo = True

    def redo(self) -> None:
        if self._first_redo:  # QUndoStack.push calls redo(); the pixels are already painted
            self._first_redo = False
        else:
            self._layer.apply(self._patch, after=True)
        self._on_applied()

    def undo(self) -> None:
        self._layer.apply(self._patch, after=False)
        self._on_applied()
