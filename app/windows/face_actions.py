"""Finding the face of the open photo: detection on a worker, the square drawn by hand when none is
found (or stored with the case), and the clinician's corrections of the detected landmarks
(Edit > Correct the photo's landmarks, with their own Ctrl+Z history).

The Qt-free ``CaseController`` applies each result to the state; this object runs the detection,
asks the clinician what to do when it fails, and keeps the landmark handles on the canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRectF
from PySide6.QtWidgets import QStatusBar

from app.canvas.view import MaskCanvas
from app.case_controller import CaseController
from app.prompts import Prompts
from app.state import Tool
from app.windows.photo_landmarks import PhotoLandmarksController
from app.workers import TaskRunner, describe_error
from inference.errors import InferenceError, NoFaceError
from studies.errors import StudyError


class FaceActions(QObject):
    def __init__(self, cases: CaseController, canvas: MaskCanvas, tasks: TaskRunner, prompts: Prompts,
                 status: QStatusBar, show_canvas: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cases, self.state, self._tasks, self.prompts = cases, cases.state, tasks, prompts
        self._status, self._show_canvas = status, show_canvas
        self.photo_landmarks = PhotoLandmarksController(canvas, self._commit_photo_landmarks, self)
        canvas.face_box_drawn.connect(self.manual_face_drawn)

    def start(self, case: Any) -> None:
        """A case was just shown: use its stored face square, else find the face."""
        self.photo_landmarks.start(None, None)
        if case.face_box is not None:
            self.apply_manual_face(case.face_box, remember=False)
        else:
            self.analyse_face()

    def analyse_face(self) -> None:
        rgb, token, pipeline = self.state.photo.rgb, self.cases.token, self.cases.pipeline
        self._status.showMessage("Finding the face…")
        self._tasks.submit(lambda: pipeline.analyse(rgb), lambda a: self._found(token, a),
                           lambda exc: self._failed(token, exc))

    def _found(self, token: int, analysis: Any) -> None:
        if token != self.cases.token:
            return  # another case was opened meanwhile
        self._status.showMessage("Face square set by hand" if analysis.manual else "Face found", 3000)
        problem = self.cases.face_found(analysis)
        if problem:
            self.prompts.error("Corrected landmarks not used", problem)
        self.photo_landmarks.start(analysis.landmarks, self.state.face.landmarks)

    def _failed(self, token: int, exc: BaseException) -> None:
        if token != self.cases.token:
            return
        self._status.clearMessage()
        if not isinstance(exc, NoFaceError):
            self.prompts.error("Face not analysed", describe_error(exc))
        elif self.prompts.confirm("No face found", f"{exc}\n\nDraw the face square by hand now?"):
            self.state.set_tool(Tool.FACE_BOX)
            self._status.showMessage("Drag a square around the whole face (brows to chin).")

    def manual_face_drawn(self, rect: QRectF) -> None:
        if self.state.photo is not None:
            self.apply_manual_face((rect.left(), rect.top(), rect.right(), rect.bottom()), remember=True)

    def apply_manual_face(self, box: tuple[float, float, float, float], remember: bool) -> None:
        """Use a face square drawn by hand; ``remember`` stores it with the case for reopening."""
        try:
            analysis = self.cases.manual_face(box, remember)
        except (InferenceError, StudyError) as exc:
            self.prompts.error("Face square not usable", describe_error(exc))
            return
        self._found(self.cases.token, analysis)
        self.state.set_face_overlay_visible(True)
        self.state.set_tool(Tool.BRUSH)

    def toggle_photo_landmarks(self, on: bool) -> None:
        self.photo_landmarks.set_active(on)
        if on:
            self._show_canvas()
            self._status.showMessage("Drag a lip or nose point where it belongs; Ctrl+Z undoes.", 4000)

    def _commit_photo_landmarks(self, points: np.ndarray | None) -> bool:
        try:
            return self.cases.commit_photo_landmarks(points)
        except (InferenceError, StudyError) as exc:
            self.prompts.error("Landmarks not corrected", describe_error(exc))
            return False
