"""Paste a crop-resolution prediction back into the full-resolution photo, inside the mask only.

The painted hole is replaced completely; a ring ``feather_px`` wide around it blends linearly
(by distance to the hole) into the original, so no seam shows. Every pixel farther than the ring
stays bit-identical to the input. All work happens inside the mask's bounding box (plus the
ring), so a 24-megapixel photo costs no more than a small one apart from the final copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from inference.errors import MaskError
from inference.face.crop import FaceCrop
from inference.io.mask_codec import decode_mask


@dataclass(frozen=True)
class Patch:
    """Blended pixels for the rectangle ``[top, top + h) x [left, left + w)`` of the photo."""

    top: int
    left: int
    pixels: np.ndarray

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), bottom/right exclusive."""
        h, w = self.pixels.shape[:2]
        return self.top, self.left, self.top + h, self.left + w

    def apply(self, photo: np.ndarray, inplace: bool = False) -> np.ndarray:
        out = photo if inplace else photo.copy()
        top, left, bottom, right = self.bounds
        out[top:bottom, left:right] = self.pixels
        return out


def default_feather(crop: FaceCrop, resolution: int) -> float:
    """Two crop pixels, in photo pixels (at least 2): wide enough to hide the resampling edge."""
    return max(2.0, 2.0 * crop.size / resolution)


def mask_bounds(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the True pixels, or None for an empty mask.

    A mask that is not bool is read through the one mask codec (8-bit grey, white = hole).
    """
    if mask.dtype != np.bool_:
        mask = decode_mask(mask)
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask).view(np.uint8))
    if w == 0 or h == 0:
        return None
    return y, x, y + h, x + w


def blend_patch(photo: np.ndarray, prediction_crop: np.ndarray, crop: FaceCrop, mask: np.ndarray,
                feather_px: float | None = None,
                bounds: tuple[int, int, int, int] | None = None) -> Patch:
    """The blended rectangle around ``mask`` (photo resolution, True = hole); ``photo`` is untouched.

    ``bounds`` (top, left, bottom, right) may be passed when the caller knows the mask's box.
    """
    if mask.shape != photo.shape[:2]:
        raise MaskError(f"The mask ({mask.shape[1]} x {mask.shape[0]}) does not match the photo "
                        f"({photo.shape[1]} x {photo.shape[0]}).")
    resolution = prediction_crop.shape[0]
    if prediction_crop.shape != (resolution, resolution, 3):
        raise ValueError(f"prediction_crop must be (R, R, 3), got {prediction_crop.shape}")
    feather = default_feather(crop, resolution) if feather_px is None else float(feather_px)
    bounds = mask_bounds(mask) if bounds is None else bounds
    if bounds is None:
        raise MaskError("The mask has no painted region, so there is nothing to paste back.")
    h, w = mask.shape
    ring = int(math.ceil(feather)) + 1
    top, left = max(0, bounds[0] - ring), max(0, bounds[1] - ring)
    bottom, right = min(h, bounds[2] + ring), min(w, bounds[3] + ring)

    hole = mask[top:bottom, left:right].astype(bool, copy=False)
    alpha = _feathered_alpha(hole, feather)
    predicted = crop.sample_in_photo(prediction_crop, top, left, bottom - top, right - left,
                                     cv2.INTER_CUBIC, cv2.BORDER_REPLICATE)
    original = photo[top:bottom, left:right]
    blended = original.astype(np.float32)
    blended += alpha[..., None] * (predicted.astype(np.float32) - blended)
    pixels = np.rint(blended, out=blended).astype(np.uint8)
    return Patch(top, left, pixels)


def paste_back(photo: np.ndarray, prediction_crop: np.ndarray, crop: FaceCrop, mask: np.ndarray,
               feather_px: float | None = None, inplace: bool = False) -> np.ndarray:
    """The photo with the prediction blended into the (feathered) mask; a copy unless ``inplace``."""
    return blend_patch(photo, prediction_crop, crop, mask, feather_px).apply(photo, inplace=inplace)


def _feathered_alpha(hole: np.ndarray, feather: float) -> np.ndarray:
    """1 inside the hole, falling linearly to 0 at ``feather`` pixels from it, exactly 0 beyond."""
    if feather <= 0:
        return hole.astype(np.float32)
    keep = (~hole).view(np.uint8)  # distanceTransform measures from nonzero pixels to the nearest zero
    distance = cv2.distanceTransform(keep, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    alpha = 1.0 - distance / np.float32(feather)
    return np.clip(alpha, 0.0, 1.0, out=alpha)
