"""68-point facial landmarks (iBUG 300-W order): dlib by default, FAN when its weights are present."""

from __future__ import annotations

import functools
from typing import Protocol

import numpy as np

from inference.face.detect import FaceBox
from inference.face.model_files import dlib_model_path


class LandmarkDetector(Protocol):
    name: str

    def __call__(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        """(68, 2) float32 (x, y) landmarks in photo pixels."""
        ...


class DlibLandmarkDetector:
    """dlib's ensemble-of-regression-trees 68-point predictor (iBUG 300-W terms), ~1 ms per face."""

    name = "dlib-68"

    def __init__(self) -> None:
        import dlib

        self._predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat")))
        self._rectangle = dlib.rectangle

    def __call__(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        rect = self._rectangle(int(round(box.left)), int(round(box.top)),
                               int(round(box.right)) - 1, int(round(box.bottom)) - 1)
        shape = self._predictor(np.ascontiguousarray(rgb), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


@functools.cache
def default_landmark_detector() -> LandmarkDetector:
    """The best detector available offline: FAN if the user placed its weights, else dlib."""
    from inference.face.fan import fan_available, FanLandmarkDetector

    if fan_available():
        return FanLandmarkDetector()
    return DlibLandmarkDetector()
