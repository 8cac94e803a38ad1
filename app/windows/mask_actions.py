"""The mask commands of the Edit and File menus and the tool panel: suggest, clear, grow, shrink, feather,
invert, import and export (PNG, white = hole).

Each command reads the mask the state holds and puts the new one on the canvas as a single undo
step (``MaskCanvas.replace_mask``); the canvas's edit signal then brings it back to the state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject

from app.canvas.view import MaskCanvas
from app.prompts import MASK_FILTER, Prompts
from app.state import AppState
from app.workers import describe_error
from inference.errors import InferenceError
from inference.face.suggest import FAMILY_LABELS, suggest_mask


class MaskActions(QObject):
    def __init__(self, state: AppState, canvas: MaskCanvas, prompts: Prompts,
                 status: Callable[[str, int], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.canvas, self.prompts, self._status = state, canvas, prompts, status

    def transform_mask(self, operation: str, pixels: int = 0) -> bool:
        """Grow, shrink, feather or invert the mask by ``pixels`` photo pixels, as one undo step."""
        from app.canvas.mask_ops import MASK_OPERATIONS

        if self.state.mask is None:
            return False
        label, fn = MASK_OPERATIONS[operation]
        text = label if operation == "invert" else f"{label} {pixels} px"
        changed = self.canvas.replace_mask(fn(self.state.mask, pixels), text)
        if not changed:
            self._status(f"{label}: the mask did not change", 3000)
        return changed

    def suggest_mask(self, family: str = "upper_lip_nostril") -> None:
        """Replace the mask with a family of ``inference.face.suggest`` (one undo step)."""
        face, photo = self.state.face, self.state.photo
        if photo is None or face is None or face.landmarks is None:
            self.prompts.error("No landmarks", "A mask can only be suggested when the face and its landmarks were "
                                               "detected. Paint the mask by hand instead.")
            return
        mask = suggest_mask(face.landmarks, photo.rgb.shape[:2], family)
        self.canvas.replace_mask(mask, f"Suggest mask ({FAMILY_LABELS[family].lower()})")
        self._status("Suggested mask: check and correct it before running a model.", 4000)

    def clear_mask(self) -> None:
        if self.canvas.layer is not None:
            self.canvas.replace_mask(np.zeros((self.canvas.layer.height, self.canvas.layer.width), bool), "Clear mask")

    def import_mask_dialog(self) -> None:
        path = self.prompts.open_file("Import mask", MASK_FILTER)
        if path is not None:
            self.import_mask(path)

    def import_mask(self, path: Path) -> bool:
        from inference.io.mask_codec import load_mask

        if self.state.photo is None:
            return False
        try:
            mask = load_mask(path, expected_shape=self.state.photo.rgb.shape[:2])
        except InferenceError as exc:
            self.prompts.error("Mask not imported", describe_error(exc))
            return False
        self.canvas.replace_mask(mask, "Import mask")
        return True

    def export_mask_dialog(self) -> None:
        if self.state.case is None:
            return
        path = self.prompts.save_file("Export mask", MASK_FILTER, "mask.png")
        if path is not None:
            self.export_mask(path)

    def export_mask(self, path: Path) -> bool:
        from inference.io.mask_codec import save_mask

        if self.state.mask is None:
            return False
        path = path if path.suffix else path.with_suffix(".png")
        try:
            save_mask(path, self.state.mask)
        except InferenceError as exc:
            self.prompts.error("Mask not exported", describe_error(exc))
            return False
        self._status(f"Mask exported to {path}", 4000)
        return True
