"""Where the application's files live; the one place that knows the app's name on disk."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

APP_NAME = "cleftlip-inpaint"
APP_AUTHOR = "cleftlip"


def assets_dir() -> Path:
    """``assets/`` of a source checkout, or of a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "assets"
    return Path(__file__).resolve().parents[1] / "assets"


def shipped_weights_dir() -> Path:
    return assets_dir() / "weights"


def default_data_dir() -> Path:
    """The clinic's local data folder (cases, studies, patient photos). Never used for training."""
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def user_weights_dir() -> Path:
    """Weights a user adds or trains, checked before the shipped ones."""
    return default_data_dir() / "weights"
