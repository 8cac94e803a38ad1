"""Stored predictions: the pixels a model changed, their box, and the mask, decoded in one place.

A prediction is stored as the lossless PNG of its changed patch, the patch's box (x0, y0, x1, y1 in
photo pixels, right/bottom exclusive), the photo's size, and the mask it was made with (cut to the
box when the hole lies inside it, which it always does for the pipeline's patches). When the caller
knows which pixels of the box really changed (the feathered hole; the box's corners keep the photo's
pixels), the PNG is RGBA with alpha = changed and the unchanged pixels zeroed, so they cost nothing:
a 24-megapixel case stores a few hundred kilobytes instead of the whole repaired photo.

:meth:`PredictionStore.image` is the one decoder: every screen and export (viewers, gallery
thumbnails, report, DICOM, PNG, clipboard, steering) gets a prediction's pixels from it, the patch
pasted on the case's photo. Rows written before migration 0006 have no box: their PNG is the whole
repaired photo and comes back as it is.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from inference.io.mask_codec import encode_mask_png, mask_sha256
from studies.errors import CaseError
from studies.files import decode_mask_png, encode_png

Box = tuple[int, int, int, int]
"""x0, y0, x1, y1 in photo pixels, right/bottom exclusive."""


@dataclass(frozen=True, eq=False)
class PredictionPatch:
    """The pixels of a prediction's box (uint8 RGB), the box, and the photo's (width, height).

    ``changed`` (bool, the box's size), when known: which pixels differ from the photo. Only those are
    pasted and stored; the others are the photo's own (a decoded patch holds zeros there until
    :meth:`PredictionStore.patch` fills them from the photo).
    """

    pixels: np.ndarray
    box: Box
    photo_size: tuple[int, int]
    changed: np.ndarray | None = None

    def __post_init__(self) -> None:
        pixels = np.asarray(self.pixels)
        x0, y0, x1, y1 = (int(v) for v in self.box)
        w, h = (int(v) for v in self.photo_size)
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise CaseError(f"A prediction must be an RGB uint8 image; got {pixels.dtype} {pixels.shape}.")
        if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h) or pixels.shape[:2] != (y1 - y0, x1 - x0):
            raise CaseError(f"The prediction's patch ({pixels.shape[1]} x {pixels.shape[0]} at {self.box}) does "
                            f"not fit its {w} x {h} photo.")
        if self.changed is not None and (self.changed.dtype != bool or self.changed.shape != pixels.shape[:2]):
            raise CaseError("The changed pixels of a prediction must be a true/false image of its patch's size.")
        object.__setattr__(self, "box", (x0, y0, x1, y1))
        object.__setattr__(self, "photo_size", (w, h))

    @classmethod
    def whole(cls, image: np.ndarray) -> PredictionPatch:
        """A picture that is the whole repaired photo (rows from before patches, tests, tools)."""
        image = np.asarray(image)
        if image.ndim < 2:
            raise CaseError(f"A prediction must be an RGB uint8 image; got shape {image.shape}.")
        h, w = image.shape[:2]
        return cls(image, (0, 0, w, h), (w, h))

    @classmethod
    def of_record(cls, record: Any, photo_rgb: np.ndarray | None = None) -> PredictionPatch:
        """From an ``inference.service.PredictionRecord`` (``patch``, ``box``, ``photo_shape``); with the
        photo it was made on, the pixels that really changed are marked (and only they are stored)."""
        h, w = record.photo_shape
        return cls.on_photo(record.patch, record.box, photo_rgb) if photo_rgb is not None else cls(
            record.patch, record.box, (w, h))

    @classmethod
    def on_photo(cls, pixels: np.ndarray, box: Box, photo_rgb: np.ndarray) -> PredictionPatch:
        """A patch of ``photo_rgb`` with its changed pixels marked (those that differ from the photo's)."""
        x0, y0, x1, y1 = box
        changed = np.any(pixels != photo_rgb[y0:y1, x0:x1], axis=2)
        return cls(pixels, box, (photo_rgb.shape[1], photo_rgb.shape[0]), changed)

    @property
    def covers_photo(self) -> bool:
        return self.box == (0, 0, *self.photo_size)

    def apply(self, rgb: np.ndarray | None, region: Box | None = None) -> np.ndarray:
        """The repaired photo (a copy of ``rgb`` with the patch pasted in), or only ``region`` of it.

        ``rgb`` may be None when the patch covers the whole photo.
        """
        w, h = self.photo_size
        rx0, ry0, rx1, ry1 = (0, 0, w, h) if region is None else region
        if not (0 <= rx0 < rx1 <= w and 0 <= ry0 < ry1 <= h):
            raise CaseError(f"The region {region} is not inside the {w} x {h} photo.")
        x0, y0, x1, y1 = self.box
        if self.covers_photo and self.changed is None:
            return self.pixels[ry0:ry1, rx0:rx1].copy()
        if rgb is None or rgb.shape[:2] != (h, w):
            got = "no photo" if rgb is None else f"a {rgb.shape[1]} x {rgb.shape[0]} photo"
            raise CaseError(f"This prediction was made on a {w} x {h} photo, not on {got}.")
        out = rgb[ry0:ry1, rx0:rx1].copy()
        ix0, iy0, ix1, iy1 = max(x0, rx0), max(y0, ry0), min(x1, rx1), min(y1, ry1)
        if ix1 > ix0 and iy1 > iy0:
            target = out[iy0 - ry0:iy1 - ry0, ix0 - rx0:ix1 - rx0]
            source = self.pixels[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
            if self.changed is None:
                target[:] = source
            else:
                changed = self.changed[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
                target[changed] = source[changed]
        return out


@dataclass(frozen=True)
class EncodedPrediction:
    """What the case store writes for one prediction: the patch PNG, its placement, the mask PNG."""

    image_png: bytes
    box_json: str | None  # None: the PNG is the whole repaired photo (no photo size known)
    photo_width: int | None
    photo_height: int | None
    mask_png: bytes | None


class StoredPrediction(Protocol):
    """The columns of a stored prediction the decoder reads (``studies.cases.PredictionInfo``; an object
    with only ``image_path`` is read as a row from before patches)."""

    image_path: Path
    box: Box | None
    photo_size: tuple[int, int] | None
    mask_path: Path | None
    mask_sha256: str | None


def encode_prediction(picture: np.ndarray | PredictionPatch, mask: np.ndarray | None = None) -> EncodedPrediction:
    """Encode a prediction: a ``PredictionPatch`` (placed on its photo) or a whole repaired image.

    ``mask`` (bool, photo size) is the mask the prediction was made with; it is stored cut to the
    patch's box when no hole pixel lies outside it (a report draws it), else whole.
    """
    if isinstance(picture, PredictionPatch):
        pixels, placed = picture.pixels, picture
    else:
        pixels, placed = np.asarray(picture), None
    try:
        if placed is not None and placed.changed is not None:
            data = encode_changed_png(pixels, placed.changed)
        else:
            data = encode_png(np.asarray(pixels))
    except Exception as exc:
        raise CaseError(f"The predicted image cannot be stored: {exc}") from exc
    mask_png = None if mask is None else _encode_mask(np.asarray(mask), placed)
    if placed is None:
        return EncodedPrediction(data, None, None, None, mask_png)
    w, h = placed.photo_size
    return EncodedPrediction(data, json.dumps(list(placed.box)), w, h, mask_png)


def encode_changed_png(pixels: np.ndarray, changed: np.ndarray) -> bytes:
    """RGBA PNG, no metadata: the changed pixels with alpha 255, every other pixel (0, 0, 0, 0).

    Deflate level 4: on a 24 MP case's patch as small as level 6 of the RGB patch minus a third, in
    half its time (the Run waits for it).
    """
    rgba = np.zeros((*pixels.shape[:2], 4), np.uint8)
    rgba[changed, :3] = pixels[changed]
    rgba[changed, 3] = 255
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", compress_level=4)
    return buf.getvalue()


def _encode_mask(mask: np.ndarray, placed: PredictionPatch | None) -> bytes:
    if mask.ndim != 2 or mask.dtype != bool:
        raise CaseError(f"A mask must be a 2-D true/false image; got {mask.dtype} {mask.shape}.")
    if placed is not None:
        w, h = placed.photo_size
        if mask.shape != (h, w):
            raise CaseError(f"The mask ({mask.shape[1]} x {mask.shape[0]}) does not match the photo ({w} x {h}).")
        x0, y0, x1, y1 = placed.box
        inside = mask[y0:y1, x0:x1]
        if not placed.covers_photo and np.count_nonzero(inside) == np.count_nonzero(mask):
            return encode_mask_png(inside)
    return encode_mask_png(mask)


def box_from_json(text: str | None) -> Box | None:
    if text is None:
        return None
    x0, y0, x1, y1 = (int(v) for v in json.loads(text))
    return x0, y0, x1, y1


class PredictionStore:
    """Decodes stored predictions, once, for every screen and export (no cache: callers keep what they show)."""

    def patch(self, prediction: StoredPrediction, photo_rgb: np.ndarray | None = None) -> PredictionPatch:
        """The stored patch and its placement (a row from before patches: the whole image).

        A patch stored with only its changed pixels gets the others from ``photo_rgb`` when given, so
        its ``pixels`` are the repaired photo's over the whole box.
        """
        from inference.io.photo import load_photo

        path = prediction.image_path
        with Image.open(path) as img:
            rgba = np.asarray(img) if img.mode == "RGBA" else None
        pixels = load_photo(path).rgb if rgba is None else np.ascontiguousarray(rgba[..., :3])
        box, size = getattr(prediction, "box", None), getattr(prediction, "photo_size", None)
        if box is None or size is None:
            return PredictionPatch.whole(pixels)
        changed = None if rgba is None else rgba[..., 3] >= 128
        patch = PredictionPatch(pixels, box, size, changed)
        if changed is not None and photo_rgb is not None:
            pixels = patch.apply(photo_rgb, box)
            patch = PredictionPatch(pixels, box, size, changed)
        return patch

    def image(self, prediction: StoredPrediction, photo_rgb: np.ndarray | None,
              region: Box | None = None) -> np.ndarray:
        """The repaired photo as the clinician saw it (or ``region`` of it): the patch on ``photo_rgb``."""
        return self.patch(prediction).apply(photo_rgb, region)

    def mask(self, prediction: StoredPrediction) -> np.ndarray | None:
        """The mask the prediction was made with (bool, photo size), or None when it was not stored.

        A stored mask whose fingerprint is not the one recorded with the prediction is not returned.
        """
        path = getattr(prediction, "mask_path", None)
        if path is None:
            return None
        stored = decode_mask_png(path)
        box, size = getattr(prediction, "box", None), getattr(prediction, "photo_size", None)
        if size is not None and box is not None and stored.shape != (size[1], size[0]):
            x0, y0, x1, y1 = box
            if stored.shape != (y1 - y0, x1 - x0):
                raise CaseError("The stored mask of this prediction does not fit its box.")
            full = np.zeros((size[1], size[0]), bool)
            full[y0:y1, x0:x1] = stored
            stored = full
        expected = getattr(prediction, "mask_sha256", None)
        if expected is not None and mask_sha256(stored) != expected:
            return None
        return stored
