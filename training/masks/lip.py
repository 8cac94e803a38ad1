"""Lip-region masks synthesised from the 68 landmarks: what a surgeon paints over a cleft lip.

Shapes (iBUG 300-W indices): the upper lip (48-54 outer, 60-64 inner), the philtrum with the
nostril sill (31-35 down to 50-52), unilateral and bilateral cleft-like wedges from a nostril
through the upper lip, of varying width, and "equipment" occluders near the mouth (tape strips
and tubes); and the two cleft-like families of ``inference.face.suggest`` (the app's
"suggest mask"): ``mouth_nostril`` (whole mouth + nostril sill) and ``upper_lip_nostril`` (upper
lip + nostril sill), with the dilation jittered 0.8-1.25x when given a generator and exactly as
defined without one (evaluation). Every shape is jittered, so the network never sees the same
outline twice.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from inference.face.regions import (
    ALAR_BASES,
    COLUMELLA_BASE,
    CUPIDS_BOW_PEAKS,
    INNER_LIP_MIDLINE,
    INNER_UPPER_LIP_SIDES,
    LABRALE_SUPERIUS,
    MOUTH_CORNERS,
    MOUTH_OUTER,
    NOSTRIL_SILL_INNER,
    PHILTRUM,
    UPPER_LIP,
)
from inference.face.suggest import (
    MOUTH_NOSTRIL_DILATE,
    UPPER_LIP_NOSTRIL_DILATE,
    mouth_nostril_mask,
    upper_lip_nostril_mask,
)

DILATE_JITTER = (0.8, 1.25)  # range of the dilation factor of the two families in training


def _px(lm_norm: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(lm_norm, np.float64) * size


def _face_scale(p: np.ndarray) -> float:
    """Inter-ocular-ish width: the mouth-corner distance, a stable length near the lip."""
    return float(np.linalg.norm(p[MOUTH_CORNERS[1]] - p[MOUTH_CORNERS[0]])) + 1e-6


def _fill(canvas: np.ndarray, poly: np.ndarray) -> None:
    cv2.fillPoly(canvas, [np.round(poly).astype(np.int32)], 1)


def _dilate(canvas: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0:
        return canvas
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(canvas, k)


def upper_lip(p: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    canvas = np.zeros((size, size), np.uint8)
    _fill(canvas, p[list(UPPER_LIP)])
    return _dilate(canvas, int(rng.uniform(0.05, 0.2) * _face_scale(p)))


def philtrum(p: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Nostril sill, philtrum and the top of the upper lip."""
    canvas = np.zeros((size, size), np.uint8)
    _fill(canvas, p[list(PHILTRUM)])
    return _dilate(canvas, int(rng.uniform(0.05, 0.18) * _face_scale(p)))


def _cleft_wedge(p: np.ndarray, rng: np.random.Generator, size: int, side: int) -> np.ndarray:
    """A wedge from one nostril down through the upper lip, wider at the lip (a cleft's shape)."""
    scale = _face_scale(p)
    i = 0 if side < 0 else 1  # photo-left or photo-right
    nostril, lip_top, lip_inner = p[NOSTRIL_SILL_INNER[i]], p[CUPIDS_BOW_PEAKS[i]], p[INNER_UPPER_LIP_SIDES[i]]
    offset = rng.normal(0, 0.04 * scale, 2)
    top_w = rng.uniform(0.04, 0.12) * scale
    bottom_w = rng.uniform(0.10, 0.30) * scale
    top = nostril + offset + np.array([0, -rng.uniform(0.0, 0.12) * scale])
    bottom = (lip_top + lip_inner) / 2 + offset + np.array([0, rng.uniform(0.0, 0.12) * scale])
    direction = bottom - top
    normal = np.array([-direction[1], direction[0]]) / (np.linalg.norm(direction) + 1e-6)
    mid = (top + bottom) / 2 + normal * rng.normal(0, 0.05 * scale)
    mid_w = (top_w + bottom_w) / 2
    poly = np.array([top - normal * top_w, mid - normal * mid_w, bottom - normal * bottom_w,
                     bottom + normal * bottom_w, mid + normal * mid_w, top + normal * top_w])
    canvas = np.zeros((size, size), np.uint8)
    _fill(canvas, poly)
    # the nostril on the cleft side is usually flattened: cover its rim too
    cv2.circle(canvas, tuple(np.round(top).astype(int)), int(rng.uniform(0.05, 0.15) * scale) + 1, 1, -1)
    return _dilate(canvas, int(rng.uniform(0.0, 0.06) * scale))


