"""Training batches from the face-crop cache: crops, landmarks and a hole from the configured mask mix."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from inference.face.regions import MIRROR_PERMUTATION
from training.data.cache import CROP_SIZE
from training.errors import DataError
from training.masks.freeform import free_form_mask
from training.masks.lip import family_mask, lip_region_mask
from training.masks.nvidia import NvidiaMasks

# iBUG 300-W index of each landmark's mirror image, for horizontal flips.
FLIP_PERMUTATION = np.array(MIRROR_PERMUTATION)


def mirror_landmarks(landmarks_norm: np.ndarray) -> np.ndarray:
    """Crop-normalised landmarks (..., 68, 2) of the horizontally flipped face (points renamed left/right)."""
    flipped = np.asarray(landmarks_norm)[..., FLIP_PERMUTATION, :].copy()
    flipped[..., 0] = 1.0 - flipped[..., 0]
    return flipped


@dataclass(frozen=True)
class CacheRow:
    slot: int
    key: str
    age: int | None
    split: str
    infant: bool


class FaceCropSet:
    """Rows of a face-crop cache filtered by split and age; reads crops lazily from the memmap."""

    def __init__(self, cache: Path, split: str | None = None, infant: bool | None = None,
                 limit: int | None = None) -> None:
        cache = Path(cache)
        info_path = cache / "info.json"
        if not info_path.is_file():
            raise DataError(f"{cache} is not a face-crop cache; build it with 'python -m training prepare'.")
        info = json.loads(info_path.read_text())
        total = int(info["total"])
        self.cache, self.info = cache, info
        self.crops = np.memmap(cache / "crops.u8", np.uint8, "r", shape=(total, CROP_SIZE, CROP_SIZE, 3))
        self.landmarks = np.memmap(cache / "landmarks.f32", np.float32, "r", shape=(total, 68, 2))
        rows = []
        with (cache / "meta.csv").open(newline="") as f:
            for r in csv.DictReader(f):
                row = CacheRow(int(r["slot"]), r["key"], int(r["age"]) if r["age"] not in ("", "None") else None,
                               r["split"], r["infant"] == "1")
                if (split is None or row.split == split) and (infant is None or row.infant == infant):
                    rows.append(row)
        rows.sort(key=lambda r: r.slot)
        self.rows = rows[:limit] if limit else rows
        if not self.rows:
            raise DataError(f"No cached faces in {cache} for split={split}, infant={infant}.")

    def __len__(self) -> int:
        return len(self.rows)

    def landmarks_of(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """(len(indices), 68, 2) crop-normalised landmarks of rows ``indices``, without reading their crops."""
        return np.asarray(self.landmarks[[self.rows[int(i)].slot for i in indices]], np.float32)

    def mean_landmarks(self) -> np.ndarray:
        """(68, 2) mean crop-normalised landmarks of these rows."""
        return self.landmarks_of(range(len(self.rows))).astype(np.float64).mean(0).astype(np.float32)

    def get(self, i: int, size: int = CROP_SIZE) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 (size, size, 3), landmarks_norm (68, 2)) of row ``i``."""
        slot = self.rows[i].slot
        image = np.asarray(self.crops[slot])
        if size != CROP_SIZE:
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
        return image, np.array(self.landmarks[slot])


MASK_KINDS = ("lip", "mouth", "upper_lip", "nvidia", "freeform")
FAMILY_OF_KIND = {"mouth": "mouth_nostril", "upper_lip": "upper_lip_nostril"}


class MaskSampler:
    """Draws a hole for a face from the configured mix of masks.

    ``lip``: any lip-region shape (clefts, equipment, ...); ``mouth`` / ``upper_lip``: the two cleft
    mask families of the evaluation (whole mouth + nostril sill; upper lip + nostril sill), with
    their dilation jittered; ``nvidia``: irregular holes; ``freeform``: brush strokes.
    """

    def __init__(self, mix: dict[str, float], nvidia: NvidiaMasks | None) -> None:
        unknown = set(mix) - set(MASK_KINDS)
        if unknown:
            raise DataError(f"Unknown mask kinds {sorted(unknown)}; use {MASK_KINDS}.")
        if mix.get("nvidia", 0) > 0 and nvidia is None:
            raise DataError("The mask mix uses NVIDIA masks but no mask folder was given.")
        total = sum(mix.values())
        self.kinds = [k for k in MASK_KINDS if mix.get(k, 0) > 0]
        self.p = np.array([mix[k] for k in self.kinds]) / total
        self.nvidia = nvidia

    def sample(self, rng: np.random.Generator, landmarks_norm: np.ndarray, size: int) -> np.ndarray:
        kind = self.kinds[int(rng.choice(len(self.kinds), p=self.p))]
        if kind == "lip":
            return lip_region_mask(landmarks_norm, rng, size)
        if kind in FAMILY_OF_KIND:
            return family_mask(landmarks_norm, size, FAMILY_OF_KIND[kind], rng)
        if kind == "nvidia":
            return self.nvidia.pick(rng, size)
        return free_form_mask(rng, size)


def to_tensors(images: list[np.ndarray], holes: list[np.ndarray], landmarks: list[np.ndarray]
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network tensors: image (N, 3, S, S) in [0, 1], hole (N, 1, S, S) 1 = hole, landmarks (N, 68, 2)."""
    img = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255)
    hole = torch.from_numpy(np.stack(holes).astype(np.float32)).unsqueeze(1)
    lm = torch.from_numpy(np.stack(landmarks).astype(np.float32))
    return img, hole, lm


def sample_batch(data: FaceCropSet, masks: MaskSampler, rng: np.random.Generator, batch: int, size: int,
                 flip: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    images, holes, lms = [], [], []
    for i in rng.integers(0, len(data), batch):
        image, lm = data.get(int(i), size)
        if flip and rng.random() < 0.5:
            image = np.ascontiguousarray(image[:, ::-1])
            lm = mirror_landmarks(lm)
        images.append(image)
        lms.append(lm)
        holes.append(masks.sample(rng, lm, size))
    return to_tensors(images, holes, lms)
