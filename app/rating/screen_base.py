"""What both blinded rating screens share: the window itself, its header, messages, reference
images, comment box, footer buttons, keys, navigation between items and saving answers.

:class:`app.rating.rating_window.RatingWindow` (all outputs of a case at once) and
:class:`app.rating.pairwise_window.PairwiseRatingWindow` (two outputs, pick the better) differ
only in the outputs they show and the answers they take; they subclass :class:`RatingScreen`
and fill in :meth:`RatingScreen._build`, :meth:`RatingScreen._show_outputs` and
:meth:`RatingScreen._refresh`. Every answer is saved the moment it is given; closing is pausing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QScreen, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.rating.image_view import ImageView, ViewGroup
from app.rating.style import RATING_STYLE, restyle
from studies.database import Database
from studies.errors import DatabaseError, StudyError
from studies.rating import Progress, RatingItem, unlock_session

COMMENT_SAVE_DELAY_MS = 700
REF_SIDE = 230  # reference images (original, masked input)
SCREEN_SHARE = (0.96, 0.92)  # of the screen's free area a new rating window takes (width, height)
MIN_WINDOW = QSize(1024, 700)


def default_geometry(screen: QScreen | None) -> QRect:
    """Most of the screen's free area, centred: the outputs are sized from the window, so a
    window that uses the screen gives two outputs about half the screen width each."""
    screen = screen or QGuiApplication.primaryScreen()
    free = screen.availableGeometry() if screen is not None else QRect(0, 0, 1600, 1000)
    size = QSize(max(MIN_WINDOW.width(), int(free.width() * SCREEN_SHARE[0])),
                 max(MIN_WINDOW.height(), int(free.height() * SCREEN_SHARE[1])))
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(free.center())
    return rect


class RatingScreen(QWidget):
    """One rater's screen over the items (cases or pairs) of their :class:`studies.rating.RaterSession`.

    A rater with a PIN must give it (``pin``); otherwise :class:`studies.rater_pin.PinError`."""

    UNIT = "case"  # what one item is called on screen
    DONE = "completed"  # "3 of 10 cases completed"
    NOT_DONE = "finished"  # "Case 4 is not finished yet."
    TITLE = "Blinded rating"

    def __init__(self, db: Database, rater_id: int, parent: QWidget | None = None, *, pin: str | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.session = unlock_session(db, rater_id, pin)
        self.info = self.session.info()
        self.questions = self.info.questions
        self.item: RatingItem | None = None
        self.position = 0
        self._editable = self.info.study_open
        self._init_state()
        self.setObjectName(type(self).__name__)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # the style sheet selects widgets by the class name RatingWindow
        self.setStyleSheet(RATING_STYLE.replace("RatingWindow", type(self).__name__))
        self.setWindowTitle(f"{self.TITLE} · {self.info.study_title}")
        self.setGeometry(default_geometry(self.screen()))
        self._comment_timer = QTimer(self, singleShot=True, interval=COMMENT_SAVE_DELAY_MS)
        self._comment_timer.timeout.connect(self.save_comment)
        self._build()
        self._shortcuts()
        first = self.session.progress().next_position
        self.go_to(first if first is not None else max(1, self.info.progress.total))
        if first is None and self.info.progress.total:
            self.say(f"Every {self.UNIT} is rated. You can look back (P) and change answers "
                     "while the study is open.", "ok")
        elif self.info.progress.completed:
            self.say(f"Welcome back: resuming at {self.UNIT} {first}.", "ok")

    # ------------------------------------------------------------------ for the subclasses

    def _init_state(self) -> None:
        """Set the subclass's own attributes before the window is built."""

    def _build(self) -> None:
        raise NotImplementedError

    def _bind_keys(self, key: Callable[[str | QKeySequence | Qt.Key, Callable[[], None]], None]) -> None:
        """The subclass's own keys (those of the answers)."""

    def _show_outputs(self, item: RatingItem) -> None:
        """Show the outputs of the newly opened ``item``."""
        raise NotImplementedError

    def _refresh(self) -> None:
        raise NotImplementedError

    def _before_comment(self) -> None:
        """Make the comment box visible before it takes the keys (C)."""

    # ------------------------------------------------------------------ layout pieces

    def _build_top(self, root: QVBoxLayout, question: str | None = None) -> None:
        """Title, rater, item and progress bar; the question (if any), the message line and the
        banner of a study that is not open."""
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
        if question is not None:
            label = QLabel(question)
            label.setObjectName("title")
            root.addWidget(label)
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

    def _build_refs(self) -> QFrame:
        """The panel of reference images the study shows (original, masked input)."""
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
        return self.refs_panel

    def _build_comment(self) -> QFrame:
        """The comment panel (shown if the study asks for comments); the box is ``self.comment``."""
        comment_panel = QFrame()
        comment_panel.setObjectName("panel")
        comment_panel.setVisible(self.questions.ask_comment)
        panel = QVBoxLayout(comment_panel)
        panel.addWidget(QLabel(f"<b>Comment</b> on this {self.UNIT}  (C)"))
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("Optional. Saved as you type.")
        self.comment.setAccessibleName(f"Comment on this {self.UNIT}")
        self.comment.textChanged.connect(self._comment_edited)
        self.comment.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # keys stay answers until C or a click
        panel.addWidget(self.comment, 1)
        return comment_panel

    def _build_foot(self, root: QVBoxLayout, next_text: str) -> None:
        """Previous, pause and close, next."""
        foot = QHBoxLayout()
        self.prev_button = QPushButton("◀  Previous  (P)")
        self.pause_button = QPushButton("Pause and close")
        self.pause_button.setToolTip("Every answer is already saved; you continue where you stopped.")
        self.next_button = QPushButton(next_text)
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
        def key(sequence: str | QKeySequence | Qt.Key, slot: Callable[[], None]) -> None:
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        self._bind_keys(key)
        key("C", self._write_comment)
        key(Qt.Key.Key_Escape, self._leave_text)
        for seq in ("+", "=", "Ctrl++"):
            key(seq, lambda: self.output_group.zoom_by(1.25))
        key("-", lambda: self.output_group.zoom_by(0.8))
        key("0", self.output_group.fit)
        key("N", self.complete_and_next)
        key("P", self.previous)

    # ------------------------------------------------------------------ navigation

    def go_to(self, position: int) -> None:
        """Show item ``position`` (1-based) with fresh images and zoom to fit."""
        self.save_comment()
        if not self.info.progress.total:
            self.case_label.setText(f"No {self.UNIT}s")
            self.say(f"No {self.UNIT}s were assigned to you in this study.", "error")
            return
        try:
            item = self.session.item(position)
        except StudyError as exc:
            self.say(str(exc), "error")
            return
        self.position, self.item = position, item
        self._show_outputs(item)
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
            self.say(f"{self.UNIT.capitalize()} {progress.next_position} is not {self.NOT_DONE} yet.", "error")
        else:
            self._refresh()
            self.say(f"Every {self.UNIT} is rated. Thank you! You may close the window "
                     "or look back (P) while the study is open.", "ok")

    def _show_progress(self, progress: Progress) -> None:
        """The item label, the progress bar and whether there is a previous item."""
        assert self.item is not None
        self.case_label.setText(f"{self.UNIT.capitalize()} {self.position} of {self.item.total}"
                                + ("  ✓" if self.item.completed else ""))
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.completed)
        self.progress.setFormat(f"{progress.completed} of {progress.total} {self.UNIT}s {self.DONE}")
        self.prev_button.setEnabled(self.position > 1)

    # ------------------------------------------------------------------ answers (each saved at once)

    def _save_answer(self, action: Callable[[], None], unsaved: Callable[[], None] | None = None) -> bool:
        """Save one answer. On a database failure the answer stays on screen (``unsaved`` shows it)
        for the rater to give again; on a refusal the stored state is shown again."""
        if not self._editable or self.item is None:
            return False
        try:
            action()
        except DatabaseError as exc:
            # Not re-read from the database: that would wipe the choice the rater just made.
            self.say(f"Not saved. {exc} Your choice is still shown: give it again to save it.", "error")
            if unsaved is not None:
                unsaved()
            return False
        except StudyError as exc:
            self.say(str(exc), "error")
            self._refresh()
            return False
        return True

    # ------------------------------------------------------------------ comment

    def _write_comment(self) -> None:
        if self.questions.ask_comment and self._editable:
            self._before_comment()
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
        except DatabaseError as exc:  # the text stays in the box and is saved again on the next edit or item change
            self.say(f"Comment not saved. {exc} Your text is kept.", "error")
        except StudyError as exc:
            self.say(str(exc), "error")

    # ------------------------------------------------------------------ messages, window events

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
