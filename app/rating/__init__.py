"""The blinded rating module's screens: the studies window (owner) and the rating screen (raters).

Entry point for the main window: ``open_studies_window(parent, settings_or_data_dir)``.
Standalone: ``python -m app.rating [--data-dir DIR]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

__all__ = ["PairwiseRatingWindow", "RatingWindow", "StudiesWindow", "open_studies_window"]


def open_studies_window(parent: "QWidget | None", settings_or_data_dir: Any) -> "QWidget":
    """Show the studies window for ``AppSettings`` (or a data folder) and return it."""
    from app.rating.studies_window import open_studies_window as _open

    return _open(parent, settings_or_data_dir)


def __getattr__(name: str) -> Any:  # lazy, so importing app.rating stays cheap for the main window
    if name == "StudiesWindow":
        from app.rating.studies_window import StudiesWindow

        return StudiesWindow
    if name == "RatingWindow":
        from app.rating.rating_window import RatingWindow

        return RatingWindow
    if name == "PairwiseRatingWindow":
        from app.rating.pairwise_window import PairwiseRatingWindow

        return PairwiseRatingWindow
    raise AttributeError(name)
