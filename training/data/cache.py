"""The face-crop cache: every training photo cropped exactly like inference, with its 68 landmarks.

Detection runs once (dlib HOG, FAN landmarks when their weights exist; see inference.face) and
the result is stored as a uint8 memmap of 256x256 crops, a float32 memmap of landmarks in
crop-normalised coordinates and a ``meta.csv`` that lists the cached rows. Photos without a face
are dropped and listed in ``dropped.csv``. The cache is written in a fixed order (infants first,
then a seeded shuffle) and flushed as it goes, so training can start on a partial cache and the
build can be resumed after an interruption.
"""

from __future__ import annotations

import csv
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference.face.crop import CROP_SCALE, crop_from_landmarks
from inference.face.detect import detect_faces
from inference.face.landmarks import default_landmark_detector
from training.data.sources import FaceRecord, read_dataset
from training.data.splits import assign_split, is_infant, write_splits
from training.errors import DataError
from training.privacy import check_data_folder

CROP_SIZE = 256
META_FIELDS = ["slot", "dataset", "key", "age", "gender", "race", "split", "infant", "detector"]


@dataclass(frozen=True)
class CacheInfo:
    folder: Path
    total: int
    cached: int
    dropped: int
    complete: bool


def _ordered(records: list[FaceRecord], seed: int) -> list[FaceRecord]:
    infants = [r for r in records if is_infant(r)]
    others = [r for r in records if not is_infant(r)]
    random.Random(seed).shuffle(others)
    return infants + others


def _read_rgb(path: Path) -> np.ndarray | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def crop_face(rgb: np.ndarray, allow_cnn_fallback: bool = False, size: int = CROP_SIZE
              ) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(crop uint8, landmarks_norm (68, 2), detector name) for the largest face, or None if none is found."""
    boxes = detect_faces(rgb, allow_cnn_fallback=allow_cnn_fallback)
    if not boxes:
        return None
    detector = default_landmark_detector()
    landmarks = detector(rgb, boxes[0])
    crop = crop_from_landmarks(landmarks)
    image = crop.extract(rgb, size)
    norm = crop.to_crop(landmarks, size) / size
    return image, norm.astype(np.float32), f"{boxes[0].detector}+{detector.name}"


def _done_slots(meta_path: Path, dropped_path: Path) -> set[int]:
    done: set[int] = set()
    for path in (meta_path, dropped_path):
        if path.is_file():
            with path.open(newline="") as f:
                done.update(int(row["slot"]) for row in csv.DictReader(f) if row.get("slot", "").isdigit())
    return done


def build_cache(kind: str, data_folder: Path, out: Path, seed: int = 0, limit: int | None = None,
                allow_cnn_fallback: bool = False, progress: bool = True) -> CacheInfo:
    """Crop and landmark every photo of a dataset into ``out`` (resumable)."""
    manifest = check_data_folder(data_folder)
    records = _ordered(read_dataset(kind, data_folder), seed)
    if limit is not None:
        records = records[:limit]
    out.mkdir(parents=True, exist_ok=True)
    n = len(records)
    write_splits(records, out / "splits.csv", seed)
    mode = "r+" if (out / "crops.u8").is_file() else "w+"
    crops = np.memmap(out / "crops.u8", np.uint8, mode, shape=(n, CROP_SIZE, CROP_SIZE, 3))
    lms = np.memmap(out / "landmarks.f32", np.float32, mode, shape=(n, 68, 2))
    meta_path, dropped_path = out / "meta.csv", out / "dropped.csv"
    done = _done_slots(meta_path, dropped_path)
    info = {"kind": kind, "data_folder": str(Path(data_folder).resolve()), "manifest": manifest.as_card(),
            "total": n, "seed": seed, "crop_size": CROP_SIZE, "crop_scale": CROP_SCALE,
            "landmarks": default_landmark_detector().name, "complete": False}
    (out / "info.json").write_text(json.dumps(info, indent=2))
    new_meta, new_dropped = not meta_path.is_file(), not dropped_path.is_file()
    from tqdm import tqdm

    with meta_path.open("a", newline="") as mf, dropped_path.open("a", newline="") as df:
        meta = csv.DictWriter(mf, META_FIELDS)
        dropped = csv.DictWriter(df, ["slot", "dataset", "key", "reason"])
        if new_meta:
            meta.writeheader()
        if new_dropped:
            dropped.writeheader()
        last_flush = time.monotonic()
        for slot, record in enumerate(tqdm(records, desc=f"cache {kind}", disable=not progress)):
            if slot in done:
                continue
            rgb = _read_rgb(record.path)
            result = None if rgb is None else crop_face(rgb, allow_cnn_fallback)
            if result is None:
                dropped.writerow({"slot": slot, "dataset": record.dataset, "key": record.key,
                                  "reason": "unreadable" if rgb is None else "no face"})
                continue
            crops[slot], lms[slot], detector = result
            meta.writerow({"slot": slot, "dataset": record.dataset, "key": record.key, "age": record.age,
                           "gender": record.gender, "race": record.race, "split": assign_split(record, seed),
                           "infant": int(is_infant(record)), "detector": detector})
            if time.monotonic() - last_flush > 20:
                crops.flush(), lms.flush(), mf.flush(), df.flush()
                last_flush = time.monotonic()
        crops.flush(), lms.flush()
    cached = len(_done_slots(meta_path, out / "__none__"))
    dropped_count = len(_done_slots(dropped_path, out / "__none__"))
    info.update(complete=True, cached=cached, dropped=dropped_count)
    (out / "info.json").write_text(json.dumps(info, indent=2))
    return CacheInfo(out, n, cached, dropped_count, True)


def cache_info(out: Path) -> dict:
    path = out / "info.json"
    if not path.is_file():
        raise DataError(f"{out} is not a face-crop cache (no info.json); build it with 'python -m training prepare'.")
    return json.loads(path.read_text())
