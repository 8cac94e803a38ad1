"""Structure measures: does an inpainting model draw a lip, not only a plausible blur?

Pure functions of uint8 RGB crops (256x256 in the evaluation), numpy and OpenCV only, so the
classical baselines and the networks are scored identically. Colours are CIE Lab from OpenCV on
float input (``cv2.cvtColor(rgb.astype(float32) / 255, COLOR_RGB2Lab)``): L in [0, 100] and a*
in real units (a red lip is roughly 15-30 a* units redder than the skin around it).

- ``vermilion_contrast_ratio``: how much of the truth's lip-against-skin redness the prediction
  reproduces inside the hole (1 = as red as the truth, 0 = the lip filled like skin).
- ``edge_energy_ratio``: mean Sobel gradient magnitude of L inside the hole, prediction over
  truth (below 1 = smoother than the truth, above 1 = more edges or noise).
- ``hole_psnr``: PSNR over the hole pixels only (the whole-crop PSNR is dominated by the pixels
  copied back).
- ``landmark_nme``: normalised mean error of the predicted landmarks, over all 68 points and over
  the mouth (48-67), normalised by the truth's outer-corner inter-ocular distance (36-45) as in 300-W.

``TruthReference`` / ``score_structure`` compute the same numbers with the truth's share done once
per case, so an evaluation over several models does not repeat it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.face.regions import MOUTH, MOUTH_INNER, MOUTH_OUTER, OUTER_EYE_CORNERS
from inference.face.suggest import face_width, polygons_mask

MIN_TRUTH_CONTRAST = 4.0     # a* units: below this the truth has no visible lip-skin contrast (skipped)
MIN_REGION_PIXELS = 10       # vermilion or hole skin smaller than this: skipped
SKIN_MARGIN_FRACTION = 0.04  # of the face width: the outer lip contour grown by this is not "skin"


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """float32 (H, W, 3) CIE Lab of a uint8 RGB image (L in [0, 100], a* and b* in real units)."""
    return cv2.cvtColor(np.asarray(rgb).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _edge_map(lightness: np.ndarray) -> np.ndarray:
    """Sobel (3x3) gradient magnitude of L over the whole image."""
    gx = cv2.Sobel(lightness, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


def lip_regions(hole: np.ndarray, truth_landmarks_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vermilion, hole skin) bool masks inside ``hole`` from the truth landmarks in pixels.

    Vermilion: the filled outer lip polygon (48-59) minus the filled inner one (60-67), in the
    hole. Hole skin: the hole minus the outer lip polygon grown by 4 % of the face width (0-16).
    """
    hole = np.asarray(hole, bool)
    p = np.asarray(truth_landmarks_px, np.float64)
    shape = hole.shape
    outer = polygons_mask([p[list(MOUTH_OUTER)]], 0, shape)
    inner = polygons_mask([p[list(MOUTH_INNER)]], 0, shape)
    grown = polygons_mask([p[list(MOUTH_OUTER)]], max(1, round(SKIN_MARGIN_FRACTION * face_width(p))), shape)
    return outer & ~inner & hole, hole & ~grown


