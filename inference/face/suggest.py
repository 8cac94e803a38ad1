"""The "suggest mask" proposal: upper lip plus the nostril sill / philtrum, from the 68 landmarks.

A starting point the clinician edits, never a diagnosis: the outer upper-lip contour (48-54) and
the inner lip line (64-60) close the upper lip; the nose base (31-35) down to the lip's top
(52-50) closes the philtrum and nostril sill; the union is dilated by a fraction of the mouth
width so that the cleft's margins are covered. Work is done inside the region's bounding box
only, so a 24-megapixel photo costs no more than a small one.
"""

from __future__ import annotations

import cv2
import numpy as np

NOSE_BASE = [31, 32, 33, 34, 35]
UPPER_LIP_OUTER = [48, 49, 50, 51, 52, 53, 54]
UPPER_LIP_INNER = [64, 63, 62, 61, 60]
LIP_TOP_REVERSED = [52, 51, 50]
DILATE_FRACTION = 0.12  # of the mouth-corner distance (48-54)


def suggest_mask(landmarks: np.ndarray, shape: tuple[int, int], dilate_fraction: float = DILATE_FRACTION) -> np.ndarray:
    """bool ``shape`` mask (True = hole) proposed from (68, 2) landmarks in photo pixels."""
    points = np.asarray(landmarks, np.float64)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise ValueError(f"expected 68 finite (x, y) landmarks, got {points.shape}")
    h, w = shape
    mouth_width = float(np.linalg.norm(points[54] - points[48]))
    radius = max(1, int(round(dilate_fraction * mouth_width)))
    lip = np.concatenate([points[UPPER_LIP_OUTER], points[UPPER_LIP_INNER]])
    philtrum = np.concatenate([points[NOSE_BASE], points[LIP_TOP_REVERSED]])
    used = np.concatenate([lip, philtrum])
    x0 = max(0, int(np.floor(used[:, 0].min())) - radius - 1)
    y0 = max(0, int(np.floor(used[:, 1].min())) - radius - 1)
    x1 = min(w, int(np.ceil(used[:, 0].max())) + radius + 2)
    y1 = min(h, int(np.ceil(used[:, 1].max())) + radius + 2)
    mask = np.zeros((h, w), bool)
    if x1 <= x0 or y1 <= y0:
        return mask
    region = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for poly in (lip, philtrum):
        cv2.fillPoly(region, [np.round(cv2.convexHull((poly - (x0, y0)).astype(np.float32))).astype(np.int32)], 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    region = cv2.dilate(region, kernel)
    mask[y0:y1, x0:x1] = region.astype(bool)
    return mask
