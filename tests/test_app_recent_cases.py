"""File > Open recent and reopening the last case at start (issue 13): the settings keep case ids only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from app.settings import RECENT_CASES, AppSettings, load_settings, save_settings  # noqa: E402
from app.windows.main_window import MainWindow  # noqa: E402
from app_support import RecordingPrompts, face_photo  # noqa: E402

WAIT_MS = 60000


def test_recent_cases_are_ids_newest_first_and_capped() -> None:
    s = AppSettings(data_dir=Path("/tmp/x"))
    assert s.recent_cases == () and s.reopen_last_case
    for i in range(1, 12):
        s = s.with_recent_case(i)
    s = s.with_recent_case(5)
    assert s.recent_cases == (5, 11, 10, 9, 8, 7, 6, 4) and len(s.recent_cases) == RECENT_CASES
    assert s.without_recent_case(11).recent_cases == (5, 10, 9, 8, 7, 6, 4)


def test_recent_cases_round_trip_and_bad_values_dropped(tmp_path: Path) -> None:
    path = save_settings(AppSettings(data_dir=tmp_path, recent_cases=(3, 1), reopen_last_case=False),
                         tmp_path / "settings.json")
    data = json.loads(path.read_text())
    assert data["recent_cases"] == [3, 1] and data["reopen_last_case"] is False
    loaded = load_settings(path)
    assert loaded.recent_cases == (3, 1) and not loaded.reopen_last_case
    data.update(recent_cases=[2, "CL-001", True, 2, -1, 4], reopen_last_case="yes")
    path.write_text(json.dumps(data))
    loaded = load_settings(path)
    assert loaded.recent_cases == (2, 4) and loaded.reopen_last_case  # names never kept; bad flag -> default
    data["recent_cases"] = "CL-001"
    path.write_text(json.dumps(data))
    assert load_settings(path).recent_cases == ()


def _window(qtbot, settings: AppSettings, settings_path: Path) -> MainWindow:
    window = MainWindow(settings, prompts=RecordingPrompts(), settings_path=settings_path, probe=False)
    qtbot.addWidget(window)
    return window


def test_open_recent_menu_and_reopen_at_start(qtbot, tmp_path: Path, utkface_paths) -> None:
    photo = tmp_path / "face.png"
    Image.fromarray(face_photo(utkface_paths[0], 320)).save(photo)
    settings_path = tmp_path / "settings.json"
    window = _window(qtbot, AppSettings(data_dir=tmp_path / "data"), settings_path)
    ids = [window.store.create_case(name, photo).id for name in ("CL-001", "CL-002", "CL-003")]
    assert not window.recent_menu.isEnabled()  # nothing opened yet
    for case_id in (ids[0], ids[2]):
        window.open_case(case_id)
        qtbot.waitUntil(lambda i=case_id: window.state.case is not None and window.state.case.id == i,
                        timeout=WAIT_MS)
    assert window.settings.recent_cases == (ids[2], ids[0]) and window.recent_menu.isEnabled()
    window._fill_recent_menu()
    labels = [a.text() for a in window.recent_menu.actions()]
    assert labels == [f"CL-003  (case {ids[2]})", f"CL-001  (case {ids[0]})"]
    text = settings_path.read_text()
    assert json.loads(text)["recent_cases"] == [ids[2], ids[0]] and "CL-00" not in text  # ids, never names
    window.recent_menu.actions()[1].trigger()
    qtbot.waitUntil(lambda: window.state.case.id == ids[0], timeout=WAIT_MS)
    assert window.settings.recent_cases == (ids[0], ids[2])
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    window.close()

    # the next start: the last case opens again (a deleted case is skipped)
    again = _window(qtbot, load_settings(settings_path), settings_path)
    assert again.recent_menu.isEnabled()  # filled at start, from the database's names
    again.store.delete_case(ids[0])
    assert again.recent_cases() == [(ids[2], "CL-003")]
    assert again.reopen_last_case()
    qtbot.waitUntil(lambda: again.state.case is not None and again.state.case.id == ids[2], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not again.tasks.busy, timeout=WAIT_MS)
    again.close()

    off = _window(qtbot, load_settings(settings_path).with_changes(reopen_last_case=False), settings_path)
    assert not off.reopen_last_case() and off.state.case is None
    off.close()
