"""The blinded rating screen of a pairwise study: two outputs of a case, the rater picks the better one.

Like :mod:`app.rating.rating_window` it talks only to :class:`studies.rating.RaterSession`:
the outputs are "A" (left) and "B" (right) of this rater's own pair, sides drawn at random when
the study opened. ← or → stores the choice at once, completes the pair and shows the next one;
P goes back to change it. Closing the window is pausing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.rating.image_view import ImageView, ViewGroup
from app.rating.rating_window import COMMENT_SAVE_DELAY_MS, REF_SIDE, RatingWindow, default_geometry
from app.rating.style import RATING_STYLE, restyle
from studies.database import Database
from studies.errors import DatabaseError, StudyError
from studies.rating import RatingItem, unlock_session

SIDES = (("A", "left", "←"), ("B", "right", "→"))
KEY_HELP = "←  left is better   ·   →  right is better   ·   P  previous pair   ·   C  comment   ·   " \
           "+ − 0  zoom   ·   closing the window pauses"


class PairwiseRatingWindow(QWidget):
    """One rater's pairwise screen. A rater with a PIN must give it (``pin``)."""

    def __init__(self, db: Database, rater_id: int, parent: QWidget | None = None, *, pin: str | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.session = unlock_session(db, rater_id, pin)
        self.info = self.session.info()
        self.questions = self.info.questions
        self.item: RatingItem | None = None
        self.position = 0
        self._editable = self.info.study_open
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # the other rating screen's look: its style sheet selects widgets by that window's class name
        self.setStyleSheet(RATING_STYLE.replace("RatingWindow", type(self).__name__))
        self.setWindowTitle(f"Blinded rating, pairs · {self.info.study_title}")
        self.setGeometry(default_geometry(self.screen()))
        self._comment_timer = QTimer(self, singleShot=True, interval=COMMENT_SAVE_DELAY_MS)
        self._comment_timer.timeout.connect(self.save_comment)
        self._build()
        self._shortcuts()
        first = self.session.progress().next_position
        self.go_to(first if first is not None else max(1, self.info.progress.total))
        if first is None and self.info.progress.total:
            self.say("Every pair is rated. You can look back (P) and change answers while the study is open.", "ok")
        elif self.info.progress.completed:
            self.say(f"Welcome back: resuming at pair {first}.", "ok")

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 10, 12, 10)
        root.setSpacing(8)
        head = QHBoxLayout()
        title = QLabel(self.info.study_title)
        title.setObjectName("title")
        who = QLabel(f"Rater: {self.info.rater_name} ({self.info.initials})")
        who.setObjectName("muted")
        self.case_label = QLabel()
        self.case_label.setObjectName("title")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(260)
        for widget in (title, who):
            head.addWidget(widget)
            head.addSpacing(16)
        head.addStretch(1)
        head.addWidget(self.case_label)
        head.addSpacing(16)
        head.addWidget(self.progress)
        root.addLayout(head)
        question = QLabel("Which output is better?  Press ← for the left one, → for the right one.")
        question.setObjectName("title")
        root.addWidget(question)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(self.message.fontMetrics().lineSpacing() + 2)
        root.addWidget(self.message)
        self.banner = QLabel("This study is not open for rating: your answers are shown but cannot be changed.")
        self.banner.setObjectName("message")
        self.banner.setProperty("kind", "error")
        self.banner.setVisible(not self._editable)
        root.addWidget(self.banner)

        body = QHBoxLayout()
        body.setSpacing(10)
        self.refs_panel = QFrame()
        self.refs_panel.setObjectName("panel")
        refs = QVBoxLayout(self.refs_panel)
        self.ref_group = ViewGroup(self)
        self.ref_views: dict[str, ImageView] = {}
        for key, caption, shown in (("original", "Before (original)", self.questions.show_original),
                                    ("masked", "Input (area to fill in grey)", self.questions.show_masked_input)):
            if not shown:
                continue
            label = QLabel(caption)
            label.setObjectName("muted")
            view = ImageView(square=False)
            view.setFixedSize(REF_SIDE, REF_SIDE)
            self.ref_group.add(view)
            self.ref_views[key] = view
            refs.addWidget(label)
            refs.addWidget(view)
        refs.addStretch(1)
        self.refs_panel.setFixedWidth(REF_SIDE + 20)
        self.refs_panel.setVisible(bool(self.ref_views))
        body.addWidget(self.refs_panel)

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
        self.comment_panel = QFrame()
        self.comment_panel.setObjectName("panel")
        self.comment_panel.setVisible(self.questions.ask_comment)
        panel = QVBoxLayout(self.comment_panel)
        panel.addWidget(QLabel("<b>Comment</b> on this pair  (C)"))
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("Optional. Saved as you type.")
        self.comment.setAccessibleName("Comment on this pair")
        self.comment.setFixedHeight(3 * self.comment.fontMetrics().lineSpacing() + 12)
        self.comment.textChanged.connect(self._comment_edited)
        self.comment.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        panel.addWidget(self.comment)
        below.addWidget(self.comment_panel, 1)
        root.addLayout(below)
        keys = QLabel(KEY_HELP)
        keys.setObjectName("keys")
        root.addWidget(keys)

        foot = QHBoxLayout()
        self.prev_button = QPushButton("◀  Previous  (P)")
        self.pause_button = QPushButton("Pause and close")
        self.pause_button.setToolTip("Every answer is already saved; you continue where you stopped.")
        self.next_button = QPushButton("Next pair  (N)  ▶")
        self.next_button.setObjectName("primary")
        for button in (self.prev_button, self.pause_button, self.next_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.prev_button.clicked.connect(self.previous)
        self.pause_button.clicked.connect(self.close)
        self.next_button.clicked.connect(self.complete_and_next)
        foot.addWidget(self.prev_button)
        foot.addStretch(1)
        foot.addWidget(self.pause_button)
        foot.addWidget(self.next_button)
        root.addLayout(foot)

    def _shortcuts(self) -> None:
        def key(sequence: str | Qt.Key, slot: Callable[[], None]) -> None:
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        key(Qt.Key.Key_Left, lambda: self.choose(0))
        key(Qt.Key.Key_Right, lambda: self.choose(1))
        key("N", self.complete_and_next)
        key("P", self.previous)
        key("C", self._write_comment)
        key(Qt.Key.Key_Escape, self._leave_text)
        for seq in ("+", "=", "Ctrl++"):
            key(seq, lambda: self.output_group.zoom_by(1.25))
        key("-", lambda: self.output_group.zoom_by(0.8))
        key("0", self.output_group.fit)

    # ------------------------------------------------------------------ navigation

    def go_to(self, position: int) -> None:
        self.save_comment()
        if not self.info.progress.total:
            self.case_label.setText("No pairs")
            self.say("No pairs were assigned to you in this study.", "error")
            return
        try:
            item = self.session.item(position)
        except StudyError as exc:
            self.say(str(exc), "error")
            return
        self.position, self.item = position, item
        for view, output in zip(self.views, item.outputs, strict=True):
            view.set_image(output.image_path)
        for key, path in (("original", item.original_image), ("masked", item.masked_image)):
            if key in self.ref_views:
                self.ref_views[key].set_image(path)
        self.ref_group.fit()
        self.output_group.fit()
        self.comment.blockSignals(True)
        self.comment.setPlainText(item.comment)
        self.comment.blockSignals(False)
        self.say("")
        self._refresh()

    def previous(self) -> None:
        if self.position > 1:
            self.go_to(self.position - 1)

    def choose(self, index: int) -> None:
        """Store output ``index`` (0 = left, 1 = right) as the better one, complete the pair, move on."""
        if self.item is None or not self._editable or not 0 <= index < len(self.item.outputs):
            return
        label = self.item.outputs[index].label
        try:
            self.session.set_preference(self.position, label)
        except DatabaseError as exc:
            self.say(f"Not saved. {exc} Press the key again to save your choice.", "error")
            self._show_choice(label, saved=False)
            return
        except StudyError as exc:
            self.say(str(exc), "error")
            self._refresh()
            return
        self.complete_and_next()

    def complete_and_next(self) -> None:
        if self.item is None:
            return
        self.save_comment()
        if self._editable:
            try:
                self.session.complete(self.position)
            except StudyError as exc:
                self.say(str(exc), "error")
                self._refresh()
                return
        try:
            progress = self.session.progress()
        except StudyError as exc:
            self.say(str(exc), "error")
            return
        if self.position < progress.total:
            self.go_to(self.position + 1)
        elif progress.next_position is not None:
            self.go_to(progress.next_position)
            self.say(f"Pair {progress.next_position} is not answered yet.", "error")
        else:
            self._refresh()
            self.say("Every pair is rated. Thank you! You may close the window "
                     "or look back (P) while the study is open.", "ok")

    # ------------------------------------------------------------------ comment

    def _write_comment(self) -> None:
        if self.questions.ask_comment and self._editable:
            self.comment.setFocus()

    def _leave_text(self) -> None:
        self.save_comment()
        self.setFocus()

    def _comment_edited(self) -> None:
        if self._editable:
            self._comment_timer.start()

    def save_comment(self) -> None:
        self._comment_timer.stop()
        if (self.item is None or not self._editable or not self.questions.ask_comment
                or self.comment.toPlainText() == self.item.comment):
            return
        try:
            self.session.set_comment(self.position, self.comment.toPlainText())
            self.item = self.session.item(self.position)
        except DatabaseError as exc:
            self.say(f"Comment not saved. {exc} Your text is kept.", "error")
        except StudyError as exc:
            self.say(str(exc), "error")

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
        self.case_label.setText(f"Pair {self.position} of {self.item.total}" + ("  ✓" if self.item.completed else ""))
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.completed)
        self.progress.setFormat(f"{progress.completed} of {progress.total} pairs answered")
        self.prev_button.setEnabled(self.position > 1)
        for button in self.choose_buttons:
            button.setEnabled(self._editable)

    def _show_choice(self, label: str | None, *, saved: bool) -> None:
        for card, button, (side_label, _, _) in zip(self.cards, self.choose_buttons, SIDES, strict=True):
            chosen = label == side_label
            button.setChecked(chosen)
            card.setProperty("selected", "true" if chosen else "false")
            restyle(card)
            button.setText(button.property("base_text") + ("  ✓ saved" if chosen and saved else ""))

    def say(self, text: str, kind: str = "info") -> None:
        self.message.setText(text)
        self.message.setProperty("kind", kind)
        restyle(self.message)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.save_comment()
        super().closeEvent(event)


def open_rating_screen(db: Database, rater_id: int, pin: str | None = None,
                       parent: QWidget | None = None) -> QWidget:
    """The rating screen the rater's study asks for: pairs, or all outputs of a case at once."""
    session = unlock_session(db, rater_id, pin)
    if session.info().questions.pairwise:
        return PairwiseRatingWindow(db, rater_id, parent, pin=pin)
    return RatingWindow(db, rater_id, parent, pin=pin)
