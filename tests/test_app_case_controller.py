"""The Qt-free case controller: opening and closing a case, the mask's bookkeeping, run requests.

No QApplication here: the controller and the state it drives import no Qt (also an import-linter
contract), so the case logic is tested on its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from app.case_controller import CaseController, Refusal
from app.state import AppState, FaceInfo, ModelChoice
from inference.io.mask_codec import mask_sha256
from studies.cases import CaseStore
from studies.database import open_database
from studies.prediction_store import PredictionPatch


@pytest.fixture
def controller(tmp_path: Path):
    db = open_database(tmp_path / "data")
    state = AppState()
    state.set_models([ModelChoice("opencv-telea", "OpenCV Telea", True, "", False, "")])
    yield CaseController(state, CaseStore(db), pipeline=SimpleNamespace())
    db.close()


def _photo(tmp_path: Path) -> Path:
    rgb = np.random.default_rng(0).integers(0, 256, (60, 80, 3), np.uint8)
    path = tmp_path / "p.png"
    Image.fromarray(rgb).save(path)
    return path


def test_the_controller_and_the_state_import_no_qt() -> None:
    code = ("import sys, app.case_controller, app.state, app.environment; "
            "print(sorted(m for m in sys.modules if m.startswith('PySide6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]"


def test_open_run_requests_and_predictions(controller: CaseController, tmp_path: Path) -> None:
    state = controller.state
    case = controller.create_case("CC-1", _photo(tmp_path))
    mask = np.zeros((60, 80), bool)
    mask[20:30, 30:50] = True
    controller.store.save_mask(case.id, mask)
    opened = controller.load_case(case.id)
    token = controller.token
    controller.show(opened)
    assert controller.token == token + 1 and state.case.id == case.id and state.photo is opened.photo
    assert np.array_equal(state.mask, mask) and state.mask_fingerprint == mask_sha256(mask)
    with pytest.raises(Refusal, match="face"):                          # no face yet
        controller.plan_run(["opencv-telea"])
    state.set_face(FaceInfo((0, 0, 80, 60), None, True, SimpleNamespace()))
    plan = controller.plan_run(["opencv-telea"])
    request = controller.run_request(plan, "cpu", "1.0")
    assert request.model_names == ("opencv-telea",) and request.mask is state.mask and request.case_id == case.id
    # A stored prediction of this mask: Run all leaves that model out.
    patch = PredictionPatch(np.zeros((10, 20, 3), np.uint8), (30, 20, 50, 30), (80, 60))
    record = controller.store.add_prediction(case.id, "opencv-telea", patch, device="CPU", app_version="1",
                                             mask=state.mask)
    assert controller.add_result(record) and state.current_prediction.stored == record
    assert state.current_prediction.display_name == "OpenCV Telea"
    assert controller.plan_run(["opencv-telea"], reuse=True).names == ()
    # An edited mask makes it out of date; clearing the mask refuses the run.
    edited = mask.copy()
    edited[0, 0] = True
    controller.mask_edited(edited)
    assert controller.plan_run(["opencv-telea"], reuse=True).names == ("opencv-telea",)
    controller.mask_edited(np.zeros_like(mask))
    with pytest.raises(Refusal, match="Paint the area"):
        controller.plan_run(["opencv-telea"])
    # A result of another case is not shown over this one.
    assert not controller.add_result(SimpleNamespace(case_id=case.id + 1))
    controller.close()
    assert state.case is None and state.photo is None and state.mask is None and state.predictions == []
    with pytest.raises(Refusal, match="Open a patient photo"):
        controller.plan_run(["opencv-telea"])


def test_notes_are_saved_once_and_refusal_without_a_store(controller: CaseController, tmp_path: Path) -> None:
    case = controller.create_case("CC-2", _photo(tmp_path))
    controller.show(controller.load_case(case.id))
    changes: list = []
    controller.state.case_changed.connect(changes.append)
    controller.save_notes("cleft on the left")
    controller.save_notes("cleft on the left")  # unchanged: not stored again, no signal
    assert [c.notes for c in changes] == ["cleft on the left"]
    assert controller.store.get_case(case.id).notes == "cleft on the left"
    with pytest.raises(Refusal, match="data folder"):
        CaseController(AppState()).create_case("X", tmp_path / "p.png")
