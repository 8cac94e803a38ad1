"""Steering a prediction by its landmarks: the edit history, the drag handles, the controller's
renders (through ``PredictionService``, shown before they are stored, coalesced, failures put back), and
the whole path in the window with the shipped network (a store that fails after the picture is shown too)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402

from app.canvas.landmark_editor import EDITABLE_POINTS, LandmarkEdits, LandmarkHandles  # noqa: E402
from app.canvas.view import ImageViewer  # noqa: E402
from app.state import AppState, PredictionView  # noqa: E402
from app.windows.steering import SteerContext, SteeringBar, SteeringController  # noqa: E402
from inference.measures import mirror_healthy_side  # noqa: E402
from tests.test_measures import asymmetric_face, place  # noqa: E402

pytestmark = pytest.mark.gui
FACE = place(asymmetric_face(), degrees=0.0, scale=3.0, shift=(200.0, 150.0)).astype(np.float32)


def test_edits_undo_and_reset_to_the_network_points() -> None:
    edits = LandmarkEdits(FACE)
    assert edits.is_network and not edits.can_undo
    assert not edits.apply(FACE.copy())                       # nothing moved: no undo step
    moved = FACE.copy()
    moved[51] += (0, 6)
    assert edits.apply(moved) and not edits.is_network and edits.can_undo
    assert edits.reset() and edits.is_network                 # reset is itself undoable
    assert edits.undo() and np.array_equal(edits.current, moved)
    assert edits.undo() and edits.is_network and not edits.undo()
    steered = LandmarkEdits(FACE, start=moved)                # reopened: starts at the stored steering
    assert not steered.is_network and np.array_equal(steered.network, FACE)
    with pytest.raises(ValueError):
        edits.apply(np.full((68, 2), np.nan))


def _viewer(qtbot) -> ImageViewer:
    view = ImageViewer()
    qtbot.addWidget(view)
    pixmap = QPixmap(400, 400)
    pixmap.fill(Qt.GlobalColor.gray)
    view.set_levels([pixmap])
    view.resize(400, 400)
    view.show()
    view.set_zoom(1.0)
    view.centerOn(200, 200)
    return view


def _drag(qtbot, view: ImageViewer, start: np.ndarray, end: np.ndarray) -> None:
    vp = view.viewport()
    a, b = view.mapFromScene(QPointF(*start)), view.mapFromScene(QPointF(*end))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(vp, pos=QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    qtbot.mouseMove(vp, pos=b)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)


def test_handles_drag_one_editable_point_and_ignore_the_rest(qtbot) -> None:
    view = _viewer(qtbot)
    handles = LandmarkHandles()
    view.scene().addItem(handles)
    handles.set_points(FACE)
    got: list[np.ndarray] = []
    handles.dragged.connect(got.append)
    _drag(qtbot, view, FACE[51], FACE[51] + (0, 12))
    assert len(got) == 1
    assert np.allclose(got[0][51], FACE[51] + (0, 12), atol=1.0)
    assert np.array_equal(np.delete(got[0], 51, axis=0), np.delete(FACE, 51, axis=0))
    assert 36 not in EDITABLE_POINTS                          # an eye corner is context, not a handle
    # A render that finishes mid-drag updates the other points but not the one under the mouse.
    vp = view.viewport()
    a = view.mapFromScene(QPointF(*FACE[48]))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(vp, pos=a + QPoint(0, 10))
    elsewhere = FACE.copy()
    elsewhere[51] += (0, 3)
    handles.set_points(elsewhere)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=a + QPoint(0, 10))
    assert len(got) == 2 and np.allclose(got[1][48], FACE[48] + (0, 10), atol=1.0)
    assert np.allclose(got[1][51], elsewhere[51])
    handles.set_points(FACE)
    _drag(qtbot, view, FACE[36], FACE[36] + (0, 12))        # the eye corner does not move
    assert len(got) == 2


class _FakeStore:
    fail = False

    def __init__(self) -> None:
        self.calls: list[np.ndarray | None] = []
        self.pictures: list = []
        self.weights: list[tuple[str | None, str | None]] = []  # what each re-render says drew it
        self.while_storing: Callable[[], None] = lambda: None  # what happens while the patch is written

    def rerender_prediction(self, case_id, prediction_id, image, *, landmarks, guide_landmarks,  # noqa: ANN001, ANN201
                            weights_sha256=None, device=None):
        self.while_storing()
        self.weights.append((weights_sha256, device))
        if self.fail:
            from studies.errors import DatabaseError

            raise DatabaseError("the disk is full")
        self.calls.append(guide_landmarks)
        self.pictures.append(image)
        return SimpleNamespace(id=prediction_id, case_id=case_id, guide_landmarks=guide_landmarks)


class _FakePipeline:
    """``FacePipeline``'s prepare/run as ``PredictionService`` calls them: the photo itself comes back."""

    fail = False

    def prepare(self, rgb, mask, resolution, analysis=None, mask_space="photo", landmarks=None):  # noqa: ANN001, ANN201
        if self.fail:
            from inference.errors import InferenceError

            raise InferenceError("the network failed")
        return SimpleNamespace(rgb=rgb, mask=mask, analysis=analysis, landmarks=landmarks)

    def run(self, cases, model):  # noqa: ANN001, ANN201
        from inference.face.blend import Patch

        return [SimpleNamespace(patch=Patch(0, 0, c.rgb.copy()), mask=c.mask, landmarks=FACE,
                                guide_landmarks=c.landmarks, timings={}, analysis=c.analysis) for c in cases]