def unilateral_cleft(p: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    return _cleft_wedge(p, rng, size, side=-1 if rng.random() < 0.5 else 1)


def bilateral_cleft(p: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    out = _cleft_wedge(p, rng, size, -1) | _cleft_wedge(p, rng, size, 1)
    if rng.random() < 0.5:  # the prolabium between the two clefts is often painted too
        out |= philtrum(p, rng, size)
    return out


def equipment(p: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Tape strips over the upper lip/cheeks and feeding or oxygen tubes from the mouth or nose."""
    scale = _face_scale(p)
    canvas = np.zeros((size, size), np.uint8)
    for _ in range(int(rng.integers(1, 3))):
        if rng.random() < 0.5:  # tape: a rotated rectangle centred near the upper lip
            centre = (p[COLUMELLA_BASE] + p[LABRALE_SUPERIUS]) / 2 + rng.normal(0, 0.25 * scale, 2)
            w, h = rng.uniform(0.8, 2.2) * scale, rng.uniform(0.15, 0.45) * scale
            box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (float(w), float(h)),
                                 float(rng.uniform(-30, 30))))
            _fill(canvas, box)
        else:  # tube: a thick bent line from the mouth or a nostril towards the face edge
            start = p[int(rng.choice([*MOUTH_CORNERS, *ALAR_BASES, *INNER_LIP_MIDLINE]))]
            end = np.array([rng.choice([0.0, size - 1.0]), start[1] + rng.uniform(-0.5, 1.0) * scale])
            bend = (start + end) / 2 + rng.normal(0, 0.4 * scale, 2)
            t = np.linspace(0, 1, 20)[:, None]
            curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * bend + t ** 2 * end
            cv2.polylines(canvas, [np.round(curve).astype(np.int32)], False, 1,
                          max(2, int(rng.uniform(0.06, 0.16) * scale)))
    return canvas


def _mouth_disc(p: np.ndarray, size: int) -> np.ndarray:
    """The fallback for degenerate landmarks (an empty shape): a disc over the mouth."""
    canvas = np.zeros((size, size), np.uint8)
    cv2.circle(canvas, tuple(np.round(p[list(MOUTH_OUTER)].mean(0)).astype(int)), max(2, size // 10), 1, -1)
    return canvas.astype(bool)


def _jitter(rng: np.random.Generator | None) -> float:
    return 1.0 if rng is None else float(rng.uniform(*DILATE_JITTER))


def mouth_nostril(p: np.ndarray, rng: np.random.Generator | None, size: int) -> np.ndarray:
    """Family (a) of ``inference.face.suggest``: whole mouth + nostril sill (no jitter when ``rng`` is None)."""
    return mouth_nostril_mask(p, (size, size), MOUTH_NOSTRIL_DILATE * _jitter(rng)).astype(np.uint8)


def upper_lip_nostril(p: np.ndarray, rng: np.random.Generator | None, size: int) -> np.ndarray:
    """Family (b) of ``inference.face.suggest``: upper lip + nostril sill (no jitter when ``rng`` is None)."""
    return upper_lip_nostril_mask(p, (size, size), UPPER_LIP_NOSTRIL_DILATE * _jitter(rng)).astype(np.uint8)


LIP_SHAPES: dict[str, Callable[[np.ndarray, np.random.Generator, int], np.ndarray]] = {
    "upper_lip": upper_lip,
    "philtrum": philtrum,
    "unilateral_cleft": unilateral_cleft,
    "bilateral_cleft": bilateral_cleft,
    "equipment": equipment,
    "mouth_nostril": mouth_nostril,
    "upper_lip_nostril": upper_lip_nostril,
}
# the shapes of the first evaluation "lip" category (kept, so its numbers stay comparable)
CLEFT_SHAPES = ("upper_lip", "philtrum", "unilateral_cleft", "bilateral_cleft", "equipment")
# the two mask families, as evaluation categories (no jitter): category -> shape name
FAMILY_SHAPES = {"mouth": "mouth_nostril", "upper_lip": "upper_lip_nostril"}


def family_mask(landmarks_norm: np.ndarray, size: int, family: str,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """A bool (size, size) mask of ``family`` ("mouth_nostril" or "upper_lip_nostril"); jittered only with ``rng``."""
    if family not in ("mouth_nostril", "upper_lip_nostril"):
        raise ValueError(f"unknown mask family {family!r}")
    p = _px(landmarks_norm, size)
    out = LIP_SHAPES[family](p, rng, size).astype(bool)
    return out if out.any() else _mouth_disc(p, size)


def lip_region_mask(landmarks_norm: np.ndarray, rng: np.random.Generator, size: int,
                    shape: str | None = None) -> np.ndarray:
    """A bool (size, size) lip-region mask for a face with the given crop-normalised landmarks."""
    p = _px(landmarks_norm, size)
    name = shape or str(rng.choice(list(LIP_SHAPES)))
    out = LIP_SHAPES[name](p, rng, size).astype(bool)
    if name != "equipment" and rng.random() < 0.2:  # equipment often sits over a painted cleft
        out |= equipment(p, rng, size).astype(bool)
    return out if out.any() else _mouth_disc(p, size)
