"""Small fixtures for the training tests: a mini face-crop cache and mask folder built in a temp dir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from training.config import Config, DataConfig, MaskConfig, TrainConfig, config_from_dict

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MANIFEST = {"dataset": "UTKFace test sample", "terms": "non-commercial research only"}


def need_shared() -> Path:
    if not (SHARED / "utkface").is_dir():
        pytest.skip(f"open face data not found at {SHARED}")
    return SHARED


def mini_faces(folder: Path, adults: int = 4, infants: int = 4) -> Path:
    """Copy a few UTKFace photos (infants and adults) into ``folder`` with a manifest."""
    shared = need_shared() / "utkface"
    folder.mkdir(parents=True, exist_ok=True)
    picks = sorted(shared.glob("[0-3]_*.jpg"))[:infants] + sorted(shared.glob("3[0-9]_*.jpg"))[:adults]
    for p in picks:
        shutil.copy(p, folder / p.name)
    (folder / "MANIFEST.json").write_text(json.dumps(MANIFEST))
    return folder


def mini_masks(folder: Path, per_group: int = 3) -> Path:
    """A few NVIDIA masks from each of the six hole-ratio groups, with a manifest."""
    shared = need_shared() / "masks-nvidia-test-256"
    folder.mkdir(parents=True, exist_ok=True)
    for group in range(6):
        for i in range(per_group):
            name = f"{group * 2000 + i * 300:05d}.png"
            shutil.copy(shared / name, folder / name)
    (folder / "MANIFEST.json").write_text(json.dumps({"dataset": "NVIDIA masks sample", "terms": "CC BY-NC-SA 4.0"}))
    return folder


def mini_setup(tmp: Path) -> tuple[Path, Path, Path]:
    """(faces folder, built cache, masks folder)."""
    from training.data.cache import build_cache

    faces = mini_faces(tmp / "faces")
    cache = tmp / "cache"
    build_cache("utkface", faces, cache, progress=False)
    return faces, cache, mini_masks(tmp / "masks")


def tiny_config(faces: Path, cache: Path, masks: Path, **train: object) -> Config:
    """A config small enough for a few CPU steps in a test (width 0.125, 64x64, batch 2)."""
    raw = {
        "name": "test-lite", "width": 0.125, "seed": 0,
        "data": {"kind": "utkface", "folder": str(faces), "cache": str(cache), "resolution": 64},
        "masks": {"nvidia_folder": str(masks), "nvidia_cache": str(masks.parent / "masks.npz"),
                  "mix": {"lip": 0.5, "nvidia": 0.3, "freeform": 0.2}},
        "train": {"batch_size": 2, "steps": 4, "log_every": 1, "sample_every": 2, "val_every": 2, "val_images": 2,
                  "checkpoint_every": 1, **train},
    }
    return config_from_dict(raw)


__all__ = ["need_shared", "mini_faces", "mini_masks", "mini_setup", "tiny_config", "np", "Config", "DataConfig",
           "MaskConfig", "TrainConfig"]
