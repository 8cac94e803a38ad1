"""Case store: cases, atomic mask files, prediction records, clear errors."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from studies.cases import CaseStore
from studies.database import open_database
from studies.errors import CaseError, DatabaseWriteError, DuplicateCaseError, NotFoundError
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


def test_duplicate_pseudonym_is_refused_and_same_photo_is_flagged(store: CaseStore, photo: Path) -> None:
    first = store.create_case("CL-100", photo)
    with pytest.raises(DuplicateCaseError, match="'CL-100' already exists"):
        store.create_case(" cl-100 ", photo)                       # letter case and spaces do not matter
    other = store.create_case("CL-101", photo)
    assert other.same_photo_as == ("CL-100",)
    assert {c.pseudonym: c.same_photo_as for c in store.list_cases()} == {"CL-100": ("CL-101",),
                                                                        "CL-101": ("CL-100",)}
    with pytest.raises(DuplicateCaseError):
        store.update_case(other.id, pseudonym="CL-100")
    assert store.update_case(first.id, pseudonym="cl-100").pseudonym == "cl-100"   # its own name is fine
    assert len(store.list_cases()) == 2 and len(list((store.db.data_dir / "cases").iterdir())) == 2


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
    assert info2.file_path != info.file_path and info2.sha256 != info.sha256
    assert not info.file_path.exists()            # the old file goes once the new one is committed
    assert np.array_equal(store.load_mask(case.id), mask2)
    assert store.get_case(case.id).has_mask
    assert not list(info.file_path.parent.glob(".*part"))  # no temp files left behind
    assert sorted(p.name for p in info.file_path.parent.glob("mask*")) == [info2.file_path.name]


def _failing_commit(monkeypatch: pytest.MonkeyPatch, message: str = "database or disk is full") -> None:
    """The next commits fail as SQLite does on a full disk (a real OperationalError from sqlite3)."""
    def commit(self) -> None:
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError(message))

    monkeypatch.setattr(Session, "commit", commit)


def test_failed_commit_keeps_the_previous_mask_and_its_hash(store: CaseStore, photo: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    case = store.create_case("CL-1", photo)
    mask = np.zeros((60, 80), bool)
    mask[20:30, 10:50] = True
    info = store.save_mask(case.id, mask)
    folder = info.file_path.parent
    with monkeypatch.context() as patch:
        _failing_commit(patch)
        with pytest.raises(DatabaseWriteError, match="disk .* full"):
            store.save_mask(case.id, ~mask)
    again = store.mask_info(case.id)
    assert again.file_path == info.file_path and sha256_file(again.file_path) == again.sha256 == info.sha256
    assert np.array_equal(store.load_mask(case.id), mask)
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(("mask", ".mask"))) == [info.file_path.name]


def test_failed_commit_leaves_no_orphan_prediction_or_photo(store: CaseStore, photo: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    case = store.create_case("CL-1", photo)
    before = sorted(p for p in store.db.data_dir.rglob("*") if p.is_file())
    with monkeypatch.context() as patch:
        _failing_commit(patch)
        with pytest.raises(DatabaseWriteError):
            store.add_prediction(case.id, "opencv-telea", np.zeros((8, 8, 3), np.uint8), device="cpu",
                                 app_version="t")
        with pytest.raises(DatabaseWriteError):
            store.create_case("CL-2", photo)
    assert sorted(p for p in store.db.data_dir.rglob("*") if p.is_file()) == before
    assert store.list_predictions(case.id) == [] and len(store.list_cases()) == 1


def test_locked_database_is_a_typed_error_and_the_note_can_be_retried(store: CaseStore, photo: Path) -> None:
    """A second connection holds SQLite's exclusive lock: the edit fails typed, then succeeds."""
    case = store.create_case("CL-1", photo)
    store.db.engine.dispose()
    path = store.db.data_dir / "cleftlip.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    store.db.engine.pool.dispose()
    with _short_busy_timeout(store):
        with pytest.raises(DatabaseWriteError, match="busy"):
            store.update_case(case.id, notes="bilateral")
    holder.execute("ROLLBACK")
    holder.close()
    assert store.update_case(case.id, notes="bilateral").notes == "bilateral"


@contextmanager
def _short_busy_timeout(store: CaseStore):
    """Make the store's connections give up on a lock after 0.2 s instead of 30 s."""
    def pragma(dbapi_conn, _record) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    event.listen(store.db.engine, "connect", pragma)
    store.db.engine.dispose()
    try:
        yield
    finally:
        event.remove(store.db.engine, "connect", pragma)
        store.db.engine.dispose()


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


