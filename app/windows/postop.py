"""Prediction against the real post-operative photo (issue 14): the window, and the main window's two actions.

:class:`PostopWindow` takes plain inputs (:class:`PostopComparisonView`: the repaired photo, the
post-op photo already aligned to the pre-op photo, the three sets of landmarks) and shows

- the prediction and the aligned post-op photo side by side, and between them one picture with a
  slider: in "Wipe" mode the slider moves a line, the prediction left of it and the post-op photo
  right of it (the usual before/after slider); in "Blend" mode it cross-fades (slider at the right
  end: all prediction, at the left end: all post-op). All three are cut to the same nose-and-lip
  region at the same scale;
- the symmetry measures (``inference.measures``) of the pre-op photo, the prediction and the
  post-op photo in one table, and the mean landmark distance between predicted and real lip and
  nose (``inference.alignment.compare_to_postop``), with how well the photos were aligned.

:class:`PostopActions` is what the main window connects to its menu: "Add post-op photo…" (the
file is read and its face found on a worker, then stored with ``studies.postop.PostopStore``)
and "Compare with post-op photo…" (aligned on a worker, then the window opens).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QSlider,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from app.canvas.images import rgb_to_qimage
from app.prompts import PHOTO_FILTER
from app.windows.measures_panel import NO_VALUE, fill_measure_column
from app.workers import describe_error
from inference.alignment import LIP_POINTS, NORMALISER, NOSE_POINTS, PostopComparison, compare_to_postop
from inference.errors import InferenceError
from inference.face.regions import NOSE_BASE_AND_MOUTH
from inference.measures import DEFINITIONS

PREOP_COLUMN, PREDICTION_COLUMN, POSTOP_COLUMN = range(3)
WIPE, BLEND = "Wipe", "Blend"
_PRED_RGB, _POST_RGB = (0, 200, 255), (255, 214, 0)   # point colours: prediction cyan, post-op yellow
_DIVIDER_RGB = (255, 255, 255)
NOTE = ("Post-op photo aligned to the pre-op photo on the eyes and nose bridge (scale, rotation and shift). "
        "Distances in % of the width between the outer eye corners of the post-op photo. "
        "A research aid for comparing pictures, not a clinical score.")


@dataclass(frozen=True, eq=False)
class PostopComparisonView:
    """What the window shows, all in the pre-op photo's pixels (the post-op photo already aligned)."""

    prediction_rgb: np.ndarray                  # the repaired photo (uint8 RGB, H x W)
    postop_rgb: np.ndarray                      # the aligned post-op photo, same size
    preop_landmarks: np.ndarray | None          # (68, 2) of the pre-op photo
    prediction_landmarks: np.ndarray | None     # the points the prediction was drawn from
    postop_landmarks: np.ndarray | None         # the post-op photo's, aligned
    prediction_name: str = "Prediction"
    alignment_note: str = ""                    # inference.alignment.Alignment.describe()

    def __post_init__(self) -> None:
        for name in ("prediction_rgb", "postop_rgb"):
            rgb = getattr(self, name)
            if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f"{name} must be uint8 (H, W, 3)")
        if self.prediction_rgb.shape != self.postop_rgb.shape:
            raise ValueError("the aligned post-op photo must have the prediction's size")

    def comparison(self) -> PostopComparison | None:
        """Distances and measures of prediction against post-op, or None without both sets of points."""
        if self.prediction_landmarks is None or self.postop_landmarks is None:
            return None
        try:
            return compare_to_postop(self.prediction_landmarks, self.postop_landmarks)
        except InferenceError:
            return None


