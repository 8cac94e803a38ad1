"""Steering a prediction: drag its lip and nose landmarks and the network redraws the lip there.

``SteeringBar`` is the row of controls above the side-by-side view (Edit landmarks, Mirror the
healthy side, Undo, Reset). ``SteeringController`` keeps the edits of the current prediction
(``app.canvas.landmark_editor``), shows them as handles on the prediction view, and after each
release (or mirror, undo, reset) re-renders through the window's ``TaskRunner``: the same model and
the same mask through the one prediction path, ``PredictionService.predict`` with
``landmarks=edited`` (the shared ``ModelManager``, so the Run's loaded model is reused). As a Run
does, the new picture is shown as soon as it exists (``previewed``) and then stored over the
prediction by ``CaseStore.rerender_prediction`` (the changed patch, same record id; ``rendered``), so
reports and studies show what was rendered; if storing fails (``unsaved``) the points go back and the
stored picture is shown again. Edits made while a render runs are coalesced into one more render of
the latest points.
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


@dataclass(frozen=True, eq=False)
class SteerPreview:
    """A re-render as soon as it exists, before it is stored (the viewers show it at once, as a Run's)."""

    case_id: int
    record_id: int  # the prediction it will be stored over
    prediction: Any  # inference.service.PredictionRecord
    levels: PatchPyramid
    seconds: float  # release to picture ready


@dataclass(frozen=True, eq=False)
class SteerOutcome:
    """The shown re-render stored over the prediction (same record id)."""

    record: Any  # studies.cases.PredictionInfo
    preview: SteerPreview  # what was shown: the stored picture is its patch
    seconds: float  # release to stored

    @property
    def levels(self) -> PatchPyramid:
        return self.preview.levels


def render_steered(ctx: SteerContext, prediction_id: int, model_name: str, landmarks: np.ndarray | None,
                   show: Callable[[SteerPreview], None]) -> SteerOutcome:
    """Runs on a worker: predict from ``landmarks`` (None: the network's own), ``show`` the picture, store it.

    ``show`` gets the picture before it is stored, because encoding the patch is a third of the wait
    on a 24 MP photo. Like a Run, only the changed patch is stored and drawn: no full-resolution copy
    of the photo is made, encoded or filtered, so the time does not grow with the photo's size.
    """
    start = time.perf_counter()
    preview, picture = _predict_steered(ctx, prediction_id, model_name, landmarks, start)
    show(preview)
    prediction = preview.prediction
    record = ctx.store.rerender_prediction(
        ctx.case_id, prediction_id, picture, landmarks=prediction.landmarks,
        guide_landmarks=None if landmarks is None else prediction.guide_landmarks,
        weights_sha256=prediction.weights_sha256, device=prediction.device)
    return SteerOutcome(record, preview, time.perf_counter() - start)


def _predict_steered(ctx: SteerContext, prediction_id: int, model_name: str, landmarks: np.ndarray | None,
                     start: float) -> tuple[SteerPreview, Any]:
    """The prediction (through the one prediction path), the patch to store and its display pyramid."""
    from inference.service import PredictionRequest
    from studies.prediction_store import PredictionPatch

    prediction = ctx.service.predict(PredictionRequest(ctx.rgb, ctx.mask, model_name, ctx.device,
                                                       analysis=ctx.analysis, landmarks=landmarks))
    picture = PredictionPatch.of_record(prediction, ctx.rgb)  # stored: the changed pixels and their box
    levels = patch_pyramid(list(ctx.photo_levels) or pyramid_arrays(ctx.rgb), picture.pixels, picture.box)
    return SteerPreview(ctx.case_id, prediction_id, prediction, levels, time.perf_counter() - start), picture


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

    previewed = Signal(object)  # SteerPreview: the new picture, to show while it is stored
    rendered = Signal(object)  # SteerOutcome: stored
    failed = Signal(object)  # not redrawn: the exception, for the window to show
    unsaved = Signal(object)  # shown but not stored: the exception; the window shows the stored picture again
    changed = Signal()  # editing turned on/off, or the history changed (the window's Undo follows)
    _preview_ready = Signal(object)  # emitted on the worker; Qt queues it to ``_previewed``, ahead of done/failed

    def __init__(self, state: AppState, view: ImageViewer, bar: SteeringBar,
                 submit: Callable[[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]], None],
                 context: Callable[[], SteerContext | str], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.view, self.bar = state, view, bar
        self._submit, self._context = submit, context
        self.handles = LandmarkHandles()
        self.handles.setVisible(False)
        view.scene().addItem(self.handles)
        self.edits: LandmarkEdits | None = None
        self._record_id: int | None = None
        self._rendering = False
        self._shown = False  # the render in flight has shown its picture (it is being stored)
        self._pending = False
        self._drawn: np.ndarray | None = None  # the points the picture on screen was drawn from
        self.handles.dragged.connect(self._dragged)
        self._preview_ready.connect(self._previewed)
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
            self.bar.status.setText("Saving the lip drawn from the edited points…" if self._shown
                                    else "Drawing the lip from the edited points…")
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
        self._rendering, self._shown, self._pending = True, False, False
        self._update()
        record_id, model = p.record_id, p.model_name
        drawn = self.edits.current.copy()
        self._submit(lambda: render_steered(ctx, record_id, model, points, self._preview_ready.emit),
                     lambda outcome: self._done(outcome, drawn), self._error)

    def _previewed(self, preview: SteerPreview) -> None:
        """The picture exists (its store follows on the worker): the window shows it now."""
        self._shown = True
        self.previewed.emit(preview)
        self._update()

    def _done(self, outcome: SteerOutcome, drawn: np.ndarray) -> None:
        self._rendering = self._shown = False
        if outcome.record.id == self._record_id:
            self._drawn = drawn
        self.rendered.emit(outcome)
        self._after()

    def _error(self, exc: BaseException) -> None:
        """Not redrawn, or shown but not stored: either way the points go back to the stored picture's."""
        shown = self._shown
        self._rendering = self._shown = False
        self._put_back()
        (self.unsaved if shown else self.failed).emit(exc)
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
