"""Masks: NVIDIA bins hold the right hole ratios; lip masks sit on the lip; strokes are non-empty."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_training_support import mini_masks, need_shared


def test_nvidia_bins_hold_the_right_ratios(tmp_path: Path) -> None:
    from training.masks.nvidia import BINS, load_nvidia_masks

    folder = mini_masks(tmp_path / "masks", per_group=3)
    masks = load_nvidia_masks(folder, tmp_path / "masks.npz")
    again = load_nvidia_masks(folder, tmp_path / "masks.npz")  # from the cache
    assert np.array_equal(masks.ratios, again.ratios)
    for name, (lo, hi) in BINS.items():
        idx = np.concatenate([masks.indices(name, evaluation=False), masks.indices(name, evaluation=True)])
        assert len(idx) > 0, name
        for i in idx:
            assert lo < masks.mask(int(i)).mean() <= hi
    # the file groups (two per bin, 2,000 files each) agree with the measured bins
    group = np.array([int(n[:5]) // 4000 for n in masks.names])
    expected = np.array([list(BINS).index(name) for name in
                         [next(b for b, (lo, hi) in BINS.items() if lo < r <= hi) for r in masks.ratios]])
    assert (group == expected).mean() > 0.9
    first = int(np.concatenate([masks.indices("20-40", False), masks.indices("20-40", True)])[0])
    small = masks.mask(first, 128)
    assert small.shape == (128, 128) and 0.15 < small.mean() < 0.45


def _face() -> tuple[np.ndarray, np.ndarray]:
    import cv2

    from training.data.cache import crop_face

    path = sorted((need_shared() / "utkface").glob("25_*.jpg"))[0]
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    result = crop_face(rgb)
    assert result is not None
    return result[0], result[1]


@pytest.mark.parametrize("shape", ["upper_lip", "philtrum", "unilateral_cleft", "bilateral_cleft", "equipment",
                                   "mouth_nostril", "upper_lip_nostril"])
def test_lip_masks_cover_the_lip_region(shape: str) -> None:
    from training.masks.lip import lip_region_mask

    _, lm = _face()
    size = 256
    for seed in range(5):
        mask = lip_region_mask(lm, np.random.default_rng(seed), size, shape)
        assert mask.dtype == bool and mask.shape == (size, size)
        assert 0.002 < mask.mean() < 0.25
        if shape == "equipment":
            continue
        ys, xs = np.nonzero(mask)
        nose_y, chin_y = lm[33, 1] * size, lm[8, 1] * size
        left, right = lm[48, 0] * size, lm[54, 0] * size
        assert nose_y - 0.15 * (chin_y - nose_y) < ys.mean() < (lm[57, 1] * size) + 5
        assert left - 10 < xs.mean() < right + 10
        # the upper-lip midpoint (51) or a nostril-to-lip cleft line passes through the hole
        assert mask[int(lm[51, 1] * size)].any()


def test_free_form_masks_are_nonempty_and_vary() -> None:
    from training.masks.freeform import free_form_mask

    rng = np.random.default_rng(0)
    a, b = free_form_mask(rng, 128), free_form_mask(rng, 128)
    assert a.any() and b.any() and not np.array_equal(a, b)
