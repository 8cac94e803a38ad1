"""The two cleft-like mask families: one definition for the app, training and evaluation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.face.suggest import (
    MASK_FAMILIES,
    face_width,
    mouth_nostril_mask,
    suggest_mask,
    upper_lip_mask,
    upper_lip_nostril_mask,
)
from test_training_structure import synthetic_landmarks


def _at(mask: np.ndarray, point: np.ndarray) -> bool:
    return bool(mask[int(round(point[1])), int(round(point[0]))])


def _components(mask: np.ndarray) -> int:
    return cv2.connectedComponents(mask.astype(np.uint8))[0] - 1


def test_mouth_nostril_covers_mouth_philtrum_and_nostril_base_in_one_piece() -> None:
    lm = synthetic_landmarks()
    mask = mouth_nostril_mask(lm, (256, 256))
    for i in (31, 33, 35, 48, 51, 54, 57, 62, 66):
        assert _at(mask, lm[i]), i
    assert _at(mask, (lm[33] + lm[51]) / 2)  # the philtrum
    assert _components(mask) == 1
    assert not _at(mask, lm[36]) and not _at(mask, lm[8])  # eye, chin
    radius = round(0.06 * face_width(lm))
    ys, xs = np.nonzero(mask)
    assert xs.min() >= lm[48, 0] - radius - 1 and xs.max() <= lm[54, 0] + radius + 1
    assert ys.max() <= lm[57, 1] + radius + 1 and ys.min() >= lm[31:36, 1].min() - radius - 1


def test_upper_lip_nostril_leaves_the_lower_lip_visible() -> None:
    lm = synthetic_landmarks()
    mask = upper_lip_nostril_mask(lm, (256, 256))
    for i in (31, 33, 35, 48, 50, 51, 52, 54, 62):
        assert _at(mask, lm[i]), i
    assert _at(mask, (lm[33] + lm[51]) / 2)
    assert _components(mask) == 1
    assert not _at(mask, lm[57]) and not _at(mask, (lm[57] + lm[66]) / 2)  # the lower lip
    assert mask.sum() < mouth_nostril_mask(lm, (256, 256)).sum()


def test_suggest_mask_dispatches_families_and_works_in_the_bounding_box_only() -> None:
    lm = synthetic_landmarks()
    assert MASK_FAMILIES[0] == "upper_lip_nostril"
    assert np.array_equal(suggest_mask(lm, (256, 256)), upper_lip_nostril_mask(lm, (256, 256)))
    assert np.array_equal(suggest_mask(lm, (256, 256), "mouth_nostril"), mouth_nostril_mask(lm, (256, 256)))
    assert np.array_equal(suggest_mask(lm, (256, 256), "upper_lip"), upper_lip_mask(lm, (256, 256)))
    wider = suggest_mask(lm, (256, 256), "mouth_nostril", dilate_fraction=0.12)
    assert wider.sum() > mouth_nostril_mask(lm, (256, 256)).sum()
    # the same mask in a large photo, and clipped at the border
    big = suggest_mask(lm + 1000, (3000, 2000), "mouth_nostril")
    assert np.array_equal(big[1000:1256, 1000:1256], mouth_nostril_mask(lm, (256, 256)))
    assert big.sum() == mouth_nostril_mask(lm, (256, 256)).sum()
    clipped = suggest_mask(lm - (0, 150), (256, 256), "mouth_nostril")
    assert clipped[0].any() and clipped.sum() < big.sum()
    with pytest.raises(ValueError):
        suggest_mask(lm, (256, 256), "whole_face")
    with pytest.raises(ValueError):
        suggest_mask(np.full((68, 2), np.nan), (256, 256))


def test_training_shapes_use_the_same_families_with_jitter() -> None:
    from training.masks.lip import LIP_SHAPES, family_mask, lip_region_mask

    lm_norm = synthetic_landmarks() / 256
    for family, make in (("mouth_nostril", mouth_nostril_mask), ("upper_lip_nostril", upper_lip_nostril_mask)):
        assert family in LIP_SHAPES
        exact = family_mask(lm_norm, 256, family)
        assert np.array_equal(exact, make(lm_norm * 256, (256, 256)))   # no generator: no jitter
        areas = {int(family_mask(lm_norm, 256, family, np.random.default_rng(s)).sum()) for s in range(6)}
        assert len(areas) > 1 and all(0.6 * exact.sum() < a < 1.6 * exact.sum() for a in areas)
        drawn = lip_region_mask(lm_norm, np.random.default_rng(0), 256, family)
        assert drawn.dtype == bool and (drawn & exact).sum() > 0.5 * exact.sum()
    with pytest.raises(ValueError):
        family_mask(lm_norm, 256, "upper_lip")
