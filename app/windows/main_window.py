"""The main window: widgets, menus, and the wiring between them, the state and the services.

What the window shows lives in ``AppState`` (photo, mask, face, case, predictions); the open case is
changed through the Qt-free ``CaseController``; exports run on the ``ExportService`` and predictions
are drawn by ``PredictionDisplay``. Anything slow (decoding a photo, finding the face, running a
model, saving a mask, writing an export) goes to a worker; results come back as signals.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
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
from app.canvas.images import display_pyramid, to_pixmaps
from app.canvas.view import MaskCanvas, ZoomPanView
from app.case_controller import CaseController, OpenedCase, Refusal, SteerContext
from app.environment import open_case_store, probe_environment
from app.prompts import PHOTO_FILTER, DialogPrompts, Prompts
from app.settings import AppSettings, SettingsError, save_settings
from app.state import AppState, ModelChoice, Tool
from app.version import app_version
from app.windows.export_menu import ExportMenu
from app.windows.face_actions import FaceActions
from app.windows.grid_view import GridCompareWidget
from app.windows.mask_actions import MaskActions
from app.windows.measures_panel import MeasuresPanel
from app.windows.panels import TOOL_LABELS, CasePanel, ModelPanel, ToolPanel
from app.windows.postop import PostopActions
from app.windows.prediction_display import PredictionDisplay
from app.windows.predictions import BeforeAfterWidget, CompareWidget, Gallery, delete_prediction
from app.windows.run_session import RunSession
from app.windows.steering import SteeringBar, SteeringController, SteerOutcome, SteerPreview
from app.workers import TaskRunner, describe_error
from inference.devices import set_cpu_precision
from studies.errors import StudyError

APP_TITLE = "Cleft Lip Inpainting"
TAB_PAINT, TAB_COMPARE, TAB_BEFORE_AFTER, TAB_GRID = range(4)


def _load_photo_levels(path: Path) -> tuple[Any, list, list]:
    """A photo, its display pyramid's arrays and images (runs on a worker)."""
    photo = CaseController.load_photo(path)
    return (photo, *display_pyramid(photo.rgb))


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings, *, prompts: Prompts | None = None, store: Any = None,
                 pipeline: Any = None, settings_path: Path | None = None, probe: bool = True) -> None:
        super().__init__()
        self.settings = settings
        set_cpu_precision(settings.cpu_precision)
        self.settings_path = settings_path
        self.prompts: Prompts = prompts or DialogPrompts(self)
        self.state = AppState(settings.brush_size, settings.overlay_color, settings.overlay_opacity)
        self.cases = CaseController(self.state, store, pipeline)
        self.tasks = TaskRunner(self)

        self.setWindowTitle(APP_TITLE)
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self._build_widgets()
        self._build_actions()
        self._connect_state()
        self.autosave = MaskAutosaver(lambda: self.state.mask, self.cases.store_mask, self)
        self.autosave.failed.connect(lambda msg: self.prompts.error("Mask not saved", msg))
        # A permanent label, not a transient message: an autosave must not hide "Run cancelled".
        self.autosave.saved.connect(lambda _cid: self.mask_saved_label.setText(
            f"Mask saved {datetime.now():%H:%M:%S}"))
        self.canvas.mask_edited.connect(lambda: self.cases.mask_edited(self._canvas_mask()))
        self.canvas.mask_edited.connect(self.autosave.mark_dirty)
        self._notes_timer = QTimer(self, singleShot=True, interval=600)
        self._notes_timer.timeout.connect(self._save_notes)
        self.case_panel.notes_edited.connect(lambda _t: self._notes_timer.start())
        if self.store is None:
            self._open_store()
        self._fill_recent_menu()
        self._update_actions()
        if probe:
            self.refresh_environment()

    # ================================================================ construction
    def _build_widgets(self) -> None:
        self.canvas = MaskCanvas(self.state)
        self.canvas.setAcceptDrops(False)
        self.canvas.cursor_moved.connect(self._show_cursor)
        self.canvas.view_moved.connect(self._show_zoom)
        self.faces = FaceActions(self.cases, self.canvas, self.tasks, self.prompts, self.statusBar(),
                                 lambda: self.tabs.setCurrentIndex(TAB_PAINT), self)
        self.photo_landmarks = self.faces.photo_landmarks
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
        self.steering.previewed.connect(self._steer_preview)
        self.steering.rendered.connect(self._steered)
        self.steering.failed.connect(lambda exc: self.prompts.error("Prediction not redrawn", describe_error(exc)))
        self.steering.unsaved.connect(self._steer_not_saved)
        compare_page = QWidget()
        compare_column = QVBoxLayout(compare_page)
        compare_column.setContentsMargins(0, 0, 0, 0)
        compare_column.addWidget(self.steering_bar)
        compare_column.addWidget(self.compare, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.paint_stack, "Paint mask")
        self.tabs.addTab(compare_page, "Side by side")
        self.tabs.addTab(self.before_after, "Before / after")
        self.grid_view = GridCompareWidget(self.state, self.tasks.submit, lambda: self.store,
                                           lambda title, text: self.prompts.error(title, text))
        self.tabs.addTab(self.grid_view, "All models")
        self.tabs.currentChanged.connect(lambda i: i == TAB_GRID and self.grid_view.refresh())
        self.setCentralWidget(self.tabs)

        side = QWidget()
        column = QVBoxLayout(side)
        self.case_panel = CasePanel(self.state)
        self.tool_panel = ToolPanel(self.state)
        self.model_panel = ModelPanel(self.state)
        for panel in (self.case_panel, self.tool_panel):
            column.addWidget(panel)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # The case and the tools scroll; the Models panel (Run, Run all, Cancel) stays pinned below them, so the
        # Run buttons are reachable without scrolling on small screens (1280x720).
        tools_column = QWidget()
        tools_layout = QVBoxLayout(tools_column)
        tools_layout.setContentsMargins(0, 0, 0, 0)
        tools_layout.setSpacing(2)
        tools_layout.addWidget(scroll, 1)
        tools_layout.addWidget(self.model_panel)
        self._dock("Case and tools", "tools-dock", tools_column, Qt.DockWidgetArea.RightDockWidgetArea)
        # The right-hand docks run the full height (the gallery only spans the pictures), so the tools get room.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.gallery = Gallery(self.state)
        self.gallery.delete_requested.connect(
            lambda record_id: delete_prediction(self.state, self.store, self.prompts, record_id))
        self._dock("Predictions of this case", "gallery-dock", self.gallery, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.measures_panel = MeasuresPanel(self.state)
        self.measures_dock = self._dock("Symmetry: photo and prediction", "measures-dock", self.measures_panel,
                                        Qt.DockWidgetArea.RightDockWidgetArea, closable=True)
        self.display = PredictionDisplay(self.state, self.compare, self.before_after, self.gallery, self.tasks,
                                         lambda: self.store, self.prompts.error, self)
        self.runs = RunSession(self.cases, self.display, self.model_panel, self.statusBar(), self.prompts,
                               lambda: self.settings.device, self.autosave_now,
                               lambda: self.tabs.setCurrentIndex(TAB_COMPARE), self)
        self.model_panel.run_requested.connect(self.runs.run_models)
        self.model_panel.run_all_requested.connect(lambda names: self.runs.run_models(names, reuse=True))
        self.model_panel.cancel_requested.connect(self.runs.cancel_run)
        self.masks = MaskActions(self.state, self.canvas, self.prompts, self.statusBar().showMessage, self)
        self.exports = ExportMenu(self.cases, lambda: self.settings, self.prompts, self.tasks, self.statusBar(),
                                  self._save_notes, self)
        self.postop = PostopActions(self.cases, self.tasks, self.prompts, self.statusBar(), self)
        self.tool_panel.suggest_requested.connect(self.masks.suggest_mask)
        self.tool_panel.clear_requested.connect(self.masks.clear_mask)
        self.tool_panel.transform_requested.connect(self.masks.transform_mask)
        self.device_label, self.zoom_label, self.cursor_label = QLabel(), QLabel(), QLabel()
        self.mask_saved_label = QLabel()
        for label in (self.mask_saved_label, self.cursor_label, self.zoom_label, self.device_label):
            label.setContentsMargins(8, 0, 8, 0)
            self.statusBar().addPermanentWidget(label)
        self._show_device(self.state.device)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea,
              closable: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        features = QDockWidget.DockWidgetFeature.DockWidgetMovable
        dock.setFeatures(features | QDockWidget.DockWidgetFeature.DockWidgetClosable if closable else features)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None, tip: str = "",
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut) if isinstance(shortcut, list) else action.setShortcut(shortcut)
        if tip:
            action.setStatusTip(tip)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work whatever has focus
        return action

    def _build_actions(self) -> None:
        bar, key, masks, exports, runs = self.menuBar(), QKeySequence, self.masks, self.exports, self.runs
        file = bar.addMenu("&File")
        self.act_open = self._action(file, "New case from photo…", self.open_photo_dialog, key.StandardKey.Open)
        self.act_cases = self._action(file, "Open case…", self.open_case_dialog, key("Ctrl+Shift+O"))
        self.recent_menu = file.addMenu("Open recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        # (filled once the store is open; its enabled state follows the list, not _update_actions)
        file.addSeparator()
        self.act_import_mask = self._action(file, "Import mask (PNG)…", masks.import_mask_dialog, key("Ctrl+I"))
        self.act_export_mask = self._action(file, "Export mask (PNG)…", masks.export_mask_dialog, key("Ctrl+E"))
        file.addSeparator()
        self.act_save_pred = self._action(file, "Save prediction as image…", exports.save_prediction_dialog,
                                          key.StandardKey.Save)
        self.act_copy_pred = self._action(file, "Copy prediction to clipboard", exports.copy_prediction,
                                          key("Ctrl+Shift+C"))
        self.act_report = self._action(file, "Export consultation report (PDF)…", exports.export_report_dialog,
                                       key("Ctrl+P"))
        self.act_dicom = self._action(file, "Export prediction as DICOM…", exports.export_dicom_dialog)
        file.addSeparator()
        self.act_add_postop = self._action(file, "Add post-op photo…", self.postop.add_postop_photo,
                                           tip="Add the photo taken after the repair to this case")
        self.act_compare_postop = self._action(
            file, "Compare with post-op photo…", self.postop.compare,
            tip="The prediction beside the aligned post-operative photo, with a slider and the measures")
        file.addSeparator()
        self._action(file, "Settings…", self.settings_dialog, key("Ctrl+,"))
        file.addSeparator()
        self._action(file, "Quit", self.close, key.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        # One Ctrl+Z (Cmd+Z on macOS) for both editors: the landmark edits while they are shown, else the mask.
        self.act_undo = QAction("Undo", self)
        self.act_undo.setShortcut(key.StandardKey.Undo)
        self.act_undo.triggered.connect(self.undo)
        stack = self.canvas.undo_stack
        # Bound methods, not lambdas: Qt drops them with the window (the stack may outlive its tabs).
        stack.canUndoChanged.connect(self._update_undo)
        stack.undoTextChanged.connect(self._update_undo)
        self.tabs.currentChanged.connect(self._update_undo)
        self.steering.changed.connect(self._update_undo)
        self._update_undo()
        self.act_redo = stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([key("Ctrl+Shift+Z"), key("Ctrl+Y")])
        for a in (self.act_undo, self.act_redo):
            edit.addAction(a)
            self.addAction(a)
        edit.addSeparator()
        self.act_suggest = self._action(edit, "Suggest mask: upper lip + nostril sill",
                                        lambda: masks.suggest_mask("upper_lip_nostril"), key("Ctrl+G"))
        self.act_suggest_mouth = self._action(edit, "Suggest mask: whole mouth + nostril sill",
                                              lambda: masks.suggest_mask("mouth_nostril"), key("Ctrl+Shift+G"))
        self.act_clear = self._action(edit, "Clear mask", masks.clear_mask, key("Ctrl+Backspace"))
        edit.addSeparator()
        self.act_correct_lm = self._action(
            edit, "Correct the photo's landmarks", self.faces.toggle_photo_landmarks, key("Ctrl+K"),
            "Drag the detected lip and nose points where they belong; Suggest mask, the face crop and the "
            "measures use them", checkable=True)
        self.act_reset_lm = self._action(edit, "Reset the photo's landmarks to the detected ones",
                                         self.photo_landmarks.reset)
        self.photo_landmarks.changed.connect(self._update_undo)
        self.photo_landmarks.changed.connect(self._update_actions)
        edit.addSeparator()
        tools = edit.addMenu("Tool")
        for tool, label, shortcut, tip in TOOL_LABELS:
            self._action(tools, label, lambda _c=False, t=tool: self.state.set_tool(t), key(shortcut), tip)
        self._action(edit, "Smaller brush", lambda: self.state.grow_brush(1 / 1.2), key("["))
        self._action(edit, "Larger brush", lambda: self.state.grow_brush(1.2), key("]"))

        view = bar.addMenu("&View")
        self._action(view, "Zoom in", lambda: self._active_view().zoom_by(1.25), key.StandardKey.ZoomIn)
        self._action(view, "Zoom out", lambda: self._active_view().zoom_by(0.8), key.StandardKey.ZoomOut)
        self._action(view, "Fit to window", lambda: self._active_view().fit(), key("Ctrl+0"))
        self._action(view, "Actual pixels", lambda: self._active_view().set_zoom(1.0), key("Ctrl+1"))
        view.addSeparator()
        self.act_show_mask = self._action(view, "Show mask", self.state.set_mask_visible, key("M"), checkable=True)
        self.act_show_face = self._action(view, "Show face box and landmarks", self.state.set_face_overlay_visible,
                                          key("Ctrl+L"), checkable=True)
        self.act_show_pred_lm = self._action(view, "Show predicted landmarks", self.state.set_predicted_landmarks_visible,
                                             key("Ctrl+Shift+L"), checkable=True)
        view.addSeparator()
        for index, name in ((TAB_PAINT, "Paint mask"), (TAB_COMPARE, "Side by side"), (TAB_BEFORE_AFTER, "Before / after"),
                            (TAB_GRID, "All models")):
            self._action(view, name, lambda _c=False, i=index: self.tabs.setCurrentIndex(i), key(f"Alt+{index + 1}"))

        models = bar.addMenu("&Models")
        self.act_run = self._action(models, "Run chosen model", lambda: self.state.selected_model and
                                    runs.run_models([self.state.selected_model]), key("Ctrl+R"))
        self.act_run_all = self._action(models, "Run all models", lambda: runs.run_models(
            [m.name for m in self.state.models if m.available], reuse=True), key("Ctrl+Shift+R"),
            "Run every model that has no prediction for the current mask yet")
        self.act_cancel = self._action(models, "Cancel run", runs.cancel_run, key("Esc"))

        studies = bar.addMenu("&Studies")
        self.act_studies = self._action(studies, "Blinded rating studies…", self.studies_window, key("Ctrl+Shift+B"),
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
        for signal in (s.current_prediction_changed, s.busy_changed, s.face_changed, s.case_changed):
            signal.connect(lambda _v: self._update_actions())
        self.act_show_mask.setChecked(s.mask_visible)
        self.canvas.undo_stack.indexChanged.connect(lambda _i: self._update_actions())

    def _update_actions(self) -> None:
        has_case, has_pred, busy = self.state.case is not None, self.state.current_prediction is not None, self.state.busy
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
        self.act_add_postop.setEnabled(has_case and not busy)
        self.act_compare_postop.setEnabled(has_pred and can_suggest)
        if hasattr(self, "act_correct_lm"):
            self.act_correct_lm.setEnabled(has_case and self.photo_landmarks.available)
            self.act_reset_lm.setEnabled(has_case and self.photo_landmarks.corrected)

    def _undo_target(self) -> Any:
        """Ctrl+Z goes to the landmark editor that is on in the tab shown, else to the mask (None)."""
        if self.tabs.currentIndex() == TAB_COMPARE and self.steering.active:
            return self.steering
        if self.tabs.currentIndex() == TAB_PAINT and self.photo_landmarks.active:
            return self.photo_landmarks
        return None

    def undo(self) -> None:
        target = self._undo_target()
        target.undo() if target is not None else self.canvas.undo_stack.undo()

    def _update_undo(self, *_: object) -> None:
        target, stack = self._undo_target(), self.canvas.undo_stack
        if target is not None:
            self.act_undo.setText("Undo landmark edit" if target is self.steering else "Undo landmark correction")
            self.act_undo.setEnabled(target.can_undo)
            return
        self.act_undo.setText(f"Undo {stack.undoText()}" if stack.undoText() else "Undo")
        self.act_undo.setEnabled(stack.canUndo())

    # ================================================================ services
    @property
    def store(self) -> Any:
        return self.cases.store

    @store.setter
    def store(self, store: Any) -> None:
        self.cases.store = store

    @property
    def photo(self) -> Any:
        """The open case's photo (``inference.io.photo.Photo``), as the state holds it."""
        return self.state.photo

    def _open_store(self) -> None:
        try:
            self.store = open_case_store(self.settings.data_dir)
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
                          lambda exc: self._open_failed(f"{path.name}: {describe_error(exc)}", "Cannot open photo"))

    def _open_failed(self, message: str, title: str = "Cannot open case") -> None:
        self.statusBar().clearMessage()
        self.prompts.error(title, message)

    def _new_photo_loaded(self, path: Path, result: tuple[Any, list, list]) -> None:
        self.statusBar().clearMessage()
        photo, arrays, images = result
        pseudonym = self.prompts.ask_text(
            "New case", "Patient pseudonym or study ID for this photo\n(used to find the case again; "
            "the app never derives it from the photo):")
        if pseudonym is None:
            return
        try:
            case = self.cases.create_case(pseudonym, path)
        except Refusal as refusal:
            self.prompts.error(refusal.title, str(refusal))
            return
        except (StudyError, OSError) as exc:
            self.prompts.error("Case not created", describe_error(exc))
            return
        if case.same_photo_as:  # a family must never get another child's report
            self.prompts.error("Same photo as another case",
                               f"This photo is already stored as case {', '.join(case.same_photo_as)}. "
                               f"Check that {case.pseudonym} is the right patient before you go on.")
        self._show_case(OpenedCase(case, photo, None, []), arrays, images)

    def open_case_dialog(self) -> None:
        from app.dialogs.case_list import CaseListDialog

        if self.store is None:
            return
        dialog = CaseListDialog(self.store, self, prompts=self.prompts,
                                current_case_id=self.state.case.id if self.state.case else None)
        if dialog.exec() and dialog.selected_case_id() is not None:
            self.open_case(dialog.selected_case_id())

    def recent_cases(self) -> list[tuple[int, str]]:
        """(case id, pseudonym) of the recent cases still in the data folder, newest first.

        The settings hold case ids only; the names are read from the database now.
        """
        if self.store is None:
            return []
        found = []
        for case_id in self.settings.recent_cases:
            try:
                found.append((case_id, self.store.get_case(case_id).pseudonym))
            except (StudyError, OSError, LookupError):
                continue  # deleted meanwhile: left out of the menu
        return found

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        self.recent_menu.setEnabled(self.store is not None and bool(self.settings.recent_cases))
        cases = self.recent_cases()
        for case_id, pseudonym in cases:
            action = self.recent_menu.addAction(f"{pseudonym.replace('&', '&&')}  (case {case_id})")
            action.setEnabled(not self.state.busy)
            action.triggered.connect(lambda _c=False, i=case_id: self.open_case(i))
        if not cases:
            self.recent_menu.addAction("No recent cases").setEnabled(False)

    def reopen_last_case(self) -> bool:
        """At start: open the newest recent case if the settings ask for it and it still exists."""
        if not self.settings.reopen_last_case:
            return False
        cases = self.recent_cases()
        if not cases:
            return False
        self.open_case(cases[0][0])
        return True

    def _remember_case(self, case_id: int) -> None:
        if self.settings.recent_cases[:1] != (case_id,):
            self.settings = self.settings.with_recent_case(case_id)
            self._persist_settings()
            self._fill_recent_menu()

    def open_case(self, case_id: int) -> None:
        """Reopen a stored case: photo, mask and every prediction."""
        if self.state.busy:
            self.prompts.error("Please wait", "A model is running. Cancel it or wait before opening another case.")
            return

        def load() -> tuple[OpenedCase, list, list]:
            opened = self.cases.load_case(case_id)
            return (opened, *display_pyramid(opened.photo.rgb))

        self.statusBar().showMessage("Opening case…")
        self.tasks.submit(load, lambda r: self._show_case(*r), lambda exc: self._open_failed(describe_error(exc)))

    def _show_case(self, opened: OpenedCase, arrays: list, images: list) -> None:
        self.statusBar().clearMessage()
        self.autosave.set_case(None)
        self._save_notes()
        levels = to_pixmaps(images)
        h, w = opened.photo.rgb.shape[:2]
        self.canvas.set_photo(levels, w, h)
        if opened.mask is not None:
            self.canvas.load_mask(opened.mask)
        self.paint_stack.setCurrentWidget(self.canvas)
        self.tabs.setCurrentIndex(TAB_PAINT)
        self.display.set_photo(arrays, levels)
        self.cases.show(opened)
        self.autosave.set_case(opened.case.id)
        self._remember_case(opened.case.id)
        self.setWindowTitle(f"{APP_TITLE} — {opened.case.pseudonym}")
        self.display.load(self.state.predictions)
        self.state.set_tool(Tool.BRUSH)
        self.canvas.setFocus()
        self.faces.start(opened.case)

    def close_case(self) -> None:
        self.autosave.set_case(None)
        self._save_notes()
        self.canvas.clear_photo()
        self.display.set_photo(None, None)
        self.paint_stack.setCurrentWidget(self.placeholder)
        self.photo_landmarks.start(None, None)
        self.cases.close()
        self.setWindowTitle(APP_TITLE)

    # ================================================================ mask editing
    def _canvas_mask(self) -> np.ndarray | None:
        return None if self.canvas.layer is None else self.canvas.layer.to_bool()

    def autosave_now(self) -> None:
        """Before a Run: the case's mask starts writing now (the prediction stores its own copy)."""
        self.autosave.save_now()

    def _save_notes(self) -> None:
        self._notes_timer.stop()
        try:
            self.cases.save_notes(self.case_panel.notes.toPlainText())
        except StudyError as exc:  # the text stays in the box; the next edit saves it again
            self.prompts.error("Notes not saved", f"{describe_error(exc)}\n\nYour notes are still in the box "
                                                  "and are saved again with your next edit.")

    # ================================================================ steering
    def _steer_context(self) -> SteerContext | str:
        return self.cases.steer_context(self.settings.device, tuple(self.display.photo_arrays))

    def _steer_preview(self, preview: SteerPreview) -> None:
        """Show a re-render as soon as it exists, as a Run does; ``_steered`` follows once it is stored."""
        current = self.state.current_prediction
        if not self.cases.is_open(preview) or current is None or current.record_id != preview.record_id:
            return  # another case or prediction is shown now; it is listed once stored
        self.display.preview(self.cases.preview_view(preview.prediction), preview.levels)
        self.statusBar().showMessage(f"Lip drawn again from the edited points in {preview.seconds:.1f} s; saving…")

    def _steered(self, outcome: SteerOutcome) -> None:
        if not self.cases.is_open(outcome.record):
            return  # stored with its own case; not shown over another one
        self.display.add(outcome.record.id, outcome.levels)  # the levels shown as the preview, now its own
        self.cases.replace_result(outcome.record)
        self.statusBar().showMessage(f"Lip drawn again from the edited points in {outcome.preview.seconds:.1f} s "
                                     f"(saved after {outcome.seconds:.1f} s)", 3000)

    def _steer_not_saved(self, exc: BaseException) -> None:
        """A re-render was shown but not stored: the stored picture is shown again (its points are back)."""
        self.statusBar().clearMessage()
        self.display.show(self.state.current_prediction)
        self.prompts.error("Prediction shown but not saved",
                           f"{describe_error(exc)}\n\nThe lip drawn from your edited points was shown but could "
                           "not be saved, so the saved picture is shown again and the points are back where it "
                           "was drawn from. Nothing else was changed; drag the points again to retry.")

    # ================================================================ settings, studies, about
    def settings_dialog(self) -> None:
        from app.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self.state.models, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        old, self.settings = self.settings, new
        set_cpu_precision(new.cpu_precision)
        self._persist_settings()
        if new.data_dir != old.data_dir:  # the recent case ids were of the other folder's database
            self.settings = new = new.with_changes(recent_cases=())
            self._persist_settings()
            self.close_case()
            self.store = None
            self._open_store()
            self._update_actions()
            self._fill_recent_menu()
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
    def _active_view(self) -> ZoomPanView:
        if self.tabs.currentIndex() == TAB_GRID and self.grid_view.viewers:
            return self.grid_view.viewers[0]
        return {TAB_COMPARE: self.compare.left, TAB_BEFORE_AFTER: self.before_after.viewer}.get(
            self.tabs.currentIndex(), self.canvas)

    def _show_device(self, description: str) -> None:
        self.device_label.setText(f"Device: {description}")

    def _show_zoom(self) -> None:
        self.zoom_label.setText(f"Zoom {self.canvas.zoom * 100:.0f}%" if self.canvas.has_photo() else "")

    def _show_cursor(self, pos: QPointF) -> None:
        inside = self.canvas.layer is not None and self.canvas.layer.bounds.contains(pos.toPoint())
        self.cursor_label.setText(f"x {pos.x():.0f}  y {pos.y():.0f}" if inside else "")

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
        if self.runs.runner.running:
            if not self.prompts.confirm("Model running", "A model is still running. Stop it and quit?"):
                event.ignore()
                return
            self.runs.wait()
        self.autosave.flush()
        self._save_notes()
        self.tasks.wait()
        self._persist_settings()
        event.accept()