def _check(pred: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> None:
    if pred.shape != truth.shape or pred.shape[:2] != np.shape(hole):
        raise ValueError(f"shapes differ: prediction {pred.shape}, truth {truth.shape}, hole {np.shape(hole)}")


def _contrast(a_star: np.ndarray, vermilion: np.ndarray, skin: np.ndarray) -> float:
    return float(a_star[vermilion].mean() - a_star[skin].mean())


def vermilion_contrast_ratio(pred: np.ndarray, truth: np.ndarray, hole: np.ndarray,
                             truth_landmarks_px: np.ndarray) -> float | None:
    """(a*_pred vermilion - a*_pred hole skin) / (a*_truth vermilion - a*_truth hole skin), or None.

    Regions from ``lip_regions`` (truth landmarks). None (skipped) when the truth contrast is under
    4 a* units or either region has fewer than 10 pixels. 1 means the prediction reproduces the
    truth's lip redness against the skin; 0 means the lip was filled like the skin around it.
    """
    _check(pred, truth, hole)
    return TruthReference.build(truth, hole, truth_landmarks_px).vermilion_ratio(to_lab(pred))


def edge_energy_ratio(pred: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float | None:
    """Mean Sobel (3x3) gradient magnitude of Lab L inside the hole, prediction over truth (None for a flat truth).

    The gradients are taken on the whole image, then averaged over the hole pixels.
    """
    _check(pred, truth, hole)
    return TruthReference.build(truth, hole).edge_ratio(to_lab(pred))


def hole_psnr(pred: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """PSNR (dB, data range 255) over the hole pixels only, all three channels (inf when identical there)."""
    _check(pred, truth, hole)
    hole = np.asarray(hole, bool)
    if not hole.any():
        raise ValueError("the hole is empty")
    diff = pred[hole].astype(np.float64) - truth[hole].astype(np.float64)
    mse = float(np.mean(diff * diff))
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def landmark_nme(pred_landmarks_px: np.ndarray, truth_landmarks_px: np.ndarray) -> tuple[float, float]:
    """(NME over all 68 points, NME over the mouth 48-67) of (68, 2) landmarks in the same pixels.

    Mean point-to-point Euclidean distance divided by the truth's inter-ocular distance measured
    between the outer eye corners (points 36 and 45): the outer-corner normalisation of 300-W.
    """
    pred = np.asarray(pred_landmarks_px, np.float64)
    truth = np.asarray(truth_landmarks_px, np.float64)
    if pred.shape != (68, 2) or truth.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {pred.shape} and {truth.shape}")
    iod = float(np.linalg.norm(truth[OUTER_EYE_CORNERS[1]] - truth[OUTER_EYE_CORNERS[0]]))
    if iod <= 0:
        raise ValueError("the truth's outer eye corners coincide")
    dist = np.linalg.norm(pred - truth, axis=1)
    return float(dist.mean() / iod), float(dist[list(MOUTH)].mean() / iod)


@dataclass(frozen=True)
class StructureScores:
    hole_psnr: float
    edge_ratio: float | None
    vermilion_ratio: float | None
    nme_all: float | None = None
    nme_mouth: float | None = None


@dataclass(frozen=True)
class TruthReference:
    """The truth's share of the measures for one case (computed once, reused for every model)."""

    truth: np.ndarray
    hole: np.ndarray
    truth_edge: float                  # mean L gradient magnitude of the truth in the hole
    vermilion: np.ndarray | None       # bool masks, None without landmarks
    skin: np.ndarray | None
    truth_contrast: float | None       # a* vermilion - a* hole skin of the truth; None when a region is too small
    landmarks_px: np.ndarray | None

    @classmethod
    def build(cls, truth: np.ndarray, hole: np.ndarray, truth_landmarks_px: np.ndarray | None = None,
              lip: bool = True) -> "TruthReference":
        """The truth's share; ``lip=False`` (or no landmarks) leaves out the vermilion regions."""
        hole = np.asarray(hole, bool)
        lab = to_lab(truth)
        truth_edge = float(_edge_map(lab[..., 0])[hole].mean()) if hole.any() else 0.0
        vermilion = skin = contrast = None
        if truth_landmarks_px is not None and lip:
            vermilion, skin = lip_regions(hole, truth_landmarks_px)
            if vermilion.sum() >= MIN_REGION_PIXELS and skin.sum() >= MIN_REGION_PIXELS:
                contrast = _contrast(lab[..., 1], vermilion, skin)
        landmarks = None if truth_landmarks_px is None else np.asarray(truth_landmarks_px, np.float64)
        return cls(truth, hole, truth_edge, vermilion, skin, contrast, landmarks)

    @property
    def has_lip_contrast(self) -> bool:
        return self.truth_contrast is not None and self.truth_contrast >= MIN_TRUTH_CONTRAST

    def vermilion_ratio(self, pred_lab: np.ndarray) -> float | None:
        if not self.has_lip_contrast:
            return None
        return _contrast(pred_lab[..., 1], self.vermilion, self.skin) / self.truth_contrast

    def edge_ratio(self, pred_lab: np.ndarray) -> float | None:
        if self.truth_edge <= 1e-9:
            return None
        return float(_edge_map(pred_lab[..., 0])[self.hole].mean()) / self.truth_edge


def score_structure(pred: np.ndarray, ref: TruthReference,
                    pred_landmarks_px: np.ndarray | None = None) -> StructureScores:
    """Every structure measure of one prediction against a prepared truth.

    The vermilion ratio is None when ``ref`` was built without the lip regions; the NMEs are None
    without predicted (or truth) landmarks.
    """
    _check(pred, ref.truth, ref.hole)
    lab = to_lab(pred)
    nme = (None, None)
    if pred_landmarks_px is not None and ref.landmarks_px is not None:
        nme = landmark_nme(pred_landmarks_px, ref.landmarks_px)
    return StructureScores(hole_psnr(pred, ref.truth, ref.hole), ref.edge_ratio(lab), ref.vermilion_ratio(lab), *nme)
