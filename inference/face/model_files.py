"""Locate the dlib model files shipped by the ``face-recognition-models`` wheel.

The package's ``__init__`` imports ``pkg_resources`` (gone in setuptools >= 81), so the files are
found through the import system without importing the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from inference.errors import InferenceError


def dlib_model_path(file_name: str) -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise InferenceError(
            "The face landmark model is not installed (package 'face-recognition-models'). "
            "Reinstall the application."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / file_name
    if not path.is_file():
        raise InferenceError(f"The face model file {file_name} is missing from the installation.")
    return path
