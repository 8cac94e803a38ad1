"""Side panels: painting tools, the model picker with run/cancel, and the case notes.

Each panel only reads and writes ``AppState`` (and emits requests the window acts on), so the
panels can be tested alone: change the state, see the widget follow, and the reverse.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.state import MAX_BRUSH, MIN_BRUSH, AppState, Tool
from inference.face.suggest import FAMILY_LABELS

# mask families the "Suggest mask" menu offers, in menu order (inference.face.suggest)
SUGGEST_FAMILIES = ("mouth_nostril", "upper_lip_nostril")
SUGGEST_TIP = "Propose a mask from the landmarks: the whole mouth or the upper lip, with the nostril sill"

TOOL_LABELS = [
    (Tool.BRUSH, "Brush", "B", "Paint the area to fill (B)"),
    (Tool.ERASER, "Eraser", "E", "Erase painted area (E)"),
    (Tool.LASSO, "Lasso", "L", "Drag a closed outline to fill it (L); hold Shift to erase"),
    (Tool.POLYGON, "Polygon", "P", "Click corners, double-click or Enter to fill (P); Shift erases"),
    (Tool.PAN, "Pan", "H", "Drag to move the view (H); Space-drag or middle button work with any tool"),
    (Tool.FACE_BOX, "Face square", "F", "Drag a square around the face when none was found (F)"),
]


class ToolPanel(QGroupBox):
    suggest_requested = Signal(str)  # a mask family of inference.face.suggest
    clear_requested = Signal()
    transform_requested = Signal(str, int)  # app.canvas.mask_ops operation, photo pixels

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Mask", parent)
        self.state = state
        grid = QGridLayout()
        self.tool_buttons: dict[Tool, QToolButton] = {}
        group = QButtonGroup(self)
        group.setExclusive(True)
        for i, (tool, label, _key, tip) in enumerate(TOOL_LABELS):
            button = QToolButton(text=label, checkable=True, toolTip=tip)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setMinimumWidth(80)
            button.clicked.connect(lambda _c=False, t=tool: state.set_tool(t))
            group.addButton(button)
            grid.addWidget(button, i // 2, i % 2)
            self.tool_buttons[tool] = button
        self.size_spin = QSpinBox(minimum=MIN_BRUSH, maximum=MAX_BRUSH, suffix=" px on screen",
                                  toolTip="Brush diameter in screen pixels, whatever the zoom: [ and ]")
        self.size_spin.valueChanged.connect(state.set_brush_size)
        self.color_button = QPushButton(toolTip="Mask overlay colour")
        self.color_button.clicked.connect(self._pick_color)
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, toolTip="Mask overlay opacity")
        self.opacity.valueChanged.connect(lambda v: state.set_overlay_opacity(v / 100))
        self.show_mask = QCheckBox("Show mask (M)")
        self.show_mask.toggled.connect(state.set_mask_visible)
        self.show_face = QCheckBox("Show face box and landmarks")
        self.show_face.toggled.connect(state.set_face_overlay_visible)
        self.suggest = QToolButton(text="Suggest mask", toolTip=SUGGEST_TIP)
        self.suggest.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.suggest.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.suggest.setMenu(QMenu(self.suggest))
        self.suggest_actions = {}
        for family in SUGGEST_FAMILIES:
            action = self.suggest.menu().addAction(FAMILY_LABELS[family])
            action.triggered.connect(lambda _c=False, f=family: self.suggest_requested.emit(f))
            self.suggest_actions[family] = action
        self.clear = QPushButton("Clear mask")
        self.clear.clicked.connect(self.clear_requested)
        self.edit_pixels = QSpinBox(minimum=1, maximum=200, value=5, suffix=" px",
                                    toolTip="How far Grow, Shrink and Feather reach, in photo pixels")
        self.transform_buttons: dict[str, QPushButton] = {}
        edit_row = QHBoxLayout()
        edit_row.addWidget(self.edit_pixels)
        for op, label, tip in (("grow", "Grow", "Widen the mask by the pixels set here (one undo step)"),
                               ("shrink", "Shrink", "Narrow the mask by the pixels set here (one undo step)"),
                               ("feather", "Feather", "Round off jagged edges up to the pixels set here"),
                               ("invert", "Invert", "Swap painted and unpainted areas (one undo step)")):
            button = QPushButton(label, toolTip=tip)
            button.setMinimumWidth(10)
            button.clicked.connect(lambda _c=False, o=op: self.transform_requested.emit(o, self.edit_pixels.value()))
            edit_row.addWidget(button)
            self.transform_buttons[op] = button
        form = QFormLayout()
        form.addRow("Brush size", self.size_spin)
        form.addRow("Edges", edit_row)
        colour_row = QHBoxLayout()
        colour_row.addWidget(self.color_button)
        colour_row.addWidget(self.opacity, 1)
        form.addRow("Overlay", colour_row)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(form)
        layout.addWidget(self.show_mask)
        layout.addWidget(self.show_face)
        buttons = QHBoxLayout()
        buttons.addWidget(self.suggest)
        buttons.addWidget(self.clear)
        layout.addLayout(buttons)

        state.tool_changed.connect(self._sync)
        state.brush_size_changed.connect(self._sync)
        state.overlay_color_changed.connect(self._sync)
        state.overlay_opacity_changed.connect(self._sync)
        state.mask_visible_changed.connect(self._sync)
        state.face_overlay_visible_changed.connect(self._sync)
        state.face_changed.connect(self._sync)
        state.case_changed.connect(self._sync)
        self._sync()

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self.state.overlay_color), self, "Mask overlay colour")
        if color.isValid():
            self.state.set_overlay_color(color.name())

    def _sync(self, *_: object) -> None:
        s = self.state
        self.setEnabled(s.case is not None)
        self.tool_buttons[s.tool].setChecked(True)
        self.size_spin.setValue(s.brush_size)
        self.color_button.setStyleSheet(f"background: {s.overlay_color}; min-width: 28px; border: 1px solid #888;")
        self.opacity.setValue(round(s.overlay_opacity * 100))
        self.show_mask.setChecked(s.mask_visible)
        self.show_face.setChecked(s.face_overlay_visible)
        has_landmarks = s.face is not None and s.face.landmarks is not None
        self.suggest.setEnabled(has_landmarks)
        self.suggest.setToolTip(SUGGEST_TIP if has_landmarks
                                else "Needs detected landmarks (no face was detected in this photo)")


class ModelPanel(QGroupBox):
    run_requested = Signal(object)  # list of model names
    run_all_requested = Signal(object)  # every available model; the window reuses up-to-date ones
    cancel_requested = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Models", parent)
        self.state = state
        self.picker = QComboBox()
        self.picker.setPlaceholderText("Loading models…")
        self.picker.currentIndexChanged.connect(self._picked)
        self.run_one = QPushButton("Run", toolTip="Run the chosen model on the current mask (Ctrl+R)")
        self.run_all = QPushButton("Run all", toolTip="Run every model that has weights and no prediction for "
                                                    "this mask yet (Ctrl+Shift+R)")
        self.cancel = QPushButton("Cancel", toolTip="Stop after the model that is running now (Esc)")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.run_one.clicked.connect(lambda: self.state.selected_model and self.run_requested.emit([self.state.selected_model]))
        self.run_all.clicked.connect(lambda: self.run_all_requested.emit([m.name for m in self.state.models if m.available]))
        self.cancel.clicked.connect(self.cancel_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_one)
        buttons.addWidget(self.run_all)
        buttons.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picker)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        state.models_changed.connect(self._fill)
        state.selected_model_changed.connect(self._select)
        state.busy_changed.connect(lambda _b: self._enable())
        state.case_changed.connect(lambda _c: self._enable())
        self._fill(state.models)
        self.set_progress(0, 0, "")

    def _fill(self, models: list) -> None:
        self.picker.blockSignals(True)
        self.picker.clear()
        items: QStandardItemModel = self.picker.model()  # type: ignore[assignment]
        for i, m in enumerate(models):
            self.picker.addItem(m.display_name if m.available else f"{m.display_name} (no weights)", m.name)
            self.picker.setItemData(i, m.reason if not m.available else m.description, Qt.ItemDataRole.ToolTipRole)
            items.item(i).setEnabled(m.available)
        self.picker.blockSignals(False)
        self._select(self.state.selected_model)
        self._enable()

    def _select(self, name: str | None) -> None:
        index = self.picker.findData(name) if name else -1
        if index != self.picker.currentIndex():
            self.picker.setCurrentIndex(index)
        self._enable()

    def _picked(self, index: int) -> None:
        name = self.picker.itemData(index) if index >= 0 else None
        choice = self.state.model_choice(name) if name else None
        if choice is not None and choice.available:
            self.state.set_selected_model(name)

    def _enable(self) -> None:
        ready = self.state.case is not None and not self.state.busy
        choice = self.state.model_choice(self.state.selected_model or "")
        self.run_one.setEnabled(ready and choice is not None and choice.available)
        self.run_all.setEnabled(ready and any(m.available for m in self.state.models))
        self.cancel.setEnabled(self.state.busy)

    def set_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total} models" if total else "")
        self.status.setText(message)


class CasePanel(QGroupBox):
    """Pseudonym and free-text notes of the open case (notes are saved when editing pauses)."""

    notes_edited = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Case", parent)
        self.state = state
        self.pseudonym = QLabel("No case open")
        self.pseudonym.setStyleSheet("font-weight: bold;")
        self.pseudonym.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QPlainTextEdit(placeholderText="Notes (kept with the case)")
        self.notes.setMaximumHeight(110)
        self.notes.textChanged.connect(lambda: self.notes_edited.emit(self.notes.toPlainText()))
        layout = QVBoxLayout(self)
        layout.addWidget(self.pseudonym)
        layout.addWidget(self.notes)
        state.case_changed.connect(self._sync)
        self._sync(state.case)

    def _sync(self, case: object) -> None:
        self.notes.blockSignals(True)
        if case is None:
            self.pseudonym.setText("No case open")
            self.notes.setPlainText("")
            self.notes.setEnabled(False)
        else:
            self.pseudonym.setText(f"Patient: {case.pseudonym}")  # type: ignore[attr-defined]
            if self.notes.toPlainText() != case.notes:  # type: ignore[attr-defined]
                self.notes.setPlainText(case.notes)  # type: ignore[attr-defined]
            self.notes.setEnabled(True)
        self.notes.blockSignals(False)