def focus_box(view: PostopComparisonView, margin: float = 0.45) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the nose and lip (points 31-35, 48-67 of the first known set) with a margin,
    clipped to the photo; the whole photo when no landmarks are known."""
    h, w = view.prediction_rgb.shape[:2]
    for points in (view.preop_landmarks, view.prediction_landmarks, view.postop_landmarks):
        if points is None:
            continue
        pts = np.asarray(points, np.float64)[list(NOSE_BASE_AND_MOUTH)]
        if not np.isfinite(pts).all():
            continue
        (l, t), (r, b) = pts.min(axis=0), pts.max(axis=0)
        side = max(r - l, b - t) * (1 + 2 * margin)
        cx, cy = (l + r) / 2, (t + b) / 2
        x0, y0 = int(max(0, np.floor(cx - side / 2))), int(max(0, np.floor(cy - side / 2)))
        x1, y1 = int(min(w, np.ceil(cx + side / 2))), int(min(h, np.ceil(cy + side / 2)))
        if x1 - x0 >= 8 and y1 - y0 >= 8:
            return x0, y0, x1, y1
    return 0, 0, w, h


def mix(prediction: np.ndarray, postop: np.ndarray, position: float, mode: str = WIPE) -> np.ndarray:
    """Prediction and post-op photo in one picture; ``position`` in [0, 1] is the slider's.

    Wipe: the columns left of ``position`` of the width show the prediction, the others the post-op
    photo, with a thin line where they meet. Blend: ``position`` of the prediction and the rest of
    the post-op photo. Either way 1 is all prediction and 0 all post-op.
    """
    position = float(np.clip(position, 0.0, 1.0))
    if mode == BLEND:
        return cv2.addWeighted(prediction, position, postop, 1.0 - position, 0.0)
    out = postop.copy()
    w = out.shape[1]
    split = int(round(position * w))
    out[:, :split] = prediction[:, :split]
    if 0 < split < w:
        line = max(1, w // 300)
        out[:, max(0, split - line):min(w, split + line)] = _DIVIDER_RGB
    return out


def draw_points(rgb: np.ndarray, points: np.ndarray, offset: tuple[int, int], colour: tuple[int, int, int],
                indices: tuple[int, ...] = tuple(sorted(set(NOSE_POINTS) | set(LIP_POINTS)))) -> np.ndarray:
    """Small dots at the lip and nose points (photo pixels shifted by ``offset``) on a copy of ``rgb``."""
    out = np.ascontiguousarray(rgb.copy())
    radius = max(2, round(max(out.shape[:2]) * 0.006))
    for x, y in np.asarray(points, np.float64)[list(indices)] - offset:
        if np.isfinite([x, y]).all():
            cv2.circle(out, (int(round(x)), int(round(y))), radius + 1, (20, 20, 20), -1, cv2.LINE_AA)
            cv2.circle(out, (int(round(x)), int(round(y))), radius, colour, -1, cv2.LINE_AA)
    return out


class ImagePane(QLabel):
    """A picture that fits its label (aspect kept) and keeps the array it shows."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.rgb: np.ndarray | None = None
        self._pixmap = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(180, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #1e1f22;")

    def set_rgb(self, rgb: np.ndarray) -> None:
        self.rgb = np.ascontiguousarray(rgb)
        self._pixmap = QPixmap.fromImage(rgb_to_qimage(self.rgb))
        self._rescale()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(320, 320)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if not self._pixmap.isNull():
            self.setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))


