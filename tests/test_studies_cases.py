"""Case store: cases, atomic mask files, prediction records, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studies.cases import CaseStore
from studies.database import open_database
from studies.errors import CaseError, NotFoundError
from studies.files import sha256_file


@pytest.fixture()
def store(tmp_path: Path) -> CaseStore:
    db = open_database(tmp_path / "data")
    yield CaseStore(db)
    db.close()


@pytest.fixture()
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "IMG 0001.JPG"
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(path, format="JPEG")
    return path


def test_case_is_copied_into_the_data_folder(store: CaseStore, photo: Path) -> None:
    case = store.create_case("  CL-017 ", photo, notes="left unilateral")
    assert case.pseudonym == "CL-017" and not case.has_mask
    assert case.photo_path.is_relative_to(store.db.data_dir) and case.photo_path.suffix == ".jpg"
    assert sha256_file(case.photo_path) == case.photo_sha256 == sha256_file(photo)
    photo.unlink()  # the case no longer depends on the original file
    assert store.get_case(case.id).photo_path.is_file()
    store.create_case("CL-018", case.photo_path)
    assert [c.pseudonym for c in store.list_cases("cl-01")] == ["CL-018", "CL-017"]
    assert [c.pseudonym for c in store.list_cases("018")] == ["CL-018"]
    updated = store.update_case(case.id, notes="bilateral")
    assert updated.notes == "bilateral" and updated.updated_at >= case.updated_at


def test_mask_round_trip_and_replace(store: CaseStore, photo: Path) -> None:
    case = store.create_case("CL-1", photo)
    assert store.load_mask(case.id) is None
    mask = np.zeros((60, 80), bool)
    mask[20:30, 10:50] = True
    info = store.save_mask(case.id, mask)
    assert np.array_equal(store.load_mask(case.id), mask)
    assert np.asarray(Image.open(info.file_path)).max() == 255  # white = hole convention
    mask2 = np.zeros_like(mask)
    mask2[0:5, 0:5] = True
    info2 = store.save_mask(case.id, mask2)
    assert info2.file_path == info.file_path and info2.sha256 != info.sha256
    assert np.array_equal(store.load_mask(case.id), mask2)
    assert store.get_case(case.id).has_mask
    assert not list(info.file_path.parent.glob(".*tmp"))  # no temp files left behind


def test_predictions_are_recorded(store: CaseStore, photo: Path) -> None:
    case = store.create_case("CL-2", photo)
    lm = np.random.default_rng(0).uniform(0, 255, (68, 2)).astype(np.float32)
    pred = store.add_prediction(case.id, "nclg-mt", np.zeros((32, 32, 3), np.uint8), device="cpu",
                                app_version="0.1.0", weights_sha256="a" * 64, landmarks=lm)
    [again] = store.list_predictions(case.id)
    assert again.id == pred.id and again.model_name == "nclg-mt" and again.device == "cpu"
    assert np.allclose(again.landmarks, lm, atol=1e-3)
    assert sha256_file(again.image_path) == again.image_sha256


@pytest.mark.parametrize("bad", [np.zeros((4, 4), bool), np.ones((4, 4), np.uint8), np.ones((4, 4, 3), bool)])
def test_bad_masks_are_refused(store: CaseStore, photo: Path, bad: np.ndarray) -> None:
    case = store.create_case("CL-3", photo)
    with pytest.raises(CaseError):
        store.save_mask(case.id, bad)


def test_bad_input_gives_clear_errors(store: CaseStore, photo: Path, tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="pseudonym"):
        store.create_case("   ", photo)
    with pytest.raises(CaseError, match="not found"):
        store.create_case("X", tmp_path / "missing.jpg")
    with pytest.raises(NotFoundError):
        store.get_case(12345)
    case = store.create_case("CL-4", photo)
    with pytest.raises(CaseError, match="68"):
        store.add_prediction(case.id, "m", np.zeros((8, 8, 3), np.uint8), device="cpu", app_version="0",
                             landmarks=np.zeros((5, 2)))


def test_cleared_mask_is_forgotten(store: CaseStore, photo: Path) -> None:
    case = store.create_case("CL-5", photo)
    mask = np.zeros((60, 80), bool)
    mask[5:9, 5:9] = True
    info = store.save_mask(case.id, mask)
    store.clear_mask(case.id)
    assert store.load_mask(case.id) is None and not info.file_path.exists()
    assert not store.get_case(case.id).has_mask
    store.clear_mask(case.id)  # clearing twice is harmless


def test_manual_face_box_is_remembered(store: CaseStore, photo: Path) -> None:
    case = store.create_case("CL-6", photo)
    assert case.face_box is None
    store.set_face_box(case.id, (10, 5.5, 70, 55))
    assert store.get_case(case.id).face_box == (10, 5.5, 70, 55)
    with pytest.raises(CaseError, match="positive"):
        store.set_face_box(case.id, (10, 10, 5, 20))
    assert store.set_face_box(case.id, None).face_box is None


def test_clinical_predictions_are_stored_compressed(store: CaseStore, photo: Path) -> None:
    case = store.create_case("CL-7", photo)
    image = np.full((400, 600, 3), 128, np.uint8)
    pred = store.add_prediction(case.id, "opencv-telea", image, device="CPU", app_version="t")
    assert pred.image_path.stat().st_size < image.nbytes / 20
    assert np.array_equal(np.asarray(Image.open(pred.image_path)), image)
