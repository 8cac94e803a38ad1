"""The NVIDIA irregular masks (Liu et al. 2018, test set at 256x256) grouped by measured hole ratio.

Bins follow the paper's tables: 0-20 %, 20-40 %, 40-60 %. Each mask's ratio is measured (not taken
from its file group) and the whole set is cached once as packed bits. A fixed, seeded quarter of
each bin is reserved for evaluation and never used in training (only the test set is open here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.errors import MaskError
from inference.io.mask_codec import load_mask
from training.errors import DataError
from training.privacy import check_data_folder

BINS: dict[str, tuple[float, float]] = {"0-20": (0.0, 0.2), "20-40": (0.2, 0.4), "40-60": (0.4, 0.6)}
EVAL_FRACTION = 0.25
MASK_SIZE = 256


def bin_of(ratio: float) -> str | None:
    for name, (lo, hi) in BINS.items():
        if lo < ratio <= hi or (lo == 0.0 and ratio == 0.0):
            return name
    return None


@dataclass
class NvidiaMasks:
    """All masks as packed bits plus their ratios; ``pick`` returns a bool mask of any size."""

    packed: np.ndarray          # (N, 256*256/8) uint8
    ratios: np.ndarray          # (N,) float32
    names: np.ndarray           # (N,) file names
    is_eval: np.ndarray         # (N,) bool

    def mask(self, i: int, size: int = MASK_SIZE) -> np.ndarray:
        m = np.unpackbits(self.packed[i])[: MASK_SIZE * MASK_SIZE].reshape(MASK_SIZE, MASK_SIZE)
        if size != MASK_SIZE:
            # any covered pixel stays a hole, as the network's own max-pooled hole pyramid (thin strokes survive)
            m = cv2.resize(m.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) > 0.0
        return m.astype(bool)

    def indices(self, bin_name: str | None = None, evaluation: bool = False) -> np.ndarray:
        keep = self.is_eval == evaluation
        if bin_name is not None:
            lo, hi = BINS[bin_name]
            keep &= (self.ratios > lo) & (self.ratios <= hi)
        return np.flatnonzero(keep)

    def pick(self, rng: np.random.Generator, size: int, bin_name: str | None = None) -> np.ndarray:
        """A random training mask, randomly flipped/rotated by 90 degrees for variety."""
        idx = self.indices(bin_name, evaluation=False)
        m = self.mask(int(rng.choice(idx)), size)
        m = np.rot90(m, int(rng.integers(4)))
        return np.ascontiguousarray(m[:, ::-1] if rng.random() < 0.5 else m)


def load_nvidia_masks(folder: Path, cache: Path | None = None, seed: int = 0) -> NvidiaMasks:
    """Read (or load the cached copy of) every mask PNG in ``folder``; white = hole."""
    folder = Path(folder)
    if cache is not None and cache.is_file():
        data = np.load(cache, allow_pickle=False)
        return NvidiaMasks(data["packed"], data["ratios"], data["names"], data["is_eval"])
    check_data_folder(folder)
    files = sorted(folder.glob("*.png"))
    if not files:
        raise DataError(f"No mask PNGs in {folder}.")
    packed, ratios = [], []
    for f in files:
        try:
            hole = load_mask(f, require_hole=False)  # the one mask codec: white (>= 128) = hole
        except MaskError as exc:
            raise DataError(f"Mask {f} cannot be read.") from exc
        if hole.shape != (MASK_SIZE, MASK_SIZE):
            hole = cv2.resize(hole.view(np.uint8), (MASK_SIZE, MASK_SIZE), interpolation=cv2.INTER_NEAREST).astype(bool)
        packed.append(np.packbits(hole.ravel()))
        ratios.append(hole.mean())
    rng = np.random.default_rng(seed)
    is_eval = rng.random(len(files)) < EVAL_FRACTION
    out = NvidiaMasks(np.stack(packed), np.asarray(ratios, np.float32), np.array([f.name for f in files]), is_eval)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, packed=out.packed, ratios=out.ratios, names=out.names, is_eval=out.is_eval)
    return out
