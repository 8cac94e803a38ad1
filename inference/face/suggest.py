"""Cleft-like mask families from the 68 landmarks: the app's "suggest mask", training and evaluation masks.

One definition, used by the app (a starting point the clinician edits, never a diagnosis), by the
training masks (``training.masks.lip``, with jittered dilation) and by the evaluation cases
(without jitter). Index sets come from ``inference.face.regions``.

Families (``MASK_FAMILIES``):

- ``"mouth_nostril"``: the whole mouth and the nostril sill: the convex hull of the outer lip
  contour (48-59) and the nostril base (31-35), so the hole covers mouth, philtrum and nostril
  base in one piece; dilated by 6 % of the face width (jaw points 0 to 16).
- ``"upper_lip_nostril"``: the upper lip and the nostril sill: the upper-lip polygon (outer
  48..54, back along the inner line 64..60) with the philtrum polygon (31..35, then the lip top
  52, 51, 50), which share the lip top so the hole is contiguous; dilated by 4 % of the face
  width. The lower lip stays visible.
- ``"upper_lip"``: the first suggestion of the app: the convex hulls of the same two polygons,
  dilated by 12 % of the mouth-corner distance (48-54).

Work is done inside the region's bounding box only, so a 24-megapixel photo costs no more than a
small one. Landmarks are (68, 2) ``(x, y)`` in the pixels of the output ``shape``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from inference.face.regions import JAW_LEFT, JAW_RIGHT, MOUTH_CORNERS, MOUTH_OUTER, NOSE_BASE, PHILTRUM, UPPER_LIP

MASK_FAMILIES = ("upper_lip_nostril", "mouth_nostril", "upper_lip")
FAMILY_LABELS = {
    "mouth_nostril": "Whole mouth + nostril sill",
    "upper_lip_nostril": "Upper lip + nostril sill",
    "upper_lip": "Upper lip + philtrum (first suggestion)",
}
MOUTH_NOSTRIL_DILATE = 0.06       # of the face width (0-16)
UPPER_LIP_NOSTRIL_DILATE = 0.04   # of the face width (0-16)
DILATE_FRACTION = 0.12            # "upper_lip": of the mouth-corner distance (48-54)


def _points(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, np.float64)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise ValueError(f"expected 68 finite (x, y) landmarks, got {points.shape}")
    return points


def face_width(landmarks: np.ndarray) -> float:
    """Distance between the jaw ends (points 0 and 16), in the landmarks' pixels."""
    p = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(p[JAW_RIGHT] - p[JAW_LEFT]))


def polygons_mask(polygons: Sequence[np.ndarray], radius: int, shape: tuple[int, int]) -> np.ndarray:
    """bool ``shape`` mask: the filled ``polygons`` ((k, 2) x, y in pixels) dilated by a disc of ``radius``.

    Only the polygons' bounding box (grown by the radius, clipped to ``shape``) is rasterised.
    """
    h, w = shape
    radius = max(0, int(radius))
    used = np.concatenate([np.asarray(p, np.float64) for p in polygons])
    x0 = max(0, int(np.floor(used[:, 0].min())) - radius - 1)
    y0 = max(0, int(np.floor(used[:, 1].min())) - radius - 1)
    x1 = min(w, int(np.ceil(used[:, 0].max())) + radius + 2)
    y1 = min(h, int(np.ceil(used[:, 1].max())) + radius + 2)
    mask = np.zeros((h, w), bool)
    if x1 <= x0 or y1 <= y0:
        return mask
    region = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(region, [np.round(np.asarray(p, np.float64) - (x0, y0)).astype(np.int32) for p in polygons], 1)
    if radius:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        region = cv2.dilate(region, kernel)
    mask[y0:y1, x0:x1] = region.astype(bool)
    return mask


def _hull(points: np.ndarray) -> np.ndarray:
    return cv2.convexHull(points.astype(np.float32))[:, 0, :].astype(np.float64)


def mouth_nostril_mask(landmarks: np.ndarray, shape: tuple[int, int],
                       dilate_fraction: float = MOUTH_NOSTRIL_DILATE) -> np.ndarray:
    """Family (a): whole mouth + nostril sill; hull of 48-59 and 31-35, dilated by a fraction of the face width."""
    p = _points(landmarks)
    hull = _hull(np.concatenate([p[list(MOUTH_OUTER)], p[list(NOSE_BASE)]]))
    return polygons_mask([hull], max(1, round(dilate_fraction * face_width(p))), shape)


def upper_lip_nostril_mask(landmarks: np.ndarray, shape: tuple[int, int],
                           dilate_fraction: float = UPPER_LIP_NOSTRIL_DILATE) -> np.ndarray:
    """Family (b): upper lip + nostril sill (48-54, 64-60 and 31-35, 52-50), dilated by a fraction of the face width."""
    p = _points(landmarks)
    return polygons_mask([p[list(UPPER_LIP)], p[list(PHILTRUM)]],
                         max(1, round(dilate_fraction * face_width(p))), shape)


def upper_lip_mask(landmarks: np.ndarray, shape: tuple[int, int],
                   dilate_fraction: float = DILATE_FRACTION) -> np.ndarray:
    """The first suggestion: hulls of the upper lip and the philtrum, dilated by a fraction of the mouth width."""
    p = _points(landmarks)
    mouth_width = float(np.linalg.norm(p[MOUTH_CORNERS[1]] - p[MOUTH_CORNERS[0]]))
    return polygons_mask([_hull(p[list(UPPER_LIP)]), _hull(p[list(PHILTRUM)])],
                         max(1, round(dilate_fraction * mouth_width)), shape)


FAMILY_MASKS = {
    "mouth_nostril": mouth_nostril_mask,
    "upper_lip_nostril": upper_lip_nostril_mask,
    "upper_lip": upper_lip_mask,
}


def suggest_mask(landmarks: np.ndarray, shape: tuple[int, int], family: str = "upper_lip_nostril",
                 dilate_fraction: float | None = None) -> np.ndarray:
    """bool ``shape`` mask (True = hole) of one family (``MASK_FAMILIES``) from (68, 2) landmarks in pixels.

    ``dilate_fraction`` overrides the family's default dilation (a fraction of the face width, or
    of the mouth width for ``"upper_lip"``).
    """
    if family not in FAMILY_MASKS:
        raise ValueError(f"unknown mask family {family!r}; use one of {MASK_FAMILIES}")
    make = FAMILY_MASKS[family]
    return make(landmarks, shape) if dilate_fraction is None else make(landmarks, shape, dilate_fraction)