def test_predictions_remember_the_mask_they_were_made_with(store: CaseStore, photo: Path) -> None:
    from studies.cases import mask_fingerprint

    case = store.create_case("P-MASK", photo)
    mask = np.zeros((40, 60), bool)
    mask[10:20, 10:30] = True
    other = mask.copy()
    other[25, 50] = True
    assert mask_fingerprint(mask) == mask_fingerprint(mask.copy()) != mask_fingerprint(other)
    assert mask_fingerprint(mask) != mask_fingerprint(mask.T.copy().T.reshape(60, 40))  # shape counts
    with_mask = store.add_prediction(case.id, "m", np.zeros((8, 8, 3), np.uint8), device="cpu",
                                     app_version="0", mask_sha256=mask_fingerprint(mask))
    unknown = store.add_prediction(case.id, "m", np.zeros((8, 8, 3), np.uint8), device="cpu", app_version="0")
    listed = {p.id: p.mask_sha256 for p in store.list_predictions(case.id)}
    assert listed == {with_mask.id: mask_fingerprint(mask), unknown.id: None}


def test_steered_landmarks_round_trip_through_the_store(store: CaseStore, photo: Path) -> None:
    case = store.create_case("P-STEER", photo)
    own = np.random.default_rng(0).uniform(0, 50, (68, 2)).astype(np.float32)
    pred = store.add_prediction(case.id, "nclg-mt-lite", np.zeros((8, 8, 3), np.uint8), device="cpu",
                                app_version="0", landmarks=own)
    assert pred.guide_landmarks is None
    first_file = pred.image_path
    edited = own.copy()
    edited[51] += (3.25, -4.5)                                       # Cupid's bow centre dragged
    again = store.rerender_prediction(case.id, pred.id, np.full((8, 8, 3), 200, np.uint8),
                                      landmarks=own, guide_landmarks=edited)
    assert again.id == pred.id and again.image_path != first_file and not first_file.exists()
    [listed] = store.list_predictions(case.id)
    np.testing.assert_allclose(listed.guide_landmarks, edited, atol=1e-3)
    np.testing.assert_allclose(listed.landmarks, own, atol=1e-3)
    assert np.asarray(Image.open(listed.image_path))[0, 0, 0] == 200
    reset = store.rerender_prediction(case.id, pred.id, np.zeros((8, 8, 3), np.uint8), landmarks=own,
                                      guide_landmarks=None)
    assert reset.guide_landmarks is None and store.list_predictions(case.id)[0].guide_landmarks is None
    with pytest.raises(CaseError, match="68 finite"):
        store.rerender_prediction(case.id, pred.id, np.zeros((8, 8, 3), np.uint8), landmarks=own,
                                  guide_landmarks=np.full((68, 2), np.nan))
    assert store.list_predictions(case.id)[0].image_path == reset.image_path   # refused: nothing changed
    with pytest.raises(NotFoundError):
        store.rerender_prediction(case.id, pred.id + 99, np.zeros((8, 8, 3), np.uint8), landmarks=None,
                                  guide_landmarks=None)
    assert reset.weights_sha256 is None and reset.device == "cpu"          # not given: kept from the Run
    redrawn = store.rerender_prediction(case.id, pred.id, np.zeros((8, 8, 3), np.uint8), landmarks=own,
                                        guide_landmarks=edited, weights_sha256="ab" * 32, device="CPU (fp32)")
    assert (redrawn.weights_sha256, redrawn.device) == ("ab" * 32, "CPU (fp32)")   # what drew it now


def test_corrected_photo_landmarks_are_kept_with_the_case(store: CaseStore, photo: Path) -> None:
    case = store.create_case("P-LM", photo)
    assert case.landmarks is None
    corrected = np.random.default_rng(1).uniform(0, 50, (68, 2)).astype(np.float32)
    assert np.allclose(store.set_photo_landmarks(case.id, corrected).landmarks, corrected, atol=1e-3)
    np.testing.assert_allclose(store.get_case(case.id).landmarks, corrected, atol=1e-3)
    with pytest.raises(CaseError, match="68 finite"):
        store.set_photo_landmarks(case.id, corrected[:5])
    assert store.set_photo_landmarks(case.id, None).landmarks is None
    assert store.get_case(case.id).landmarks is None
