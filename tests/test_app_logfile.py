"""The log file: in the data folder, rotated, free of patient paths, and named by error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from app.logfile import current_log_file, log_path, redact, setup_logging  # noqa: E402
from app.workers import describe_error  # noqa: E402
from studies.errors import DatabaseWriteError  # noqa: E402


@pytest.fixture
def file_log(tmp_path: Path):
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    path = setup_logging(tmp_path / "data")
    yield path
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def test_log_file_is_written_in_the_data_folder_without_patient_paths(file_log: Path, tmp_path: Path) -> None:
    assert file_log == log_path(tmp_path / "data") == current_log_file()
    log = logging.getLogger("app.test")
    try:
        raise ValueError(f"cannot open {tmp_path}/patients/Doe_Jane_2024.jpg")
    except ValueError:
        log.exception("Background task failed")
    log.error("photo C:\\Clinic\\Smith John.dcm failed; also Smith_John.JPG")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = file_log.read_text(encoding="utf-8")
    assert "Background task failed" in text and "Traceback" in text and "ValueError" in text
    assert "Doe_Jane" not in text and "Smith" not in text and "patients" not in text
    assert "<path>" in text


def test_log_file_rotates(file_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_cleftlip", False))
    monkeypatch.setattr(handler, "maxBytes", 2000)
    for i in range(100):
        logging.getLogger("app.test").info("line %d of a long enough message to fill the file", i)
    names = sorted(p.name for p in file_log.parent.iterdir())
    assert names[:2] == ["cleftlip.log", "cleftlip.log.1"] and len(names) <= 4   # at most 3 old files kept


def test_error_messages_point_to_the_log_file(file_log: Path) -> None:
    assert str(file_log) in describe_error(RuntimeError("boom"))
    assert str(file_log) in describe_error(DatabaseWriteError("The database is busy."))


def test_unwritable_data_folder_logs_to_the_console_only(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        assert setup_logging(blocker) is None and current_log_file() is None
        assert "console" in describe_error(RuntimeError("boom"))
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)


def test_redact_keeps_only_code_paths() -> None:
    line = 'File "/opt/app/inference/io/photo.py", line 3; opened /home/dr/Pat Doe/IMG 1.jpg and x.dcm'
    assert redact(line, ("/opt/app/inference",)) == ('File "/opt/app/inference/io/photo.py", line 3; opened '
                                                   '<path> <file> and <file>')
