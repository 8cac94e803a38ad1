"""One blinded output on the rating screen: its letter, the image, and the questions about it.

The card shows answers (from the database) and emits what the rater asks for; it stores
nothing itself, so what is on screen is always what was saved.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.rating.image_view import ImageView
from app.rating.style import REASONS, SCALE_TEXT, SCALE_TIP, restyle
from studies.options import SCALE_MAX, SCALE_MIN, InvalidReason, Scale
from studies.rating import OutputView, Questions


def _button(text: str, name: str, checkable: bool = True, tip: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setCheckable(checkable)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the screen's shortcuts
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    if tip:
        button.setToolTip(tip)
    return button


class OutputCard(QFrame):
    selected = Signal(int)  # index of this card
    validity_given = Signal(int, bool, object, str)  # index, valid, InvalidReason | None, note
    invalid_started = Signal(int)
    score_given = Signal(int, object, int)  # index, Scale, score

    def __init__(self, index: int, questions: Questions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.questions = questions
        self.label = ""
        self._pending_invalid = False
        self._answer: OutputView | None = None
        self.setObjectName("card")
        # Never squeezed below its size hint: the image has a fixed size and must not be overlapped.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)

        head = QHBoxLayout()
        self.letter = QLabel()
        self.letter.setObjectName("outputLabel")
        self.key_hint = QLabel(f"key {index + 1}" if index < 9 else "")
        self.key_hint.setObjectName("muted")
        self.chip = QLabel()
        self.chip.setObjectName("chip")
        head.addWidget(self.letter)
        head.addWidget(self.key_hint)
        head.addStretch(1)
        head.addWidget(self.chip)
        layout.addLayout(head)

        self.view = ImageView(square=False)
        self.view.setFixedSize(200, 200)  # OutputsArea sets the real size
        self.view.clicked.connect(lambda: self.selected.emit(self.index))
        # The questions sit under the image, or beside it when one output fills the window.
        self.body = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        self.body.setSpacing(6)
        self.body.addWidget(self.view, 0, Qt.AlignmentFlag.AlignTop)
        self.controls = QWidget()
        self.controls.setObjectName("controls")
        controls = QVBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(6)
        self.body.addWidget(self.controls, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(self.body)
        self.head = head

        self.valid_button = _button("Valid  (V)", "valid", tip="The output is a plausible lip.")
        self.invalid_button = _button("Invalid  (I)", "invalid", tip="The output is not usable; choose why.")
        self.valid_button.clicked.connect(lambda: self._give_validity(True, None))
        self.invalid_button.clicked.connect(self.start_invalid)
        self.reason_buttons: dict[InvalidReason, QPushButton] = {}
        self.reason_group = QButtonGroup(self)
        self.reason_group.setExclusive(True)
        reasons = QGridLayout()
        reasons.setSpacing(4)
        for i, reason in enumerate(InvalidReason):
            label = REASONS[reason]
            button = _button(f"{label.button}  ({label.key})", "reason", tip=f"{label.text}: {label.tip}")
            button.clicked.connect(lambda _=False, r=reason: self.choose_reason(r))
            self.reason_group.addButton(button)
            self.reason_buttons[reason] = button
            reasons.addWidget(button, i // 2, i % 2)
        self.note = QLineEdit()
        self.note.setPlaceholderText("What is wrong? (needed for 'Other')")
        self.note.editingFinished.connect(self._note_finished)
        self.note.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.reason_box = QWidget()
        box = QVBoxLayout(self.reason_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(4)
        box.addLayout(reasons)
        box.addWidget(self.note)
        policy = self.reason_box.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the image never moves when the reasons appear
        self.reason_box.setSizePolicy(policy)
        if questions.ask_validity:
            row = QHBoxLayout()
            row.addWidget(self.valid_button)
            row.addWidget(self.invalid_button)
            controls.addLayout(row)
            controls.addWidget(self.reason_box)
        else:
            self.valid_button.hide()
            self.invalid_button.hide()
            self.reason_box.hide()

        self.scale_rows: list[QFrame] = []
        self.scale_markers: list[QLabel] = []
        self.score_groups: dict[Scale, QButtonGroup] = {}
        for scale in questions.scales:
            row_frame = QFrame()
            row_frame.setObjectName("scaleRow")
            row = QHBoxLayout(row_frame)
            row.setContentsMargins(4, 2, 4, 2)
            row.setSpacing(3)
            marker = QLabel()  # "▶" on the scale that Ctrl+1-5 scores
            marker.setObjectName("scaleMarker")
            marker.setFixedWidth(marker.fontMetrics().horizontalAdvance("▶") + 4)
            row.addWidget(marker)
            self.scale_markers.append(marker)
            name = QLabel(SCALE_TEXT[scale])
            name.setObjectName("scaleName")
            name.setToolTip(SCALE_TIP)
            row.addWidget(name, 1)
            group = QButtonGroup(self)
            for score in range(SCALE_MIN, SCALE_MAX + 1):
                button = _button(str(score), "score", tip=SCALE_TIP)
                group.addButton(button, score)
                row.addWidget(button)
            group.idClicked.connect(lambda score, s=scale: self.score_given.emit(self.index, s, score))
            self.score_groups[scale] = group
            self.scale_rows.append(row_frame)
            controls.addWidget(row_frame)

    # ------------------------------------------------------------------ showing

    def show_output(self, output: OutputView, *, load_image: bool) -> None:
        self.label = output.label
        self._pending_invalid = False
        self.letter.setText(output.label)
        self.letter.setAccessibleName(f"Output {output.label}")
        if load_image:
            self.view.set_image(output.image_path)
        self.show_answer(output)

    def show_answer(self, output: OutputView) -> None:
        self._answer = output
        invalid = output.valid is False or self._pending_invalid
        self.valid_button.setChecked(output.valid is True and not self._pending_invalid)
        self.invalid_button.setChecked(invalid)
        self.reason_group.setExclusive(False)
        for reason, button in self.reason_buttons.items():
            button.setChecked(output.valid is False and output.invalid_reason == reason)
            button.setEnabled(invalid and self.isEnabled())
        self.reason_group.setExclusive(True)
        if not self.note.hasFocus():
            self.note.setText(output.note)
        self.note.setEnabled(invalid)
        self.reason_box.setVisible(self.questions.ask_validity and invalid)
        for scale, group in self.score_groups.items():
            value = output.scales.get(scale)
            group.setExclusive(False)
            for button in group.buttons():
                button.setChecked(group.id(button) == value)
            group.setExclusive(True)
        self._show_chip()

    def show_unsaved(self, *, score: tuple[Scale, int] | None = None, **answer: object) -> None:
        """Show an answer the database refused (disk full, locked) as chosen, marked "not saved",
        so the rater sees what to repeat; the stored answer stays the card's reference."""
        stored = self._answer
        if stored is None:
            return
        if score is not None:
            answer["scales"] = {**stored.scales, score[0]: score[1]}
        self._pending_invalid = False
        self.show_answer(replace(stored, **answer))  # type: ignore[arg-type]
        self._answer = stored
        self.chip.setText("Not saved: repeat")
        self.chip.setVisible(True)
        self.chip.setProperty("state", "pending")
        restyle(self.chip)

    def _show_chip(self) -> None:
        output = self._answer
        if self._pending_invalid:
            text, state = "Invalid: choose a reason", "pending"
        elif output is None or (output.valid is None and self.questions.ask_validity):
            text, state = "Not judged", ""
        elif output.valid is False:
            reason = REASONS[output.invalid_reason].text if output.invalid_reason in REASONS else ""
            text, state = f"Invalid: {reason.lower()}" if reason else "Invalid", "invalid"
        elif output.valid:
            rank = f" · rank {output.rank}" if output.rank is not None else ""
            text, state = f"Valid{rank}", "valid"
        else:
            text, state = "", ""
        self.chip.setText(text)
        self.chip.setVisible(bool(text))
        self.chip.setProperty("state", state)
        restyle(self.chip)
        self.layout().invalidate()  # the chip's new width now, not on the next layout pass
        self.layout().activate()

    def set_selected(self, selected: bool) -> None:
        self.setProperty("selected", "true" if selected else "false")
        restyle(self)

    def set_active_scale(self, row: int | None) -> None:
        """Mark the scale that Ctrl+1-5 scores (accent bar, arrow, bold name); None: no mark."""
        for i, (frame, marker) in enumerate(zip(self.scale_rows, self.scale_markers, strict=True)):
            active = i == row
            frame.setProperty("active", "true" if active else "false")
            marker.setText("▶" if active else "")
            frame.setAccessibleName(f"{SCALE_TEXT[self.questions.scales[i]]}" + (", chosen scale" if active else ""))
            restyle(frame)
            for child in frame.findChildren(QLabel):
                restyle(child)

    @property
    def active_scale(self) -> int | None:
        return next((i for i, m in enumerate(self.scale_markers) if m.text()), None)

    def set_controls_beside(self, beside: bool) -> None:
        """Questions to the right of the image (one output filling the window) or under it."""
        direction = QBoxLayout.Direction.LeftToRight if beside else QBoxLayout.Direction.TopToBottom
        if self.body.direction() != direction:
            self.body.setDirection(direction)

    def controls_beside(self) -> bool:
        return self.body.direction() == QBoxLayout.Direction.LeftToRight

    def head_height(self) -> int:
        return self.head.sizeHint().height()

    def controls_size(self) -> tuple[int, int]:
        hint = self.controls.sizeHint()
        return hint.width(), hint.height()

    # ------------------------------------------------------------------ answering

    def start_invalid(self) -> None:
        """Invalid needs a reason before it is saved: show the reasons and wait for one."""
        if self._answer is not None and self._answer.valid is False:
            self.invalid_button.setChecked(True)
            return
        self._pending_invalid = True
        if self._answer is not None:
            self.show_answer(self._answer)
        self.invalid_started.emit(self.index)

    def choose_reason(self, reason: InvalidReason) -> None:
        note = self.note.text().strip()
        if reason == InvalidReason.OTHER and not note:
            self._pending_invalid = True
            if self._answer is not None:
                self.show_answer(self._answer)
            self.reason_buttons[reason].setChecked(True)
            self.note.setEnabled(True)
            self.note.setFocus()
            return
        self._give_validity(False, reason)

    def _note_finished(self) -> None:
        checked = next((r for r, b in self.reason_buttons.items() if b.isChecked()), None)
        note = self.note.text().strip()
        if checked is None:
            return
        if self._answer is not None and self._answer.valid is False and self._answer.note == note:
            return
        if checked != InvalidReason.OTHER or note:
            self._give_validity(False, checked)

    def _give_validity(self, valid: bool, reason: InvalidReason | None) -> None:
        self._pending_invalid = False
        self.validity_given.emit(self.index, valid, reason, "" if valid else self.note.text().strip())

    @property
    def pending_invalid(self) -> bool:
        return self._pending_invalid

