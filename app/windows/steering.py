"""Steering a prediction: drag its lip and nose landmarks and the network redraws the lip there.

``SteeringBar`` is the row of controls above the side-by-side view (Edit landmarks, Mirror the
healthy side, Undo, Reset). ``SteeringController`` keeps the edits of the current prediction
(``app.canvas.landmark_editor``), shows them as handles on the prediction view, and after each
release (or mirror, undo, reset) re-renders through the window's ``TaskRunner``: the same model and
the same mask, ``FacePipeline.predict(..., landmarks=edited)``, stored over the prediction by
``CaseStore.rerender_prediction`` (the changed patch, as a Run stores it) so reports and studies show
what was rendered. Edits made while a
render runs are coalesced into one more render of the latest points.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from app.canvas.images import PatchPyramid, patch_pyramid, pyramid_arrays
from app.canvas.landmark_editor import LandmarkEdits, LandmarkHandles
from app.canvas.view import ImageViewer
from app.case_controller import SteerContext
from app.state import AppState, PredictionView
from inference.measures import mirror_healthy_side

SIDES = (("left", "Cleft on the patient's left"), ("right", "Cleft on the patient's right"))


@dataclass(frozen=True)
class SteerOutcome:
    """A prediction re-rendered and stored (same record id), with its patch's pyramid for the viewers."""

    record: Any  # studies.cases.PredictionInfo
    levels: PatchPyramid
    seconds: float


class ModelCache:
    """Loaded models by name, through the shared ``ModelManager`` (the Run's models are reused)."""

    def __init__(self, manager: Any = None) -> None:
        self._manager = manager

    def get(self, name: str, device_pref: str) -> Any:
        from inference.models.manager import default_manager

        return (self._manager or default_manager()).load(name, device_pref)


def render_steered(ctx: SteerContext, prediction_id: int, model_name: str, landmarks: np.ndarray | None,
                   models: ModelCache) -> SteerOutcome:
    """Runs on a worker: predict from ``landmarks`` (None: the network's own) and store over the prediction.

    Like a Run, only the changed patch is stored and drawn: no full-resolution copy of the photo is
    made, encoded or filtered, so the time does not grow with the photo's size.
    """
    from studies.prediction_store import PredictionPatch

    start = time.perf_counter()
    model = models.get(model_name, ctx.device)
    result = ctx.pipeline.predict(ctx.rgb, ctx.mask, model, ctx.analysis, landmarks=landmarks)
    top, left, bottom, right = result.patch.bounds
    picture = PredictionPatch.on_photo(result.patch.pixels, (left, top, right, bottom), ctx.rgb)
    record = ctx.store.rerender_prediction(
        ctx.case_id, prediction_id, picture, landmarks=result.landmarks,
        guide_landmarks=None if landmarks is None else result.guide_landmarks)
    levels = patch_pyramid(list(ctx.photo_levels) or pyramid_arrays(ctx.rgb), picture.pixels, picture.box)
    return SteerOutcome(record, levels, time.perf_counter() - start)


