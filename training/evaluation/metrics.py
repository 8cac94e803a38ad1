"""Image-pair metrics as in the paper's tables: PSNR (dB), SSIM and L1 x 100, on uint8 RGB images.

Pure functions of two images, so the classical baselines and the networks are scored identically.
SSIM follows scikit-image's ``structural_similarity`` defaults (7x7 uniform window, sample
covariance, K1 = 0.01, K2 = 0.03, data range 255, mean over channels after cropping the border
that the window does not cover), re-implemented with OpenCV box filters for speed; a test checks
it against scikit-image.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DATA_RANGE = 255.0
WIN = 7


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"Images differ in shape: {a.shape} vs {b.shape}.")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for a data range of 255 (inf for identical images)."""
    _check(a, b)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(DATA_RANGE ** 2 / mse)


def l1_x100(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in [0, 1] units, times 100 (the paper's L1 column)."""
    _check(a, b)
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))) / DATA_RANGE * 100.0)


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    mean = lambda img: cv2.boxFilter(img, cv2.CV_64F, (WIN, WIN), normalize=True, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    n = WIN * WIN
    cov_norm = n / (n - 1)
    ux, uy = mean(x), mean(y)
    vx = cov_norm * (mean(x * x) - ux * ux)
    vy = cov_norm * (mean(y * y) - uy * uy)
    vxy = cov_norm * (mean(x * y) - ux * uy)
    c1, c2 = (0.01 * DATA_RANGE) ** 2, (0.03 * DATA_RANGE) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    pad = (WIN - 1) // 2
    return float(s[pad:-pad, pad:-pad].mean())


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity over channels (scikit-image defaults, data range 255)."""
    _check(a, b)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if a64.ndim == 2:
        return _ssim_channel(a64, b64)
    return float(np.mean([_ssim_channel(a64[..., c], b64[..., c]) for c in range(a64.shape[-1])]))


@dataclass(frozen=True)
class PairScores:
    psnr: float
    ssim: float
    l1: float


def score_pair(output: np.ndarray, target: np.ndarray) -> PairScores:
    return PairScores(psnr(output, target), ssim(output, target), l1_x100(output, target))
