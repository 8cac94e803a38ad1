"""Align a post-operative photo to the pre-operative one, and compare a prediction with it (numpy + OpenCV).

The post-op photo is taken months later: another distance, another head tilt, another framing. It is
brought into the pre-op photo's pixel frame by a **similarity transform** (scale, rotation,
translation; no shear, no mirror) fitted by least squares (Umeyama 1991, reflection excluded) on the
**stable landmarks**: both eyes (36-47) and the nose bridge (27-29), the points a cleft and its repair
leave alone (``STABLE_POINTS``). The nose tip (30) is left out on purpose, as for the measures'
midline: a primary repair moves it. After the fit, the residual on those points says how well the two
photos agree (a turned head or a misplaced landmark shows as a large residual).

:func:`compare_to_postop` then measures how far the prediction's lip and nose landmarks are from the
real ones on the aligned post-op photo: the mean point-to-point distance over the mouth (48-67) and
over the nose (27-35), divided by the **outer inter-ocular distance (36-45) of the aligned post-op
landmarks** (``inference.measures.face_size``, the 300-W normalisation the measures use) and given in
per cent of it (``% IOD``), with the symmetry measures of ``inference.measures`` for both.

Everything here works in photo pixels, (x, y), with pixel centres at whole numbers (dlib's and
``cv2.warpAffine``'s convention). Refusals raise :class:`inference.errors.AlignmentError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference.errors import AlignmentError
from inference.face.regions import EYES, MOUTH, NOSE, NOSE_BRIDGE
from inference.measures import FACE_SIZE, FACE_SIZE_UNIT, NasolabialMeasures, face_size, nasolabial_measures

STABLE_POINTS: tuple[int, ...] = tuple(sorted(set(EYES) | set(NOSE_BRIDGE)))
"""The landmarks the alignment is fitted on: eyes 36-47 and nose bridge 27-29 (15 points)."""
LIP_POINTS: tuple[int, ...] = MOUTH      # 48-67
NOSE_POINTS: tuple[int, ...] = NOSE      # 27-35, bridge to nostril sill
MIN_POINTS = 3
NORMALISER = f"{FACE_SIZE} of the aligned post-operative photo"
POOR_FIT_IOD = 3.0
"""A residual (RMS on the stable points) above this many % IOD means the photos do not match well:
a head turned differently, or a misplaced landmark. The app says so beside the comparison."""

_MIN_SPREAD_PX = 1e-3   # points closer together than this (RMS from their centre) are one point


@dataclass(frozen=True)
class Similarity:
    """``x' = scale * R(rotation) @ x + (tx, ty)``: a similarity of the image plane, in pixels.

    ``rotation`` is in radians; positive turns the x axis towards the y axis (on screen, where y
    points down, that is clockwise).
    """

    scale: float
    rotation: float
    tx: float
    ty: float

    @property
    def matrix(self) -> np.ndarray:
        """The (2, 3) float64 matrix for ``cv2.warpAffine`` (forward: source pixels to target pixels)."""
        c, s = self.scale * np.cos(self.rotation), self.scale * np.sin(self.rotation)
        return np.array([[c, -s, self.tx], [s, c, self.ty]], dtype=np.float64)

    @property
    def rotation_degrees(self) -> float:
        return float(np.degrees(self.rotation))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """The points (..., 2) moved by the transform (float64)."""
        m = self.matrix
        return np.asarray(points, np.float64) @ m[:, :2].T + m[:, 2]

    def inverse(self) -> Similarity:
        rotation = -self.rotation
        scale = 1.0 / self.scale
        c, s = scale * np.cos(rotation), scale * np.sin(rotation)
        return Similarity(scale, rotation, -(c * self.tx - s * self.ty), -(s * self.tx + c * self.ty))

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> Similarity:
        """From a (2, 3) matrix of a similarity (no shear, no mirror), e.g. ``cv2.getRotationMatrix2D``'s."""
        m = np.asarray(matrix, np.float64)
        a, b = m[0, 0], m[1, 0]
        return cls(float(np.hypot(a, b)), float(np.arctan2(b, a)), float(m[0, 2]), float(m[1, 2]))


