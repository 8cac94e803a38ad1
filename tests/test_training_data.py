"""Dataset readers, fixed splits and the face-crop cache (same crop as inference)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from test_training_support import mini_faces
from training.data.sources import FaceRecord, parse_utkface_name, read_celeba, read_folder
from training.data.splits import assign_split
from training.errors import DataError, PrivacyError


def test_utkface_name_gives_age_gender_race() -> None:
    assert parse_utkface_name("2_1_3_20161219.jpg.chip.jpg") == (2, 1, 3)
    assert parse_utkface_name("not_a_face.jpg") is None


def test_celeba_official_layout(tmp_path: Path) -> None:
    import cv2

    images = tmp_path / "img_align_celeba"
    images.mkdir()
    for i in (1, 2, 3):
        cv2.imwrite(str(images / f"{i:06d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n")
    records = read_celeba(tmp_path)
    assert [r.official_split for r in records] == ["train", "val", "test"]
    assert [assign_split(r) for r in records] == ["train", "val", "test"]
    flat = read_folder(images)
    assert len(flat) == 3 and flat[0].age is None


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no photos"):
        read_folder(tmp_path)


def test_splits_are_seeded_and_infants_get_a_test_share() -> None:
    adults = [FaceRecord("utkface", f"30_0_0_{i}.jpg", Path("x"), age=30) for i in range(4000)]
    infants = [FaceRecord("utkface", f"1_0_0_{i}.jpg", Path("x"), age=1) for i in range(2000)]
    a = [assign_split(r, 0) for r in adults]
    assert a == [assign_split(r, 0) for r in adults]
    assert a != [assign_split(r, 1) for r in adults]
    assert 0.03 < a.count("test") / len(a) < 0.07
    b = [assign_split(r, 0) for r in infants]
    assert 0.12 < b.count("test") / len(b) < 0.18


def test_cache_crops_like_inference_and_refuses_unlisted(tmp_path: Path) -> None:
    import cv2

    from inference.face.crop import crop_from_landmarks
    from inference.face.detect import detect_faces
    from inference.face.landmarks import default_landmark_detector
    from training.data.cache import build_cache
    from training.data.dataset import FaceCropSet

    faces = mini_faces(tmp_path / "faces", adults=2, infants=2)
    blank = faces / "0_0_0_blank.jpg.chip.jpg"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))  # no face: dropped and counted
    info = build_cache("utkface", faces, tmp_path / "cache", progress=False)
    assert info.cached + info.dropped == 5 and info.cached >= 3
    with (tmp_path / "cache" / "dropped.csv").open() as f:
        assert blank.name in [r["key"] for r in csv.DictReader(f)]
    meta = json.loads((tmp_path / "cache" / "info.json").read_text())
    assert meta["complete"] and meta["manifest"]["terms"]

    data = FaceCropSet(tmp_path / "cache")
    row = data.rows[0]
    rgb = cv2.cvtColor(cv2.imread(str(faces / row.key)), cv2.COLOR_BGR2RGB)
    lm = default_landmark_detector()(rgb, detect_faces(rgb, allow_cnn_fallback=False)[0])
    crop = crop_from_landmarks(lm)
    image, lm_norm = data.get(0)
    assert np.array_equal(image, crop.extract(rgb, 256))
    assert np.allclose(lm_norm, crop.to_crop(lm, 256) / 256, atol=1e-5)
    assert all(r.infant == (r.age is not None and r.age <= 3) for r in data.rows)
    assert len(data) == info.cached

    # resuming a complete cache does no work and keeps the counts
    assert build_cache("utkface", faces, tmp_path / "cache", progress=False).cached == info.cached

    (faces / "MANIFEST.json").unlink()
    with pytest.raises(PrivacyError):
        build_cache("utkface", faces, tmp_path / "cache2", progress=False)


def test_flip_keeps_landmarks_on_the_mirrored_face(tmp_path: Path) -> None:
    from training.data.dataset import FLIP_PERMUTATION

    assert sorted(FLIP_PERMUTATION.tolist()) == list(range(68))
    assert np.array_equal(FLIP_PERMUTATION[FLIP_PERMUTATION], np.arange(68))
    assert FLIP_PERMUTATION[36] == 45 and FLIP_PERMUTATION[48] == 54 and FLIP_PERMUTATION[8] == 8
