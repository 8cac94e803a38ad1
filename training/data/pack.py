"""Pack a face-crop cache and NVIDIA masks into one small file for a GPU machine, and unpack it there.

A device call carries at most 64 MiB of working tree, and ``../shared`` does not travel at all. The crop
cache is raw pixels (about 4 GB for UTKFace) and the mask cache about 100 MB. So the training faces are
packed as JPEG, a seeded sample of the *train* split plus a few validation faces (never a test face: the
evaluation runs on this machine), and a sample of the training masks as packed bits. On the GPU machine
``unpack`` turns the file back into an ordinary cache that ``FaceCropSet`` reads, a mask cache, and a
``source/MANIFEST.json`` that carries the open dataset's name and terms to the privacy guard
(``training.privacy``): the data stays the manifest-carrying open data it was packed from.

    python -m training pack data-cache/utkface --masks data-cache/masks-nvidia.npz --out data-cache/pack/faces.npz
    python -m training unpack data-cache/pack/faces.npz --out /tmp/faces     # on the GPU machine
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np

from training.data.cache import CROP_SIZE, META_FIELDS
from training.data.dataset import FaceCropSet
from training.errors import DataError
from training.privacy import MANIFEST_NAME

PACK_VERSION = 1
JPEG_QUALITY = 90   # UTKFace crops: ~11.5 KB a face at ~45 dB PSNR against the raw crop


def pack_cache(cache: Path, out: Path, faces: int, val_faces: int = 16, masks_cache: Path | None = None,
               masks: int = 3000, quality: int = JPEG_QUALITY, seed: int = 0) -> dict:
    """Write ``out`` (.npz): ``faces`` training faces (a seeded sample) and ``val_faces`` validation faces as
    JPEG with their landmarks and ages, and up to ``masks`` training masks of ``masks_cache``. Returns a summary."""
    train = FaceCropSet(cache, "train")
    info = train.info
    if not info.get("manifest"):
        raise DataError(f"{cache} records no data manifest; rebuild it with 'python -m training prepare'.")
    try:
        val = FaceCropSet(cache, "val", limit=val_faces) if val_faces > 0 else None
    except DataError:  # a tiny cache may have no validation face; the trainer then validates on training faces
        val = None
    rng = np.random.default_rng(seed)
    picked = [(train, int(i)) for i in np.sort(rng.permutation(len(train))[:faces])]
    picked += [(val, i) for i in range(len(val) if val is not None else 0)]
    blobs, landmarks, rows = [], [], []
    for subset, i in picked:
        image, marks = subset.get(i)
        ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise DataError(f"Face {subset.rows[i].key} of {cache} could not be encoded.")
        blobs.append(buffer.ravel())
        landmarks.append(marks)
        rows.append(subset.rows[i])
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    arrays = {
        "version": np.array(PACK_VERSION),
        "info": np.array(json.dumps({**info, "packed": {"faces": faces, "val_faces": val_faces, "seed": seed,
                                                        "quality": quality, "from": str(cache)}})),
        "jpeg": np.concatenate(blobs) if blobs else np.zeros(0, np.uint8),
        "offsets": offsets,
        "landmarks": np.asarray(landmarks, np.float32).reshape(-1, 68, 2),
        "keys": np.array([r.key for r in rows]),
        "ages": np.array([-1 if r.age is None else r.age for r in rows], np.int32),
        "splits": np.array([r.split for r in rows]),
        "infant": np.array([r.infant for r in rows], bool),
    }
    if masks_cache is not None:
        data = np.load(masks_cache, allow_pickle=False)
        train_masks = np.flatnonzero(~data["is_eval"])
        chosen = np.sort(rng.permutation(train_masks)[:masks])
        arrays.update(mask_packed=data["packed"][chosen], mask_ratios=data["ratios"][chosen],
                      mask_names=data["names"][chosen])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    return {"faces": sum(r.split == "train" for r in rows), "val_faces": sum(r.split == "val" for r in rows),
            "masks": int(len(arrays.get("mask_packed", ()))), "bytes": out.stat().st_size, "out": str(out)}


def unpack_cache(pack: Path, out: Path) -> dict:
    """Turn a pack back into ``out/cache`` (a face-crop cache), ``out/masks-nvidia.npz`` (when the pack has
    masks) and ``out/source/MANIFEST.json`` (the data folder the training config names). Returns the paths."""
    data = np.load(pack, allow_pickle=False)
    if int(data["version"]) != PACK_VERSION:
        raise DataError(f"{pack} is a version {int(data['version'])} pack; this code reads version {PACK_VERSION}.")
    info = json.loads(str(data["info"]))
    n, offsets, jpeg = len(data["keys"]), data["offsets"], data["jpeg"]
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    crops = np.memmap(cache / "crops.u8", np.uint8, "w+", shape=(n, CROP_SIZE, CROP_SIZE, 3))
    for i in range(n):
        crops[i] = cv2.imdecode(jpeg[offsets[i]:offsets[i + 1]], cv2.IMREAD_COLOR)[..., ::-1]
    crops.flush()
    del crops
    data["landmarks"].astype(np.float32).tofile(cache / "landmarks.f32")
    with (cache / "meta.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, META_FIELDS)
        writer.writeheader()
        for slot in range(n):
            age = int(data["ages"][slot])
            writer.writerow({"slot": slot, "dataset": info.get("kind", ""), "key": str(data["keys"][slot]),
                             "age": "" if age < 0 else age, "gender": "", "race": "", "split": str(data["splits"][slot]),
                             "infant": int(data["infant"][slot]), "detector": info.get("landmarks", "")})
    (cache / "dropped.csv").write_text("slot,dataset,key,reason\n")
    (cache / "info.json").write_text(json.dumps({**info, "total": n, "cached": n, "dropped": 0, "complete": True},
                                                indent=2))
    source = out / "source"
    source.mkdir(parents=True, exist_ok=True)
    (source / MANIFEST_NAME).write_text(json.dumps(info["manifest"], indent=2))
    paths: dict = {"cache": cache, "data_folder": source, "faces": n}
    if "mask_packed" in data:
        masks = out / "masks-nvidia.npz"
        np.savez(masks, packed=data["mask_packed"], ratios=data["mask_ratios"], names=data["mask_names"],
                 is_eval=np.zeros(len(data["mask_packed"]), bool))
        paths["masks_cache"] = masks
    return paths
