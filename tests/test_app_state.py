"""Pure state, settings file, and panels following the state (and writing back) without loops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.settings import AppSettings, load_settings, save_settings
from app.state import MAX_BRUSH, AppState, ModelChoice, Tool


def test_setters_emit_once_per_real_change():
    state = AppState(brush_size=40)
    seen: list[int] = []
    state.brush_size_changed.connect(seen.append)
    state.set_brush_size(40)
    state.set_brush_size(41)
    state.set_brush_size(41)
    state.set_brush_size(10_000)
    assert seen == [41, MAX_BRUSH]
    state.set_brush_size(40)
    state.grow_brush(1.2)
    state.grow_brush(1 / 1.2)
    assert seen[-2:] == [48, 40]


def test_settings_round_trip_and_tolerate_bad_files(tmp_path: Path):
    path = tmp_path / "s.json"
    settings = AppSettings(data_dir=tmp_path / "d", device="cpu", clinic_name="Clinic", clinic_logo=tmp_path / "l.png",
                           overlay_opacity=0.3)
    save_settings(settings, path)
    assert load_settings(path) == settings
    path.write_text(json.dumps({"device": "quantum", "overlay_opacity": "x", "unknown": 1, "clinic_name": "A"}))
    loaded = load_settings(path)
    assert loaded.device == "auto" and loaded.clinic_name == "A" and loaded.overlay_opacity == 0.5
    path.write_text("{broken")
    assert load_settings(path) == AppSettings()


@pytest.mark.gui
def test_panels_follow_state_and_write_back(qtbot):
    pytest.importorskip("pytestqt")
    from app.windows.panels import ModelPanel, ToolPanel

    state = AppState()
    tools, models = ToolPanel(state), ModelPanel(state)
    qtbot.addWidget(tools)
    qtbot.addWidget(models)
    assert not tools.isEnabled() and not models.run_all.isEnabled()  # nothing to paint or run yet
    state.set_case(object())
    assert tools.isEnabled()
    state.set_tool(Tool.LASSO)
    assert tools.tool_buttons[Tool.LASSO].isChecked()
    tools.tool_buttons[Tool.ERASER].click()
    assert state.tool == Tool.ERASER
    tools.size_spin.setValue(77)
    assert state.brush_size == 77
    state.set_overlay_opacity(0.2)
    assert tools.opacity.value() == 20
    state.set_models([ModelChoice("a", "Model A", True, "ok", False, "desc a"),
                      ModelChoice("b", "Model B", False, "No trained weights: put ...", True, "desc b")])
    assert models.picker.count() == 2
    assert not models.picker.model().item(1).isEnabled()
    assert "No trained weights" in models.picker.itemData(1, 3)
    models.picker.setCurrentIndex(0)
    assert state.selected_model == "a"
    assert models.run_one.isEnabled() and models.run_all.isEnabled() and not models.cancel.isEnabled()
    state.set_busy(True)
    assert models.cancel.isEnabled() and not models.run_one.isEnabled()


def test_predictions_with_landmarks_keep_the_current_one():
    import numpy as np

    from app.state import PredictionView

    def view(i: int) -> PredictionView:
        return PredictionView(i, "m", "M", Path(f"/x/{i}.png"), "CPU", None, "1", "now", np.zeros((68, 2), np.float32))

    state = AppState()
    current: list = []
    state.current_prediction_changed.connect(current.append)
    a, b = view(1), view(2)
    state.set_predictions([a, b])
    assert state.current_prediction is b
    state.set_current_prediction(a)
    state.set_predictions([a, b, view(3)])
    assert state.current_prediction is a  # still listed, so it stays selected
    state.set_predictions([])
    assert state.current_prediction is None and current[-1] is None


def test_photo_mask_face_and_case_emit_only_on_a_real_change():
    """The state owns the photo, the mask and the face: equal values set again emit nothing."""
    import numpy as np

    from app.state import FaceInfo
    from inference.io.mask_codec import mask_sha256

    state = AppState()
    seen: dict[str, list] = {"photo": [], "mask": [], "fingerprint": [], "face": [], "case": []}
    state.photo_changed.connect(seen["photo"].append)
    state.mask_changed.connect(seen["mask"].append)
    state.mask_fingerprint_changed.connect(seen["fingerprint"].append)
    state.face_changed.connect(seen["face"].append)
    state.case_changed.connect(seen["case"].append)
    photo = object()
    state.set_photo(photo)
    state.set_photo(photo)
    assert seen["photo"] == [photo]
    empty = np.zeros((20, 30), bool)
    state.set_mask(empty)
    state.set_mask(empty.copy())                       # same pixels: nothing
    assert len(seen["mask"]) == 1 and seen["fingerprint"] == []  # an empty mask has no fingerprint
    painted = empty.copy()
    painted[5:9, 5:9] = True
    state.set_mask(painted)
    assert len(seen["mask"]) == 2 and seen["fingerprint"] == [mask_sha256(painted)]
    assert not state.mask.flags.writeable             # a snapshot: nobody changes it behind the state's back
    painted[0, 0] = True                               # the caller's array is not the state's
    assert state.mask_fingerprint != mask_sha256(painted)
    state.set_mask(np.zeros((30, 20), bool))           # empty again, but another size: a change
    assert len(seen["mask"]) == 3 and seen["fingerprint"][-1] is None
    state.set_mask(None)
    state.set_mask(None)
    assert len(seen["mask"]) == 4 and state.mask is None
    lm = np.zeros((68, 2), np.float32)
    analysis = object()
    state.set_face(FaceInfo((1, 2, 3, 4), lm, False, analysis))
    state.set_face(FaceInfo((1, 2, 3, 4), lm.copy(), False, analysis))  # same content: nothing
    state.set_face(FaceInfo((1, 2, 3, 5), lm, False, analysis))
    assert len(seen["face"]) == 2

    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Case:
        id: int
        notes: str
        landmarks: np.ndarray | None

    state.set_case(Case(1, "", np.ones((68, 2))))
    state.set_case(Case(1, "", np.ones((68, 2))))     # an equal record (arrays compared by content)
    state.set_case(Case(1, "notes", np.ones((68, 2))))
    assert [c.notes for c in seen["case"]] == ["", "notes"]
