"""The app version recorded with every prediction (from the installed package metadata)."""

from __future__ import annotations

from importlib import metadata

DIST_NAME = "cleftlip-inpaint"


def app_version() -> str:
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:  # a source tree that was never pip-installed
        return "unknown (not installed)"
