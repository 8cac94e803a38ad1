"""Aligning a post-operative photo to the pre-operative one (issue 14): the similarity fit recovers a
known transform from synthetic points and on a real face image, refuses unusable input, and the
comparison of a prediction with the post-op landmarks is normalised as documented."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from test_measures import asymmetric_face, place, symmetric_face

from inference.alignment import (
    LIP_POINTS,
    NORMALISER,
    NOSE_POINTS,
    STABLE_POINTS,
    Similarity,
    align_landmarks,
    align_postop,
    compare_to_postop,
    fit_similarity,
)
from inference.errors import AlignmentError, InferenceError
from inference.face.regions import EYES, NOSE_BRIDGE
from inference.io import load_photo
from inference.measures import FACE_SIZE, face_size


def corners_error(found: Similarity, truth: Similarity, size: tuple[int, int]) -> float:
    """Largest distance between where the two transforms put the corners of a size = (w, h) image."""
    w, h = size
    corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
    return float(np.linalg.norm(found.apply(corners) - truth.apply(corners), axis=1).max())


def test_stable_points_are_the_eyes_and_the_nose_bridge() -> None:
    assert STABLE_POINTS == tuple(sorted(EYES + NOSE_BRIDGE)) == (27, 28, 29, *range(36, 48))
    assert 30 not in STABLE_POINTS  # the tip moves with a primary repair
    assert LIP_POINTS == tuple(range(48, 68)) and NOSE_POINTS == tuple(range(27, 36))


def test_similarity_matrix_inverse_and_opencv_agree() -> None:
    t = Similarity(1.3, np.deg2rad(-20.0), 12.5, -40.0)
    m = cv2.getRotationMatrix2D((50.0, 80.0), 33.0, 0.7)   # OpenCV's own similarity
    assert np.allclose(Similarity.from_matrix(m).matrix, m)
    pts = np.random.default_rng(0).uniform(-100, 300, (10, 2))
    assert np.allclose(t.inverse().apply(t.apply(pts)), pts)
    assert np.allclose(cv2.transform(pts[None], t.matrix)[0], t.apply(pts))


@pytest.mark.parametrize("truth", [Similarity(1.0, 0.0, 0.0, 0.0), Similarity(0.62, np.deg2rad(171.0), -80.0, 15.5),
                                   Similarity(2.4, np.deg2rad(-12.0), 310.0, 44.0)])
def test_synthetic_points_give_back_the_transform(truth: Similarity) -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 400, (15, 2))
    found = fit_similarity(src, truth.apply(src))
    assert found.scale == pytest.approx(truth.scale, rel=1e-9)
    assert np.isclose(np.cos(found.rotation - truth.rotation), 1.0)
    assert corners_error(found, truth, (400, 400)) < 1e-6
    # with half a pixel of landmark noise the fit still lands within half a pixel over the face
    noisy = truth.apply(src) + rng.normal(0, 0.5, src.shape)
    assert corners_error(fit_similarity(src, noisy), truth, (400, 400)) < 0.5 * truth.scale + 0.5


def test_no_mirror_is_fitted() -> None:
    src = np.array([[0, 0], [10, 0], [0, 20], [7, 7]], np.float64)
    mirrored = src * (-1, 1)
    found = fit_similarity(src, mirrored)
    assert np.linalg.det(found.matrix[:, :2]) > 0  # a rotation, never a reflection
    assert np.linalg.norm(found.apply(src) - mirrored, axis=1).max() > 1.0


def test_hand_made_face_aligns_and_reports_the_residual_on_the_stable_points() -> None:
    pre = place(symmetric_face(), degrees=0.0, scale=3.0, shift=(300, 300))
    truth = Similarity(0.7, np.deg2rad(14.0), -35.0, 60.0)          # pre-op -> post-op photo
    post = truth.apply(pre)
    post[list(range(48, 68))] += (4.0, -2.0)                          # the lip changed with surgery: ignored
    post[30] += (9.0, 0.0)                                            # and the tip (not a stable point)
    alignment = align_landmarks(pre, post)
    assert corners_error(alignment.transform, truth.inverse(), (600, 600)) < 1e-6
    assert alignment.points == STABLE_POINTS and alignment.residuals_px.shape == (15,)
    assert alignment.rms_px < 1e-6 and not alignment.poor and "agree within 0.0 %" in alignment.describe()
    post[36] += (0.0, 40.0)                                           # a misplaced eye corner
    bad = align_landmarks(pre, post)
    assert bad.rms_iod > 3.0 and bad.poor and "poor fit" in bad.describe()


@pytest.mark.parametrize("n", [0, 1, 2])
def test_fewer_than_three_points_are_refused(n: int) -> None:
    points = np.array([[1.0, 2.0], [5.0, 9.0]])[:n].reshape(n, 2)
    with pytest.raises(AlignmentError, match="at least 3"):
        fit_similarity(points, points * 2)


def test_degenerate_input_is_refused_with_a_typed_error() -> None:
    same = np.tile([[10.0, 20.0]], (15, 1))
    spread = np.random.default_rng(2).uniform(0, 100, (15, 2))
    for src, dst in ((same, spread), (spread, same)):
        with pytest.raises(AlignmentError, match="one spot"):
            fit_similarity(src, dst)
    with pytest.raises(AlignmentError, match="not finite"):
        fit_similarity(np.where(np.arange(30).reshape(15, 2) == 3, np.nan, spread), spread)
    with pytest.raises(AlignmentError, match="3 points to 4"):
        fit_similarity(spread[:3], spread[:4])
    with pytest.raises(AlignmentError, match="68 points"):
        align_landmarks(spread, spread)
    assert issubclass(AlignmentError, InferenceError)  # the app shows its message like any library error


def test_real_face_warped_by_a_known_transform_is_brought_back_within_half_a_pixel(helen_samples) -> None:
    """A real photo (300-W HELEN crop, hand-annotated landmarks) is 'photographed again' at another
    scale, angle and place on a larger canvas; the alignment must find the inverse, and the aligned
    image must sit on the original within half a pixel (measured on the pixels, by phase correlation)."""
    path, pre_lm = helen_samples[0]
    pre = load_photo(path).rgb
    h, w = pre.shape[:2]
    truth = Similarity(1.35, np.deg2rad(-11.0), 70.0, 95.0)          # pre-op -> post-op photo
    post = cv2.warpAffine(pre, truth.matrix, (420, 460), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    post_lm = truth.apply(pre_lm)
    aligned = align_postop(post, post_lm, pre_lm, (w, h))
    assert aligned.image.shape == pre.shape and aligned.image.dtype == np.uint8
    assert corners_error(aligned.alignment.transform, truth.inverse(), (w, h)) < 0.5
    assert np.abs(aligned.landmarks - pre_lm).max() < 0.5
    # The pixels: inside the face the aligned photo matches the original, with no sub-pixel shift.
    x0, y0 = pre_lm.min(axis=0).astype(int)
    x1, y1 = pre_lm.max(axis=0).astype(int)
    window = (slice(y0, y1), slice(x0, x1))
    assert aligned.covered[window].all()
    a = cv2.cvtColor(pre, cv2.COLOR_RGB2GRAY)[window].astype(np.float64)
    b = cv2.cvtColor(aligned.image, cv2.COLOR_RGB2GRAY)[window].astype(np.float64)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, cv2.createHanningWindow(a.shape[::-1], cv2.CV_64F))
    assert np.hypot(dx, dy) < 0.5, (dx, dy)
    assert np.abs(a - b).mean() < 6.0  # only resampling blur (grey levels of 255)
    # A post-op photo that was shifted by 3 px more would be caught by the same measurement.
    off = cv2.warpAffine(aligned.image, np.float64([[1, 0, 3], [0, 1, 0]]), (w, h))
    c = cv2.cvtColor(off, cv2.COLOR_RGB2GRAY)[window].astype(np.float64)
    (dx, _), _ = cv2.phaseCorrelate(a, c, cv2.createHanningWindow(a.shape[::-1], cv2.CV_64F))
    assert dx == pytest.approx(3.0, abs=0.5)


def test_real_face_with_landmarks_detected_on_both_photos(helen_samples) -> None:
    """The app detects the landmarks of both photos with dlib: the recovered transform is then as good
    as dlib's points (its scatter on the 15 stable points), here within 1.5 % of the eye-corner width."""
    from inference.face.detect import detect_faces
    from inference.face.landmarks import DlibLandmarkDetector

    detector = DlibLandmarkDetector()
    path, _ = helen_samples[0]
    pre = load_photo(path).rgb
    h, w = pre.shape[:2]
    truth = Similarity(0.9, np.deg2rad(8.0), 30.0, -10.0)
    post = cv2.warpAffine(pre, truth.matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    pre_lm = detector(pre, detect_faces(pre)[0])
    post_lm = detector(post, detect_faces(post)[0])
    aligned = align_postop(post, post_lm, pre_lm, (w, h))
    stable = pre_lm[list(STABLE_POINTS)]
    error = np.linalg.norm(aligned.alignment.transform.apply(truth.apply(stable)) - stable, axis=1)
    assert error.max() < 0.015 * face_size(pre_lm), error.max()
    assert aligned.alignment.rms_iod < 3.0 and not aligned.alignment.poor


def test_compare_to_postop_distances_and_measures() -> None:
    post = place(symmetric_face(), degrees=0.0, scale=3.0, shift=(300, 300))    # IOD = 270 px
    pred = post.copy()
    pred[list(LIP_POINTS)] += (0.0, 13.5)                                       # lip 5 % IOD lower
    pred[33] += (27.0, 0.0)                                                     # one of nine nose points off by 10 %
    result = compare_to_postop(pred, post)
    assert result.face_size_px == pytest.approx(270.0)
    assert result.lip_distance_px == pytest.approx(13.5) and result.lip_distance_iod == pytest.approx(5.0)
    assert result.nose_distance_iod == pytest.approx(10.0 / 9)
    assert result.normaliser == NORMALISER and FACE_SIZE in NORMALISER and result.unit == "% IOD"
    assert result.point_distances_px.shape == (68,) and result.point_distances_px[36] == 0
    assert all(m.asymmetry == pytest.approx(0, abs=1e-9) for m in result.postop.measures)
    assert result.prediction["columella_deviation"].asymmetry == pytest.approx(10.0)
    same = compare_to_postop(asymmetric_face(), asymmetric_face())
    assert same.lip_distance_iod == 0 and same.nose_distance_iod == 0
    with pytest.raises(AlignmentError, match="68 points"):
        compare_to_postop(pred[:60], post)


def test_module_is_free_of_qt_and_torch() -> None:
    text = Path(__file__).resolve().parents[1].joinpath("inference", "alignment.py").read_text()
    assert "PySide6" not in text and "torch" not in text