class _FakeManager:
    """A ``ModelManager`` that hands out a stand-in for the lite network and records what was loaded."""

    spec_ = SimpleNamespace(name="nclg-mt-lite", display_name="Lite", resolution=4, neural=True,
                            weights_sha256="ab" * 32)

    def __init__(self) -> None:
        self.loads: list[tuple[str, str]] = []

    def spec(self, name: str) -> SimpleNamespace:
        return self.spec_

    def load(self, name: str, device: str) -> SimpleNamespace:
        import torch

        self.loads.append((name, device))
        return SimpleNamespace(spec=self.spec_, device=torch.device("cpu"))


ANALYSIS = SimpleNamespace(landmarks=FACE)  # the face the window found (the fake pipeline only passes it on)


def _context(pipeline: _FakePipeline, store: _FakeStore, manager: _FakeManager | None = None) -> SteerContext:
    from inference.service import PredictionService

    service = PredictionService(manager or _FakeManager(), pipeline)
    return SteerContext(1, np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), bool), ANALYSIS, "cpu", service, store)


def _controller(qtbot, ctx: Callable[[], SteerContext | str]) -> tuple[AppState, SteeringBar, SteeringController,
                                                                       Callable[[], None], list]:
    """A controller on a steerable prediction (id 7) whose renders run when ``run_next()`` says so."""
    state = AppState()
    view, bar = _viewer(qtbot), SteeringBar()
    qtbot.addWidget(bar)
    queued: list = []
    controller = SteeringController(state, view, bar, lambda fn, ok, err: queued.append((fn, ok, err)), ctx)
    state.set_mask_fingerprint("m")
    state.add_prediction(PredictionView(7, "nclg-mt-lite", "Lite", Path("p.png"), "cpu", None, "0", "now",
                                        FACE, "m"))
    bar.toggle.setChecked(True)
    return state, bar, controller, lambda: _run_next(queued), queued


def _run_next(queued: list) -> None:
    """Run the oldest submitted render and deliver its value or error, as ``TaskRunner`` does."""
    fn, ok, err = queued.pop(0)
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - delivered like TaskRunner does
        err(exc)
    else:
        ok(value)


