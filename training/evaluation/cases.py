"""The fixed evaluation cases: held-out test faces, each with one mask per category.

Categories: ``lip`` (a lip-region mask synthesised from the face's landmarks, shapes cycling
through upper lip, philtrum, unilateral and bilateral cleft and equipment), the two cleft-like
mask families of ``inference.face.suggest`` built without jitter from the cached truth landmarks:
``mouth`` (whole mouth + nostril sill) and ``upper_lip`` (upper lip + nostril sill), and the NVIDIA
bins ``0-20``, ``20-40``, ``40-60`` (masks from the held-out evaluation quarter, never trained on).
Everything is seeded, so every model sees exactly the same pairs. Each case carries the truth
landmarks (normalised to [0, 1] of the crop, as in the cache) for the structure measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data.dataset import FaceCropSet
from training.masks.lip import CLEFT_SHAPES, FAMILY_SHAPES, family_mask, lip_region_mask
from training.masks.nvidia import BINS, NvidiaMasks

FAMILY_CATEGORIES = tuple(FAMILY_SHAPES)            # ("mouth", "upper_lip")
LIP_CATEGORIES = ("lip",) + FAMILY_CATEGORIES       # categories whose holes cover the lip (vermilion measure)
CATEGORIES = LIP_CATEGORIES + tuple(BINS)


@dataclass(frozen=True)
class EvalCase:
    subset: str        # "test" or "infant"
    face: int          # index of the face within its subset
    key: str
    category: str
    image: np.ndarray  # uint8 (256, 256, 3)
    hole: np.ndarray   # bool (256, 256)
    landmarks_norm: np.ndarray  # float32 (68, 2) truth landmarks in [0, 1] of the crop (x size for pixels)


def build_cases(cache: Path, nvidia: NvidiaMasks, limit: int | None, infant_limit: int | None,
                seed: int = 0, size: int = 256, categories: tuple[str, ...] = CATEGORIES) -> list[EvalCase]:
    """Every test face with one mask per category in ``categories`` (masks do not depend on that choice)."""
    cases: list[EvalCase] = []
    shapes = list(CLEFT_SHAPES)
    for subset, infant, n in (("test", False, limit), ("infant", True, infant_limit)):
        faces = FaceCropSet(cache, "test", infant=infant, limit=n or None)
        for i in range(len(faces)):
            image, lm = faces.get(i, size)
            rng = np.random.default_rng([seed, i, int(infant)])
            holes = {"lip": lip_region_mask(lm, rng, size, shapes[i % len(shapes)])}
            holes.update({c: family_mask(lm, size, family) for c, family in FAMILY_SHAPES.items()})
            for b in BINS:
                pool = nvidia.indices(b, evaluation=True)
                if pool.size == 0:  # only with tiny mask folders (tests): fall back to the bin's other masks
                    pool = nvidia.indices(b, evaluation=False)
                holes[b] = nvidia.mask(int(pool[(i * 7919 + seed) % len(pool)]), size)
            for category in categories:
                cases.append(EvalCase(subset, i, faces.rows[i].key, category, image, holes[category], lm))
    return cases
