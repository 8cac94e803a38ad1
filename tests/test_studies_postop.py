"""The post-operative photo of a case (issue 14): copied beside the pre-op photo with its landmarks,
hash-checked on reading, replaced and removed without orphans, gone with the case, hidden from raters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from studies.cases import CaseStore
from studies.database import open_database
from studies.errors import CaseError, DatabaseWriteError, IntegrityError
from studies.files import sha256_file
from studies.postop import PostopStore
from studies.schema import Case

LANDMARKS = np.random.default_rng(3).uniform(10, 70, (68, 2)).astype(np.float32)


@pytest.fixture()
def stores(tmp_path: Path):
    db = open_database(tmp_path / "data")
    yield CaseStore(db), PostopStore(db)
    db.close()


def photo(tmp_path: Path, name: str, grey: int) -> Path:
    path = tmp_path / name
    Image.fromarray(np.full((60, 80, 3), grey, np.uint8)).save(path)
    return path


def files(data_dir: Path) -> list[str]:
    return sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*") if p.is_file()
                  and p.parent.name != "data" and not p.name.startswith("cleftlip"))


def test_postop_photo_round_trip_replace_and_remove(stores, tmp_path: Path) -> None:
    cases, postop = stores
    case = cases.create_case("CL-1", photo(tmp_path, "pre.png", 90))
    assert postop.postop_photo(case.id) is None
    source = photo(tmp_path, "after repair.PNG", 120)
    info = postop.add_postop_photo(case.id, source, LANDMARKS)
    assert info.photo_path.parent == case.photo_path.parent and info.photo_path.name.startswith("postop-")
    assert info.photo_path.suffix == ".png" and sha256_file(info.photo_path) == info.photo_sha256
    assert np.allclose(info.landmarks, LANDMARKS, atol=1e-3) and info.landmarks.dtype == np.float32
    source.unlink()  # the case no longer depends on the original file
    again = postop.postop_photo(case.id)
    assert again.photo_path == info.photo_path and np.array_equal(again.landmarks, info.landmarks)
    assert postop.load_postop_rgb(again)[0, 0].tolist() == [120, 120, 120]
    assert cases.get_case(case.id).photo_sha256 != info.photo_sha256  # the pre-op photo is untouched

    moved = LANDMARKS + 1.5
    assert np.allclose(postop.set_postop_landmarks(case.id, moved).landmarks, moved, atol=1e-3)

    second = postop.add_postop_photo(case.id, photo(tmp_path, "later.jpg", 200), LANDMARKS)
    assert second.photo_path != info.photo_path and not info.photo_path.exists()  # old file gone after commit
    assert [n for n in files(cases.db.data_dir) if "postop" in n] == [second.photo_path.relative_to(
        cases.db.data_dir).as_posix()]
    postop.remove_postop_photo(case.id)
    assert postop.postop_photo(case.id) is None and not second.photo_path.exists()
    postop.remove_postop_photo(case.id)  # nothing to remove: no error


def test_refusals(stores, tmp_path: Path) -> None:
    cases, postop = stores
    pre = photo(tmp_path, "pre.png", 90)
    case = cases.create_case("CL-1", pre)
    with pytest.raises(CaseError, match="pre-operative photo itself"):
        postop.add_postop_photo(case.id, pre, LANDMARKS)
    with pytest.raises(CaseError, match="not found"):
        postop.add_postop_photo(case.id, tmp_path / "missing.jpg", LANDMARKS)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(CaseError, match="empty"):
        postop.add_postop_photo(case.id, empty, LANDMARKS)
    after = photo(tmp_path, "after.png", 150)
    with pytest.raises(CaseError, match="68 landmarks"):
        postop.add_postop_photo(case.id, after, None)
    with pytest.raises(CaseError, match="68 finite"):
        postop.add_postop_photo(case.id, after, LANDMARKS[:20])
    with pytest.raises(CaseError, match="no post-operative photo"):
        postop.set_postop_landmarks(case.id, LANDMARKS)
    assert not [n for n in files(cases.db.data_dir) if "postop" in n]


def test_changed_or_missing_file_is_refused_on_reading(stores, tmp_path: Path) -> None:
    cases, postop = stores
    case = cases.create_case("CL-1", photo(tmp_path, "pre.png", 90))
    info = postop.add_postop_photo(case.id, photo(tmp_path, "after.png", 150), LANDMARKS)
    Image.fromarray(np.zeros((60, 80, 3), np.uint8)).save(info.photo_path, format="PNG")
    with pytest.raises(IntegrityError, match="changed"):
        postop.load_postop_rgb(info)
    info.photo_path.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        postop.load_postop_rgb(info)


def test_failed_commit_keeps_the_previous_photo_and_leaves_no_orphan(stores, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    cases, postop = stores
    case = cases.create_case("CL-1", photo(tmp_path, "pre.png", 90))
    info = postop.add_postop_photo(case.id, photo(tmp_path, "after.png", 150), LANDMARKS)
    before = files(cases.db.data_dir)

    def commit(self) -> None:
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))

    with monkeypatch.context() as patch:
        patch.setattr(Session, "commit", commit)
        with pytest.raises(DatabaseWriteError):
            postop.add_postop_photo(case.id, photo(tmp_path, "other.png", 30), LANDMARKS)
    assert files(cases.db.data_dir) == before
    kept = postop.postop_photo(case.id)
    assert kept.photo_path == info.photo_path and sha256_file(kept.photo_path) == kept.photo_sha256


def test_deleting_the_case_removes_the_postop_photo_and_raters_cannot_read_it(stores, tmp_path: Path) -> None:
    cases, postop = stores
    case = cases.create_case("CL-1", photo(tmp_path, "pre.png", 90))
    info = postop.add_postop_photo(case.id, photo(tmp_path, "after.png", 150), LANDMARKS)
    with cases.db.rater_session_factory() as session, pytest.raises(SADatabaseError, match="prohibited"):
        session.execute(select(Case.postop_photo_path)).all()
    cases.delete_case(case.id)
    assert not info.photo_path.exists() and not info.photo_path.parent.exists()


def test_migration_0007_adds_the_columns_in_place_and_goes_back(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from studies.database import MIGRATIONS_DIR, head_revision

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_heads() == [head_revision()]  # one head
    assert ScriptDirectory.from_config(cfg).get_revision("0007").down_revision == "0006"
    open_database(tmp_path).close()
    path = tmp_path / "cleftlip.sqlite3"
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")

    def columns_and_index() -> tuple[set[str], bool]:
        with sqlite3.connect(path) as conn:
            cols = {r[1] for r in conn.execute("PRAGMA table_info(cases)")}
            index = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'uq_cases_pseudonym_lower'").fetchone()
        return cols, index is not None

    cols, index = columns_and_index()
    assert {"postop_photo_path", "postop_photo_sha256", "postop_landmarks_json", "postop_added_at"} <= cols and index
    command.downgrade(cfg, "0006")
    cols, index = columns_and_index()
    assert not any(c.startswith("postop_") for c in cols) and index  # the expression index is made again
    open_database(tmp_path).close()  # and the app upgrades it once more
    assert columns_and_index()[0] >= {"postop_photo_path"}
