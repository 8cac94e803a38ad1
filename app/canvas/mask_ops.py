"""Whole-mask operations of the Mask panel: grow, shrink, feather, invert (bool in, bool out).

Pure numpy/OpenCV, so they are tested without a window; the canvas applies the result with
``replace_mask``, which makes each one a single undo step.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

MAX_PIXELS = 200


def _disk(pixels: int) -> np.ndarray:
    n = int(min(MAX_PIXELS, max(1, pixels)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * n + 1, 2 * n + 1))


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Every hole pixel's neighbourhood of radius ``pixels`` becomes hole (round corners)."""
    return cv2.dilate(mask.astype(np.uint8), _disk(pixels)).astype(bool)


def shrink(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The hole loses a band ``pixels`` wide along its border (the photo's edge is not a border)."""
    return cv2.erode(mask.astype(np.uint8), _disk(pixels), borderType=cv2.BORDER_REPLICATE).astype(bool)


def feather(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Smooth a hand-painted outline: jagged steps and corners smaller than ``pixels`` round off.

    A mask is binary (a model fills a pixel or keeps it), so "feathering" here means a smooth,
    area-preserving outline: blur with sigma ``pixels / 2`` and keep what stays above one half.
    The soft transition into the photo is the blending step's job.
    """
    sigma = max(0.5, min(MAX_PIXELS, pixels) / 2)
    soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    return soft > 0.5


def invert(mask: np.ndarray, _pixels: int = 0) -> np.ndarray:
    """Hole becomes keep and keep becomes hole (paint what to keep, then invert)."""
    return ~np.asarray(mask, dtype=bool)


MASK_OPERATIONS: dict[str, tuple[str, Callable[[np.ndarray, int], np.ndarray]]] = {
    "grow": ("Grow mask", grow),
    "shrink": ("Shrink mask", shrink),
    "feather": ("Feather mask", feather),
    "invert": ("Invert mask", invert),
}
