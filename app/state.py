"""Pure, evented application state: plain Python that widgets subscribe to (napari's pattern).

Nothing here imports Qt, so the state can be built, changed and checked in tests without a
window; widgets connect to the signals and write back through the setters, which only emit
when a value really changes (so a widget that echoes a value back cannot start a loop).

The state owns the open case's photo, its mask (a read-only snapshot of the canvas after each
finished edit, with its fingerprint) and the face analysis; one signal per field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")


class Signal(Generic[T]):
    """A tiny synchronous signal: ``connect(callback)``, ``emit(value)``."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], Any]] = []

    def connect(self, callback: Callable[[T], Any]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[T], Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        for callback in list(self._callbacks):
            callback(value)


class Tool(str, Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    LASSO = "lasso"
    POLYGON = "polygon"
    FACE_BOX = "face_box"
    PAN = "pan"


MIN_BRUSH, MAX_BRUSH = 1, 500


@dataclass(frozen=True)
class ModelChoice:
    """What the model picker shows about one registered model (plain data, no torch objects)."""

    name: str
    display_name: str
    available: bool
    reason: str
    neural: bool
    description: str
    weights_sha256: str | None = None
    card: dict | None = None


@dataclass(frozen=True, eq=False)
class FaceInfo:
    """The face box (left, top, right, bottom) and 68 landmarks in photo pixels, or a manual box."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray | None
    manual: bool
    analysis: Any = None  # the pipeline's FaceAnalysis, passed back to it when predicting


def same_value(a: Any, b: Any) -> bool:
    """Whether a setter's new value equals the old one (arrays by content, dataclasses field by field).

    Dataclasses declared with ``eq=False`` are compared by identity, as they ask; anything whose
    ``==`` fails or is ambiguous counts as changed.
    """
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if dataclasses.is_dataclass(a):
        if not a.__dataclass_params__.eq:  # type: ignore[attr-defined]
            return False
        return all(same_value(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - e.g. an array inside a dict: treat as changed
        return False


def same_face(a: FaceInfo | None, b: FaceInfo | None) -> bool:
    """Same box, landmarks, manual flag and the very same analysis object."""
    if a is None or b is None:
        return a is b
    return (a.box == b.box and a.manual == b.manual and a.analysis is b.analysis
            and same_value(a.landmarks, b.landmarks))


@dataclass(frozen=True, eq=False)  # identity equality: the landmarks array has no truth value
class PredictionView:
    """One prediction of the current case as the viewers need it."""

    record_id: int
    model_name: str
    display_name: str
    image_path: Path
    device: str
    weights_sha256: str | None
    app_version: str
    created_at: str
    landmarks: np.ndarray | None  # (68, 2) photo pixels
    mask_sha256: str | None = None  # fingerprint of the mask it was made with (None: unknown)
    guide_landmarks: np.ndarray | None = None  # (68, 2) photo pixels the clinician steered it with
    stored: Any = None  # studies.cases.PredictionInfo: what CaseStore.prediction_image decodes

    @property
    def drawn_landmarks(self) -> np.ndarray | None:
        """The points the picture was drawn from: the clinician's edit if steered, else the network's."""
        return self.guide_landmarks if self.guide_landmarks is not None else self.landmarks


class AppState:
    """Current case, photo, mask, face, tool settings, models and predictions; each field has a change signal."""

    def __init__(self, brush_size: int = 40, overlay_color: str = "#ff2d6f", overlay_opacity: float = 0.5) -> None:
        self.case_changed: Signal[Any] = Signal()
        self.photo_changed: Signal[Any] = Signal()
        self.mask_changed: Signal[np.ndarray | None] = Signal()
        self.face_changed: Signal[FaceInfo | None] = Signal()
        self.tool_changed: Signal[Tool] = Signal()
        self.brush_size_changed: Signal[int] = Signal()
        self.overlay_color_changed: Signal[str] = Signal()
        self.overlay_opacity_changed: Signal[float] = Signal()
        self.mask_visible_changed: Signal[bool] = Signal()
        self.face_overlay_visible_changed: Signal[bool] = Signal()
        self.predicted_landmarks_visible_changed: Signal[bool] = Signal()
        self.models_changed: Signal[list[ModelChoice]] = Signal()
        self.selected_model_changed: Signal[str | None] = Signal()
        self.predictions_changed: Signal[list[PredictionView]] = Signal()
        self.current_prediction_changed: Signal[PredictionView | None] = Signal()
        self.device_changed: Signal[str] = Signal()
        self.busy_changed: Signal[bool] = Signal()
        self.mask_fingerprint_changed: Signal[str | None] = Signal()

        self.case: Any = None  # studies.cases.CaseInfo
        self.photo: Any = None  # inference.io.photo.Photo of the open case
        self.mask: np.ndarray | None = None  # bool (H, W), read-only snapshot of the canvas; None: no photo
        self._mask_key: str | None = None  # mask_sha256 of ``mask`` (also when empty)
        self.face: FaceInfo | None = None
        self.tool = Tool.BRUSH
        self.brush_size = int(brush_size)
        self.overlay_color = overlay_color
        self.overlay_opacity = float(overlay_opacity)
        self.mask_visible = True
        self.face_overlay_visible = False
        self.predicted_landmarks_visible = False
        self.models: list[ModelChoice] = []
        self.selected_model: str | None = None
        self.predictions: list[PredictionView] = []
        self.current_prediction: PredictionView | None = None
        self.device = "detecting…"
        self.busy = False
        self.mask_fingerprint: str | None = None  # mask_codec.mask_sha256 of the mask on screen; None: empty

    # Setters emit only on a real change.
    def _set(self, name: str, value: Any, signal: Signal) -> None:
        if same_value(getattr(self, name), value):
            return
        setattr(self, name, value)
        signal.emit(value)

    def set_case(self, case: Any) -> None:
        """The open case's record (``CaseInfo``); a record equal to the one held changes nothing."""
        self._set("case", case, self.case_changed)

    def set_photo(self, photo: Any) -> None:
        """The open case's decoded photo (compared by identity: a new decode is a new photo)."""
        if photo is self.photo:
            return
        self.photo = photo
        self.photo_changed.emit(photo)

    def set_mask(self, mask: np.ndarray | None) -> None:
        """The mask on screen after a finished edit (bool (H, W), True = hole), kept as a read-only copy.

        ``mask_changed`` fires only when the pixels (or the size) differ; the fingerprint follows
        (None for an empty mask).
        """
        from inference.io.mask_codec import mask_sha256

        if mask is None:
            key = fingerprint = None
        else:
            mask = np.asarray(mask, dtype=bool)
            if mask.flags.writeable:  # a snapshot nobody can change behind the state's back
                mask = mask.copy()
                mask.flags.writeable = False
            key = mask_sha256(mask)
            fingerprint = key if mask.any() else None
        if key == self._mask_key and (mask is None) == (self.mask is None):
            return
        self.mask, self._mask_key = mask, key
        self.mask_changed.emit(mask)
        self.set_mask_fingerprint(fingerprint)

    def set_face(self, face: FaceInfo | None) -> None:
        if same_face(self.face, face):
            return
        self.face = face
        self.face_changed.emit(face)

    def set_tool(self, tool: Tool) -> None:
        self._set("tool", Tool(tool), self.tool_changed)

    def set_brush_size(self, size: int) -> None:
        self._set("brush_size", int(min(MAX_BRUSH, max(MIN_BRUSH, size))), self.brush_size_changed)

    def grow_brush(self, factor: float) -> None:
        """Multiply the brush size (keys [ and ]), always moving by at least one pixel."""
        step = max(1, round(self.brush_size * abs(factor - 1)))
        self.set_brush_size(self.brush_size + (step if factor > 1 else -step))

    def set_overlay_color(self, color: str) -> None:
        self._set("overlay_color", color, self.overlay_color_changed)

    def set_overlay_opacity(self, opacity: float) -> None:
        self._set("overlay_opacity", float(min(1.0, max(0.0, opacity))), self.overlay_opacity_changed)

    def set_mask_visible(self, visible: bool) -> None:
        self._set("mask_visible", bool(visible), self.mask_visible_changed)

    def set_face_overlay_visible(self, visible: bool) -> None:
        self._set("face_overlay_visible", bool(visible), self.face_overlay_visible_changed)

    def set_predicted_landmarks_visible(self, visible: bool) -> None:
        self._set("predicted_landmarks_visible", bool(visible), self.predicted_landmarks_visible_changed)

    def set_models(self, models: list[ModelChoice]) -> None:
        self._set("models", list(models), self.models_changed)

    def set_selected_model(self, name: str | None) -> None:
        self._set("selected_model", name, self.selected_model_changed)

    def set_predictions(self, predictions: list[PredictionView]) -> None:
        self._set("predictions", list(predictions), self.predictions_changed)
        if not any(p is self.current_prediction for p in self.predictions):
            self.set_current_prediction(self.predictions[-1] if self.predictions else None)

    def add_prediction(self, prediction: PredictionView) -> None:
        self.predictions.append(prediction)
        self.predictions_changed.emit(self.predictions)
        self.set_current_prediction(prediction)

    def replace_prediction(self, prediction: PredictionView) -> None:
        """Swap in a re-rendered prediction (same record id); shown if its old self was shown."""
        shown = self.current_prediction is not None and self.current_prediction.record_id == prediction.record_id
        self.predictions = [prediction if p.record_id == prediction.record_id else p for p in self.predictions]
        if shown:
            self.current_prediction = prediction  # before the list signal, so the gallery keeps its selection
        self.predictions_changed.emit(self.predictions)
        if shown:
            self.current_prediction_changed.emit(prediction)

    def set_current_prediction(self, prediction: PredictionView | None) -> None:
        if prediction is self.current_prediction:
            return
        self.current_prediction = prediction
        self.current_prediction_changed.emit(prediction)

    def set_device(self, description: str) -> None:
        self._set("device", description, self.device_changed)

    def set_busy(self, busy: bool) -> None:
        self._set("busy", bool(busy), self.busy_changed)

    def set_mask_fingerprint(self, fingerprint: str | None) -> None:
        self._set("mask_fingerprint", fingerprint, self.mask_fingerprint_changed)

    def is_out_of_date(self, prediction: PredictionView) -> bool:
        """Made with another mask than the one on screen (unknown masks of older rows count as other)."""
        return self.mask_fingerprint is not None and prediction.mask_sha256 != self.mask_fingerprint

    def model_choice(self, name: str) -> ModelChoice | None:
        return next((m for m in self.models if m.name == name), None)
