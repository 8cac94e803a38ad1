"""A real full disk (issue 12): the data folder lives on a small tmpfs that is filled to the last
byte; saving an answer, a case, a mask, a prediction and a note (or deleting a prediction) then fails with a typed error whose
message says the disk is full, nothing saved before is lost or changed, no half-written file is
left, the database passes SQLite's integrity check, and once space is freed the same answer saves.

Mounting needs root (CI runs as root); elsewhere, or where mount is refused (a container without
the capability), the test is skipped with the reason.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text
from test_studies_support import build_open_study

from studies.cases import CaseStore
from studies.errors import DatabaseWriteError, StudyError
from studies.files import sha256_file
from studies.rating import RaterSession

DISK_SIZE = "16m"


@pytest.fixture()
def small_disk(tmp_path: Path):
    """A fresh tmpfs of DISK_SIZE mounted in tmp_path; unmounted (lazily if still busy) afterwards."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; run the tests as root (as CI does) to include this one")
    mount, umount = shutil.which("mount"), shutil.which("umount")
    if mount is None or umount is None:
        pytest.skip("mount/umount are not installed here")
    point = tmp_path / "small-disk"
    point.mkdir()
    done = subprocess.run([mount, "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0755", "tmpfs", str(point)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {done.stderr.strip() or done.returncode}")
    try:
        yield point
    finally:
        if subprocess.run([umount, str(point)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run([umount, "-l", str(point)], capture_output=True, timeout=30)


def fill(folder: Path) -> Path:
    """Write a file until the disk has no byte left (large writes first, then down to single bytes)."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 8, 1):
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0
    return filler


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith("cleftlip.sqlite3")}


def test_full_disk_fails_typed_and_loses_nothing(small_disk: Path, tmp_path: Path) -> None:
    db, _study_id, raters = build_open_study(small_disk, n_cases=2, n_raters=1, models=("opencv-telea", "opencv-ns"))
    try:
        data = db.data_dir
        store = CaseStore(db)
        case = store.list_cases()[0]
        kept_prediction = store.add_prediction(case.id, "opencv-telea", np.full((40, 40, 3), 77, np.uint8),
                                               device="cpu", app_version="t")
        session = RaterSession(db, raters[0])
        item = session.next_item()
        first, second = item.outputs[0].label, item.outputs[1].label
        session.set_validity(item.position, first, True)                  # saved before the disk fills
        mask_before = store.load_mask(case.id)
        files_before = snapshot(data)
        case_folders_before = sorted((data / "cases").iterdir())
        n_cases = len(store.list_cases())
        with db.engine.connect() as conn:                                  # no spare room in the WAL file
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        photo = tmp_path / "new photo.png"
        Image.fromarray(np.full((50, 60, 3), 30, np.uint8)).save(photo)

        filler = fill(small_disk)

        failures: dict[str, StudyError] = {}
        attempts = {
            "answer": lambda: session.set_validity(item.position, second, False, "artifacts"),
            "note": lambda: store.update_case(case.id, notes="a note typed while the disk was full"),
            "case": lambda: store.create_case("NEW-1", photo),
            "mask": lambda: store.save_mask(case.id, ~mask_before),
            "prediction": lambda: store.add_prediction(case.id, "opencv-ns", np.full((40, 40, 3), 5, np.uint8),
                                                       device="cpu", app_version="t"),
            "deletion": lambda: store.delete_prediction(case.id, kept_prediction.id),
        }
        for what, attempt in attempts.items():
            with pytest.raises(StudyError) as caught:
                attempt()
            failures[what] = caught.value
        for what, exc in failures.items():
            message = str(exc)
            assert "full" in message.lower(), (what, message)             # says what is wrong...
            assert "INSERT" not in message and "UPDATE" not in message and "sqlite" not in message.lower()
        assert isinstance(failures["answer"], DatabaseWriteError) and "Nothing was saved" in str(failures["answer"])
        assert isinstance(failures["note"], DatabaseWriteError)

        filler.unlink()                                                   # space again

        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert snapshot(data) == files_before                              # no file changed, added or left half
        assert not list(data.rglob("*.part"))
        assert sorted((data / "cases").iterdir()) == case_folders_before   # the refused case left no folder
        assert len(store.list_cases()) == n_cases and store.get_case(case.id).notes == ""
        assert np.array_equal(store.load_mask(case.id), mask_before)
        info = store.mask_info(case.id)
        assert sha256_file(info.file_path) == info.sha256
        assert [p.id for p in store.list_predictions(case.id)] == [kept_prediction.id]
        again = session.item(item.position)
        assert again.outputs[0].valid is True and again.outputs[1].valid is None   # the old answer is there
        session.set_validity(item.position, second, False, "artifacts")          # and the retry now saves
        assert session.item(item.position).outputs[1].valid is False
    finally:
        db.close()
