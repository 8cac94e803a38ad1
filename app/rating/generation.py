"""Output generation for a study, wired to the inference registry and the face pipeline (no Qt).

``StudySetup.iter_generate_outputs`` asks the app for two callables: ``prepare`` (photo + mask ->
the square face crop) and ``generate`` (crop + hole + model name -> filled crop). Here they are
the same landmark crop and the same models the clinician uses on the case screen. Models are
loaded once per generation run and only on the worker thread that calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from inference.errors import MaskError, NoFaceError
from inference.io.photo import load_photo
from inference.models.base import InpaintModel
from inference.models.registry import load_model
from inference.pipeline import FacePipeline


class RegistryGenerate:
    """``generate(crop, hole, model_name)`` backed by ``registry.load_model(name).predict_batch``."""

    def __init__(self, device: str | None = None,
                 loader: Callable[[str, str | None], InpaintModel] = load_model) -> None:
        self.device = device
        self._loader = loader
        self._models: dict[str, InpaintModel] = {}

    def __call__(self, crop: np.ndarray, hole: np.ndarray, model_name: str) -> np.ndarray:
        model = self._models.get(model_name)
        if model is None:
            model = self._models[model_name] = self._loader(model_name, self.device)
        size = model.spec.resolution
        image, mask = crop, hole
        if crop.shape[:2] != (size, size):
            shrink = crop.shape[0] > size
            image = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
            mask = cv2.resize(hole.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
        return model.predict_batch(image[None], mask[None])[0].image


class PipelinePrepare:
    """``prepare(photo_path, mask)``: the face pipeline's landmark crop at the study's output size.

    When no face is found the square around the mask is used instead and the photo is noted in
    ``fallbacks`` so the owner can be told (the study still gets consistent outputs per case).
    """

    def __init__(self, output_size: int, pipeline: FacePipeline | None = None) -> None:
        self.output_size = output_size
        self.pipeline = pipeline or FacePipeline()
        self.fallbacks: list[Path] = []

    def __call__(self, photo_path: Path, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rgb = load_photo(photo_path).rgb
        try:
            prepared = self.pipeline.prepare(rgb, mask, self.output_size)
        except NoFaceError:
            self.fallbacks.append(Path(photo_path))
            return square_around_mask(rgb, mask)
        return prepared.crop_image, prepared.crop_hole


def square_around_mask(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The largest square of the photo centred (as far as possible) on the mask."""
    if mask.shape != rgb.shape[:2]:
        raise MaskError(f"The mask ({mask.shape[1]}x{mask.shape[0]}) does not match the photo "
                        f"({rgb.shape[1]}x{rgb.shape[0]}); repaint the mask for this case.")
    h, w = mask.shape
    side = min(h, w)
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return rgb[:side, :side].copy(), mask[:side, :side].copy()
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    top = int(np.clip(cy - side // 2, 0, h - side))
    left = int(np.clip(cx - side // 2, 0, w - side))
    return rgb[top:top + side, left:left + side].copy(), mask[top:top + side, left:left + side].copy()
