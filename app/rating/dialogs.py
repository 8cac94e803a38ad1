"""Dialogs of the studies window: a new study, a new rater, and output generation with progress."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.rating.style import SCALE_TEXT
from app.rating.workers import GenerationRunner
from app.workers import describe_error
from inference.models.registry import ModelSpec
from studies.cases import CaseInfo
from studies.errors import PassphraseError, SetupError, StudyError
from studies.options import Scale, StudyOptions
from studies.rater_pin import MAX_PIN_LENGTH, check_pin_format
from studies.sealing import check_passphrase_strength

ID_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class NewStudyRequest:
    title: str
    owner_name: str
    description: str
    passphrase: str
    options: StudyOptions
    case_ids: tuple[int, ...]
    model_names: tuple[str, ...]


class NewStudyDialog(QDialog):
    """Title, owner, passphrase (twice), what raters see and are asked, cases and models."""

    def __init__(self, cases: list[CaseInfo], models: list[ModelSpec], owner_name: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New blinded study")
        self.resize(900, 720)
        self.request: NewStudyRequest | None = None
        layout = QVBoxLayout(self)
        top = QHBoxLayout()

        about = QGroupBox("Study")
        form = QFormLayout(about)
        self.title = QLineEdit()
        self.title.setPlaceholderText("e.g. Unilateral cleft lip, 2024 series")
        self.owner = QLineEdit(owner_name)
        self.description = QLineEdit()
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase2 = QLineEdit()
        self.passphrase2.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setToolTip("Seals which model made which output. Needed to generate, close and unblind; "
                                   "it cannot be recovered if lost.")
        form.addRow("Title", self.title)
        form.addRow("Owner", self.owner)
        form.addRow("Description", self.description)
        form.addRow("Owner passphrase", self.passphrase)
        form.addRow("Passphrase again", self.passphrase2)
        top.addWidget(about, 1)

        ask = QGroupBox("What raters see and answer")
        opts = QVBoxLayout(ask)
        self.show_original = QCheckBox("Show the unmasked original beside the outputs")
        self.show_masked = QCheckBox("Show the masked input beside the outputs")
        self.show_masked.setChecked(True)
        self.ask_validity = QCheckBox("Ask whether each output is valid (with a reason if not)")
        self.ask_validity.setChecked(True)
        self.ask_ranking = QCheckBox("Ask to rank the valid outputs")
        self.ask_ranking.setChecked(True)
        self.ask_validity.toggled.connect(lambda on: (self.ask_ranking.setEnabled(on),
                                                      None if on else self.ask_ranking.setChecked(False)))
        self.pairwise = QCheckBox("Pairwise: show two outputs at a time (sides at random); raters pick the better")
        self.pairwise.setToolTip("Every pair of models is shown for every case; the analysis gives "
                                 "Bradley-Terry scores. Replaces the validity, ranking and scale questions.")
        self.pairwise.toggled.connect(self._pairwise_toggled)
        self.scales: dict[Scale, QCheckBox] = {}
        for w in (self.show_original, self.show_masked, self.pairwise, self.ask_validity, self.ask_ranking):
            opts.addWidget(w)
        opts.addWidget(QLabel("Asher-McDade scales (1 = very good … 5 = very poor):"))
        for scale in Scale:
            box = QCheckBox(SCALE_TEXT[scale])
            self.scales[scale] = box
            opts.addWidget(box)
        self.ask_comment = QCheckBox("Ask for a free comment per case")
        self.ask_comment.setChecked(True)
        opts.addWidget(self.ask_comment)
        row = QHBoxLayout()
        row.addWidget(QLabel("Cases shown again later:"))
        self.repeat = QDoubleSpinBox()
        self.repeat.setRange(0, 50)
        self.repeat.setDecimals(0)
        self.repeat.setSingleStep(5)
        self.repeat.setValue(15)
        self.repeat.setSuffix(" %")
        row.addWidget(self.repeat)
        row.addWidget(QLabel("Image size:"))
        self.size = QComboBox()
        for px in (256, 384, 512):
            self.size.addItem(f"{px} px", px)
        row.addWidget(self.size)
        row.addStretch(1)
        opts.addLayout(row)
        top.addWidget(ask, 1)
        layout.addLayout(top)

        lists = QHBoxLayout()
        case_box = QGroupBox("Cases (only cases with a saved mask can be chosen)")
        cl = QVBoxLayout(case_box)
        self.cases = QListWidget()
        for case in cases:
            item = QListWidgetItem(case.pseudonym + ("" if case.has_mask else "   (no mask yet)"))
            item.setData(ID_ROLE, case.id)
            flags = Qt.ItemFlag.ItemIsUserCheckable
            if case.has_mask:
                flags |= Qt.ItemFlag.ItemIsEnabled
            item.setFlags(flags)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.cases.addItem(item)
        all_cases = QPushButton("Choose all cases with a mask")
        all_cases.clicked.connect(self._check_all_cases)
        cl.addWidget(self.cases)
        cl.addWidget(all_cases)
        lists.addWidget(case_box, 1)
        model_box = QGroupBox("Models to compare (two or more)")
        ml = QVBoxLayout(model_box)
        self.models = QListWidget()
        for spec in models:
            status = spec.weights_status()
            item = QListWidgetItem(f"{spec.display_name}" + ("" if status.available else "   (not available)"))
            item.setData(ID_ROLE, spec.name)
            item.setToolTip(spec.description if status.available else status.reason)
            flags = Qt.ItemFlag.ItemIsUserCheckable
            if status.available:
                flags |= Qt.ItemFlag.ItemIsEnabled
            item.setFlags(flags)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.models.addItem(item)
        ml.addWidget(self.models)
        lists.addWidget(model_box, 1)
        layout.addLayout(lists, 1)

        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create study")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _pairwise_toggled(self, on: bool) -> None:
        """Pairwise replaces validity, ranking and scales; turning it off brings validity and ranking back."""
        for box in (self.ask_validity, self.ask_ranking, *self.scales.values()):
            box.setEnabled(not on)
            if on:
                box.setChecked(False)
        if not on:
            self.ask_validity.setChecked(True)
            self.ask_ranking.setChecked(True)

    def _check_all_cases(self) -> None:
        for i in range(self.cases.count()):
            item = self.cases.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsEnabled:
                item.setCheckState(Qt.CheckState.Checked)

    @staticmethod
    def _checked(widget: QListWidget) -> list:
        return [widget.item(i).data(ID_ROLE) for i in range(widget.count())
                if widget.item(i).checkState() == Qt.CheckState.Checked
                and widget.item(i).flags() & Qt.ItemFlag.ItemIsEnabled]

    def build_request(self) -> NewStudyRequest:
        """The study as entered; raises StudyError with a message for the owner if something is missing."""
        if self.passphrase.text() != self.passphrase2.text():
            raise PassphraseError("The two passphrases differ; type the same passphrase twice.")
        check_passphrase_strength(self.passphrase.text())
        pairwise = self.pairwise.isChecked()  # then the (disabled) validity, ranking and scale boxes do not count
        options = StudyOptions(
            show_original=self.show_original.isChecked(), show_masked_input=self.show_masked.isChecked(),
            ask_validity=self.ask_validity.isChecked() and not pairwise,
            ask_ranking=self.ask_ranking.isChecked() and not pairwise,
            scales=() if pairwise else tuple(s for s, box in self.scales.items() if box.isChecked()),
            ask_comment=self.ask_comment.isChecked(), repeat_fraction=self.repeat.value() / 100.0,
            output_size=int(self.size.currentData()), pairwise=pairwise)
        cases, models = self._checked(self.cases), self._checked(self.models)
        if not self.title.text().strip():
            raise SetupError("Give the study a title.")
        if not self.owner.text().strip():
            raise SetupError("Enter the name of the study owner.")
        if not cases:
            raise SetupError("Choose at least one case.")
        if len(models) < 2:
            raise SetupError("Choose at least two models to compare.")
        return NewStudyRequest(self.title.text().strip(), self.owner.text().strip(), self.description.text().strip(),
                               self.passphrase.text(), options, tuple(cases), tuple(models))

    def accept(self) -> None:
        try:
            self.request = self.build_request()
        except StudyError as exc:
            self.problem.setText(str(exc))
            return
        super().accept()


class RaterDialog(QDialog):
    """Name, initials, site and an optional PIN (typed twice, hidden) asked when the rater starts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a rater")
        self.setMinimumWidth(420)
        form = QFormLayout(self)
        self.name = QLineEdit()
        self.initials = QLineEdit()
        self.initials.setMaxLength(16)
        self.site = QLineEdit()
        self.site.setPlaceholderText("optional, e.g. the rater's hospital")
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(MAX_PIN_LENGTH)
        self.pin.setPlaceholderText("optional, 4 or more characters")
        self.pin.setToolTip("Asked when this rater starts rating, so nobody else answers in their name "
                            "on a shared computer. It cannot be recovered if forgotten.")
        self.pin2 = QLineEdit()
        self.pin2.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin2.setMaxLength(MAX_PIN_LENGTH)
        form.addRow("Name", self.name)
        form.addRow("Initials", self.initials)
        form.addRow("Site", self.site)
        form.addRow("PIN", self.pin)
        form.addRow("PIN again", self.pin2)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.setWordWrap(True)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, str, str]:
        return self.name.text().strip(), self.initials.text().strip(), self.site.text().strip()

    def chosen_pin(self) -> str | None:
        """The PIN typed (None: no PIN); raises StudyError when the two differ or it is too short."""
        pin, again = self.pin.text(), self.pin2.text()
        if not pin and not again:
            return None
        if pin != again:
            raise SetupError("The two PINs differ; type the same PIN twice.")
        return check_pin_format(pin)

    def accept(self) -> None:
        try:
            self.chosen_pin()
        except StudyError as exc:
            self.problem.setText(str(exc))
            return
        super().accept()