@dataclass(frozen=True)
class Alignment:
    """The post-op photo's transform into the pre-op photo's frame and how well it fits."""

    transform: Similarity           # post-op photo pixels -> pre-op photo pixels
    points: tuple[int, ...]         # the landmark numbers it was fitted on
    residuals_px: np.ndarray        # (len(points),) distance of each after the fit, pre-op pixels
    face_size_px: float             # the pre-op photo's outer inter-ocular distance

    @property
    def rms_px(self) -> float:
        return float(np.sqrt(np.mean(self.residuals_px ** 2)))

    @property
    def max_px(self) -> float:
        return float(self.residuals_px.max())

    @property
    def rms_iod(self) -> float:
        """The RMS residual in % of the pre-op photo's outer inter-ocular distance."""
        return 100.0 * self.rms_px / self.face_size_px

    @property
    def poor(self) -> bool:
        return self.rms_iod > POOR_FIT_IOD

    def describe(self) -> str:
        """One line for the clinician: how much the photo was turned and scaled, and how well it fits."""
        text = (f"Post-op photo scaled by {self.transform.scale:.2f}, turned by {self.transform.rotation_degrees:+.1f}°; "
                f"eyes and nose bridge agree within {self.rms_iod:.1f} % of the eye-corner width "
                f"({self.rms_px:.1f} px RMS).")
        if self.poor:
            text += " That is a poor fit: the head may be turned differently, or a point is misplaced."
        return text


@dataclass(frozen=True)
class AlignedPostop:
    """The post-op photo in the pre-op photo's frame (same size), its landmarks there, and the fit."""

    image: np.ndarray        # uint8 RGB (H, W, 3) of the pre-op photo; black where the post-op photo ends
    covered: np.ndarray      # bool (H, W): True where the post-op photo has pixels
    landmarks: np.ndarray    # (68, 2) float32, pre-op photo pixels
    alignment: Alignment


@dataclass(frozen=True)
class PostopComparison:
    """Prediction against the real result, both in the pre-op photo's frame.

    Distances are means over the points of a region of ``|predicted - post-op|``; ``*_iod`` in % of
    ``face_size_px`` (``NORMALISER``), ``*_px`` in pre-op photo pixels.
    """

    lip_distance_iod: float
    nose_distance_iod: float
    lip_distance_px: float
    nose_distance_px: float
    face_size_px: float
    point_distances_px: np.ndarray   # (68,) every point's distance (the eyes and jaw too, for a plot)
    prediction: NasolabialMeasures
    postop: NasolabialMeasures
    normaliser: str = NORMALISER
    unit: str = FACE_SIZE_UNIT


# ----------------------------------------------------------------------------------- fitting


def _points(name: str, points: object) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise AlignmentError(f"The {name} must be a list of (x, y) points; got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise AlignmentError(f"Some of the {name} are missing (not finite), so the photos cannot be aligned.")
    return arr


def _landmarks68(name: str, landmarks: object) -> np.ndarray:
    arr = _points(name, landmarks)
    if arr.shape != (68, 2):
        raise AlignmentError(f"The {name} must be 68 points (iBUG order); got shape {arr.shape}.")
    return arr


def fit_similarity(source: np.ndarray, target: np.ndarray) -> Similarity:
    """The similarity that moves ``source`` points closest to ``target`` (least squares, no mirror).

    Umeyama's closed form: the rotation from the SVD of the cross-covariance with its determinant
    forced positive, then the scale and the translation. Needs at least ``MIN_POINTS`` pairs that do
    not all coincide (in either set); refuses otherwise with :class:`AlignmentError`.
    """
    src, dst = _points("source points", source), _points("target points", target)
    if src.shape != dst.shape:
        raise AlignmentError(f"Cannot align {len(src)} points to {len(dst)} points.")
    if len(src) < MIN_POINTS:
        raise AlignmentError(f"Aligning two photos needs at least {MIN_POINTS} matching points; got {len(src)}.")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = float(np.mean(np.sum(sc ** 2, axis=1)))
    var_d = float(np.mean(np.sum(dc ** 2, axis=1)))
    if var_s < _MIN_SPREAD_PX ** 2 or var_d < _MIN_SPREAD_PX ** 2:
        raise AlignmentError("The landmarks used to align the photos all sit on one spot, so no scale or "
                             "rotation can be found; correct the landmarks of the photos.")
    cov = dc.T @ sc / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(d) @ sign) / var_s)
    if not np.isfinite(scale) or scale <= 1e-9:
        raise AlignmentError("The photos cannot be aligned: the landmarks do not match in shape (the fit "
                             "would shrink the photo to a point).")
    t = mu_d - scale * rot @ mu_s
    return Similarity(scale, float(np.arctan2(rot[1, 0], rot[0, 0])), float(t[0]), float(t[1]))