class PostopWindow(QDialog):
    """Prediction and aligned post-op photo side by side, a wipe/blend between them, measures and distances."""

    def __init__(self, view: PostopComparisonView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.result = view.comparison()
        self.setWindowTitle("Prediction and post-operative photo")
        self.setObjectName("postopWindow")
        self.resize(1180, 860)

        self.prediction_pane = ImagePane("Prediction")
        self.postop_pane = ImagePane("Post-op photo")
        self.wipe_pane = ImagePane("Wipe")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setObjectName("postopSlider")
        self.slider.setToolTip("Wipe: moves the line (prediction left of it, post-op photo right of it); "
                               "Blend: right end all prediction, left end all post-op photo")
        self.slider_text = QLabel()
        self.slider_text.setMinimumWidth(230)
        self.mode = QComboBox()
        self.mode.addItems([WIPE, BLEND])
        self.mode.setToolTip("Wipe: a line moves across; Blend: one picture fades into the other")
        self.zoom = QCheckBox("Nose and lip only")
        self.zoom.setChecked(True)
        self.points = QCheckBox("Show lip and nose points")
        self.points.setToolTip("Cyan: the prediction's points; yellow: the post-op photo's (aligned)")
        self.points.setEnabled(view.prediction_landmarks is not None or view.postop_landmarks is not None)

        images = QGridLayout()
        for column, (pane, caption) in enumerate((
                (self.prediction_pane, f"Prediction ({view.prediction_name})"),
                (self.wipe_pane, "Prediction | post-op photo"),
                (self.postop_pane, "Post-op photo, aligned"))):
            label = QLabel(f"<b>{caption}</b>")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            images.addWidget(label, 0, column)
            images.addWidget(pane, 1, column)
            images.setColumnStretch(column, 1)
        slider_row = QHBoxLayout()
        slider_row.addWidget(self.slider, 1)
        slider_row.addWidget(self.slider_text)
        slider_row.addWidget(self.mode)
        slider_row.addWidget(self.zoom)
        slider_row.addWidget(self.points)

        self.table = QTableWidget(len(DEFINITIONS), 3)
        self.table.setObjectName("postopMeasures")
        self.table.setHorizontalHeaderLabels(["Pre-op photo", f"Prediction ({view.prediction_name})",
                                              "Post-op photo"])
        self.table.setVerticalHeaderLabels([d.label for d in DEFINITIONS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for row, definition in enumerate(DEFINITIONS):
            self.table.verticalHeaderItem(row).setToolTip(f"{definition.definition} Positive: {definition.positive}.")
        for column, points in ((PREOP_COLUMN, view.preop_landmarks), (PREDICTION_COLUMN, view.prediction_landmarks),
                               (POSTOP_COLUMN, view.postop_landmarks)):
            fill_measure_column(self.table, column, points)
        self.table.setMinimumHeight(self.table.verticalHeader().length() + self.table.horizontalHeader().height() + 6)

        self.distance = QLabel(self._distance_text())
        self.distance.setObjectName("postopDistance")
        self.distance.setWordWrap(True)
        self.alignment = QLabel(view.alignment_note)
        self.alignment.setWordWrap(True)
        self.alignment.setStyleSheet("color: #5f6368;")
        note = QLabel(NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(images, 1)
        layout.addLayout(slider_row)
        layout.addWidget(self.distance)
        layout.addWidget(self.alignment)
        layout.addWidget(self.table)
        layout.addWidget(note)
        layout.addWidget(buttons)

        self.slider.valueChanged.connect(self._show_mix)
        self.mode.currentTextChanged.connect(self._show_mix)
        self.zoom.toggled.connect(self._show_all)
        self.points.toggled.connect(self._show_all)
        self._show_all()

    # ------------------------------------------------------------------ what is shown

    def shown_image(self) -> np.ndarray:
        """The picture under the slider, as an array (what the tests look at)."""
        assert self.wipe_pane.rgb is not None
        return self.wipe_pane.rgb

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return "" if item is None else item.text()

    def _distance_text(self) -> str:
        r = self.result
        if r is None:
            return ("Landmark distance, prediction to post-op photo: " + NO_VALUE +
                    " (the prediction or the post-op photo has no landmarks).")
        return (f"<b>Landmark distance, prediction to post-op photo</b> (mean over the points): "
                f"lip (48-67) <b>{r.lip_distance_iod:.1f} %</b>, nose (27-35) <b>{r.nose_distance_iod:.1f} %</b> "
                f"of the {NORMALISER} ({r.lip_distance_px:.1f} px and {r.nose_distance_px:.1f} px).")

    def _cut(self, rgb: np.ndarray, points: np.ndarray | None, colour: tuple[int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = self._box
        out = rgb[y0:y1, x0:x1]
        if self.points.isChecked() and points is not None:
            out = draw_points(out, points, (x0, y0), colour)
        return out

    def _show_all(self) -> None:
        h, w = self.view.prediction_rgb.shape[:2]
        self._box = focus_box(self.view) if self.zoom.isChecked() else (0, 0, w, h)
        self._prediction = self._cut(self.view.prediction_rgb, self.view.prediction_landmarks, _PRED_RGB)
        self._postop = self._cut(self.view.postop_rgb, self.view.postop_landmarks, _POST_RGB)
        self.prediction_pane.set_rgb(self._prediction)
        self.postop_pane.set_rgb(self._postop)
        self._show_mix()

    def _show_mix(self, *_args: Any) -> None:
        value, mode = self.slider.value(), self.mode.currentText()
        self.slider_text.setText(f"{value} % prediction, {100 - value} % post-op" if mode == BLEND else
                                 "Prediction left of the line, post-op right")
        self.wipe_pane.set_rgb(mix(self._prediction, self._postop, value / 100, mode))


# ----------------------------------------------------------------------------- the main window's actions


@dataclass(frozen=True, eq=False)
class _CompareJob:
    """What a comparison needs, captured on the GUI thread."""

    store: Any            # studies.cases.CaseStore
    case_id: int
    photo_rgb: np.ndarray
    preop_landmarks: np.ndarray
    prediction: Any       # app.state.PredictionView


def prepare_comparison(job: _CompareJob) -> PostopComparisonView:
    """Read and check the stored post-op photo, align it, and decode the prediction (runs on a worker)."""
    from inference.alignment import align_postop
    from studies.errors import CaseError
    from studies.postop import PostopStore

    postop = PostopStore(job.store.db)
    info = postop.postop_photo(job.case_id)
    if info is None:
        raise CaseError("This case has no post-operative photo yet: add one with “Add post-op photo…”.")
    h, w = job.photo_rgb.shape[:2]
    aligned = align_postop(postop.load_postop_rgb(info), info.landmarks, job.preop_landmarks, (w, h))
    stored = job.prediction.stored if job.prediction.stored is not None else job.prediction
    prediction_rgb = job.store.prediction_image(stored, job.photo_rgb)
    return PostopComparisonView(prediction_rgb, aligned.image, job.preop_landmarks, job.prediction.drawn_landmarks,
                                aligned.landmarks, job.prediction.display_name, aligned.alignment.describe())


def detect_and_store(store: Any, pipeline: Any, case_id: int, path: Path) -> tuple[Any, np.ndarray]:
    """Read the post-op photo, find its face and 68 points, store it with the case (runs on a worker)."""
    from inference.io.photo import load_photo
    from studies.postop import PostopStore

    from inference.errors import NoFaceError

    rgb = load_photo(path).rgb
    try:
        analysis = pipeline.analyse(rgb)
    except NoFaceError as exc:
        raise NoFaceError("No face was found on the post-operative photo, so it cannot be aligned to the "
                          "pre-operative one. Choose a frontal photo of the face.") from exc
    return PostopStore(store.db).add_postop_photo(case_id, path, analysis.landmarks), rgb


class PostopActions(QObject):
    """The main window's "Add post-op photo…" and "Compare with post-op photo…"."""

    def __init__(self, cases: Any, tasks: Any, prompts: Any, status: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cases, self.state, self.tasks, self.prompts, self.status = cases, cases.state, tasks, prompts, status
        self.window: PostopWindow | None = None
        self._parent = parent

    def _message(self, text: str, ms: int = 4000) -> None:
        if self.status is not None:
            self.status.showMessage(text, ms)

    def add_postop_photo(self) -> None:
        case, store = self.state.case, self.cases.store
        if case is None or store is None:
            self.prompts.error("No case open", "Open the patient's case first, then add the post-operative photo.")
            return
        path = self.prompts.open_file("Add the post-operative photo of this case", PHOTO_FILTER)
        if path is None:
            return
        pipeline, token = self.cases.pipeline, self.cases.token
        self._message("Finding the face on the post-operative photo…", 0)

        def done(result: tuple[Any, np.ndarray]) -> None:
            self._message("Post-operative photo added to the case")
            if token == self.cases.token and self.state.current_prediction is not None and self.prompts.confirm(
                    "Post-operative photo added", "Compare the current prediction with it now?"):
                self.compare()

        def failed(exc: BaseException) -> None:
            self._message("")
            self.prompts.error("Post-operative photo not added", describe_error(exc))

        self.tasks.submit(lambda: detect_and_store(store, pipeline, case.id, Path(path)), done, failed)

    def compare(self) -> None:
        state, store = self.state, self.cases.store
        prediction = state.current_prediction
        if state.case is None or store is None or state.photo is None or prediction is None:
            self.prompts.error("Nothing to compare", "Open a case and choose one of its predictions first.")
            return
        face = state.face
        if face is None or face.landmarks is None:
            self.prompts.error("No landmarks on the pre-operative photo",
                               "The post-operative photo is aligned on the eyes and nose bridge of both photos, "
                               "but no landmarks were found on the pre-operative photo (the face square was drawn "
                               "by hand).")
            return
        job = _CompareJob(store, state.case.id, state.photo.rgb, np.asarray(face.landmarks, np.float32), prediction)
        token = self.cases.token
        self._message("Aligning the post-operative photo…", 0)

        def done(view: PostopComparisonView) -> None:
            self._message("")
            if token != self.cases.token:
                return  # another case was opened meanwhile
            self.show_window(view)

        def failed(exc: BaseException) -> None:
            self._message("")
            self.prompts.error("Cannot compare with the post-operative photo", describe_error(exc))

        self.tasks.submit(lambda: prepare_comparison(job), done, failed)

    def show_window(self, view: PostopComparisonView) -> PostopWindow:
        if self.window is not None:
            self.window.close()
        window = self.window = PostopWindow(view, self._parent)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.finished.connect(lambda _r: self._forget(window))
        window.show()
        return window

    def _forget(self, window: PostopWindow) -> None:
        if self.window is window:
            self.window = None
