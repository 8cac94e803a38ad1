"""Colours and the style sheet of the rating screen (dark neutral, as in radiology viewers)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from studies.options import InvalidReason, Scale


def restyle(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property used in it changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.updateGeometry()  # padding may have changed the size hint


VALID_COLOUR = "#3f9b4f"
INVALID_COLOUR = "#d2483f"
ACCENT = "#4c8dd6"
PENDING = "#d8a23a"

@dataclass(frozen=True)
class ReasonLabel:
    """How one invalid reason is shown: full text, short button text, keyboard key, tooltip."""

    text: str
    button: str
    key: str
    tip: str


REASONS = {
    InvalidReason.TOO_BLURRY: ReasonLabel("Too blurry", "Blurry", "B", "The filled area is too blurry to judge."),
    InvalidReason.IMPLAUSIBLE_ANATOMY: ReasonLabel(
        "Implausible anatomy", "Anatomy", "A", "Anatomy no real face has, e.g. a third nostril or a floating lip."),
    InvalidReason.ARTIFACTS: ReasonLabel(
        "Artifacts", "Artifacts", "X", "Visible artifacts: seams, stripes, colour blotches, checkerboard patterns."),
    InvalidReason.OTHER: ReasonLabel("Other", "Other", "O", "Another problem: describe it in the note field."),
}
SCALE_TEXT = {
    Scale.NASAL_FORM: "Nasal form",
    Scale.NASAL_SYMMETRY: "Nasal symmetry",
    Scale.VERMILION_BORDER: "Vermilion border",
    Scale.NASOLABIAL_PROFILE: "Nasolabial profile",
}
SCALE_TIP = "Asher-McDade score: 1 = very good, 2 = good, 3 = fair, 4 = poor, 5 = very poor."

RATING_STYLE = f"""
RatingWindow, RatingWindow QWidget {{ background: #2a2b2e; color: #e6e6e6; font-size: 13px; }}
RatingWindow QLabel {{ background: transparent; }}
QLabel#title {{ font-size: 16px; font-weight: 600; }}
QLabel#muted, QLabel#keys {{ color: #a9abb0; }}
QLabel#message {{ color: {PENDING}; font-weight: 600; }}
QLabel#message[kind="error"] {{ color: #ff8a80; }}
QLabel#message[kind="ok"] {{ color: #9ccc9f; }}
QLabel#outputLabel {{ font-size: 22px; font-weight: 700; }}
QLabel#chip {{ border-radius: 9px; padding: 2px 10px; background: #45474c; color: #e6e6e6; }}
QLabel#chip[state="valid"] {{ background: {VALID_COLOUR}; color: white; }}
QLabel#chip[state="invalid"] {{ background: {INVALID_COLOUR}; color: white; }}
QLabel#chip[state="pending"] {{ background: {PENDING}; color: #1d1d1f; }}
QFrame#card {{ background: #323438; border: 2px solid #3b3d42; border-radius: 8px; }}
QFrame#card[selected="true"] {{ border: 2px solid {ACCENT}; }}
QFrame#panel {{ background: #323438; border-radius: 8px; }}
QPushButton {{ background: #44464b; border: 1px solid #55575d; border-radius: 5px; padding: 5px 10px; }}
QPushButton:hover {{ background: #4f5157; }}
QPushButton:disabled {{ color: #77797e; background: #38393d; }}
QPushButton#valid:checked {{ background: {VALID_COLOUR}; border-color: {VALID_COLOUR}; color: white; }}
QPushButton#invalid:checked {{ background: {INVALID_COLOUR}; border-color: {INVALID_COLOUR}; color: white; }}
QPushButton#reason:checked {{ background: #8a3a34; border-color: {INVALID_COLOUR}; color: white; }}
QPushButton#score {{ min-width: 22px; max-width: 30px; padding: 3px 2px; }}
QPushButton#score:checked {{ background: {ACCENT}; border-color: {ACCENT}; color: white; }}
QPushButton#primary {{ background: {ACCENT}; border-color: {ACCENT}; color: white; font-weight: 600; }}
QLineEdit, QPlainTextEdit, QListWidget {{ background: #1f2023; border: 1px solid #4a4c52; border-radius: 5px; }}
QListWidget::item {{ padding: 6px; }}
QListWidget::item:selected {{ background: {ACCENT}; color: white; }}
QProgressBar {{ background: #1f2023; border: 1px solid #4a4c52; border-radius: 5px; text-align: center; height: 16px; }}
QProgressBar::chunk {{ background: {VALID_COLOUR}; border-radius: 4px; }}
QFrame#scaleRow {{ border-left: 3px solid transparent; border-radius: 4px; }}
QFrame#scaleRow[active="true"] {{ background: #34506f; border-left: 3px solid {ACCENT}; }}
QFrame#scaleRow[active="true"] QLabel#scaleName {{ font-weight: 700; color: white; }}
QLabel#scaleMarker {{ color: {ACCENT}; font-weight: 700; }}
QFrame#scaleRow[active="true"] QLabel#scaleMarker {{ color: white; }}
"""
