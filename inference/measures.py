"""Nasolabial symmetry measures from the 68 landmarks, and "mirror the healthy side" (pure numpy).

Definitions (written out with figures in ``docs/measures.md``):

- **Facial midline**: the straight line fitted (total least squares) through the midpoints of the six
  left-right pairs of eye points (36-47), the nose bridge (27-29) and the chin (8). These points are
  not changed by a cleft or its repair. The nose tip (30) is left out on purpose: a cleft nose
  deviates at the tip, and its deviation is one of the measures. The midline points down (eyes to chin).
- **Sides** are the patient's: in a standard frontal photo (not mirrored) the patient's right is the
  left of the photo (points 31, 32, 48-50), the patient's left the right of the photo (34, 35, 52-54).
- **Heights** are measured along the midline (up = higher), **deviations** across it (positive =
  towards the patient's left), so a head tilted in the photo plane does not count as asymmetry.
- **Face size**: lengths are divided by the outer inter-ocular distance (outer eye corners 36-45,
  the 300-W normalisation) and given in per cent of it (``% IOD``). Eyes are not touched by a cleft
  or by surgery, and do not move when the mouth opens (the face height would).
- **Asymmetry**: every measure also gives a non-negative ``asymmetry``, 0 for a symmetric face: the
  absolute value in ``% IOD`` for differences and deviations, and for left/right ratios the per cent
  by which the shorter side is shorter than the longer one (``100 * (1 - min / max)``).

The 68 points approximate the anthropometric ones: 31/35 sit at the alar bases (subalare), 33 at the
columella base (subnasale), 50/52 at the Cupid's bow peaks (crista philtri), 51 at its centre
(labrale superius), 48/54 at the mouth corners (cheilion), 32/34 on the nostril sill.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from inference.errors import InferenceError
from inference.face.regions import (
    ALAR_BASES, CHIN, COLUMELLA_BASE, CUPIDS_BOW, EYES, MIRROR_PAIRS, MIDLINE_POINTS, MOUTH, MOUTH_CORNERS,
    NOSE_BRIDGE, NOSE_LOWER, NOSE_TIP, NOSTRIL_SILL_INNER, OUTER_EYE_CORNERS,
)

FACE_SIZE = "outer inter-ocular distance (points 36-45)"
FACE_SIZE_UNIT = "% IOD"
Side = Literal["left", "right"]
LIP_AND_NOSE = tuple(sorted(set(NOSE_LOWER) | set(MOUTH)))   # what "mirror the healthy side" may move

_EYE_PAIRS = tuple((a, b) for a, b in MIRROR_PAIRS if a in EYES)
_RIGHT_ALA, _LEFT_ALA = ALAR_BASES                 # patient's sides (photo left = patient's right)
_RIGHT_SILL, _LEFT_SILL = NOSTRIL_SILL_INNER
_RIGHT_PEAK, _BOW_CENTRE, _LEFT_PEAK = CUPIDS_BOW
_RIGHT_CORNER, _LEFT_CORNER = MOUTH_CORNERS


@dataclass(frozen=True)
class MeasureDefinition:
    key: str
    label: str          # plain language, for the app and the consultation report
    unit: str           # "ratio" or FACE_SIZE_UNIT
    kind: Literal["ratio", "difference", "deviation"]
    definition: str     # how it is computed, with the point numbers
    positive: str       # what a positive value means (a ratio above 1 for ratios)


DEFINITIONS: tuple[MeasureDefinition, ...] = (
    MeasureDefinition("nostril_width_ratio", "Nostril width, left / right", "ratio", "ratio",
                      "|35 - 33| / |31 - 33|: columella base to alar base, patient's left over right.",
                      "left nostril wider"),
    MeasureDefinition("alar_base_height_difference", "Height of the nostril bases, left minus right",
                      FACE_SIZE_UNIT, "difference", "height of 35 minus height of 31, along the midline.",
                      "left nostril base higher"),
    MeasureDefinition("nose_tip_deviation", "Nose tip off the midline", FACE_SIZE_UNIT, "deviation",
                      "distance of 30 from the midline, across it.", "tip towards the patient's left"),
    MeasureDefinition("columella_deviation", "Columella base off the midline", FACE_SIZE_UNIT, "deviation",
                      "distance of 33 from the midline, across it.", "columella towards the patient's left"),
    MeasureDefinition("cupids_bow_height_difference", "Height of the Cupid's bow peaks, left minus right",
                      FACE_SIZE_UNIT, "difference", "height of 52 minus height of 50, along the midline.",
                      "left peak higher"),
    MeasureDefinition("philtrum_deviation", "Philtrum (centre of the Cupid's bow) off the midline",
                      FACE_SIZE_UNIT, "deviation", "distance of 51 from the midline, across it.",
                      "towards the patient's left"),
    MeasureDefinition("upper_lip_height_ratio", "Upper lip height, left / right", "ratio", "ratio",
                      "(52 below 34) / (50 below 32): nostril sill to Cupid's bow peak, along the midline.",
                      "left side of the lip taller"),
    MeasureDefinition("mouth_corner_height_difference", "Height of the mouth corners, left minus right",
                      FACE_SIZE_UNIT, "difference", "height of 54 minus height of 48, along the midline.",
                      "left corner higher"),
)
DEFINITION_BY_KEY = {d.key: d for d in DEFINITIONS}


@dataclass(frozen=True)
class Midline:
    """The facial midline: a ``point`` on it, ``down`` (unit vector, eyes to chin) and ``across`` (unit,
    towards the patient's left, i.e. the right of the photo)."""

    point: np.ndarray
    down: np.ndarray
    across: np.ndarray

    def offset(self, points: np.ndarray) -> np.ndarray:
        """Signed distance across the midline (pixels, positive towards the patient's left)."""
        return (np.asarray(points, np.float64) - self.point) @ self.across

    def height(self, points: np.ndarray) -> np.ndarray:
        """Signed position along the midline (pixels, up positive)."""
        return -((np.asarray(points, np.float64) - self.point) @ self.down)

    def reflect(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, np.float64)
        return points - 2 * self.offset(points)[..., None] * self.across

    def project(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, np.float64)
        return points - self.offset(points)[..., None] * self.across


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    value: float | None       # None when undefined (e.g. a lip height of 0 or less on one side)
    unit: str
    asymmetry: float | None   # >= 0; 0 = symmetric ("% IOD", or for ratios "% shorter")
    direction: str            # plain words: which side, or "even"

    @property
    def definition(self) -> MeasureDefinition:
        return DEFINITION_BY_KEY[self.key]


@dataclass(frozen=True)
class NasolabialMeasures:
    measures: tuple[Measure, ...]
    midline: Midline
    face_size_px: float

    def __getitem__(self, key: str) -> Measure:
        for measure in self.measures:
            if measure.key == key:
                return measure
        raise KeyError(key)

    def to_dict(self) -> dict:
        """JSON-ready: each measure with its value, unit, asymmetry and definition, and the frame used."""
        return {
            "face_size": {"name": FACE_SIZE, "pixels": round(self.face_size_px, 3)},
            "midline": {"point": [round(float(v), 3) for v in self.midline.point],
                        "down": [round(float(v), 6) for v in self.midline.down]},
            "sides": "the patient's: in a frontal photo that is not mirrored, the patient's left is the photo's right",
            "measures": {m.key: {"label": m.label, "value": _rounded(m.value), "unit": m.unit,
                                 "asymmetry": _rounded(m.asymmetry), "direction": m.direction,
                                 "definition": m.definition.definition, "positive_means": m.definition.positive}
                         for m in self.measures},
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _points(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, np.float64)
    if points.shape != (68, 2):
        raise InferenceError(f"Symmetry measures need 68 landmarks (x, y), got shape {points.shape}.")
    if not np.isfinite(points).all():
        raise InferenceError("Symmetry measures need all 68 landmarks; some are missing.")
    return points


def fit_midline(landmarks: np.ndarray) -> Midline:
    """The facial midline through the eye-pair midpoints, the nose bridge (27-29) and the chin (8)."""
    p = _points(landmarks)
    on_line = np.concatenate([[(p[a] + p[b]) / 2 for a, b in _EYE_PAIRS], p[list(NOSE_BRIDGE)], p[[CHIN]]])
    centre = on_line.mean(axis=0)
    _, _, vt = np.linalg.svd(on_line - centre)
    down = vt[0] / np.linalg.norm(vt[0])
    if (p[CHIN] - p[NOSE_BRIDGE[0]]) @ down < 0:
        down = -down
    across = np.array([down[1], -down[0]])       # image y points down: this is the photo's right
    if (p[OUTER_EYE_CORNERS[1]] - p[OUTER_EYE_CORNERS[0]]) @ across < 0:
        raise InferenceError("The landmarks are not in the iBUG 68-point order of a face seen from the front "
                             "(the eyes are swapped left for right).")
    return Midline(centre, down, across)


def face_size(landmarks: np.ndarray) -> float:
    """The outer inter-ocular distance (36-45) in the landmarks' pixels."""
    p = _points(landmarks)
    return float(np.linalg.norm(p[OUTER_EYE_CORNERS[1]] - p[OUTER_EYE_CORNERS[0]]))


def _ratio(key: str, left: float, right: float) -> Measure:
    d = DEFINITION_BY_KEY[key]
    if left <= 0 or right <= 0:
        return Measure(key, d.label, None, d.unit, None, "not measurable (a side has no length)")
    value = left / right
    asymmetry = 100 * (1 - min(left, right) / max(left, right))
    direction = "even" if round(asymmetry, 1) == 0 else ("left larger" if value > 1 else "right larger")
    return Measure(key, d.label, value, d.unit, asymmetry, direction)


def _signed(key: str, value: float, positive: str, negative: str) -> Measure:
    d = DEFINITION_BY_KEY[key]
    direction = "even" if round(abs(value), 1) == 0 else (positive if value > 0 else negative)
    return Measure(key, d.label, value, d.unit, abs(value), direction)


def nasolabial_measures(landmarks: np.ndarray) -> NasolabialMeasures:
    """The measures of ``DEFINITIONS`` for (68, 2) landmarks in any pixel frame (photo or crop)."""
    p = _points(landmarks)
    midline = fit_midline(p)
    size = face_size(p)
    if size <= 1e-6:
        raise InferenceError("The eye corners coincide, so the face size cannot be measured.")
    u, h = midline.offset(p), midline.height(p)
    pct = 100.0 / size
    measures = (
        _ratio("nostril_width_ratio", float(np.linalg.norm(p[_LEFT_ALA] - p[COLUMELLA_BASE])),
               float(np.linalg.norm(p[_RIGHT_ALA] - p[COLUMELLA_BASE]))),
        _signed("alar_base_height_difference", (h[_LEFT_ALA] - h[_RIGHT_ALA]) * pct, "left higher", "right higher"),
        _signed("nose_tip_deviation", u[NOSE_TIP] * pct, "towards the left", "towards the right"),
        _signed("columella_deviation", u[COLUMELLA_BASE] * pct, "towards the left", "towards the right"),
        _signed("cupids_bow_height_difference", (h[_LEFT_PEAK] - h[_RIGHT_PEAK]) * pct, "left higher",
                "right higher"),
        _signed("philtrum_deviation", u[_BOW_CENTRE] * pct, "towards the left", "towards the right"),
        _ratio("upper_lip_height_ratio", float(h[_LEFT_SILL] - h[_LEFT_PEAK]), float(h[_RIGHT_SILL] - h[_RIGHT_PEAK])),
        _signed("mouth_corner_height_difference", (h[_LEFT_CORNER] - h[_RIGHT_CORNER]) * pct, "left higher",
                "right higher"),
    )
    return NasolabialMeasures(measures, midline, size)


def describe(measure: Measure) -> str:
    """The measure in plain words for a table cell: ``"left higher by 3.0 %"`` (% of the eye-corner
    width), ``"1.12 (right shorter by 11 %)"``, ``"even"`` or ``"not measurable"``."""
    if measure.value is None or measure.asymmetry is None:
        return "not measurable"
    if measure.definition.kind == "ratio":
        if measure.direction == "even":
            return f"{measure.value:.2f} (even)"
        shorter = "right" if measure.value > 1 else "left"
        return f"{measure.value:.2f} ({shorter} shorter by {measure.asymmetry:.0f} %)"
    if measure.direction == "even":
        return "even"
    return f"{measure.direction} by {measure.asymmetry:.1f} %"


def mirror_healthy_side(landmarks: np.ndarray, cleft_side: Side, points: tuple[int, ...] = LIP_AND_NOSE,
                        centre_on_midline: bool = True) -> np.ndarray:
    """Landmarks with the cleft side's lip and nose made the mirror image of the healthy side.

    ``cleft_side`` is the patient's side of a unilateral cleft ("left" = the right of a frontal photo).
    Each mirror pair (``regions.MIRROR_PAIRS``) with both points in ``points`` gets its cleft-side
    point replaced by its healthy partner reflected across the fitted midline; the midline points
    among ``points`` (nose tip, columella base, lip centres) are moved sideways onto the midline
    when ``centre_on_midline``. Every other point is returned unchanged. Any pixel frame works.
    """
    if cleft_side not in ("left", "right"):
        raise ValueError(f"cleft_side must be 'left' or 'right' (the patient's), not {cleft_side!r}")
    p = _points(landmarks)
    midline = fit_midline(p)
    chosen = set(points)
    out = p.copy()
    for photo_left, photo_right in MIRROR_PAIRS:
        if photo_left in chosen and photo_right in chosen:
            # patient's left = photo right
            cleft, healthy = (photo_right, photo_left) if cleft_side == "left" else (photo_left, photo_right)
            out[cleft] = midline.reflect(p[healthy])
    if centre_on_midline:
        centre = [i for i in MIDLINE_POINTS if i in chosen]
        out[centre] = midline.project(p[centre])
    return out.astype(np.float32)