def test_controller_renders_once_per_edit_coalesces_and_puts_points_back_on_failure(qtbot) -> None:
    state = AppState()
    view, bar = _viewer(qtbot), SteeringBar()
    qtbot.addWidget(bar)
    queued: list = []
    store, pipeline, manager = _FakeStore(), _FakePipeline(), _FakeManager()
    ctx = _context(pipeline, store, manager)
    controller = SteeringController(state, view, bar, lambda fn, ok, err: queued.append((fn, ok, err)),
                                    lambda: ctx)
    outcomes: list = []
    controller.rendered.connect(outcomes.append)

    def run_next() -> None:
        _run_next(queued)

    assert not bar.toggle.isEnabled()                        # nothing to steer yet
    state.set_mask_fingerprint("m")
    state.add_prediction(PredictionView(7, "nclg-mt-lite", "Lite", Path("p.png"), "cpu", None, "0", "now",
                                        FACE, "m"))
    assert bar.toggle.isEnabled() and not controller.handles.isVisible()
    bar.toggle.setChecked(True)
    assert controller.handles.isVisible() and not bar.undo.isEnabled()
    first, second = FACE.copy(), FACE.copy()
    first[51] += (0, 5)
    second[51] += (0, 9)
    controller.handles.dragged.emit(first)
    controller.handles.dragged.emit(second)                  # while the first render runs
    assert len(queued) == 1 and controller.rendering
    run_next()
    assert len(queued) == 1                                  # one more render, of the latest points
    run_next()
    assert [c[51, 1] for c in store.calls] == [first[51, 1], second[51, 1]] and len(outcomes) == 2
    assert bar.undo.isEnabled()
    assert controller.undo()                                 # back to `first`: rendered again
    run_next()
    np.testing.assert_array_equal(store.calls[-1], first)
    assert controller.reset()                                # the network's own: no steering points stored
    run_next()
    assert store.calls[-1] is None
    bar.side.setCurrentIndex(bar.side.findData("left"))
    assert controller.mirror()
    run_next()
    np.testing.assert_allclose(store.calls[-1], mirror_healthy_side(FACE, "left"))
    # Every render went through PredictionService and its ModelManager: the service's record and device.
    assert manager.loads == [("nclg-mt-lite", "cpu")] * 5
    assert {(o.preview.prediction.weights_sha256, o.preview.prediction.device) for o in outcomes} == {
        ("ab" * 32, "CPU")}
    assert set(store.weights) == {("ab" * 32, "CPU")}   # and the stored record names what drew it
    pipeline.fail = True
    failures: list = []
    controller.failed.connect(failures.append)
    controller.handles.dragged.emit(first)
    run_next()
    assert failures and np.allclose(controller.edits.current, mirror_healthy_side(FACE, "left"))
    pipeline.fail = False
    ctx_now = ctx
    ctx = "Open the case first."                             # the case went away: nothing runs
    controller.handles.dragged.emit(first)
    assert not queued and bar.status.text() == "Open the case first."
    assert np.allclose(controller.edits.current, mirror_healthy_side(FACE, "left"))
    ctx = ctx_now
    # Another mask on screen: the prediction cannot be steered until it is run again.
    state.set_mask_fingerprint("other")
    assert not bar.mirror.isEnabled() and "another mask" in bar.status.text()
    assert not controller.reset() and not queued


def test_the_picture_is_shown_before_it_is_stored_and_is_what_is_stored(qtbot) -> None:
    store = _FakeStore()
    ctx = _context(_FakePipeline(), store)
    _state, bar, controller, run_next, queued = _controller(qtbot, lambda: ctx)
    events: list = []
    controller.previewed.connect(lambda p: events.append(("shown", p)))
    controller.rendered.connect(lambda o: events.append(("stored", o)))
    moved, later = FACE.copy(), FACE.copy()
    moved[51] += (0, 5)
    later[51] += (0, 9)
    edits_while_storing = [later]

    def while_storing() -> None:
        events.append(("storing", bar.status.text()))
        if edits_while_storing:  # the clinician drags again while the shown picture is written
            controller.handles.dragged.emit(edits_while_storing.pop())

    store.while_storing = while_storing
    controller.handles.dragged.emit(moved)
    run_next()
    [(shown, preview), (storing, status), (stored, outcome)] = events
    assert (shown, storing, stored) == ("shown", "storing", "stored") and status.startswith("Saving")
    assert outcome.preview is preview and outcome.record.id == preview.record_id == 7
    assert outcome.preview.seconds <= outcome.seconds
    picture = store.pictures[0]                              # what is stored is the very patch shown
    assert np.array_equal(picture.pixels, preview.prediction.patch) and picture.box == preview.prediction.box
    np.testing.assert_array_equal(preview.prediction.guide_landmarks, moved)
    assert preview.prediction.analysis is ANALYSIS           # the window's face, not found again
    assert len(queued) == 1                                  # the edit made while storing: one more render
    run_next()
    assert [c[51, 1] for c in store.calls] == [moved[51, 1], later[51, 1]] and not queued
    assert not controller.rendering and not bar.status.text().startswith("Saving")


def test_a_shown_picture_that_cannot_be_stored_is_reported_and_the_points_go_back(qtbot) -> None:
    store = _FakeStore()
    ctx = _context(_FakePipeline(), store)
    _state, _bar, controller, run_next, queued = _controller(qtbot, lambda: ctx)
    shown, stored, unsaved, failed = [], [], [], []
    controller.previewed.connect(shown.append)
    controller.rendered.connect(stored.append)
    controller.unsaved.connect(unsaved.append)
    controller.failed.connect(failed.append)
    store.fail = True
    moved = FACE.copy()
    moved[51] += (0, 5)
    controller.handles.dragged.emit(moved)
    run_next()
    assert len(shown) == 1 and not stored and not failed     # shown, then not saved: not "not redrawn"
    assert [str(e) for e in unsaved] == ["the disk is full"]
    assert np.array_equal(controller.edits.current, FACE)    # back to the points of the stored picture
    assert not controller.rendering and not queued
    store.fail = False                                       # the next drag renders and stores as usual
    controller.handles.dragged.emit(moved)
    run_next()
    assert len(shown) == 2 and len(stored) == 1 and len(unsaved) == 1
    np.testing.assert_array_equal(store.calls[-1], moved)


