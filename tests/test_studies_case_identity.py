"""Case identity (issue 12, item 8): one case per pseudonym in the database itself (migration 0004
renames older duplicates), photo previews and dates for the case list, and deleting a case or a
prediction: refused for a case in a study, rows first, files after, through a crash-safe journal."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from PIL import Image
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from studies.cases import CaseStore
from studies.database import MIGRATIONS_DIR, open_database
from studies.deletion import JOURNAL_DIR
from studies.errors import CaseInUseError, DatabaseWriteError, NotFoundError
from studies.thumbnails import THUMBNAIL_SIZE, case_thumbnail, photo_date
from test_studies_support import build_open_study


@pytest.fixture()
def store(tmp_path: Path) -> CaseStore:
    db = open_database(tmp_path / "data")
    yield CaseStore(db)
    db.close()


def _photo(path: Path, size: tuple[int, int] = (80, 60), *, taken: str | None = None,
           orientation: int | None = None) -> Path:
    """A JPEG whose left half is dark and right half bright, with optional EXIF date/orientation."""
    rgb = np.full((size[1], size[0], 3), 40, np.uint8)
    rgb[:, size[0] // 2:] = 220
    exif = Image.Exif()
    if taken is not None:
        exif[306] = "2001:01:01 00:00:00"                  # DateTime (file changed): not the one shown
        exif.get_ifd(0x8769)[36867] = taken                # DateTimeOriginal: when it was taken
    if orientation is not None:
        exif[0x0112] = orientation
    Image.fromarray(rgb).save(path, format="JPEG", exif=exif)
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- unique pseudonym


def test_the_database_itself_refuses_a_second_case_with_one_pseudonym(store: CaseStore, tmp_path: Path) -> None:
    store.create_case("CL-200", _photo(tmp_path / "a.jpg"))
    with store.db.engine.connect() as conn:
        indexes = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'uq_cases_pseudonym_lower'")).all()
    assert len(indexes) == 1 and "UNIQUE" in indexes[0][0] and "lower(pseudonym)" in indexes[0][0]
    # even a writer that skips the app's check (another tool, a race) cannot add one
    with pytest.raises(Exception, match="UNIQUE"), store.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO cases (uid, pseudonym, created_at, updated_at, notes, photo_path, "
                          "photo_sha256) VALUES ('u2', 'cl-200', '2024-01-01', '2024-01-01', '', 'p', 'h')"))
    assert [c.pseudonym for c in store.list_cases()] == ["CL-200"]


def test_migration_renames_older_duplicates_instead_of_failing(tmp_path: Path) -> None:
    """A database of schema 0003 with duplicate pseudonyms upgrades: the oldest keeps the name."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "cleftlip.sqlite3"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    command.upgrade(cfg, "0003")
    rows = [(1, "u1", "CL-300", ""), (2, "u2", "cl-300", "second visit"), (3, "u3", "CL-301", ""),
            (4, "u4", "CL-300", ""), (5, "u5", "X" * 128, ""), (6, "u6", "x" * 128, "")]
    with sqlite3.connect(path) as conn:
        conn.executemany("INSERT INTO cases (id, uid, pseudonym, created_at, updated_at, notes, photo_path, "
                         "photo_sha256) VALUES (?, ?, ?, '2024-01-01', '2024-01-01', ?, 'p', 'h')", rows)
    db = open_database(data)
    try:
        with db.engine.connect() as conn:
            got = dict(conn.execute(text("SELECT id, pseudonym FROM cases")).all())
            notes = dict(conn.execute(text("SELECT id, notes FROM cases")).all())
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        db.close()
    assert got[1] == "CL-300" and got[3] == "CL-301" and got[5] == "X" * 128        # the oldest keep theirs
    assert got[2] == "cl-300 (duplicate 2)" and got[4] == "CL-300 (duplicate 4)"
    assert got[6] == "x" * 100 + " (duplicate 6)" and len(got[6]) <= 128
    assert notes[2].startswith("second visit | ") and '"cl-300"' in notes[2]      # nothing is lost
    assert notes[1] == "" and '"CL-300"' in notes[4]
    assert len({p.lower() for p in got.values()}) == len(got)
    assert list(data.glob("cleftlip.backup-0003-*.sqlite3"))                     # backed up first


# --------------------------------------------------------------------------- previews and dates


