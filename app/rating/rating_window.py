"""The blinded rating screen for one rater.

It talks only to :class:`studies.rating.RaterSession`, whose queries cannot reach the model
mapping: outputs are known here by their letter in this rater's own order and by an image file
with a random name that is never shown. Every answer is saved the moment it is given (each
``set_*`` commits), the screen then re-reads the item, so what is shown is what was stored.
Pausing is closing the window: the next start resumes at the first unfinished case.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.rating.image_view import ViewGroup
from app.rating.output_card import OutputCard
from app.rating.outputs_area import Footer, OutputsArea
from app.rating.ranking import RankingList, moved
from app.rating.screen_base import RatingScreen
from app.rating.style import REASONS, SCALE_TEXT
from studies.errors import StudyError
from studies.options import InvalidReason, Scale
from studies.rating import RatingItem

BELOW_HEIGHT = 210  # at least, for ranking, comment and key help under the outputs
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


class RatingWindow(RatingScreen):
    """One rater's screen; closing it is pausing (all answers are already saved).

    A rater with a PIN must give it (``pin``); otherwise :class:`studies.rater_pin.PinError`."""

    def _init_state(self) -> None:
        self.selected = 0
        self.active_scale = 0
        self.focus_mode = False
        self.cards: list[OutputCard] = []
        self._ranking: list[str] = []

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(12, 10, 12, 10)
        root.setSpacing(8)

        self._build_top(root)

        body = QHBoxLayout()
        body.setSpacing(10)
        body.addWidget(self._build_refs())

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

        comment_panel = self._build_comment()
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

        self._build_foot(root, "Complete and next  (N)  ▶")

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

    def _bind_keys(self, key: Callable[[str | QKeySequence | Qt.Key, Callable[[], None]], None]) -> None:
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
        key("F", self.toggle_focus_mode)

    # ------------------------------------------------------------------ navigation

    def _show_outputs(self, item: RatingItem) -> None:
        self.selected = 0
        self.active_scale = 0
        self.focus_mode = False
        self._ranking = []
        self._build_cards(item)
        self.refs_panel.setVisible(bool(self.ref_views))
        self.outputs_area.show_footer(True)

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

    def _before_comment(self) -> None:
        if self.focus_mode:
            self.toggle_focus_mode()  # the comment box is in the panel the full view hides

    # ------------------------------------------------------------------ answers (each saved at once)

    def _answer(self, action: Callable[[], None], unsaved: Callable[[], None] | None = None) -> bool:
        """Save one answer (see :meth:`RatingScreen._save_answer`), then show what is stored."""
        if not self._save_answer(action, unsaved):
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
        self._show_progress(progress)
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
