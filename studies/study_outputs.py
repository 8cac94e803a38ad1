"""What a study shows of one case: a square of the photo, and each model's output in that square.

``ServiceOutputs`` makes them with the clinic's own prediction path: it asks
``inference.service.PredictionService`` for the prediction with the same photo, mask, model and
face as the app's Run (the case's hand-drawn face square, else the detected face with the
clinician's corrected landmarks), repairs the photo with it and cuts the study's display square
from the repaired photo. So, before the display resize, a study output is bit for bit the clinical
prediction in that square. The study then resizes the original, the masked input and every
output alike (``display_resize``), whatever model made them.

``CropOutputs`` keeps the older, simpler protocol for tests and tools: ``prepare(photo, mask)``
gives a square crop and ``generate(crop, mask, model)`` fills it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from studies.errors import SetupError

if TYPE_CHECKING:
    from inference.face.crop import FaceCrop
    from inference.pipeline import FaceAnalysis
    from inference.service import PredictionService

Generate = Callable[[np.ndarray, np.ndarray, str], np.ndarray]
"""``generate(case_photo_crop RGB uint8, mask bool (True = hole), model_name) -> RGB uint8``."""

Prepare = Callable[[Path, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``prepare(photo_path, full_mask) -> (square crop RGB uint8, crop mask bool)``."""

Square = tuple[int, int, int]
"""(left, top, side) of a square inside the photo, in photo pixels."""


@dataclass(frozen=True)
class CaseSource:
    """A study case as the clinic holds it."""

    photo_path: Path
    mask: np.ndarray  # bool (H, W) of the photo, True = hole
    face_box: tuple[float, float, float, float] | None = None  # drawn by hand when no face was found
    landmarks: np.ndarray | None = None  # (68, 2) photo pixels as the clinician corrected them


class CaseOutputs(Protocol):
    """One case's square: ``original`` and ``hole`` before the display resize, and each model's output."""

    original: np.ndarray
    hole: np.ndarray

    def output(self, model_name: str) -> np.ndarray:
        """The model's output in the square, before the display resize."""


@runtime_checkable
class OutputMaker(Protocol):
    def case_outputs(self, source: CaseSource) -> CaseOutputs: ...


# ---------------------------------------------------------------- squares and the display resize

def mask_square(mask: np.ndarray) -> Square:
    """The largest square of the photo centred (as far as possible) on the mask."""
    h, w = mask.shape
    side = min(h, w)
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return 0, 0, side
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    return int(np.clip(cx - side // 2, 0, w - side)), int(np.clip(cy - side // 2, 0, h - side)), side


def display_square(crop: "FaceCrop", shape: tuple[int, int]) -> Square:
    """The model's face square moved (not scaled) to lie inside the photo; at most the photo's shorter side."""
    h, w = shape[:2]
    side = int(min(round(crop.size), h, w))
    left = int(np.clip(round(crop.x0), 0, w - side))
    top = int(np.clip(round(crop.y0), 0, h - side))
    return left, top, side


def cut(image: np.ndarray, square: Square) -> np.ndarray:
    left, top, side = square
    return image[top:top + side, left:left + side].copy()


def display_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """The one resize a study applies to every image it shows (Lanczos; unchanged at ``size``)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise SetupError(f"The face crop must be RGB uint8; got {rgb.dtype} {rgb.shape}.")
    if rgb.shape[:2] == (size, size):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.LANCZOS))


def resize_mask(mask: np.ndarray, size: int) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.shape == (size, size):
        return mask
    img = Image.fromarray(mask.astype(np.uint8) * 255).resize((size, size), Image.Resampling.NEAREST)
    return np.asarray(img) >= 128


# ---------------------------------------------------------------- the clinic's prediction path

class ServiceOutputs:
    """Study outputs from the prediction service, exactly as the clinic predicts the case.

    A case without a hand-drawn face square whose face is not found is predicted with the square
    around its mask as face square instead, and its photo is noted in ``fallbacks`` so the owner
    can be told.
    """

    def __init__(self, service: "PredictionService | None" = None, device: str | None = None) -> None:
        if service is None:
            from inference.service import PredictionService

            service = PredictionService()
        self.service = service
        self.device = device
        self.fallbacks: list[Path] = []

    def case_outputs(self, source: CaseSource) -> "ServiceCase":
        from inference.errors import MaskError, NoFaceError
        from inference.io.photo import load_photo

        rgb = load_photo(source.photo_path).rgb
        mask = np.asarray(source.mask, dtype=bool)
        if mask.shape != rgb.shape[:2]:
            raise MaskError(f"The mask ({mask.shape[1]}x{mask.shape[0]}) does not match the photo "
                            f"({rgb.shape[1]}x{rgb.shape[0]}); repaint the mask for this case.")
        try:
            analysis = self.service.analyse(rgb, source.face_box, source.landmarks)
        except NoFaceError:
            left, top, side = mask_square(mask)
            analysis = self.service.analyse(rgb, (left, top, left + side, top + side))
            self.fallbacks.append(Path(source.photo_path))
        return ServiceCase(self.service, rgb, mask, analysis, self.device)


class ServiceCase:
    """One case of ``ServiceOutputs``: its display square (the model's face square) and outputs."""

    def __init__(self, service: "PredictionService", rgb: np.ndarray, mask: np.ndarray,
                 analysis: "FaceAnalysis", device: str | None) -> None:
        self._service, self._rgb, self._mask, self._device = service, rgb, mask, device
        self.analysis = analysis
        self.square = display_square(analysis.crop, rgb.shape[:2])
        self.original = cut(rgb, self.square)
        self.hole = cut(mask, self.square)

    def output(self, model_name: str) -> np.ndarray:
        from inference.service import PredictionRequest

        record = self._service.predict(PredictionRequest(self._rgb, self._mask, model_name, self._device,
                                                         analysis=self.analysis))
        left, top, side = self.square
        return record.apply(self._rgb, (left, top, left + side, top + side))


# ---------------------------------------------------------------- the older crop protocol

class CropOutputs:
    """``prepare`` + ``generate`` callables as an ``OutputMaker``; the crop is given at the display size."""

    def __init__(self, generate: Generate, prepare: Prepare, size: int) -> None:
        self.generate, self.prepare, self.size = generate, prepare, size

    def case_outputs(self, source: CaseSource) -> "CropCase":
        crop, hole = self.prepare(source.photo_path, source.mask)
        return CropCase(display_resize(crop, self.size), resize_mask(hole, self.size), self.generate)


@dataclass(frozen=True)
class CropCase:
    original: np.ndarray
    hole: np.ndarray
    generate: Generate

    def output(self, model_name: str) -> np.ndarray:
        return self.generate(self.original.copy(), self.hole.copy(), model_name)
