"""The pure pair metrics agree with scikit-image and with hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from training.evaluation.metrics import l1_x100, psnr, score_pair, ssim


@pytest.fixture()
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-30, 31, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_psnr_and_ssim_match_scikit_image(pair) -> None:
    a, b = pair
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-9)
    assert ssim(a, b) == pytest.approx(structural_similarity(a, b, channel_axis=-1, data_range=255), abs=1e-9)
    assert ssim(a[..., 0], b[..., 0]) == pytest.approx(structural_similarity(a[..., 0], b[..., 0], data_range=255),
                                                       abs=1e-9)


def test_known_values() -> None:
    a = np.zeros((8, 8, 3), np.uint8)
    b = np.full((8, 8, 3), 51, np.uint8)   # 0.2 of the range everywhere
    assert l1_x100(a, b) == pytest.approx(20.0)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255 ** 2 / 51 ** 2))
    same = score_pair(b, b)
    assert same.psnr == float("inf") and same.ssim == pytest.approx(1.0) and same.l1 == 0.0


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))
