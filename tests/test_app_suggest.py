""""Suggest mask" offers both cleft-like mask families; each suggestion is one undo step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from app.settings import AppSettings  # noqa: E402
from app.windows.main_window import MainWindow  # noqa: E402
from app.windows.panels import SUGGEST_FAMILIES  # noqa: E402
from app_support import RecordingPrompts, face_photo  # noqa: E402
from inference.face.suggest import FAMILY_LABELS, suggest_mask  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 60000


@pytest.fixture
def window(qtbot, tmp_path: Path, utkface_paths: list[Path]) -> MainWindow:
    win = MainWindow(AppSettings(data_dir=tmp_path / "data"), prompts=RecordingPrompts(),
                     settings_path=tmp_path / "settings.json")
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitUntil(lambda: bool(win.state.models), timeout=WAIT_MS)
    path = tmp_path / "photo.png"
    Image.fromarray(face_photo(utkface_paths[0], 512)).save(path)
    win.prompts.texts.append("CL-042")
    win.open_photo_file(path)
    qtbot.waitUntil(lambda: win.state.face is not None and not win.tasks.busy, timeout=WAIT_MS)
    assert win.state.face.landmarks is not None
    return win


def test_menu_offers_both_families_and_each_is_one_undo_step(qtbot, window: MainWindow) -> None:
    panel = window.tool_panel
    assert panel.suggest.isEnabled() and panel.suggest.menu() is not None
    assert [a.text() for a in panel.suggest.menu().actions()] == [FAMILY_LABELS[f] for f in SUGGEST_FAMILIES]
    assert set(SUGGEST_FAMILIES) == {"mouth_nostril", "upper_lip_nostril"}
    landmarks, shape = window.state.face.landmarks, window.photo.rgb.shape[:2]
    stack = window.canvas.undo_stack
    assert window.canvas.layer.is_empty()

    with qtbot.waitSignal(panel.suggest_requested) as signal:
        panel.suggest_actions["mouth_nostril"].trigger()
    assert signal.args == ["mouth_nostril"]
    mouth = window.canvas.layer.to_bool()
    assert np.array_equal(mouth, suggest_mask(landmarks, shape, "mouth_nostril"))
    assert stack.count() == 1 and "mouth" in stack.undoText().lower()

    panel.suggest_actions["upper_lip_nostril"].trigger()
    upper = window.canvas.layer.to_bool()
    assert np.array_equal(upper, suggest_mask(landmarks, shape, "upper_lip_nostril"))
    assert stack.count() == 2 and upper.sum() < mouth.sum()

    stack.undo()
    assert np.array_equal(window.canvas.layer.to_bool(), mouth)
    stack.undo()
    assert window.canvas.layer.is_empty()


def test_edit_menu_shortcuts_suggest_the_upper_lip_and_the_whole_mouth(window: MainWindow) -> None:
    landmarks, shape = window.state.face.landmarks, window.photo.rgb.shape[:2]
    assert window.act_suggest.shortcut().toString() == "Ctrl+G"
    assert window.act_suggest.isEnabled() and window.act_suggest_mouth.isEnabled()
    window.act_suggest.trigger()
    assert np.array_equal(window.canvas.layer.to_bool(), suggest_mask(landmarks, shape, "upper_lip_nostril"))
    window.act_suggest_mouth.trigger()
    assert np.array_equal(window.canvas.layer.to_bool(), suggest_mask(landmarks, shape, "mouth_nostril"))
    window.masks.suggest_mask()  # the default, as the tests and benchmarks call it: the upper-lip family
    assert np.array_equal(window.canvas.layer.to_bool(), suggest_mask(landmarks, shape, "upper_lip_nostril"))
    assert window.canvas.undo_stack.count() == 3