class GenerationDialog(QDialog):
    """Progress of output generation; Cancel stops after the output being made."""

    def __init__(self, runner: GenerationRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Generating the study outputs")
        self.setModal(True)
        self.resize(460, 150)
        self.runner = runner
        self.outcome: str = "running"  # finished | failed | cancelled
        self.result: object = None
        layout = QVBoxLayout(self)
        self.label = QLabel("Loading the models…")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignRight)
        runner.progress.connect(self._progress)
        runner.finished.connect(lambda info: self._done("finished", info))
        runner.failed.connect(lambda exc: self._done("failed", exc))
        runner.cancelled.connect(lambda: self._done("cancelled", None))

    def start(self) -> None:
        self.runner.start()

    def _progress(self, done: int, total: int, case_code: str) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(done)
        self.label.setText(f"{done} of {total} outputs made ({case_code})")

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Stopping after the current output…")
        self.runner.cancel()

    def _done(self, outcome: str, result: object) -> None:
        self.runner.wait()
        self.outcome, self.result = outcome, result
        if outcome == "failed":
            self.label.setText(describe_error(result))  # type: ignore[arg-type]
        self.accept() if outcome == "finished" else self.reject()

    def reject(self) -> None:
        if self.outcome == "running":  # Esc or closing the window means cancel
            self.cancel()
            return
        super().reject()
