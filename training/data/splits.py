"""Fixed, seeded train/validation/test splits decided per photo key, so they never depend on caching order.

Each key gets a uniform number from a hash of (seed, dataset, key); the official CelebA split is
kept when present. Infants (UTKFace age 0-3, the age of cleft-lip repair) get a larger test share
so that the infant test subset is big enough to report on.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from training.data.sources import FaceRecord

INFANT_MAX_AGE = 3
TEST_FRACTION = 0.05
VAL_FRACTION = 0.02
INFANT_TEST_FRACTION = 0.15


def is_infant(record: FaceRecord) -> bool:
    return record.age is not None and record.age <= INFANT_MAX_AGE


def _uniform(seed: int, dataset: str, key: str) -> float:
    digest = hashlib.sha256(f"{seed}:{dataset}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def assign_split(record: FaceRecord, seed: int = 0) -> str:
    """'train', 'val' or 'test' for one photo."""
    if record.official_split is not None:
        return record.official_split
    u = _uniform(seed, record.dataset, record.key)
    test = INFANT_TEST_FRACTION if is_infant(record) else TEST_FRACTION
    if u < test:
        return "test"
    if u < test + VAL_FRACTION:
        return "val"
    return "train"


def write_splits(records: list[FaceRecord], path: Path, seed: int = 0) -> dict[str, int]:
    """Write ``dataset,key,split,infant`` rows and return the counts per split."""
    counts: dict[str, int] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "key", "split", "infant"])
        for r in records:
            split = assign_split(r, seed)
            counts[split] = counts.get(split, 0) + 1
            writer.writerow([r.dataset, r.key, split, int(is_infant(r))])
    return counts
