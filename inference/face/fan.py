"""FAN landmarks (``face-alignment``, the paper's detector), used only when its weights are on disk.

``face-alignment`` downloads its weights on construction; this app never downloads anything, so
FAN is offered only when the user has placed both files in ``$TORCH_HOME/hub/checkpoints``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from inference.errors import InferenceError
from inference.face.detect import FaceBox

FAN_WEIGHTS = "2DFAN4-11f355bf06.pth.tar"
S3FD_WEIGHTS = "s3fd-619a316812.pth"


def _checkpoint_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def fan_available() -> bool:
    folder = _checkpoint_dir()
    return (importlib.util.find_spec("face_alignment") is not None
            and (folder / FAN_WEIGHTS).is_file() and (folder / S3FD_WEIGHTS).is_file())


class FanLandmarkDetector:
    name = "fan-2d"

    def __init__(self, device: str = "cpu") -> None:
        if not fan_available():
            raise InferenceError(
                f"FAN landmarks need the package face-alignment and the files {FAN_WEIGHTS} and "
                f"{S3FD_WEIGHTS} in {_checkpoint_dir()}.")
        import face_alignment

        self._fa = face_alignment.FaceAlignment(
            face_alignment.LandmarksType.TWO_D, device=device, flip_input=False,
            face_detector_kwargs={"path_to_detector": str(_checkpoint_dir() / S3FD_WEIGHTS)})

    def __call__(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        found = self._fa.get_landmarks_from_image(rgb, detected_faces=[(box.left, box.top, box.right, box.bottom)])
        if not found:
            from inference.errors import NoFaceError

            raise NoFaceError("FAN found no landmarks inside the face box.")
        return np.asarray(found[0][:, :2], dtype=np.float32)