# ---------------------------------------------------------------- the window, with the shipped network

@pytest.fixture
def face_rgb(utkface_paths: list[Path]) -> np.ndarray:
    from app_support import face_photo

    return face_photo(utkface_paths[0], 640)


def test_window_drag_rerenders_stores_the_edit_and_undoes(qtbot, face_rgb, tmp_path, monkeypatch) -> None:
    from inference.models.registry import get_spec

    if not get_spec("nclg-mt-lite").weights_status().available:
        pytest.skip("the lite weights are not shipped in this checkout")
    from app.settings import AppSettings
    from app.windows.main_window import TAB_COMPARE, MainWindow
    from app.windows.measures_panel import PREDICTION_COLUMN
    from app_support import RecordingPrompts
    from studies.errors import DatabaseError

    wait = 120000
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = MainWindow(AppSettings(data_dir=tmp_path / "data"), prompts=RecordingPrompts(texts=["CL-STEER"]),
                        settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.resize(1280, 820)
    window.show()
    qtbot.waitUntil(lambda: bool(window.state.models), timeout=wait)
    assert window.measures_dock.widget() is window.measures_panel
    window.open_photo_file(path)
    qtbot.waitUntil(lambda: window.state.face is not None and not window.tasks.busy, timeout=wait)
    window.masks.suggest_mask()
    assert window.runs.run_models(["nclg-mt-lite"])
    qtbot.waitUntil(lambda: not window.state.busy and not window.tasks.busy, timeout=wait)
    assert window.prompts.errors == [] and window.tabs.currentIndex() == TAB_COMPARE
    pred = window.state.current_prediction
    before = window.store.prediction_image(pred.stored, window.photo.rgb)
    measured_before = window.measures_panel.cell(0, PREDICTION_COLUMN)
    window.steering_bar.toggle.setChecked(True)
    view = window.compare.right
    view.set_zoom(2.0)
    view.centerOn(QPointF(*pred.landmarks[51]))
    face_height = float(np.ptp(pred.landmarks[:, 1]))
    target = pred.landmarks[51] + (0, 0.08 * face_height)
    _drag(qtbot, view, pred.landmarks[51], target)
    qtbot.waitUntil(lambda: not window.steering.rendering and not window.tasks.busy, timeout=wait)
    assert window.prompts.errors == []
    steered = window.state.current_prediction
    assert steered.record_id == pred.record_id and steered.guide_landmarks is not None
    assert np.allclose(steered.guide_landmarks[51], target, atol=1.5)
    [stored] = window.store.list_predictions(window.state.case.id)
    np.testing.assert_allclose(stored.guide_landmarks, steered.guide_landmarks, atol=1e-3)
    after = window.store.prediction_image(stored, window.photo.rgb)
    assert np.abs(after.astype(int) - before).sum() > 0      # the lip was drawn again
    assert window.measures_panel.cell(0, PREDICTION_COLUMN)  # measured at what was drawn
    snapshot = window.exports.report_snapshot()                     # the report measures what was drawn
    np.testing.assert_allclose(snapshot.primary.guide_landmarks, steered.guide_landmarks)
    # Ctrl+Z in the editor undoes the drag (not the mask) and renders from the network's points again.
    mask_steps = window.canvas.undo_stack.count()
    assert window.act_undo.isEnabled() and window.act_undo.text() == "Undo landmark edit"
    window.act_undo.trigger()
    qtbot.waitUntil(lambda: not window.steering.rendering and not window.tasks.busy, timeout=wait)
    assert window.state.current_prediction.guide_landmarks is None
    assert window.store.list_predictions(window.state.case.id)[0].guide_landmarks is None
    assert window.canvas.undo_stack.count() == mask_steps and window.canvas.layer.to_bool().any()
    assert window.measures_panel.cell(0, PREDICTION_COLUMN) == measured_before
    # A picture that cannot be stored: shown first (the store still blocked), then "shown but not saved",
    # and the stored picture and its points come back; nothing in the store changed.
    stored_levels, [kept] = window.display.shown, window.store.list_predictions(window.state.case.id)
    assert stored_levels is window.display.levels[pred.record_id]
    release = threading.Event()

    def blocked_store(*_args, **_kwargs) -> None:
        release.wait(wait / 1000)
        raise DatabaseError("The database is locked.")

    monkeypatch.setattr(window.cases.store, "rerender_prediction", blocked_store)
    view.centerOn(QPointF(*pred.landmarks[51]))
    _drag(qtbot, view, pred.landmarks[51], target)
    qtbot.waitUntil(lambda: window.display.shown is not stored_levels, timeout=wait)
    assert window.steering.rendering and "saving" in window.compare.right_caption.text()
    release.set()
    qtbot.waitUntil(lambda: not window.steering.rendering and not window.tasks.busy, timeout=wait)
    assert [title for title, _text in window.prompts.errors] == ["Prediction shown but not saved"]
    assert "database is locked" in window.prompts.errors[0][1]
    assert window.display.shown is stored_levels and "saving" not in window.compare.right_caption.text()
    assert window.state.current_prediction.guide_landmarks is None
    np.testing.assert_allclose(window.steering.edits.current, window.state.current_prediction.landmarks)
    [still] = window.store.list_predictions(window.state.case.id)
    assert (still.image_path, still.guide_landmarks) == (kept.image_path, None)


def test_window_corrects_the_photo_landmarks_for_suggest_mask_and_keeps_them(qtbot, face_rgb, tmp_path) -> None:
    from app.settings import AppSettings
    from app.windows.main_window import MainWindow
    from app_support import RecordingPrompts
    from inference.face.suggest import suggest_mask

    wait = 120000
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)

    def make(texts: list[str]) -> MainWindow:
        w = MainWindow(AppSettings(data_dir=tmp_path / "data"), prompts=RecordingPrompts(texts=texts),
                       settings_path=tmp_path / "settings.json")
        qtbot.addWidget(w)
        w.resize(1280, 820)
        w.show()
        qtbot.waitUntil(lambda: bool(w.state.models), timeout=wait)
        return w

    window = make(["CL-FIX"])
    window.open_photo_file(path)
    qtbot.waitUntil(lambda: window.state.face is not None and not window.tasks.busy, timeout=wait)
    detected = window.state.face.landmarks.copy()
    assert window.act_correct_lm.isEnabled() and not window.act_reset_lm.isEnabled()
    window.act_correct_lm.trigger()
    assert window.photo_landmarks.handles.isVisible()
    target = detected[54] + (30, 8)                                  # a mouth corner placed too far in
    _drag(qtbot, window.canvas, detected[54], target)
    corrected = window.state.face.landmarks
    assert np.allclose(corrected[54], target, atol=1.5)
    assert np.array_equal(np.delete(corrected, 54, axis=0), np.delete(detected, 54, axis=0))
    assert window.canvas.layer.is_empty() and window.canvas.undo_stack.count() == 0   # dragged, not painted
    assert window.state.face.analysis.landmarks is corrected or np.array_equal(window.state.face.analysis.landmarks,
                                                                               corrected)
    np.testing.assert_allclose(window.store.get_case(window.state.case.id).landmarks, corrected, atol=1e-3)
    window.masks.suggest_mask()
    shape = face_rgb.shape[:2]
    assert np.array_equal(window.canvas.layer.to_bool(), suggest_mask(corrected, shape, "upper_lip_nostril"))
    assert not np.array_equal(window.canvas.layer.to_bool(), suggest_mask(detected, shape, "upper_lip_nostril"))
    # Ctrl+Z while correcting undoes the correction, not the suggested mask.
    mask = window.canvas.layer.to_bool()
    window.activateWindow()
    window.canvas.setFocus()
    assert window.act_undo.text() == "Undo landmark correction"
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_allclose(window.state.face.landmarks, detected, atol=1e-3)
    assert window.store.get_case(window.state.case.id).landmarks is None
    assert np.array_equal(window.canvas.layer.to_bool(), mask)
    _drag(qtbot, window.canvas, detected[54], target)                # corrected again, and kept
    window.act_correct_lm.trigger()                                  # off: Ctrl+Z is the mask's again
    assert not window.photo_landmarks.handles.isVisible()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.layer.is_empty()
    assert np.allclose(window.state.face.landmarks[54], target, atol=1.5)
    case_id = window.state.case.id
    # Reopened in another window: the corrected points are used again, until reset.
    again = make([])
    again.open_case(case_id)
    qtbot.waitUntil(lambda: again.state.face is not None and not again.tasks.busy, timeout=wait)
    assert np.allclose(again.state.face.landmarks[54], target, atol=1.5)
    assert again.act_reset_lm.isEnabled()
    again.act_reset_lm.trigger()
    np.testing.assert_allclose(again.state.face.landmarks, detected, atol=1e-3)
    assert again.store.get_case(case_id).landmarks is None