def test_thumbnail_is_small_upright_cached_and_dated(store: CaseStore, tmp_path: Path) -> None:
    # stored rotated (orientation 6: turn 90 degrees clockwise to view), as phones do
    case = store.create_case("CL-400", _photo(tmp_path / "a.jpg", (400, 200), taken="2024:05:03 10:11:12",
                                              orientation=6))
    thumb = case_thumbnail(case.photo_path, case.photo_sha256)
    assert thumb.path.parent == case.photo_path.parent and thumb.path.suffix == ".jpg"
    with Image.open(thumb.path) as img:
        assert img.format == "JPEG" and max(img.size) == THUMBNAIL_SIZE and img.height > img.width  # upright
        assert not img.getexif()                                                    # no metadata copied
        rgb = np.asarray(img.convert("RGB"))
    assert rgb[: THUMBNAIL_SIZE // 3].mean() < rgb[-THUMBNAIL_SIZE // 3:].mean()   # dark half on top after turning
    assert thumb.photo_taken is not None and thumb.photo_taken.isoformat() == "2024-05-03T10:11:12"
    mtime = thumb.path.stat().st_mtime_ns
    again = case_thumbnail(case.photo_path, case.photo_sha256)                    # from the cache
    assert again == thumb and thumb.path.stat().st_mtime_ns == mtime
    meta = json.loads(thumb.path.with_name("thumbnail.json").read_text())
    assert meta["photo_sha256"] == case.photo_sha256
    thumb.path.with_name("thumbnail.json").write_text("{half written")          # a broken cache is made again
    assert case_thumbnail(case.photo_path, case.photo_sha256).photo_taken == thumb.photo_taken


def test_photo_without_a_date_and_dicom_dates(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(plain)
    assert photo_date(plain) is None

    class Header(dict):
        pass

    dicom = Header(StudyDate="20230102", StudyTime="0930", ContentDate="20230405", ContentTime="101112.5")
    assert photo_date(plain, dicom).isoformat() == "2023-04-05T10:11:12"      # content before study date
    assert photo_date(plain, Header(StudyDate="bad")) is None


# --------------------------------------------------------------------------- deleting


def _case_with_everything(store: CaseStore, tmp_path: Path, name: str = "CL-500"):  # noqa: ANN202
    case = store.create_case(name, _photo(tmp_path / f"{name}.jpg"))
    mask = np.zeros((60, 80), bool)
    mask[20:30, 10:50] = True
    store.save_mask(case.id, mask)
    predictions = [store.add_prediction(case.id, model, np.full((60, 80, 3), v, np.uint8), device="cpu",
                                        app_version="t") for model, v in (("opencv-telea", 10), ("opencv-ns", 20))]
    case_thumbnail(case.photo_path, case.photo_sha256)
    return store.get_case(case.id), predictions


def test_deleting_a_case_removes_its_rows_and_every_file(store: CaseStore, tmp_path: Path) -> None:
    keep, _ = _case_with_everything(store, tmp_path, "CL-KEEP")
    case, predictions = _case_with_everything(store, tmp_path)
    folder = case.photo_path.parent
    assert store.studies_using(case.id) == ()
    store.delete_case(case.id)
    assert not folder.exists() and all(not p.image_path.exists() for p in predictions)
    with pytest.raises(NotFoundError):
        store.get_case(case.id)
    with store.db.engine.connect() as conn:
        for table in ("masks", "predictions"):
            assert conn.execute(text(f"SELECT count(*) FROM {table} WHERE case_id = {case.id}")).scalar() == 0
    assert [c.pseudonym for c in store.list_cases()] == ["CL-KEEP"] and keep.photo_path.is_file()
    assert len(store.list_predictions(keep.id)) == 2
    assert not list((store.db.data_dir / JOURNAL_DIR).glob("*"))          # the journal is empty again
    store.create_case("CL-500", _photo(tmp_path / "new.jpg"))               # the pseudonym is free again


def test_a_preview_made_while_its_case_is_deleted_leaves_nothing_behind(
        store: CaseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The case list makes previews on a worker thread; a case deleted meanwhile must disappear whole."""
    import shutil

    import studies.deletion as deletion
    from studies.errors import StudyError

    case = store.create_case("CL-600", _photo(tmp_path / "a.jpg"))
    folder = case.photo_path.parent
    real_rmtree, calls = shutil.rmtree, []

    def rmtree_while_a_preview_is_written(path, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(path)
        if len(calls) == 1:  # the preview's temporary file lands in the folder while it is emptied
            (Path(path) / ".thumbnail.jpg.0123.part").write_bytes(b"x")
            raise OSError(39, "Directory not empty")
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(deletion.shutil, "rmtree", rmtree_while_a_preview_is_written)
    store.delete_case(case.id)                      # tried again: no "could not be removed yet"
    assert len(calls) == 2 and not folder.exists()
    assert not list((store.db.data_dir / JOURNAL_DIR).glob("*"))

    # a preview whose photo was read before the case was deleted must not bring the folder back
    import studies.thumbnails as thumbnails

    late = store.create_case("CL-601", _photo(tmp_path / "b.jpg"))
    real_load = thumbnails.load_photo

    def load_then_case_deleted(path):  # noqa: ANN001, ANN202
        photo = real_load(path)
        store.delete_case(late.id)
        return photo

    monkeypatch.setattr(thumbnails, "load_photo", load_then_case_deleted)
    with pytest.raises(StudyError, match="does not exist"):
        case_thumbnail(late.photo_path, late.photo_sha256)
    assert not late.photo_path.parent.exists()


def test_deleting_a_prediction_removes_its_file_only(store: CaseStore, tmp_path: Path) -> None:
    case, (first, second) = _case_with_everything(store, tmp_path)
    store.delete_prediction(case.id, first.id)
    assert not first.image_path.exists() and second.image_path.is_file() and case.photo_path.is_file()
    assert [p.id for p in store.list_predictions(case.id)] == [second.id]
    assert store.get_case(case.id).has_mask
    with pytest.raises(NotFoundError):
        store.delete_prediction(case.id, first.id)


def test_a_case_in_a_study_cannot_be_deleted_and_the_message_names_the_study(tmp_path: Path) -> None:
    db, study_id, _ = build_open_study(tmp_path, n_cases=2, n_raters=1, models=("opencv-telea", "opencv-ns"))
    store = CaseStore(db)
    try:
        case = store.list_cases()[0]
        before = _files(db.data_dir)
        assert store.studies_using(case.id) == ("Lip study",)
        with pytest.raises(CaseInUseError, match="part of the study “Lip study”.*Nothing was deleted"):
            store.delete_case(case.id)
        assert _files(db.data_dir) == before and store.get_case(case.id).photo_path.is_file()
        # its predictions are not part of the study (a study makes its own outputs): they may go
        p = store.add_prediction(case.id, "opencv-telea", np.zeros((8, 8, 3), np.uint8), device="cpu",
                                 app_version="t")
        store.delete_prediction(case.id, p.id)
        assert not p.image_path.exists()
    finally:
        db.close()


def test_a_failed_commit_deletes_nothing(store: CaseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case, predictions = _case_with_everything(store, tmp_path)
    before = _files(store.db.data_dir)

    def commit(self) -> None:
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))

    with monkeypatch.context() as patch:
        patch.setattr(Session, "commit", commit)
        with pytest.raises(DatabaseWriteError, match="full"):
            store.delete_case(case.id)
        with pytest.raises(DatabaseWriteError, match="full"):
            store.delete_prediction(case.id, predictions[0].id)
    assert _files(store.db.data_dir) == before                  # every file, and no journal entry left
    assert len(store.list_predictions(case.id)) == 2 and store.get_case(case.id).has_mask


def test_a_deletion_stopped_after_its_commit_is_finished_later(store: CaseStore, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The app dies between the commit and the removal of the files: the journal finishes the job,
    and an entry left by a commit that never happened removes nothing."""
    case, _ = _case_with_everything(store, tmp_path)
    other, others = _case_with_everything(store, tmp_path, "CL-501")
    folder = case.photo_path.parent

    def die(*_args: object) -> None:
        raise KeyboardInterrupt  # stands in for the process being killed

    with monkeypatch.context() as patch:
        patch.setattr("studies.deletion._carry_out", die)
        with pytest.raises(KeyboardInterrupt):
            store.delete_case(case.id)
    with pytest.raises(NotFoundError):
        store.get_case(case.id)                               # committed...
    assert folder.is_dir()                                    # ...but its files are still there
    journal = store.db.data_dir / JOURNAL_DIR
    # an entry whose commit never happened (the rows are still there): must not remove anything
    (journal / "0000stale.json").write_text(json.dumps({"targets": [others[0].image_path.relative_to(
        store.db.data_dir).as_posix()]}))
    assert CaseStore(store.db).finish_deletions() == 2
    assert not folder.exists() and others[0].image_path.is_file() and other.photo_path.is_file()
    assert not list(journal.glob("*"))


def test_stored_paths_outside_the_data_folder_are_never_deleted(store: CaseStore, tmp_path: Path) -> None:
    outside = tmp_path / "precious.jpg"
    outside.write_bytes(b"x")
    journal = store.db.data_dir / JOURNAL_DIR
    journal.mkdir(parents=True, exist_ok=True)
    (journal / "evil.json").write_text(json.dumps({"targets": ["../precious.jpg"]}))
    assert store.finish_deletions() == 0                    # left alone (and logged), never carried out
    assert outside.is_file() and (journal / "evil.json").is_file()
