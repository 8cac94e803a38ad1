"""The fixed evaluation cases: held-out test faces, each with one mask per category.

Categories: ``lip`` (a lip-region mask synthesised from the face's landmarks, shapes cycling
through upper lip, philtrum, unilateral and bilateral cleft and equipment) and the NVIDIA bins
``0-20``, ``20-40``, ``40-60`` (masks from the held-out evaluation quarter, never trained on).
Everything is seeded, so every model sees exactly the same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data.dataset import FaceCropSet
from training.masks.lip import LIP_SHAPES, lip_region_mask
from training.masks.nvidia import BINS, NvidiaMasks

CATEGORIES = ("lip",) + tuple(BINS)


@dataclass(frozen=True)
class EvalCase:
    subset: str        # "test" or "infant"
    face: int          # index of the face within its subset
    key: str
    category: str
    image: np.ndarray  # uint8 (256, 256, 3)
    hole: np.ndarray   # bool (256, 256)


def build_cases(cache: Path, nvidia: NvidiaMasks, limit: int | None, infant_limit: int | None,
                seed: int = 0, size: int = 256) -> list[EvalCase]:
    cases: list[EvalCase] = []
    shapes = list(LIP_SHAPES)
    for subset, infant, n in (("test", False, limit), ("infant", True, infant_limit)):
        faces = FaceCropSet(cache, "test", infant=infant, limit=n or None)
        for i in range(len(faces)):
            image, lm = faces.get(i, size)
            rng = np.random.default_rng([seed, i, int(infant)])
            holes = {"lip": lip_region_mask(lm, rng, size, shapes[i % len(shapes)])}
            for b in BINS:
                pool = nvidia.indices(b, evaluation=True)
                if pool.size == 0:  # only with tiny mask folders (tests): fall back to the bin's other masks
                    pool = nvidia.indices(b, evaluation=False)
                holes[b] = nvidia.mask(int(pool[(i * 7919 + seed) % len(pool)]), size)
            for category in CATEGORIES:
                cases.append(EvalCase(subset, i, faces.rows[i].key, category, image, holes[category]))
    return cases