def align_landmarks(preop_landmarks: np.ndarray, postop_landmarks: np.ndarray,
                    points: tuple[int, ...] = STABLE_POINTS) -> Alignment:
    """Fit the post-op photo's transform onto the pre-op photo on ``points`` of their 68 landmarks."""
    pre = _landmarks68("pre-operative landmarks", preop_landmarks)
    post = _landmarks68("post-operative landmarks", postop_landmarks)
    idx = list(points)
    transform = fit_similarity(post[idx], pre[idx])
    residuals = np.linalg.norm(transform.apply(post[idx]) - pre[idx], axis=1)
    size = face_size(pre)
    if size <= 1e-6:
        raise AlignmentError("The eye corners of the pre-operative photo coincide; correct its landmarks.")
    return Alignment(transform, tuple(points), residuals, size)


def warp_to_frame(rgb: np.ndarray, transform: Similarity, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` moved by ``transform`` onto a ``size`` = (width, height) canvas (bilinear), and where it lands."""
    w, h = int(size[0]), int(size[1])
    image = np.ascontiguousarray(rgb)
    warped = cv2.warpAffine(image, transform.matrix, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    ones = np.full(image.shape[:2], 255, np.uint8)
    covered = cv2.warpAffine(ones, transform.matrix, (w, h), flags=cv2.INTER_NEAREST,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return warped, covered


def align_postop(postop_rgb: np.ndarray, postop_landmarks: np.ndarray, preop_landmarks: np.ndarray,
                 preop_size: tuple[int, int], points: tuple[int, ...] = STABLE_POINTS) -> AlignedPostop:
    """The post-op photo and its landmarks in the pre-op photo's frame; ``preop_size`` is (width, height)."""
    if not isinstance(postop_rgb, np.ndarray) or postop_rgb.dtype != np.uint8 or postop_rgb.ndim != 3 \
            or postop_rgb.shape[2] != 3:
        raise AlignmentError("The post-operative photo is not an 8-bit colour picture.")
    alignment = align_landmarks(preop_landmarks, postop_landmarks, points)
    image, covered = warp_to_frame(postop_rgb, alignment.transform, preop_size)
    landmarks = alignment.transform.apply(_landmarks68("post-operative landmarks", postop_landmarks))
    return AlignedPostop(image, covered, landmarks.astype(np.float32), alignment)


# -------------------------------------------------------------------------------- comparing


def compare_to_postop(pred_landmarks: np.ndarray, postop_landmarks_aligned: np.ndarray) -> PostopComparison:
    """How far the prediction's lip (48-67) and nose (27-35) points are from the real post-op ones.

    Both (68, 2) in the same frame (the pre-op photo's: the prediction's drawn landmarks, and the
    post-op landmarks after :func:`align_postop`). Mean distances in pixels and in % of the aligned
    post-op photo's outer inter-ocular distance (``NORMALISER``), and both sets' symmetry measures.
    """
    pred = _landmarks68("predicted landmarks", pred_landmarks)
    post = _landmarks68("aligned post-operative landmarks", postop_landmarks_aligned)
    size = face_size(post)
    if size <= 1e-6:
        raise AlignmentError("The eye corners of the post-operative photo coincide; correct its landmarks.")
    dist = np.linalg.norm(pred - post, axis=1)
    lip_px, nose_px = float(dist[list(LIP_POINTS)].mean()), float(dist[list(NOSE_POINTS)].mean())
    return PostopComparison(
        lip_distance_iod=100.0 * lip_px / size, nose_distance_iod=100.0 * nose_px / size,
        lip_distance_px=lip_px, nose_distance_px=nose_px, face_size_px=size, point_distances_px=dist,
        prediction=nasolabial_measures(pred), postop=nasolabial_measures(post))