class SteeringBar(QWidget):
    """The controls; the controller enables them and does the work."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QCheckBox("Edit landmarks")
        self.toggle.setToolTip("Show the prediction's lip and nose points; drag one and the lip is drawn again there")
        self.side = QComboBox()
        for key, label in SIDES:
            self.side.addItem(label, key)
        self.mirror = QPushButton("Mirror the healthy side")
        self.mirror.setToolTip("Reflect the healthy side's lip and nose points across the facial midline onto "
                               "the cleft side, and draw the lip from them")
        self.undo = QPushButton("Undo")
        self.undo.setToolTip("Undo the last landmark edit (Ctrl+Z while editing)")
        self.reset = QPushButton("Reset to the network's points")
        self.status = QLabel()
        self.status.setStyleSheet("color: #6b7280;")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        for w in (self.toggle, self.side, self.mirror, self.undo, self.reset):
            row.addWidget(w)
        row.addWidget(self.status, 1)


class SteeringController(QObject):
    """Edits of the current prediction's landmarks, their handles, and the re-renders they ask for."""

    rendered = Signal(object)  # SteerOutcome
    failed = Signal(object)  # the exception, for the window to show
    changed = Signal()  # editing turned on/off, or the history changed (the window's Undo follows)

    def __init__(self, state: AppState, view: ImageViewer, bar: SteeringBar,
                 submit: Callable[[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]], None],
                 context: Callable[[], SteerContext | str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.view, self.bar = state, view, bar
        self._submit, self._context = submit, context
        self.models = ModelCache()
        self.handles = LandmarkHandles()
        self.handles.setVisible(False)
        view.scene().addItem(self.handles)
        self.edits: LandmarkEdits | None = None
        self._record_id: int | None = None
        self._rendering = False
        self._pending = False
        self._drawn: np.ndarray | None = None  # the points the picture on screen was drawn from
        self.handles.dragged.connect(self._dragged)
        bar.toggle.toggled.connect(self._toggled)
        bar.mirror.clicked.connect(self.mirror)
        bar.undo.clicked.connect(self.undo)
        bar.reset.clicked.connect(self.reset)
        state.current_prediction_changed.connect(self._prediction_changed)
        state.busy_changed.connect(lambda _b: self._update())
        state.mask_fingerprint_changed.connect(lambda _f: self._update())
        self._prediction_changed(state.current_prediction)

    # ---------------------------------------------------------------- what is shown
    @property
    def active(self) -> bool:
        return self.bar.toggle.isChecked() and self.edits is not None

    @property
    def can_undo(self) -> bool:
        return self.active and self.edits is not None and self.edits.can_undo and self._why_not() == ""

    @property
    def rendering(self) -> bool:
        return self._rendering

    def _why_not(self) -> str:
        """Why the current prediction cannot be steered now ("" when it can)."""
        p = self.state.current_prediction
        if p is None:
            return "Run a model first."
        if p.landmarks is None:
            return "This model draws no landmarks, so it cannot be steered."
        if p.mask_sha256 is None or self.state.is_out_of_date(p):
            return "Made with another mask: run the model again on this mask to steer it."
        if self.state.busy:
            return "A model is running."
        return ""

    def _prediction_changed(self, prediction: PredictionView | None) -> None:
        if prediction is None or prediction.landmarks is None:
            self.edits, self._record_id = None, None
        elif prediction.record_id != self._record_id:  # another prediction: its own history
            self.edits = LandmarkEdits(prediction.landmarks, prediction.guide_landmarks)
            self._record_id = prediction.record_id
            self._drawn = self.edits.current.copy()
            self._pending = False
        self._update()

    def _update(self) -> None:
        why = self._why_not()
        can = why == "" and self.edits is not None
        self.bar.toggle.setEnabled(self.edits is not None)
        for w in (self.bar.side, self.bar.mirror, self.bar.reset):
            w.setEnabled(can and self.bar.toggle.isChecked())
        self.bar.undo.setEnabled(can and self.bar.toggle.isChecked() and self.edits.can_undo)
        self.handles.set_points(None if self.edits is None else self.edits.current)
        self.handles.setVisible(self.active)
        self.handles.setEnabled(can)
        if self._rendering:
            self.bar.status.setText("Drawing the lip from the edited points…")
        elif self.bar.toggle.isChecked():
            self.bar.status.setText(why or ("Drag a lip or nose point." if self.edits.is_network
                                            else "Drawn from your edited points."))
        else:
            self.bar.status.setText("")
        self.changed.emit()

    def _toggled(self, _on: bool) -> None:
        self._update()

    # ---------------------------------------------------------------- edits
    def _dragged(self, points: np.ndarray) -> None:
        self._change(lambda e: e.apply(points))

    def mirror(self) -> bool:
        """Reflect the healthy side onto the side chosen in the bar, and render from that."""
        if self.edits is None:
            return False
        side = self.bar.side.currentData()
        mirrored = mirror_healthy_side(self.edits.current, side)
        return self._change(lambda e: e.apply(mirrored))

    def undo(self) -> bool:
        return self._change(lambda e: e.undo())

    def reset(self) -> bool:
        return self._change(lambda e: e.reset())

    def _change(self, step: Callable[[LandmarkEdits], bool]) -> bool:
        if self.edits is None or not self.active or self._why_not():
            self._update()  # a refused drag snaps the handles back
            return False
        if not step(self.edits):
            self._update()
            return False
        self._render()
        return True

    # ---------------------------------------------------------------- rendering
    def _render(self) -> None:
        if self._rendering:
            self._pending = True
            self._update()
            return
        p, ctx = self.state.current_prediction, self._context()
        if p is None or self.edits is None:
            return
        if isinstance(ctx, str):
            self._put_back()
            self._update()
            self.bar.status.setText(ctx)
            return
        points = None if self.edits.is_network else self.edits.current.copy()
        self._rendering, self._pending = True, False
        self._update()
        record_id, model = p.record_id, p.model_name
        drawn = self.edits.current.copy()
        self._submit(lambda: render_steered(ctx, record_id, model, points, self.models),
                     lambda outcome: self._done(outcome, drawn), self._error)

    def _done(self, outcome: SteerOutcome, drawn: np.ndarray) -> None:
        self._rendering = False
        if outcome.record.id == self._record_id:
            self._drawn = drawn
        self.rendered.emit(outcome)
        self._after()

    def _error(self, exc: BaseException) -> None:
        self._rendering = False
        self._put_back()
        self.failed.emit(exc)
        self._after()

    def _put_back(self) -> None:
        """The picture did not change: the points go back to what it was drawn from (one undo step)."""
        self._pending = False
        if self.edits is not None and self._drawn is not None:
            self.edits.apply(self._drawn)

    def _after(self) -> None:
        if self._pending and self.edits is not None and self._record_id is not None:
            self._render()
        else:
            self._update()
