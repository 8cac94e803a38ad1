"""The blinded rating screen of a pairwise study: two outputs of a case, the rater picks the better one.

Like :mod:`app.rating.rating_window` it talks only to :class:`studies.rating.RaterSession`:
the outputs are "A" (left) and "B" (right) of this rater's own pair, sides drawn at random when
the study opened. ← or → stores the choice at once, completes the pair and shows the next one;
P goes back to change it. Closing the window is pausing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.rating.image_view import ImageView, ViewGroup
from app.rating.rating_window import RatingWindow
from app.rating.screen_base import RatingScreen
from app.rating.style import restyle
from studies.database import Database
from studies.errors import StudyError
from studies.rating import RatingItem, unlock_session

SIDES = (("A", "left", "←"), ("B", "right", "→"))
KEY_HELP = "←  left is better   ·   →  right is better   ·   P  previous pair   ·   C  comment   ·   " \
           "+ − 0  zoom   ·   closing the window pauses"


class PairwiseRatingWindow(RatingScreen):
    """One rater's pairwise screen. A rater with a PIN must give it (``pin``)."""

    UNIT = "pair"
    DONE = "answered"
    NOT_DONE = "answered"
    TITLE = "Blinded rating, pairs"

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 10, 12, 10)
        root.setSpacing(8)
        self._build_top(root, "Which output is better?  Press ← for the left one, → for the right one.")

        body = QHBoxLayout()
        body.setSpacing(10)
        body.addWidget(self._build_refs())

        self.output_group = ViewGroup(self)
        self.cards: list[QFrame] = []
        self.views: list[ImageView] = []
        self.choose_buttons: list[QPushButton] = []
        for index, (label, side, arrow) in enumerate(SIDES):
            card = QFrame()
            card.setObjectName("card")
            layout = QVBoxLayout(card)
            layout.setContentsMargins(8, 8, 8, 8)
            caption = QLabel(f"{label}  ·  {side}")
            caption.setObjectName("outputLabel")
            caption.setAccessibleName(f"Output {label}, {side}")
            view = ImageView(square=False)
            view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            view.clicked.connect(lambda i=index: self.choose(i))
            self.output_group.add(view)
            button = QPushButton(f"{arrow}   {label} ({side}) is better")
            button.setProperty("base_text", button.text())
            button.setObjectName("valid")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, i=index: self.choose(i))
            layout.addWidget(caption)
            layout.addWidget(view, 1)
            layout.addWidget(button)
            body.addWidget(card, 1)
            self.cards.append(card)
            self.views.append(view)
            self.choose_buttons.append(button)
        root.addLayout(body, 1)

        below = QHBoxLayout()
        self.comment_panel = self._build_comment()
        self.comment.setFixedHeight(3 * self.comment.fontMetrics().lineSpacing() + 12)
        below.addWidget(self.comment_panel, 1)
        root.addLayout(below)
        keys = QLabel(KEY_HELP)
        keys.setObjectName("keys")
        root.addWidget(keys)
        self._build_foot(root, "Next pair  (N)  ▶")

    def _bind_keys(self, key: Callable[[str | QKeySequence | Qt.Key, Callable[[], None]], None]) -> None:
        key(Qt.Key.Key_Left, lambda: self.choose(0))
        key(Qt.Key.Key_Right, lambda: self.choose(1))

    # ------------------------------------------------------------------ answers

    def _show_outputs(self, item: RatingItem) -> None:
        for view, output in zip(self.views, item.outputs, strict=True):
            view.set_image(output.image_path)

    def choose(self, index: int) -> None:
        """Store output ``index`` (0 = left, 1 = right) as the better one, complete the pair, move on."""
        if self.item is None or not 0 <= index < len(self.item.outputs):
            return
        label = self.item.outputs[index].label
        if self._save_answer(lambda: self.session.set_preference(self.position, label),
                             lambda: self._show_choice(label, saved=False)):
            self.complete_and_next()

    # ------------------------------------------------------------------ showing what is stored

    def _refresh(self) -> None:
        if self.item is None:
            return
        try:
            self.item = self.session.item(self.position)
            progress = self.session.progress()
        except StudyError as exc:
            self.say(str(exc), "error")
            return
        self._show_choice(self.item.preferred, saved=True)
        self._show_progress(progress)
        for button in self.choose_buttons:
            button.setEnabled(self._editable)

    def _show_choice(self, label: str | None, *, saved: bool) -> None:
        for card, button, (side_label, _, _) in zip(self.cards, self.choose_buttons, SIDES, strict=True):
            chosen = label == side_label
            button.setChecked(chosen)
            card.setProperty("selected", "true" if chosen else "false")
            restyle(card)
            button.setText(button.property("base_text") + ("  ✓ saved" if chosen and saved else ""))


def open_rating_screen(db: Database, rater_id: int, pin: str | None = None,
                       parent: QWidget | None = None) -> QWidget:
    """The rating screen the rater's study asks for: pairs, or all outputs of a case at once."""
    session = unlock_session(db, rater_id, pin)
    if session.info().questions.pairwise:
        return PairwiseRatingWindow(db, rater_id, parent, pin=pin)
    return RatingWindow(db, rater_id, parent, pin=pin)
