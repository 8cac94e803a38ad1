"""The blinded rating screen for one rater.

It talks only to :class:`studies.rating.RaterSession`, whose queries cannot reach the model
mapping: outputs are known here by their letter in this rater's own order and by an image file
with a random name that is never shown. Every answer is saved the moment it is given (each
``set_*`` commits), the screen then re-reads the item, so what is shown is what was stored.
Pausing is closing the window: the next start resumes at the first unfinished case.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QScreen, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.rating.image_view import ImageView, ViewGroup
from app.rating.output_card import OutputCard
from app.rating.outputs_area import Footer, OutputsArea
from app.rating.ranking import RankingList, moved
from app.rating.style import RATING_STYLE, REASONS, SCALE_TEXT, restyle
from studies.database import Database
from studies.errors import DatabaseError, StudyError
from studies.options import InvalidReason, Scale
from studies.rating import RatingItem, unlock_session

COMMENT_SAVE_DELAY_MS = 700
REF_SIDE = 230  # reference images (original, masked input)
BELOW_HEIGHT = 210  # at least, for ranking, comment and key help under the outputs
SCREEN_SHARE = (0.96, 0.92)  # of the screen's free area a new rating window takes (width, height)
MIN_WINDOW = QSize(1024, 700)

KEY_HELP: tuple[tuple[str, str, str], ...] = (  # key, what it does, needed question ("" = always)
    ("1 – 9", "select output", ""),
    ("V", "valid", "validity"),
    ("I", "invalid, then give the reason", "validity"),
    ("B A X O", "blurry · anatomy · artifacts · other", "validity"),
    ("Alt + ↑ / ↓", "move selected output in ranking", "ranking"),
    ("R", "keep the ranking as shown", "ranking"),
    ("↑ / ↓", "previous / next scale (stops at the ends)", "scales"),
    ("Ctrl + 1 – 5", "score the chosen scale", "scales"),
    ("C / Esc", "write a comment / leave it", "comment"),
    ("+  −  0", "zoom in, out, fit (or wheel; drag pans)", ""),
    ("F", "show the selected output alone, full window", ""),
    ("N", "complete case and go to the next", ""),
    ("P", "previous case", ""),
)


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


class RatingWindow(QWidget):
    """One rater's screen; closing it is pausing (all answers are already saved).

    A rater with a PIN must give it (``pin``); otherwise :class:`studies.rater_pin.PinError`."""

    def __init__(self, db: Database, rater_id: int, parent: QWidget | None = None, *, pin: str | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.session = unlock_session(db, rater_id, pin)
        self.info = self.session.info()
        self.questions = self.info.questions
        self.item: RatingItem | None = None
        self.position = 0
        self.selected = 0
        self.active_scale = 0
        self.focus_mode = False
        self.cards: list[OutputCard] = []
        self._ranking: list[str] = []
        self._editable = self.info.study_open
        self.setObjectName("RatingWindow")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setStyleSheet(RATING_STYLE)
        self.setWindowTitle(f"Blinded rating · {self.info.study_title}")
        self.setGeometry(default_geometry(self.screen()))
        self._comment_timer = QTimer(self, singleShot=True, interval=COMMENT_SAVE_DELAY_MS)
        self._comment_timer.timeout.connect(self.save_comment)
        self._build()
        self._shortcuts()
        first = self.session.progress().next_position
        self.go_to(first if first is not None else max(1, self.info.progress.total))
        if first is None and self.info.progress.total:
            self.say("Every case is rated. You can look back (P) and change answers while the study is open.", "ok")
        elif self.info.progress.completed:
            self.say(f"Welcome back: resuming at case {first}.", "ok")

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
        head.addWidget(title)
        head.addSpacing(16)
        head.addWidget(who)
        head.addStretch(1)
        head.addWidget(self.case_label)
        head.addSpacing(16)
        head.addWidget(self.progress)
        root.addLayout(head)

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

        centre = QVBoxLayout()
        centre.setSpacing(10)
        self.outputs_area = OutputsArea()
        self.output_group = ViewGroup(self)
        centre.addWidget(self.outputs_area, 1)

        below_host = Footer()
        below = below_host.box
        ranking_panel = QFrame()
        ranking_panel.setObjectName("panel")
        ranking_panel.setVisible(self.questions.ask_ranking)
        panel = QVBoxLayout(ranking_panel)
        panel.addWidget(QLabel("<b>Ranking of the valid outputs</b> (best first)"))
        self.ranking_state = QLabel()
        self.ranking_state.setObjectName("muted")
        self.ranking_state.setWordWrap(True)
        self.ranking_state.setMinimumHeight(2 * self.ranking_state.fontMetrics().lineSpacing() + 4)
        self.ranking = RankingList()
        self.ranking.order_changed.connect(self.set_ranking)
        self.accept_ranking_button = QPushButton("Keep this ranking  (R)")
        self.accept_ranking_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.accept_ranking_button.clicked.connect(self.accept_ranking)
        panel.addWidget(self.ranking_state)
        panel.addWidget(self.ranking, 1)
        panel.addWidget(self.accept_ranking_button)
        below.addWidget(ranking_panel, 3)

        comment_panel = QFrame()
        comment_panel.setObjectName("panel")
        comment_panel.setVisible(self.questions.ask_comment)
        panel = QVBoxLayout(comment_panel)
        panel.addWidget(QLabel("<b>Comment</b> on this case  (C)"))
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("Optional. Saved as you type.")
        self.comment.setAccessibleName("Comment on this case")
        self.comment.textChanged.connect(self._comment_edited)
        self.comment.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # keys stay answers until C or a click
        panel.addWidget(self.comment, 1)
        below.addWidget(comment_panel, 3)

        self.keys_panel = QFrame()
        self.keys_panel.setObjectName("panel")
        self._fill_keys(columns=2)
        below.addWidget(self.keys_panel, 5)
        below_host.on_orientation.append(lambda vertical: self._fill_keys(1 if vertical else 2))
        self.footer = below_host
        self.outputs_area.set_footer(below_host, BELOW_HEIGHT)
        body.addLayout(centre, 1)
        root.addLayout(body, 1)

        foot = QHBoxLayout()
        self.prev_button = QPushButton("◀  Previous  (P)")
        self.pause_button = QPushButton("Pause and close")
        self.pause_button.setToolTip("Every answer is already saved; you continue where you stopped.")
        self.next_button = QPushButton("Complete and next  (N)  ▶")
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

    def _fill_keys(self, columns: int) -> None:
        """The key help in one column (panel right of the outputs) or two (panel under them)."""
        old = self.keys_panel.layout()
        if old is not None:
            while old.count():
                widget = old.takeAt(0).widget()
                if widget is not None:
                    widget.deleteLater()
            QWidget().setLayout(old)  # the only way to drop a widget's layout
        keys = QGridLayout(self.keys_panel)
        keys.setHorizontalSpacing(10)
        keys.setVerticalSpacing(2)
        keys.addWidget(QLabel("<b>Keys</b>"), 0, 0, 1, 2 * columns)
        asked = {"": True, "validity": self.questions.ask_validity, "ranking": self.questions.ask_ranking,
                 "scales": bool(self.questions.scales), "comment": self.questions.ask_comment}
        key_help = [(k, what) for k, what, needs in KEY_HELP if asked[needs]]
        per_column = (len(key_help) + columns - 1) // columns
        for i, (key, what) in enumerate(key_help):
            row, col = 1 + i % per_column, 2 * (i // per_column)
            keys.addWidget(QLabel(f"<b>{key}</b>"), row, col)
            text = QLabel(what)
            text.setObjectName("keys")
            text.setWordWrap(columns == 1)
            keys.addWidget(text, row, col + 1)
        for col in range(columns):
            keys.setColumnStretch(2 * col + 1, 1)
        keys.setRowStretch(per_column + 1, 1)

    def _shortcuts(self) -> None:
        def key(sequence: str | QKeySequence | Qt.Key, slot: Callable[[], None]) -> None:
            shortcut = QShortcut(QKeySequence(sequence), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(slot)

        for n in range(1, 10):
            key(str(n), lambda n=n: self.select(n - 1))
        key("V", lambda: self.mark_valid())
        key("I", lambda: self.mark_invalid())
        for reason, label in REASONS.items():
            key(label.key, lambda r=reason: self.mark_invalid(r))
        key("Alt+Up", lambda: self.move_in_ranking(-1))
        key("Alt+Down", lambda: self.move_in_ranking(1))
        key("R", self.accept_ranking)
        key(Qt.Key.Key_Up, lambda: self.choose_scale(-1))
        key(Qt.Key.Key_Down, lambda: self.choose_scale(1))
        for n in range(1, 6):
            key(f"Ctrl+{n}", lambda n=n: self.score(n))
        key("C", self._write_comment)
        key(Qt.Key.Key_Escape, self._leave_text)
        for seq in ("+", "=", "Ctrl++"):
            key(seq, lambda: self.output_group.zoom_by(1.25))
        key("-", lambda: self.output_group.zoom_by(0.8))
        key("0", self.output_group.fit)
        key("F", self.toggle_focus_mode)
        key("N", self.complete_and_next)
        key("P", self.previous)

    # ------------------------------------------------------------------ navigation

    def go_to(self, position: int) -> None:
        """Show case ``position`` (1-based) with fresh images and zoom to fit."""
        self.save_comment()
        if not self.info.progress.total:
            self.case_label.setText("No cases")
            self.say("No cases were assigned to you in this study.", "error")
            return
        try:
            item = self.session.item(position)
        except StudyError as exc:
            self.say(str(exc), "error")
            return
        self.position, self.item = position, item
        self.selected = 0
        self.active_scale = 0
        self.focus_mode = False
        self._ranking = []
        self._build_cards(item)
        self.refs_panel.setVisible(bool(self.ref_views))
        self.outputs_area.show_footer(True)
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

    def _build_cards(self, item: RatingItem) -> None:
        if len(self.cards) != len(item.outputs):
            for card in self.cards:
                card.setParent(None)
                card.deleteLater()
            self.output_group.clear()
            self.cards = []
            for i in range(len(item.outputs)):
                card = OutputCard(i, self.questions)
                card.selected.connect(self.select)
                card.validity_given.connect(self._validity_from_card)
                card.invalid_started.connect(self._invalid_started)
                card.score_given.connect(lambda index, scale, value: self._score_card(index, scale, value))
                self.output_group.add(card.view)
                self.cards.append(card)
                card.setParent(self.outputs_area)
                for child in card.findChildren(QWidget):  # hidden ones too: every card measures alike
                    child.ensurePolished()
            self.outputs_area.set_cards(self.cards)
        for card, output in zip(self.cards, item.outputs, strict=True):
            card.setEnabled(self._editable)
            card.setVisible(True)
            card.show_output(output, load_image=True)

    def complete_and_next(self) -> None:
        if self.item is None:
            return
        self.save_comment()
        if self._editable:
            try:
                self.session.complete(self.position)
            except StudyError as exc:
                self.say(str(exc), "error")
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
            self.say(f"Case {progress.next_position} is not finished yet.", "error")
        else:
            self._refresh()
            self.say("Every case is rated. Thank you! You may close the window "
                     "or look back (P) while the study is open.", "ok")

    def previous(self) -> None:
        if self.position > 1:
            self.go_to(self.position - 1)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        self.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.save_comment()
        super().closeEvent(event)

    # ------------------------------------------------------------------ selection, zoom

    def select(self, index: int) -> None:
        if not 0 <= index < len(self.cards):
            return
        self.selected = index
        for card in self.cards:
            card.set_selected(card.index == index)
            card.set_active_scale(self.active_scale if card.index == index and self.questions.scales else None)
        if self.focus_mode:
            self._apply_focus_mode()
        labels = self.ranking.labels()
        label = self.cards[index].label
        for row, name in enumerate(labels):
            self.ranking.item(row).setSelected(name == label)

    def choose_scale(self, step: int) -> None:
        """Up/Down: the previous or next scale; stops at the first and the last (no wrapping)."""
        if not self.questions.scales:
            return
        last = len(self.questions.scales) - 1
        target = max(0, min(last, self.active_scale + step))
        if target == self.active_scale and step:
            end = "first" if step < 0 else "last"
            self.say(f"{SCALE_TEXT[self.questions.scales[target]]} is the {end} scale.")
        self.active_scale = target
        self.select(self.selected)

    def toggle_focus_mode(self) -> None:
        self.focus_mode = not self.focus_mode
        self._apply_focus_mode()
        self.say("One output alone: F shows all outputs again, 1 – 9 switches output." if self.focus_mode else "")

    def _apply_focus_mode(self) -> None:
        """F: the selected output alone, as large as the whole window allows (the reference images
        and the panel under the outputs step aside; F again brings them back)."""
        for card in self.cards:
            card.setVisible(not self.focus_mode or card.index == self.selected)
        self.refs_panel.setVisible(bool(self.ref_views) and not self.focus_mode)
        self.outputs_area.show_footer(not self.focus_mode)

    def _write_comment(self) -> None:
        if self.questions.ask_comment and self._editable:
            if self.focus_mode:
                self.toggle_focus_mode()  # the comment box is in the panel the full view hides
            self.comment.setFocus()

    def _leave_text(self) -> None:
        self.save_comment()
        self.setFocus()

    # ------------------------------------------------------------------ answers (each saved at once)

    def _answer(self, action: Callable[[], None], unsaved: Callable[[], None] | None = None) -> bool:
        """Save one answer; on a database failure keep it on screen (``unsaved`` shows it) to repeat."""
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
        self.say("")
        self._refresh()
        return True

    def mark_valid(self, index: int | None = None) -> None:
        index = self.selected if index is None else index
        if self.questions.ask_validity and 0 <= index < len(self.cards):
            self._set_validity(index, True, None, "")

    def mark_invalid(self, reason: InvalidReason | None = None, index: int | None = None) -> None:
        index = self.selected if index is None else index
        if not self.questions.ask_validity or not 0 <= index < len(self.cards) or not self._editable:
            return
        card = self.cards[index]
        if reason is None:
            card.start_invalid()
        else:
            card.choose_reason(reason)

    def _invalid_started(self, index: int) -> None:
        self.select(index)
        self.say(f"Output {self.cards[index].label}: why is it invalid?  B blurry · A anatomy · X artifacts · O other")

    def _validity_from_card(self, index: int, valid: bool, reason: object, note: str) -> None:
        self._set_validity(index, valid, reason, note)  # type: ignore[arg-type]

    def _set_validity(self, index: int, valid: bool, reason: InvalidReason | None, note: str) -> None:
        label = self.cards[index].label
        self.select(index)
        card = self.cards[index]
        if self._answer(lambda: self.session.set_validity(self.position, label, valid, reason, note),
                        lambda: card.show_unsaved(valid=valid, invalid_reason=reason, note=note)):
            self._tidy_ranking()

    def _score_card(self, index: int, scale: Scale, value: int) -> None:
        self.select(index)
        card = self.cards[index]
        self._answer(lambda: self.session.set_scale(self.position, card.label, scale, value),
                     lambda: card.show_unsaved(score=(scale, value)))

    def score(self, value: int) -> None:
        if self.questions.scales and self.cards:
            scale = self.questions.scales[self.active_scale]
            self._score_card(self.selected, scale, value)

    def set_ranking(self, labels: list[str]) -> None:
        """Store the order the rater made (drag and drop, keys or 'keep')."""
        if not self.questions.ask_ranking:
            return
        self._ranking = list(labels)
        if not self._all_judged():
            self.say("Say for every output whether it is valid before ranking.", "error")
            self._refresh()
            return
        self._answer(lambda: self.session.set_ranking(self.position, list(labels)))

    def accept_ranking(self) -> None:
        self.set_ranking(self.ranking.labels())

    def move_in_ranking(self, step: int) -> None:
        if not self.cards:
            return
        label = self.cards[self.selected].label
        labels = self.ranking.labels()
        if label not in labels:
            self.say(f"Output {label} is not valid, so it has no place in the ranking.", "error")
            return
        self.set_ranking(moved(labels, label, step))

    def _comment_edited(self) -> None:
        if self._editable:
            self._comment_timer.start()

    def save_comment(self) -> None:
        self._comment_timer.stop()
        if (self.item is None or not self._editable or not self.questions.ask_comment
                or self.comment.toPlainText() == self.item.comment):
            return
        text = self.comment.toPlainText()
        try:
            self.session.set_comment(self.position, text)
            self.item = self.session.item(self.position)
        except DatabaseError as exc:  # the text stays in the box and is saved again on the next edit or case change
            self.say(f"Comment not saved. {exc} Your text is kept.", "error")
        except StudyError as exc:
            self.say(str(exc), "error")

    # ------------------------------------------------------------------ ranking state

    def _all_judged(self) -> bool:
        return self.item is not None and all(o.valid is not None for o in self.item.outputs)

    def _valid_labels(self) -> list[str]:
        if self.item is None:
            return []
        return [o.label for o in self.item.outputs if o.valid or not self.questions.ask_validity]

    def _stored_ranking(self) -> dict[str, int]:
        return {} if self.item is None else {o.label: o.rank for o in self.item.outputs if o.rank is not None}

    def _tidy_ranking(self) -> None:
        """After a validity change: if the remaining ranked outputs are exactly the valid ones but
        their ranks have a gap (an output became invalid), store the same order closed up."""
        if not self.questions.ask_ranking or not self._all_judged():
            return
        stored = self._stored_ranking()
        valid = set(self._valid_labels())
        if stored and set(stored) == valid and sorted(stored.values()) != list(range(1, len(valid) + 1)):
            self._answer(lambda: self.session.set_ranking(self.position, sorted(stored, key=stored.__getitem__)))

    def _ranking_order(self) -> tuple[list[str], bool]:
        """Labels best first as shown, and whether that order is what is stored."""
        valid = self._valid_labels()
        stored = self._stored_ranking()
        if stored and set(stored) == set(valid):
            return sorted(valid, key=stored.__getitem__), True
        known = [label for label in self._ranking if label in valid]
        if not known:
            known = sorted((label for label in valid if label in stored), key=stored.__getitem__)
        return known + [label for label in valid if label not in known], False

    # ------------------------------------------------------------------ refresh from the database

    def _refresh(self) -> None:
        if self.item is None:
            return
        try:
            self.item = self.session.item(self.position)
        except StudyError as exc:
            self.say(str(exc), "error")
            return
        for card, output in zip(self.cards, self.item.outputs, strict=True):
            card.show_answer(output)
        try:
            progress = self.session.progress()
        except StudyError as exc:
            self.say(str(exc), "error")
            return
        self.case_label.setText(f"Case {self.position} of {self.item.total}"
                                + ("  ✓" if self.item.completed else ""))
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.completed)
        self.progress.setFormat(f"{progress.completed} of {progress.total} cases completed")
        self.prev_button.setEnabled(self.position > 1)
        if self.questions.ask_ranking:
            order, stored = self._ranking_order()
            self._ranking = order
            selected = self.cards[self.selected].label if self.cards else None
            self.ranking.set_order(order, selected)
            self.ranking.setEnabled(self._editable and len(order) > 1 and self._all_judged())
            self.accept_ranking_button.setEnabled(self._editable and len(order) > 1 and not stored
                                                  and self._all_judged())
            if not self._all_judged():
                text = "Judge every output as valid or invalid first."
            elif not order:
                text = "No output is valid, so there is nothing to rank."
            elif len(order) == 1:
                text = "Only one output is valid; it is ranked first."
            elif stored:
                text = "Ranking saved. Drag, or Alt+↑/↓, to change it."
            else:
                text = "Not saved yet: drag the outputs into order, use Alt+↑/↓, or press R to keep this order."
            self.ranking_state.setText(text)
        self.select(self.selected)

    def say(self, text: str, kind: str = "info") -> None:
        self.message.setText(text)
        self.message.setProperty("kind", kind)
        restyle(self.message)
