"""Structure measures on a hand-made face-like image whose answers are known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.face.regions import MOUTH_INNER, MOUTH_OUTER
from inference.face.suggest import mouth_nostril_mask
from training.evaluation.structure import (
    TruthReference,
    edge_energy_ratio,
    hole_psnr,
    landmark_nme,
    lip_regions,
    score_structure,
    vermilion_contrast_ratio,
)

SKIN = (215, 170, 150)
LIP = (190, 75, 90)
MOUTH_GAP = (70, 30, 35)


def synthetic_landmarks() -> np.ndarray:
    """68 (x, y) points of a frontal face in a 256 crop: jaw, eyes, nose base and an elliptic mouth."""
    p = np.full((68, 2), 128.0)
    t = np.linspace(np.pi, 0, 17)
    p[0:17] = np.stack([128 + 88 * np.cos(t), 100 + 130 * np.sin(t)], 1)  # jaw 0 (40, 100) .. 16 (216, 100)
    p[17:27] = np.stack([np.linspace(60, 196, 10), np.full(10, 70.0)], 1)
    p[27:31] = np.stack([np.full(4, 128.0), np.linspace(95, 135, 4)], 1)
    p[31:36] = [(108, 150), (118, 154), (128, 156), (138, 154), (148, 150)]
    p[36:42] = [(70, 90), (80, 85), (92, 85), (100, 90), (92, 94), (80, 94)]
    p[42:48] = [(156, 90), (164, 85), (176, 85), (186, 90), (176, 94), (164, 94)]
    outer = np.pi - np.arange(12) * np.pi / 6
    p[48:60] = np.stack([128 + 36 * np.cos(outer), 186 - 14 * np.sin(outer)], 1)
    inner = np.pi - np.arange(8) * np.pi / 4
    p[60:68] = np.stack([128 + 24 * np.cos(inner), 186 - 3 * np.sin(inner)], 1)
    return p.astype(np.float32)


def synthetic_face(lm: np.ndarray, lip=LIP) -> np.ndarray:
    image = np.empty((256, 256, 3), np.uint8)
    image[:] = SKIN
    cv2.fillPoly(image, [np.round(lm[list(MOUTH_OUTER)]).astype(np.int32)], lip)
    cv2.fillPoly(image, [np.round(lm[list(MOUTH_INNER)]).astype(np.int32)], MOUTH_GAP)
    return image


@pytest.fixture(scope="module")
def face() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lm = synthetic_landmarks()
    return synthetic_face(lm), mouth_nostril_mask(lm, (256, 256)), lm


def test_regions_split_the_hole_into_lip_and_skin(face) -> None:
    truth, hole, lm = face
    vermilion, skin = lip_regions(hole, lm)
    assert vermilion.sum() > 500 and skin.sum() > 500 and not (vermilion & skin).any()
    assert (vermilion <= hole).all() and (skin <= hole).all()
    assert (truth[vermilion] == LIP).all(axis=1).mean() > 0.95  # the polygon is the painted lip
    assert (truth[skin] == SKIN).all()                           # the grown lip never reaches the skin region


def test_vermilion_ratio_is_one_for_the_truth_and_zero_for_a_skin_fill(face) -> None:
    truth, hole, lm = face
    assert vermilion_contrast_ratio(truth, truth, hole, lm) == pytest.approx(1.0)
    flat = truth.copy()
    flat[hole] = SKIN
    assert vermilion_contrast_ratio(flat, truth, hole, lm) == pytest.approx(0.0, abs=1e-6)
    pale = synthetic_face(lm, lip=tuple(int(v) for v in (np.array(LIP) + np.array(SKIN)) // 2))
    assert 0.3 < vermilion_contrast_ratio(pale, truth, hole, lm) < 0.7


def test_vermilion_ratio_is_skipped_without_truth_contrast_or_region(face) -> None:
    truth, hole, lm = face
    no_lip = synthetic_face(lm, lip=SKIN)
    assert vermilion_contrast_ratio(truth, no_lip, hole, lm) is None  # the truth's lip is not redder than skin
    nostrils_only = np.zeros_like(hole)
    nostrils_only[140:160, 100:156] = True                              # no vermilion inside this hole
    assert vermilion_contrast_ratio(truth, truth, nostrils_only, lm) is None


def test_edge_energy_ratio(face) -> None:
    truth, hole, _ = face
    assert edge_energy_ratio(truth, truth, hole) == pytest.approx(1.0)
    noisy = truth.copy()
    noisy[hole] = np.random.default_rng(0).integers(0, 256, (int(hole.sum()), 3), dtype=np.uint8)
    assert edge_energy_ratio(noisy, truth, hole) > 5
    flat = truth.copy()
    flat[hole] = SKIN
    assert edge_energy_ratio(flat, truth, hole) < 0.5  # only the hole's rim keeps an edge
    assert edge_energy_ratio(truth, np.full_like(truth, 128), hole) is None


def test_hole_psnr_counts_only_the_hole(face) -> None:
    truth, hole, _ = face
    pred = truth.astype(np.int16)
    pred[hole] += 10
    pred = np.clip(pred, 0, 255).astype(np.uint8)
    assert hole_psnr(pred, truth, hole) == pytest.approx(10 * np.log10(255 ** 2 / 100), abs=1e-6)
    assert hole_psnr(truth, truth, hole) == float("inf")
    with pytest.raises(ValueError):
        hole_psnr(truth, truth, np.zeros_like(hole))


def test_landmark_nme_of_a_shift_is_shift_over_outer_eye_corner_distance() -> None:
    truth = synthetic_landmarks()
    iod = float(np.linalg.norm(truth[45] - truth[36]))
    assert iod == pytest.approx(116)
    nme_all, nme_mouth = landmark_nme(truth + np.array([3.0, 4.0]), truth)
    assert nme_all == pytest.approx(5 / iod) and nme_mouth == pytest.approx(5 / iod)
    moved_mouth = truth.copy()
    moved_mouth[48:68] += (0, 10)
    nme_all, nme_mouth = landmark_nme(moved_mouth, truth)
    assert nme_mouth == pytest.approx(10 / iod) and nme_all == pytest.approx(10 / iod * 20 / 68)
    with pytest.raises(ValueError):
        landmark_nme(truth[:60], truth)


def test_prepared_reference_gives_the_same_numbers(face) -> None:
    truth, hole, lm = face
    pred = truth.copy()
    pred[hole] = (pred[hole].astype(np.int16) * 0.8 + np.array(SKIN) * 0.2).astype(np.uint8)
    ref = TruthReference.build(truth, hole, lm)
    s = score_structure(pred, ref, lm + 1.0)
    assert s.vermilion_ratio == pytest.approx(vermilion_contrast_ratio(pred, truth, hole, lm))
    assert s.edge_ratio == pytest.approx(edge_energy_ratio(pred, truth, hole))
    assert s.hole_psnr == pytest.approx(hole_psnr(pred, truth, hole))
    assert s.nme_all == pytest.approx(np.sqrt(2) / 116)
    no_lip = score_structure(pred, TruthReference.build(truth, hole, lm, lip=False))
    assert no_lip.vermilion_ratio is None and no_lip.nme_all is None
