"""The main window: open a photo or case, paint the mask, run models, view and export predictions.

The window wires the pure ``AppState`` to the widgets and to the services below it (the case
store, the face pipeline, the model registry). Anything slow (decoding a photo, finding the
face, running a model, saving a mask) goes to a worker; results come back as signals.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.autosave import MaskAutosaver
from app.canvas.images import pyramid_images, to_pixmaps
from app.canvas.view import MaskCanvas, ZoomPanView
from inference.devices import set_cpu_precision
from inference.face.suggest import FAMILY_LABELS, suggest_mask
from app.prompts import (
    DICOM_FILTER,
    IMAGE_SAVE_FILTER,
    MASK_FILTER,
    PDF_FILTER,
    PHOTO_FILTER,
    DialogPrompts,
    Prompts,
)
from app.settings import AppSettings, SettingsError, save_settings
from app.state import AppState, FaceInfo, ModelChoice, PredictionView, Tool
from app.version import app_version
from app.windows.measures_panel import MeasuresPanel
from app.windows.panels import TOOL_LABELS, CasePanel, ModelPanel, ToolPanel
from app.windows.photo_landmarks import PhotoLandmarksController
from app.windows.predictions import BeforeAfterWidget, CompareWidget, Gallery, delete_prediction
from app.windows.steering import SteerContext, SteeringBar, SteeringController, SteerOutcome
from app.workers import ModelRunner, ModelRunWorker, RunOutcome, RunRequest, TaskRunner, describe_error
from inference.errors import InferenceError, NoFaceError
from studies.errors import StudyError

log = logging.getLogger(__name__)

APP_TITLE = "Cleft Lip Inpainting"
TAB_PAINT, TAB_COMPARE, TAB_BEFORE_AFTER = range(3)


def probe_environment(device_pref: str) -> tuple[list[ModelChoice], str]:
    """Models with their weights status, and the device description (runs on a worker: imports torch)."""
    from inference.devices import describe_device, select_device
    from inference.models.registry import list_models

    choices = []
    for spec in list_models():
        status = spec.weights_status()
        choices.append(ModelChoice(spec.name, spec.display_name, status.available, status.reason, spec.neural,
                                   spec.description, status.sha256, status.card))
    try:
        device = describe_device(select_device(device_pref))
    except InferenceError as exc:
        device = f"unavailable ({exc})"
    return choices, device


def _load_photo_levels(path: Path) -> tuple[Any, list]:
    from inference.io.photo import load_photo

    photo = load_photo(path)
    return photo, pyramid_images(photo.rgb)


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, *, prompts: Prompts | None = None, store: Any = None,
                 pipeline: Any = None, settings_path: Path | None = None, probe: bool = True) -> None:
        super().__init__()
        self.settings = settings
        set_cpu_precision(settings.cpu_precision)
        self.settings_path = settings_path
        self.prompts: Prompts = prompts or DialogPrompts(self)
        self.state = AppState(settings.brush_size, settings.overlay_color, settings.overlay_opacity)
        self.tasks = TaskRunner(self)
        self.runner = ModelRunner(self)
        self.runner.stopped.connect(self._run_stopped)
        self._pipeline = pipeline
        self.store = store
        self.photo: Any = None  # inference.io.photo.Photo of the open case
        self.photo_levels: list[QPixmap] = []
        self.prediction_levels: dict[int, list[QPixmap]] = {}
        self.run_errors: list[str] = []
        self.run_started_at: float | None = None
        self.last_run_seconds: dict[str, float] = {}
        self._load_token = 0

        self.setWindowTitle(APP_TITLE)
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self._connect_state()
        self.autosave = MaskAutosaver(self._current_mask, self._store_mask, self)
        self.autosave.failed.connect(lambda msg: self.prompts.error("Mask not saved", msg))
        self.autosave.saved.connect(lambda _cid: self.statusBar().showMessage("Mask saved", 1500))
        self.canvas.mask_edited.connect(self.autosave.mark_dirty)
        self.canvas.mask_edited.connect(self._refresh_mask_fingerprint)
        self._notes_timer = QTimer(self, singleShot=True, interval=600)
        self._notes_timer.timeout.connect(self._save_notes)
        self.case_panel.notes_edited.connect(lambda _t: self._notes_timer.start())
        if self.store is None:
            self._open_store()
        self._update_actions()
        if probe:
            self.refresh_environment()

    # ================================================================ construction
    def _build_widgets(self) -> None:
        self.canvas = MaskCanvas(self.state)
        self.canvas.setAcceptDrops(False)
        self.canvas.face_box_drawn.connect(self._manual_face_drawn)
        self.canvas.cursor_moved.connect(self._show_cursor)
        self.canvas.view_moved.connect(self._show_zoom)
        self._detected_analysis: Any = None  # the pipeline's analysis before any correction by hand
        self.photo_landmarks = PhotoLandmarksController(self.canvas, self._commit_photo_landmarks, self)
        self.placeholder = QLabel("Open a patient photo (Ctrl+O), drop it here,\nor reopen a case (Ctrl+Shift+O).\n\n"
                                  "JPEG, PNG, TIFF, BMP and DICOM")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: #9aa0a6; font-size: 16px; background: #1e1f22;")
        self.paint_stack = QStackedWidget()
        self.paint_stack.addWidget(self.placeholder)
        self.paint_stack.addWidget(self.canvas)
        self.compare = CompareWidget(self.state)
        self.before_after = BeforeAfterWidget(self.state)
        for view in (self.compare.left, self.compare.right, self.before_after.viewer):
            view.setAcceptDrops(False)
        self.steering_bar = SteeringBar()
        self.steering = SteeringController(self.state, self.compare.right, self.steering_bar, self.tasks.submit,
                                           self._steer_context, self)
        self.steering.rendered.connect(self._steered)
        self.steering.failed.connect(lambda exc: self.prompts.error("Prediction not redrawn", describe_error(exc)))
        compare_page = QWidget()
        compare_column = QVBoxLayout(compare_page)
        compare_column.setContentsMargins(0, 0, 0, 0)
        compare_column.addWidget(self.steering_bar)
        compare_column.addWidget(self.compare, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.paint_stack, "Paint mask")
        self.tabs.addTab(compare_page, "Side by side")
        self.tabs.addTab(self.before_after, "Before / after")
        self.setCentralWidget(self.tabs)

        side = QWidget()
        column = QVBoxLayout(side)
        self.case_panel = CasePanel(self.state)
        self.tool_panel = ToolPanel(self.state)
        self.model_panel = ModelPanel(self.state)
        column.addWidget(self.case_panel)
        column.addWidget(self.tool_panel)
        column.addWidget(self.model_panel)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        dock = QDockWidget("Case and tools", self)
        dock.setObjectName("tools-dock")
        dock.setWidget(scroll)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.gallery = Gallery(self.state)
        self.gallery.delete_requested.connect(
            lambda record_id: delete_prediction(self.state, self.store, self.prompts, record_id))
        gallery_dock = QDockWidget("Predictions of this case", self)
        gallery_dock.setObjectName("gallery-dock")
        gallery_dock.setWidget(self.gallery)
        gallery_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, gallery_dock)
        self.measures_panel = MeasuresPanel(self.state)
        self.measures_dock = QDockWidget("Symmetry: photo and prediction", self)
        self.measures_dock.setObjectName("measures-dock")
        self.measures_dock.setWidget(self.measures_panel)
        self.measures_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                       | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.measures_dock)

        self.tool_panel.suggest_requested.connect(self.suggest_mask)
        self.tool_panel.clear_requested.connect(self.clear_mask)
        self.model_panel.run_requested.connect(self.run_models)
        self.model_panel.run_all_requested.connect(lambda names: self.run_models(names, reuse=True))
        self.tool_panel.transform_requested.connect(self.transform_mask)
        self.model_panel.cancel_requested.connect(self.cancel_run)

        self.device_label = QLabel()
        self.zoom_label = QLabel()
        self.cursor_label = QLabel()
        for label in (self.cursor_label, self.zoom_label, self.device_label):
            label.setContentsMargins(8, 0, 8, 0)
            self.statusBar().addPermanentWidget(label)
        self._show_device(self.state.device)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None, tip: str = "",
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            if isinstance(shortcut, list):
                action.setShortcuts(shortcut)
            else:
                action.setShortcut(shortcut)
        if tip:
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work whatever has focus
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.act_open = self._action(file, "New case from photo…", self.open_photo_dialog, QKeySequence.StandardKey.Open)
        self.act_cases = self._action(file, "Open case…", self.open_case_dialog, QKeySequence("Ctrl+Shift+O"))
        file.addSeparator()
        self.act_import_mask = self._action(file, "Import mask (PNG)…", self.import_mask_dialog, QKeySequence("Ctrl+I"))
        self.act_export_mask = self._action(file, "Export mask (PNG)…", self.export_mask_dialog, QKeySequence("Ctrl+E"))
        file.addSeparator()
        self.act_save_pred = self._action(file, "Save prediction as image…", self.save_prediction_dialog,
                                          QKeySequence.StandardKey.Save)
        self.act_copy_pred = self._action(file, "Copy prediction to clipboard", self.copy_prediction,
                                          QKeySequence("Ctrl+Shift+C"))
        self.act_report = self._action(file, "Export consultation report (PDF)…", self.export_report_dialog,
                                       QKeySequence("Ctrl+P"))
        self.act_dicom = self._action(file, "Export prediction as DICOM…", self.export_dicom_dialog)
        file.addSeparator()
        self._action(file, "Settings…", self.settings_dialog, QKeySequence("Ctrl+,"))
        file.addSeparator()
        self._action(file, "Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        # One Ctrl+Z (Cmd+Z on macOS) for both editors: the landmark edits while they are shown, else the mask.
        self.act_undo = QAction("Undo", self)
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_undo.triggered.connect(self.undo)
        stack = self.canvas.undo_stack
        # Bound methods, not lambdas: Qt drops them with the window (the stack may outlive its tabs).
        stack.canUndoChanged.connect(self._update_undo)
        stack.undoTextChanged.connect(self._update_undo)
        self.tabs.currentChanged.connect(self._update_undo)
        self.steering.changed.connect(self._update_undo)
        self._update_undo()
        self.act_redo = self.canvas.undo_stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for a in (self.act_undo, self.act_redo):
            edit.addAction(a)
            self.addAction(a)
        edit.addSeparator()
        self.act_suggest = self._action(edit, "Suggest mask: upper lip + nostril sill",
                                        lambda: self.suggest_mask("upper_lip_nostril"), QKeySequence("Ctrl+G"))
        self.act_suggest_mouth = self._action(edit, "Suggest mask: whole mouth + nostril sill",
                                              lambda: self.suggest_mask("mouth_nostril"), QKeySequence("Ctrl+Shift+G"))
        self.act_clear = self._action(edit, "Clear mask", self.clear_mask, QKeySequence("Ctrl+Backspace"))
        edit.addSeparator()
        self.act_correct_lm = self._action(
            edit, "Correct the photo's landmarks", self._toggle_photo_landmarks, QKeySequence("Ctrl+K"),
            "Drag the detected lip and nose points where they belong; Suggest mask, the face crop and the "
            "measures use them", checkable=True)
        self.act_reset_lm = self._action(edit, "Reset the photo's landmarks to the detected ones",
                                         self.photo_landmarks.reset)
        self.photo_landmarks.changed.connect(self._update_undo)
        self.photo_landmarks.changed.connect(self._update_actions)
        edit.addSeparator()
        tools = edit.addMenu("Tool")
        for tool, label, key, tip in TOOL_LABELS:
            self._action(tools, label, lambda _c=False, t=tool: self.state.set_tool(t), QKeySequence(key), tip)
        self._action(edit, "Smaller brush", lambda: self.state.grow_brush(1 / 1.2), QKeySequence("["))
        self._action(edit, "Larger brush", lambda: self.state.grow_brush(1.2), QKeySequence("]"))

        view = bar.addMenu("&View")
        self._action(view, "Zoom in", lambda: self._active_view().zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
        self._action(view, "Zoom out", lambda: self._active_view().zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
        self._action(view, "Fit to window", lambda: self._active_view().fit(), QKeySequence("Ctrl+0"))
        self._action(view, "Actual pixels", lambda: self._active_view().set_zoom(1.0), QKeySequence("Ctrl+1"))
        view.addSeparator()
        self.act_show_mask = self._action(view, "Show mask", self.state.set_mask_visible, QKeySequence("M"), checkable=True)
        self.act_show_face = self._action(view, "Show face box and landmarks", self.state.set_face_overlay_visible,
                                          QKeySequence("Ctrl+L"), checkable=True)
        self.act_show_pred_lm = self._action(view, "Show predicted landmarks", self.state.set_predicted_landmarks_visible,
                                             QKeySequence("Ctrl+Shift+L"), checkable=True)
        view.addSeparator()
        for index, name in ((TAB_PAINT, "Paint mask"), (TAB_COMPARE, "Side by side"), (TAB_BEFORE_AFTER, "Before / after")):
            self._action(view, name, lambda _c=False, i=index: self.tabs.setCurrentIndex(i), QKeySequence(f"Alt+{index + 1}"))

        models = bar.addMenu("&Models")
        self.act_run = self._action(models, "Run chosen model", lambda: self.state.selected_model and
                                    self.run_models([self.state.selected_model]), QKeySequence("Ctrl+R"))
        self.act_run_all = self._action(models, "Run all models", lambda: self.run_models(
            [m.name for m in self.state.models if m.available], reuse=True), QKeySequence("Ctrl+Shift+R"),
            "Run every model that has no prediction for the current mask yet")
        self.act_cancel = self._action(models, "Cancel run", self.cancel_run, QKeySequence("Esc"))

        studies = bar.addMenu("&Studies")
        self.act_studies = self._action(studies, "Blinded rating studies…", self.studies_window,
                                        QKeySequence("Ctrl+Shift+B"),
                                        "Set up, rate, close and analyse blinded multi-model studies")

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "About and model cards…", self.about_dialog)

    def _connect_state(self) -> None:
        s = self.state
        s.device_changed.connect(self._show_device)
        s.models_changed.connect(lambda _m: self._models_loaded())
        s.mask_visible_changed.connect(self.act_show_mask.setChecked)
        s.face_overlay_visible_changed.connect(self.act_show_face.setChecked)
        s.predicted_landmarks_visible_changed.connect(self.act_show_pred_lm.setChecked)
        s.current_prediction_changed.connect(self._show_prediction)
        s.busy_changed.connect(lambda _b: self._update_actions())
        s.face_changed.connect(lambda _f: self._update_actions())
        s.case_changed.connect(lambda _c: self._update_actions())
        self.act_show_mask.setChecked(s.mask_visible)
        self.canvas.undo_stack.indexChanged.connect(lambda _i: self._update_actions())

    def _update_actions(self) -> None:
        has_case = self.state.case is not None
        has_pred = self.state.current_prediction is not None
        busy = self.state.busy
        for action in (self.act_import_mask, self.act_export_mask, self.act_clear):
            action.setEnabled(has_case)
        can_suggest = has_case and self.state.face is not None and self.state.face.landmarks is not None
        self.act_suggest.setEnabled(can_suggest)
        self.act_suggest_mouth.setEnabled(can_suggest)
        for action in (self.act_save_pred, self.act_copy_pred, self.act_report, self.act_dicom):
            action.setEnabled(has_pred)
        self.act_open.setEnabled(not busy)
        self.act_cases.setEnabled(not busy and self.store is not None)
        self.act_run.setEnabled(has_case and not busy)
        self.act_run_all.setEnabled(has_case and not busy)
        self.act_cancel.setEnabled(busy)
        if hasattr(self, "act_correct_lm"):
            self.act_correct_lm.setEnabled(has_case and self.photo_landmarks.available)
            self.act_reset_lm.setEnabled(has_case and self.photo_landmarks.corrected)

    def _steering_has_undo(self) -> bool:
        """Ctrl+Z goes to the landmark editor while it is on and its view is the one shown."""
        return self.tabs.currentIndex() == TAB_COMPARE and self.steering.active

    def _photo_landmarks_have_undo(self) -> bool:
        return self.tabs.currentIndex() == TAB_PAINT and self.photo_landmarks.active

    def undo(self) -> None:
        if self._steering_has_undo():
            self.steering.undo()
        elif self._photo_landmarks_have_undo():
            self.photo_landmarks.undo()
        else:
            self.canvas.undo_stack.undo()

    def _update_undo(self, *_: object) -> None:
        if self._steering_has_undo():
            self.act_undo.setText("Undo landmark edit")
            self.act_undo.setEnabled(self.steering.can_undo)
            return
        if self._photo_landmarks_have_undo():
            self.act_undo.setText("Undo landmark correction")
            self.act_undo.setEnabled(self.photo_landmarks.can_undo)
            return
        stack = self.canvas.undo_stack
        self.act_undo.setText(f"Undo {stack.undoText()}" if stack.undoText() else "Undo")
        self.act_undo.setEnabled(stack.canUndo())

    # ================================================================ services
    @property
    def pipeline(self) -> Any:
        if self._pipeline is None:  # imported lazily: it pulls in torch, which slows the start
            from inference.pipeline import FacePipeline

            self._pipeline = FacePipeline()
        return self._pipeline

    def _open_store(self) -> None:
        from studies.cases import CaseStore
        from studies.database import open_database

        try:
            self.store = CaseStore(open_database(self.settings.data_dir))
        except (StudyError, OSError) as exc:
            self.store = None
            self.prompts.error("Case store unavailable",
                               f"The case database in {self.settings.data_dir} cannot be opened: {describe_error(exc)}\n\n"
                               "Choose another data folder under Settings.")

    def refresh_environment(self) -> None:
        """List the models and find the device on a worker (it imports torch)."""
        device = self.settings.device
        self.tasks.submit(lambda: probe_environment(device), self._environment_ready,
                          lambda exc: self.prompts.error("Models unavailable", describe_error(exc)))

    def _environment_ready(self, result: tuple[list[ModelChoice], str]) -> None:
        models, device = result
        self.state.set_device(device)
        self.state.set_models(models)

    def _models_loaded(self) -> None:
        preferred = self.state.model_choice(self.settings.default_model)
        if preferred is not None and preferred.available:
            self.state.set_selected_model(preferred.name)
        elif self.state.selected_model is None:
            first = next((m for m in self.state.models if m.available), None)
            self.state.set_selected_model(first.name if first else None)

    # ================================================================ opening photos and cases
    def open_photo_dialog(self) -> None:
        path = self.prompts.open_file("Open patient photo", PHOTO_FILTER)
        if path is not None:
            self.open_photo_file(path)

    def open_photo_file(self, path: Path) -> None:
        """Start a new case from a photo: decode on a worker, then ask for the pseudonym."""
        if self.state.busy:
            self.prompts.error("Please wait", "A model is running. Cancel it or wait before opening another photo.")
            return
        if self.store is None:
            self.prompts.error("Case store unavailable", "Choose a working data folder under Settings first.")
            return
        path = Path(path)
        self.statusBar().showMessage(f"Opening {path.name}…")
        self.tasks.submit(lambda: _load_photo_levels(path), lambda result: self._new_photo_loaded(path, result),
                          lambda exc: self._open_failed(path, exc))

    def _open_failed(self, path: Path, exc: BaseException) -> None:
        self.statusBar().clearMessage()
        self.prompts.error("Cannot open photo", f"{path.name}: {describe_error(exc)}")

    def _new_photo_loaded(self, path: Path, result: tuple[Any, list]) -> None:
        self.statusBar().clearMessage()
        photo, levels = result
        pseudonym = self.prompts.ask_text(
            "New case", "Patient pseudonym or study ID for this photo\n(used to find the case again; "
            "the app never derives it from the photo):")
        if pseudonym is None:
            return
        try:
            case = self.store.create_case(pseudonym, path)
        except (StudyError, OSError) as exc:
            self.prompts.error("Case not created", describe_error(exc))
            return
        if case.same_photo_as:  # a family must never get another child's report
            self.prompts.error("Same photo as another case",
                               f"This photo is already stored as case {', '.join(case.same_photo_as)}. "
                               f"Check that {case.pseudonym} is the right patient before you go on.")
        self._show_case(case, photo, levels, mask=None, predictions=[])

    def open_case_dialog(self) -> None:
        from app.dialogs.case_list import CaseListDialog

        if self.store is None:
            return
        dialog = CaseListDialog(self.store, self, prompts=self.prompts,
                                current_case_id=self.state.case.id if self.state.case else None)
        if dialog.exec() and dialog.selected_case_id() is not None:
            self.open_case(dialog.selected_case_id())

    def open_case(self, case_id: int) -> None:
        """Reopen a stored case: photo, mask and every prediction."""
        if self.state.busy:
            self.prompts.error("Please wait", "A model is running. Cancel it or wait before opening another case.")
            return
        store = self.store

        def load() -> tuple[Any, Any, list, Any, list]:
            from inference.io.photo import load_photo

            case = store.get_case(case_id)
            photo = load_photo(case.photo_path)
            mask = store.load_mask(case_id)
            if mask is not None and mask.shape != photo.rgb.shape[:2]:
                mask = None  # a mask from a different photo size cannot be shown
            return case, photo, pyramid_images(photo.rgb), mask, store.list_predictions(case_id)

        self.statusBar().showMessage("Opening case…")
        self.tasks.submit(load, lambda r: self._show_case(*r),
                          lambda exc: (self.statusBar().clearMessage(),
                                       self.prompts.error("Cannot open case", describe_error(exc))))

    def _show_case(self, case: Any, photo: Any, levels: list, mask: np.ndarray | None, predictions: list) -> None:
        self.statusBar().clearMessage()
        self.autosave.set_case(None)
        self._save_notes()
        self._load_token += 1
        self.photo = photo
        self.photo_levels = to_pixmaps(levels)
        self.prediction_levels.clear()
        h, w = photo.rgb.shape[:2]
        self.canvas.set_photo(self.photo_levels, w, h)
        if mask is not None:
            self.canvas.load_mask(mask)
        self._refresh_mask_fingerprint()
        self.paint_stack.setCurrentWidget(self.canvas)
        self.tabs.setCurrentIndex(TAB_PAINT)
        self.compare.set_photo(self.photo_levels)
        self.before_after.set_photo(self.photo_levels)
        self.state.set_face(None)
        self._detected_analysis = None
        self.photo_landmarks.start(None, None)
        self.state.set_case(case)
        self.autosave.set_case(case.id)
        self.setWindowTitle(f"{APP_TITLE} — {case.pseudonym}")
        self.state.set_predictions([self._prediction_view(p) for p in predictions])
        for p in predictions:
            self._load_thumbnail(p.id, p.image_path)
        self.state.set_tool(Tool.BRUSH)
        self.canvas.setFocus()
        if case.face_box is not None:
            self._apply_manual_face(case.face_box, remember=False)
        else:
            self.analyse_face()

    def analyse_face(self) -> None:
        rgb, token = self.photo.rgb, self._load_token
        self.statusBar().showMessage("Finding the face…")
        self.tasks.submit(lambda: self.pipeline.analyse(rgb), lambda a: self._face_found(token, a),
                          lambda exc: self._face_failed(token, exc))

    def _face_found(self, token: int, analysis: Any) -> None:
        if token != self._load_token:
            return
        self.statusBar().showMessage("Face square set by hand" if analysis.manual else "Face found", 3000)
        self._detected_analysis = analysis
        case = self.state.case
        corrected = getattr(case, "landmarks", None)
        if corrected is not None and analysis.landmarks is not None:
            try:
                analysis = self.pipeline.with_landmarks(analysis, corrected)
            except InferenceError as exc:
                self.prompts.error("Corrected landmarks not used", describe_error(exc))
        self.photo_landmarks.start(self._detected_analysis.landmarks, analysis.landmarks)
        box = analysis.box
        self.state.set_face(FaceInfo((box.left, box.top, box.right, box.bottom), analysis.landmarks,
                                     analysis.manual, analysis))

    def _face_failed(self, token: int, exc: BaseException) -> None:
        if token != self._load_token:
            return
        self.statusBar().clearMessage()
        if isinstance(exc, NoFaceError):
            if self.prompts.confirm("No face found", f"{exc}\n\nDraw the face square by hand now?"):
                self.state.set_tool(Tool.FACE_BOX)
                self.statusBar().showMessage("Drag a square around the whole face (brows to chin).")
        else:
            self.prompts.error("Face not analysed", describe_error(exc))

    def _manual_face_drawn(self, rect: QRectF) -> None:
        if self.photo is not None:
            self._apply_manual_face((rect.left(), rect.top(), rect.right(), rect.bottom()), remember=True)

    def _apply_manual_face(self, box: tuple[float, float, float, float], remember: bool) -> None:
        """Use a face square drawn by hand; ``remember`` stores it with the case for reopening."""
        try:
            analysis = self.pipeline.analyse_manual(self.photo.rgb, box)
            if remember and self.state.case is not None:
                self.store.set_face_box(self.state.case.id, box)
        except (InferenceError, StudyError) as exc:
            self.prompts.error("Face square not usable", describe_error(exc))
            return
        self._face_found(self._load_token, analysis)
        self.state.set_face_overlay_visible(True)
        self.state.set_tool(Tool.BRUSH)

    # ================================================================ correcting the photo's landmarks
    def _toggle_photo_landmarks(self, on: bool) -> None:
        self.photo_landmarks.set_active(on)
        if on:
            self.tabs.setCurrentIndex(TAB_PAINT)
            self.statusBar().showMessage("Drag a lip or nose point where it belongs; Ctrl+Z undoes.", 4000)

    def _commit_photo_landmarks(self, points: np.ndarray | None) -> bool:
        """Store the corrected points with the case (None: the detector's) and use them for the face."""
        case, detected = self.state.case, self._detected_analysis
        if case is None or detected is None or self.store is None:
            return False
        try:
            analysis = detected if points is None else self.pipeline.with_landmarks(detected, points)
            self.state.case = self.store.set_photo_landmarks(case.id, points)
        except (InferenceError, StudyError) as exc:
            self.prompts.error("Landmarks not corrected", describe_error(exc))
            return False
        box = analysis.box
        self.state.set_face(FaceInfo((box.left, box.top, box.right, box.bottom), analysis.landmarks,
                                     analysis.manual, analysis))
        return True

    # ================================================================ mask editing
    def _store_mask(self, case_id: int, mask: np.ndarray) -> None:
        """Autosave target: an empty (cleared) mask is forgotten rather than kept stale."""
        if mask.any():
            self.store.save_mask(case_id, mask)
        else:
            self.store.clear_mask(case_id)

    def _current_mask(self) -> np.ndarray | None:
        return None if self.canvas.layer is None else self.canvas.layer.to_bool()

    def _refresh_mask_fingerprint(self) -> None:
        """Recompute which predictions were made with the mask on screen (after every edit)."""
        from studies.cases import mask_fingerprint

        mask = self._current_mask()
        self.state.set_mask_fingerprint(None if mask is None or not mask.any() else mask_fingerprint(mask))

    def transform_mask(self, operation: str, pixels: int = 0) -> bool:
        """Grow, shrink, feather or invert the mask by ``pixels`` photo pixels, as one undo step."""
        from app.canvas.mask_ops import MASK_OPERATIONS

        mask = self._current_mask()
        if mask is None:
            return False
        label, fn = MASK_OPERATIONS[operation]
        changed = self.canvas.replace_mask(fn(mask, pixels), label if operation == "invert" else f"{label} {pixels} px")
        if not changed:
            self.statusBar().showMessage(f"{label}: the mask did not change", 3000)
        return changed

    def suggest_mask(self, family: str = "upper_lip_nostril") -> None:
        """Replace the mask with a family of ``inference.face.suggest`` (one undo step)."""
        face = self.state.face
        if self.photo is None or face is None or face.landmarks is None:
            self.prompts.error("No landmarks", "A mask can only be suggested when the face and its landmarks were "
                                               "detected. Paint the mask by hand instead.")
            return
        mask = suggest_mask(face.landmarks, self.photo.rgb.shape[:2], family)
        self.canvas.replace_mask(mask, f"Suggest mask ({FAMILY_LABELS[family].lower()})")
        self.statusBar().showMessage("Suggested mask: check and correct it before running a model.", 4000)

    def clear_mask(self) -> None:
        if self.canvas.layer is not None:
            self.canvas.replace_mask(np.zeros((self.canvas.layer.height, self.canvas.layer.width), bool), "Clear mask")

    def import_mask_dialog(self) -> None:
        path = self.prompts.open_file("Import mask", MASK_FILTER)
        if path is not None:
            self.import_mask(path)

    def import_mask(self, path: Path) -> bool:
        from inference.io.photo import load_mask

        if self.photo is None:
            return False
        try:
            mask = load_mask(path, expected_shape=self.photo.rgb.shape[:2])
        except InferenceError as exc:
            self.prompts.error("Mask not imported", describe_error(exc))
            return False
        self.canvas.replace_mask(mask, "Import mask")
        return True

    def export_mask_dialog(self) -> None:
        if self.state.case is None:
            return
        path = self.prompts.save_file("Export mask", MASK_FILTER, "mask.png")
        if path is not None:
            self.export_mask(path)

    def export_mask(self, path: Path) -> bool:
        from inference.io.photo import save_mask

        mask = self._current_mask()
        if mask is None:
            return False
        path = path if path.suffix else path.with_suffix(".png")
        try:
            save_mask(path, mask)
        except InferenceError as exc:
            self.prompts.error("Mask not exported", describe_error(exc))
            return False
        self.statusBar().showMessage(f"Mask exported to {path}", 4000)
        return True

    def _save_notes(self) -> None:
        self._notes_timer.stop()
        case = self.state.case
        if case is None or self.store is None:
            return
        text = self.case_panel.notes.toPlainText()
        if text == case.notes:
            return
        try:
            self.state.case = self.store.update_case(case.id, notes=text)
        except StudyError as exc:  # the text stays in the box; the next edit saves it again
            self.prompts.error("Notes not saved", f"{describe_error(exc)}\n\nYour notes are still in the box "
                                                  "and are saved again with your next edit.")

    # ================================================================ running models
    def run_models(self, names: list[str], reuse: bool = False) -> bool:
        """Run ``names`` one after the other on the current mask; returns False if refused.

        With ``reuse`` (Run all) a model that already has a prediction of this case made with the
        mask on screen is not run again: its prediction is reused instead of adding a duplicate.
        """
        if self.state.busy or not names:
            return False
        if self.state.case is None or self.canvas.layer is None:
            self.prompts.error("No case", "Open a patient photo first.")
            return False
        mask = self.canvas.layer.to_bool()
        if not mask.any():
            self.prompts.error("Nothing to fill", "Paint the area to fill (the cleft lip) before running a model.")
            return False
        face = self.state.face
        if face is None:
            self.prompts.error("Face not marked", "The face has not been found yet. Wait for the detection, or draw "
                                                  "the face square by hand (tool: Face square, key F).")
            return False
        if reuse:
            from studies.cases import mask_fingerprint

            current = mask_fingerprint(mask)
            have = {p.model_name for p in self.state.predictions if p.mask_sha256 == current}
            names = [n for n in names if n not in have]
            if not names:
                self.statusBar().showMessage("Every model already has a prediction for this mask; "
                                             "change the mask to run them again.", 5000)
                self.model_panel.status.setText("Up to date: every model has a prediction for this mask.")
                return False
            if have:
                self.statusBar().showMessage(f"Reusing {len(have)} prediction(s) made with this mask", 4000)
        self.autosave.flush()
        request = RunRequest(self.state.case.id, tuple(names), self.photo.rgb, mask, face.analysis,
                             self.settings.device, app_version())
        worker = ModelRunWorker(request, self.pipeline, self.store)
        # Only bound methods of GUI-thread QObjects: Qt then queues the calls onto the GUI thread
        # (a plain function or lambda would run in the worker's thread).
        worker.device_ready.connect(self._run_device)
        worker.progress.connect(self._run_progress)
        worker.result.connect(self._run_result)
        worker.error.connect(self._run_error)
        self.run_errors = []
        self._first_result_of_run = True
        self.run_started_at = time.perf_counter()
        self.state.set_busy(True)
        self.runner.start(worker)
        return True

    def cancel_run(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.model_panel.status.setText("Cancelling after the current model…")

    def _run_device(self, description: str) -> None:
        self.state.set_device(description)

    def _run_progress(self, done: int, total: int, message: str) -> None:
        self.model_panel.set_progress(done, total, message)
        self.statusBar().showMessage(message)

    def _run_result(self, outcome: RunOutcome) -> None:
        if self.state.case is None or outcome.record.case_id != self.state.case.id:
            return  # stored with its own case; not shown over another one
        levels = to_pixmaps(outcome.levels)
        self.prediction_levels[outcome.record.id] = levels
        self.gallery.set_thumbnail(outcome.record.id, levels[-1])
        self.state.add_prediction(self._prediction_view(outcome.record))
        if self._first_result_of_run:
            self._first_result_of_run = False
            self.tabs.setCurrentIndex(TAB_COMPARE)
        if self.run_started_at is not None:
            self.last_run_seconds[outcome.model_name] = time.perf_counter() - self.run_started_at
            self.run_started_at = time.perf_counter()

    def _run_error(self, model: str, message: str) -> None:
        choice = self.state.model_choice(model)
        self.run_errors.append(f"{choice.display_name if choice else model or 'Run'}: {message}")

    def _run_stopped(self, cancelled: bool) -> None:
        self.state.set_busy(False)
        self.statusBar().showMessage("Run cancelled" if cancelled else "Run finished", 3000)
        if self.run_errors:
            self.prompts.error("Some models did not run", "\n\n".join(self.run_errors))

    def _prediction_view(self, record: Any) -> PredictionView:
        choice = self.state.model_choice(record.model_name)
        return PredictionView(record.id, record.model_name, choice.display_name if choice else record.model_name,
                              Path(record.image_path), record.device, record.weights_sha256, record.app_version,
                              record.created_at.astimezone().strftime("%Y-%m-%d %H:%M"), record.landmarks,
                              getattr(record, "mask_sha256", None), getattr(record, "guide_landmarks", None))

    # ================================================================ steering
    def _steer_context(self) -> SteerContext | str:
        """What a re-render of the current prediction needs, or why it cannot run."""
        case, face, mask = self.state.case, self.state.face, self._current_mask()
        if case is None or self.photo is None or mask is None or self.store is None:
            return "Open the case first."
        if face is None or face.analysis is None:
            return "The face has not been found on this photo yet."
        return SteerContext(case.id, self.photo.rgb, mask, face.analysis, self.settings.device, self.pipeline,
                            self.store)

    def _steered(self, outcome: SteerOutcome) -> None:
        record = outcome.record
        if self.state.case is None or record.case_id != self.state.case.id:
            return  # stored with its own case; not shown over another one
        levels = to_pixmaps(outcome.levels)
        self.prediction_levels[record.id] = levels
        self.gallery.set_thumbnail(record.id, levels[-1])
        self.state.replace_prediction(self._prediction_view(record))
        self.statusBar().showMessage(f"Lip drawn again from the edited points in {outcome.seconds:.1f} s", 3000)

    # ================================================================ showing predictions
    def _show_prediction(self, prediction: PredictionView | None) -> None:
        self._update_actions()
        if prediction is None:
            self.compare.set_prediction(None, None)
            self.before_after.set_prediction(None, None)
            return
        levels = self.prediction_levels.get(prediction.record_id)
        if levels is not None:
            self.compare.set_prediction(prediction, levels)
            self.before_after.set_prediction(prediction, levels)
            return
        token = self._load_token
        self.tasks.submit(lambda: self._read_prediction_levels(prediction.image_path),
                          lambda images: self._prediction_loaded(token, prediction, images),
                          lambda exc: self.prompts.error("Prediction not shown", describe_error(exc)))

    @staticmethod
    def _read_prediction_levels(path: Path) -> list:
        from inference.io.photo import load_photo

        return pyramid_images(load_photo(path).rgb)

    def _prediction_loaded(self, token: int, prediction: PredictionView, images: list) -> None:
        if token != self._load_token:
            return
        levels = to_pixmaps(images)
        self.prediction_levels[prediction.record_id] = levels
        self.gallery.set_thumbnail(prediction.record_id, levels[-1])
        if self.state.current_prediction == prediction:
            self.compare.set_prediction(prediction, levels)
            self.before_after.set_prediction(prediction, levels)

    def _load_thumbnail(self, record_id: int, path: Path) -> None:
        from PIL import Image

        from app.canvas.images import rgb_to_qimage

        def make() -> Any:
            with Image.open(path) as img:
                img.thumbnail((300, 300))
                return rgb_to_qimage(np.asarray(img.convert("RGB")))

        self.tasks.submit(make, lambda image: self.gallery.set_thumbnail(record_id, QPixmap.fromImage(image)),
                          lambda exc: log.warning("thumbnail of prediction %s failed: %s", record_id, exc))

    def _prediction_rgb(self) -> np.ndarray | None:
        from inference.io.photo import load_photo

        prediction = self.state.current_prediction
        if prediction is None:
            return None
        try:
            return load_photo(prediction.image_path).rgb
        except InferenceError as exc:
            self.prompts.error("Prediction unavailable", describe_error(exc))
            return None

    def save_prediction_dialog(self) -> None:
        p = self.state.current_prediction
        if p is None:
            return
        path = self.prompts.save_file("Save prediction", IMAGE_SAVE_FILTER, f"prediction-{p.model_name}.png")
        if path is not None:
            self.save_prediction(path)

    def save_prediction(self, path: Path) -> bool:
        """Full resolution, PNG or JPEG by suffix, without any metadata; marked as the settings say."""
        from inference.io.photo import save_image

        rgb = self._prediction_rgb()
        if rgb is None:
            return False
        rgb = self._marked(rgb)
        path = path if path.suffix else path.with_suffix(".png")
        try:
            save_image(path, rgb)
        except InferenceError as exc:
            self.prompts.error("Prediction not saved", describe_error(exc))
            return False
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def copy_prediction(self) -> None:
        """Full resolution to the clipboard, with the research-visualisation mark unless turned off."""
        from app.canvas.images import rgb_to_qimage

        p = self.state.current_prediction
        levels = self.prediction_levels.get(p.record_id) if p else None
        if not levels:
            return
        if self.settings.research_mark:
            rgb = self._prediction_rgb()
            if rgb is None:
                return
            QGuiApplication.clipboard().setImage(rgb_to_qimage(self._marked(rgb)))
        else:
            QGuiApplication.clipboard().setPixmap(levels[0])
        self.statusBar().showMessage("Prediction copied to the clipboard", 3000)

    def _marked(self, rgb: np.ndarray) -> np.ndarray:
        from studies.reports.marks import add_research_mark

        return add_research_mark(rgb) if self.settings.research_mark else rgb

    def _model_description(self, p: PredictionView) -> str:
        sha = p.weights_sha256[:16] if p.weights_sha256 else "no learned weights"
        return f"{p.display_name} ({p.model_name}); weights {sha}; app {p.app_version}; {p.device}"

    def export_dicom_dialog(self) -> None:
        p = self.state.current_prediction
        if p is None:
            return
        path = self.prompts.save_file("Export prediction as DICOM", DICOM_FILTER, f"prediction-{p.model_name}.dcm")
        if path is None:
            return
        deidentify = self.prompts.confirm(
            "De-identify?", "Remove the patient's identifying attributes from the exported DICOM file?\n\n"
            "Yes: for colleagues or teaching. No: to file it next to the photo in your PACS.")
        self.export_dicom(path, deidentify)

    def export_dicom(self, path: Path, deidentify: bool) -> bool:
        from inference.io.dicom_export import export_secondary_capture

        p, rgb = self.state.current_prediction, self._prediction_rgb()
        if p is None or rgb is None:
            return False
        path = path if path.suffix else path.with_suffix(".dcm")
        try:
            pseudonym = self.state.case.pseudonym if self.state.case is not None else ""
            export_secondary_capture(rgb, path, self.photo.dicom if self.photo is not None else None,
                                     self._model_description(p), deidentify, software_version=app_version(),
                                     patient_name=pseudonym, patient_id=pseudonym)
        except InferenceError as exc:
            self.prompts.error("DICOM not exported", describe_error(exc))
            return False
        self.statusBar().showMessage(f"DICOM written to {path}", 4000)
        return True

    def export_report_dialog(self) -> None:
        """One dialog (copy, contents, page 1 preview), then the file name; written on a worker."""
        from app.dialogs.report_dialog import ReportChoices
        from app.windows.report_export import preview_page_one

        snapshot = self._report_snapshot()
        if snapshot is None:
            return
        choices = ReportChoices(
            second_models=[(name, f"{o.display_name} ({o.created_at})") for name, o in snapshot.others.items()],
            has_notes=bool(snapshot.notes.strip()), has_landmarks=snapshot.primary.landmarks is not None,
            mark_default=self.settings.research_mark,
            preview=lambda options: preview_page_one(snapshot, options))
        options = self.prompts.report_options(choices)
        if options is None:
            return
        suggested = {"family": "consultation-report.pdf", "clinical": "consultation-report-clinical-record.pdf",
                     "deidentified": "consultation-report-deidentified.pdf"}.get(options.kind, "consultation-report.pdf")
        path = self.prompts.save_file("Export consultation report", PDF_FILTER, suggested)
        if path is not None:
            self.export_report(path, options, snapshot)

    def _second_model_candidates(self) -> list[PredictionView]:
        """The latest prediction of every other model of this case."""
        chosen = self.state.current_prediction
        latest: dict[str, PredictionView] = {}
        for p in self.state.predictions:
            if chosen is not None and p.model_name != chosen.model_name:
                latest[p.model_name] = p
        return list(latest.values())

    def _prediction_source(self, p: PredictionView) -> Any:
        from app.windows.report_export import PredictionSource

        card = (self.state.model_choice(p.model_name) or ModelChoice("", "", False, "", False, "")).card or {}
        return PredictionSource(p.image_path, p.display_name, str(card.get("code_version", p.app_version)),
                                p.weights_sha256, p.landmarks, p.created_at, p.device, p.app_version,
                                p.guide_landmarks)

    def _report_snapshot(self) -> Any:
        """What a report of the open case needs, copied now (None, with a message, if incomplete)."""
        from app.windows.report_export import ReportSnapshot

        p, case, face = self.state.current_prediction, self.state.case, self.state.face
        mask = self._current_mask()
        if p is None or case is None or mask is None or self.photo is None:
            return None
        if face is None or face.analysis is None:
            self.prompts.error("Report not made", "The face has not been marked on this photo.")
            return None
        self._save_notes()
        crop = face.analysis.crop
        return ReportSnapshot(
            clinic_name=self.settings.clinic_name, clinic_logo=self.settings.clinic_logo,
            clinician=self.settings.clinician_name, patient_label=case.pseudonym, notes=self.state.case.notes,
            photo_rgb=self.photo.rgb, photo_sha256=case.photo_sha256, mask=mask,
            face_box=(crop.x0, crop.y0, crop.x0 + crop.size, crop.y0 + crop.size), photo_landmarks=face.landmarks,
            primary=self._prediction_source(p),
            others={o.model_name: self._prediction_source(o) for o in self._second_model_candidates()})

    def export_report(self, path: Path, options: Any = None, snapshot: Any = None) -> bool:
        """Start writing the report on a worker; False when it cannot start (the message is shown).

        ``options`` is a ``ReportOptions`` (default: the family copy, marked as the settings say).
        """
        from app.dialogs.report_dialog import ReportOptions
        from app.windows.report_export import build_report

        snapshot = snapshot or self._report_snapshot()
        if snapshot is None:
            return False
        options = options or ReportOptions(mark_predictions=self.settings.research_mark)
        out = path if path.suffix else path.with_suffix(".pdf")
        self.statusBar().showMessage("Writing the report…")
        self.tasks.submit(lambda: build_report(snapshot, options, out), self._report_written,
                          lambda exc: (self.statusBar().clearMessage(),
                                       self.prompts.error("Report not made", describe_error(exc))))
        return True

    def _report_written(self, path: Path) -> None:
        self.statusBar().showMessage(f"Report written to {path}", 4000)

    # ================================================================ settings, about
    def settings_dialog(self) -> None:
        from app.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.state.models, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        old, self.settings = self.settings, new
        set_cpu_precision(new.cpu_precision)
        self._persist_settings()
        if new.data_dir != old.data_dir:
            self.close_case()
            self.store = None
            self._open_store()
            self._update_actions()
        if new.device != old.device:
            self.refresh_environment()
        if new.default_model != old.default_model:
            self._models_loaded()

    def _persist_settings(self) -> None:
        s = self.state
        self.settings = self.settings.with_changes(brush_size=s.brush_size, overlay_color=s.overlay_color,
                                                   overlay_opacity=s.overlay_opacity)
        if self.settings_path is None:
            return
        try:
            save_settings(self.settings, self.settings_path)
        except SettingsError as exc:
            self.prompts.error("Settings not saved", str(exc))

    def studies_window(self) -> QWidget:
        """Open (or raise) the blinded studies window on the same data folder."""
        from app.rating import open_studies_window

        existing = getattr(self, "_studies_window", None)
        if existing is None or not existing.isVisible():
            existing = self._studies_window = open_studies_window(self, self.settings)
        existing.show()
        existing.raise_()
        existing.activateWindow()
        return existing

    def about_dialog(self) -> None:
        from app.dialogs.about import AboutDialog

        AboutDialog(app_version(), self.state.models, self).exec()

    # ================================================================ window plumbing
    def close_case(self) -> None:
        self.autosave.set_case(None)
        self._save_notes()
        self._load_token += 1
        self.photo = None
        self.photo_levels = []
        self.prediction_levels.clear()
        self.canvas.clear_photo()
        self.compare.set_photo(None)
        self.before_after.set_photo(None)
        self.paint_stack.setCurrentWidget(self.placeholder)
        self.state.set_predictions([])
        self.state.set_face(None)
        self._detected_analysis = None
        self.photo_landmarks.start(None, None)
        self.state.set_case(None)
        self.setWindowTitle(APP_TITLE)

    def _active_view(self) -> ZoomPanView:
        index = self.tabs.currentIndex()
        if index == TAB_COMPARE:
            return self.compare.left
        if index == TAB_BEFORE_AFTER:
            return self.before_after.viewer
        return self.canvas

    def _show_device(self, description: str) -> None:
        self.device_label.setText(f"Device: {description}")

    def _show_zoom(self) -> None:
        self.zoom_label.setText(f"Zoom {self.canvas.zoom * 100:.0f}%" if self.canvas.has_photo() else "")

    def _show_cursor(self, pos: QPointF) -> None:
        if self.canvas.layer is not None and self.canvas.layer.bounds.contains(pos.toPoint()):
            self.cursor_label.setText(f"x {pos.x():.0f}  y {pos.y():.0f}")
        else:
            self.cursor_label.setText("")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        files = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_photo_file(files[0])

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.running:
            if not self.prompts.confirm("Model running", "A model is still running. Stop it and quit?"):
                event.ignore()
                return
            self.runner.cancel()
            self.runner.wait()
        self.autosave.flush()
        self._save_notes()
        self.tasks.wait()
        self._persist_settings()
        event.accept()
