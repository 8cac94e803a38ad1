"""Packing training faces and masks for a GPU machine, and unpacking them there into caches the trainer reads."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from test_training_support import mini_setup

from training.data.dataset import FaceCropSet
from training.data.pack import pack_cache, unpack_cache
from training.masks.nvidia import load_nvidia_masks
from training.privacy import check_data_folder


def test_a_pack_unpacks_into_the_same_training_faces_masks_and_manifest(tmp_path) -> None:
    faces, cache, masks_folder = mini_setup(tmp_path)
    masks = load_nvidia_masks(masks_folder, tmp_path / "masks.npz")
    train = FaceCropSet(cache, "train")
    summary = pack_cache(cache, tmp_path / "pack.npz", faces=len(train), masks_cache=tmp_path / "masks.npz", masks=5)
    assert summary["faces"] == len(train) and summary["masks"] == 5

    paths = unpack_cache(tmp_path / "pack.npz", tmp_path / "device")
    unpacked = FaceCropSet(paths["cache"], "train")
    assert [r.key for r in unpacked.rows] == [r.key for r in train.rows]
    for i in range(len(train)):
        (before, marks_before), (after, marks_after) = train.get(i), unpacked.get(i)
        mse = np.mean((before.astype(float) - after) ** 2)
        assert 10 * np.log10(255 ** 2 / max(mse, 1e-9)) > 35       # JPEG at quality 90
        assert np.array_equal(marks_before, marks_after)
    with (paths["cache"] / "meta.csv").open(newline="") as f:
        assert "test" not in {row["split"] for row in csv.DictReader(f)}   # evaluation faces never travel

    manifest = check_data_folder(paths["data_folder"])
    assert manifest.dataset == "UTKFace test sample" and manifest.terms
    sample = load_nvidia_masks(tmp_path / "nowhere", paths["masks_cache"])
    assert len(sample.packed) == 5 and not sample.is_eval.any()
    originals = {name: bits for name, bits in zip(masks.names, masks.packed)}
    assert all(np.array_equal(originals[n], b) for n, b in zip(sample.names, sample.packed))
    assert all(n in set(masks.names[~masks.is_eval]) for n in sample.names)   # only training masks


TINY_CONFIG = """
name = "device-test"
width = 0.125
seed = 0
[data]
kind = "utkface"
folder = "unused: the script points it at the unpacked manifest"
cache = "unused"
resolution = 64
[masks]
nvidia_folder = "unused"
mix = { lip = 0.5, nvidia = 0.5 }
[train]
batch_size = 2
steps = 3
log_every = 1
sample_every = 2
val_every = 2
val_images = 2
checkpoint_every = 1
"""


def test_the_device_script_trains_exports_and_cuts_the_weights_into_parts(tmp_path) -> None:
    faces, cache, masks_folder = mini_setup(tmp_path)
    load_nvidia_masks(masks_folder, tmp_path / "masks.npz")
    pack_cache(cache, tmp_path / "pack.npz", faces=100, masks_cache=tmp_path / "masks.npz", masks=6)
    (tmp_path / "tiny.toml").write_text(TINY_CONFIG)
    out = tmp_path / "out"
    out.mkdir()
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "PACK": str(tmp_path / "pack.npz"), "PART_BYTES": "100000",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "training/device_run.sh", str(tmp_path / "tiny.toml"), "5"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    parts = sorted(out.glob("model.safetensors.part-*"))
    assert len(parts) >= 2 and all(p.stat().st_size <= 100000 for p in parts)
    joined = b"".join(p.read_bytes() for p in parts)
    card = json.loads((out / "model_card.json").read_text())
    assert hashlib.sha256(joined).hexdigest() == card["weights_sha256"]
    assert card["training"]["steps"] == 3
    assert {"log.csv", "history.jsonl", "train-output.txt", "last-sample.png"} <= {p.name for p in out.iterdir()}
    others = [p for p in out.iterdir() if p not in parts]
    assert len(others) == 5                 # the device tool brings back 8 files: 3 parts of 15 MiB remain for weights
