"""The studies window: every blinded study, its phase, raters and log, and the owner's actions.

Draft: generate the outputs (worker thread, progress, cancel), add raters, open for rating.
Open: add raters, start rating as a rater, send a package to another site, merge its answers,
close. Closed: unblind (owner passphrase, logged). Unblinded: analysis, CSV/JSON/PDF.
A copy imported from another site can be rated and its answers exported.
Owner passphrases are asked for each action and never kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.rating.context import StudiesContext, make_context
from app.rating.dialogs import GenerationDialog, NewStudyDialog, RaterDialog
from app.rating.generation import service_outputs
from app.rating.prompts import CSV_FILTER, ZIP_FILTER, DialogStudyPrompts, StudyPrompts
from app.rating.rater_folder import make_rater_folder_action, may_rate_here
from app.rating.workers import GenerationRunner, GenerationWorker
from app.workers import describe_error
from inference.errors import InferenceError
from inference.models.manager import default_manager
from studies.cases import CaseStore
from studies.errors import StudyError
from studies.exchange import export_answers, export_package, import_answers, import_package
from studies.options import StudyRole, StudyStatus
from studies.rating import rater_has_pin
from studies.study_outputs import OutputMaker
from studies.study_setup import Generate, Prepare, StudyInfo, StudySetup
from studies.unblinding import UnblindingService

STATUS_TEXT = {StudyStatus.DRAFT: "Draft", StudyStatus.OPEN: "Open for rating", StudyStatus.CLOSED: "Closed",
               StudyStatus.UNBLINDED: "Unblinded"}
ID_ROLE = Qt.ItemDataRole.UserRole

GenerationFactory = Callable[[StudiesContext, StudyInfo], tuple[OutputMaker | Generate, Prepare | None]]


def registry_callables(context: StudiesContext, study: StudyInfo) -> tuple[OutputMaker | Generate, Prepare | None]:
    """The real thing: the clinic's prediction service (each output is the case's clinical prediction)."""
    return service_outputs(context.device), None


@contextmanager
def wait_cursor() -> Iterator[None]:
    """The wait cursor while a blocking study action runs (restored on errors too)."""
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QGuiApplication.restoreOverrideCursor()


class StudiesWindow(QWidget):
    def __init__(self, settings_or_data_dir: Any, parent: QWidget | None = None, *,
                 prompts: StudyPrompts | None = None,
                 generation: GenerationFactory = registry_callables) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.context = make_context(settings_or_data_dir)
        self.db = self.context.db
        self.setup = StudySetup(self.db)
        self.unblinding = UnblindingService(self.db)
        self.prompts: StudyPrompts = prompts or DialogStudyPrompts(self)
        self.generation = generation
        self.child_windows: list[QWidget] = []
        self._last_rater: dict[int, int] = {}  # study id -> rater id who last started rating here
        self.last_generation: GenerationDialog | None = None
        self.setWindowTitle("Blinded rating studies")
        self.resize(1250, 760)
        self._build()
        self.refresh()

    # ------------------------------------------------------------------ layout

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        split = QSplitter()
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Study", "Phase", "Cases", "Raters"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_selected)
        ll.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton("New study…")
        self.import_package_button = QPushButton("Import package from another site…")
        self.new_button.clicked.connect(self.new_study)
        self.import_package_button.clicked.connect(self.import_package)
        row.addWidget(self.new_button)
        row.addWidget(self.import_package_button)
        ll.addLayout(row)
        split.addWidget(left)

        right = QWidget()
        rl = QVBoxLayout(right)
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        rl.addWidget(self.heading)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        rl.addWidget(self.details)

        actions = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (key, text, slot) in enumerate((
                ("generate", "Generate outputs…", self.generate_outputs),
                ("add_rater", "Add rater…", self.add_rater),
                ("open", "Open for rating", self.open_study),
                ("rate", "Start rating…", self.start_rating),
                ("export_package", "Send package to another site…", self.export_package),
                ("import_answers", "Merge answers from another site…", self.import_answers),
                ("export_answers", "Export answers to send back…", self.export_answers),
                ("close", "Close study…", self.close_study),
                ("unblind", "Unblind…", self.unblind),
                ("analysis", "Analysis and report…", self.show_analysis),
                ("rater_folder", "Make rater folder…", self.make_rater_folder))):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.buttons[key] = button
            actions.addWidget(button, i // 3, i % 3)
        rl.addLayout(actions)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #5f6368;")
        rl.addWidget(self.hint)

        rl.addWidget(QLabel("<b>Raters</b>"))
        self.raters = QTableWidget(0, 4)
        self.raters.setHorizontalHeaderLabels(["Name", "Initials", "Site", "Progress"])
        self.raters.verticalHeader().hide()
        self.raters.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.raters.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.raters.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.raters.doubleClicked.connect(lambda *_: self.start_rating() if self.buttons["rate"].isEnabled() else None)
        self.raters.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        rl.addWidget(self.raters, 1)
        rl.addWidget(QLabel("<b>Owner actions log</b> (closing, unblinding: every attempt)"))
        self.log = QTableWidget(0, 4)
        self.log.setHorizontalHeaderLabels(["When (UTC)", "Action", "By", "Result"])
        self.log.verticalHeader().hide()
        self.log.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.log.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        rl.addWidget(self.log, 1)
        split.addWidget(right)
        split.setSizes([430, 820])
        outer.addWidget(split)

    # ------------------------------------------------------------------ state

    def studies(self) -> list[StudyInfo]:
        return self.setup.list_studies()

    def current(self) -> StudyInfo | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        study_id = self.table.item(rows[0].row(), 0).data(ID_ROLE)
        try:
            return self.setup.get_study(study_id)
        except StudyError:
            return None

    def refresh(self, select_id: int | None = None) -> None:
        keep = select_id if select_id is not None else (self.current().id if self.current() else None)
        studies = self.studies()
        self.table.blockSignals(True)
        self.table.setRowCount(len(studies))
        for row, s in enumerate(studies):
            title = s.title + ("  (other site's copy)" if s.role == StudyRole.SATELLITE else "")
            values = (title, STATUS_TEXT[s.status], str(s.n_cases), str(s.n_raters))
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(ID_ROLE, s.id)
                self.table.setItem(row, col, item)
        self.table.blockSignals(False)
        target = next((r for r, s in enumerate(studies) if s.id == keep), 0 if studies else None)
        if target is not None:
            self.table.selectRow(target)
        self._show_selected()

    def _show_selected(self) -> None:
        study = self.current()
        for button in self.buttons.values():
            button.setEnabled(False)
        if study is None:
            self.heading.setText("<span style='font-size:16px; font-weight:600'>No study yet</span>")
            self.details.setText("Create a study from cases that have a saved mask, or import a package "
                                 "sent by another site.")
            self.hint.setText("")
            self.raters.setRowCount(0)
            self.log.setRowCount(0)
            return
        home = study.role == StudyRole.HOME
        status = study.status
        self.heading.setText(f"<span style='font-size:16px; font-weight:600'>{_esc(study.title)}</span>"
                             f"&nbsp;&nbsp;<span style='color:#5f6368'>{STATUS_TEXT[status]}</span>")
        o = study.options
        asked = [q for q, on in (("pairwise comparison", o.pairwise), ("validity", o.ask_validity),
                                 ("ranking", o.ask_ranking), ("comment", o.ask_comment)) if on]
        asked += [s.value.replace("_", " ") for s in o.scales]
        lines = [("Owner", study.owner_name), ("Cases", str(study.n_cases)),
                 ("Models", ", ".join(study.model_names) if home else "(kept at the owner's site)"),
                 ("Outputs", f"{study.n_outputs}" + ("" if study.generated_at or not home else " (not generated)")),
                 ("Questions", ", ".join(asked)),
                 ("Repeated cases", f"{100 * o.repeat_fraction:.0f} %")]
        for label, when in (("Opened", study.opened_at), ("Closed", study.closed_at), ("Unblinded", study.unblinded_at)):
            if when is not None:
                lines.append((label, when.strftime("%Y-%m-%d %H:%M UTC")))
        self.details.setText("<table>" + "".join(f"<tr><td style='color:#5f6368; padding-right:12px'>{k}</td>"
                                                 f"<td>{_esc(v)}</td></tr>" for k, v in lines) + "</table>")
        enabled = {
            "generate": home and status == StudyStatus.DRAFT,
            "add_rater": home and status in (StudyStatus.DRAFT, StudyStatus.OPEN),
            "open": home and status == StudyStatus.DRAFT and study.generated_at is not None,
            "rate": status == StudyStatus.OPEN and study.n_raters > 0,
            "export_package": home and status == StudyStatus.OPEN and study.n_raters > 0,
            "import_answers": home and status == StudyStatus.OPEN,
            "export_answers": not home,
            "close": home and status == StudyStatus.OPEN,
            "unblind": home and status == StudyStatus.CLOSED,
            "analysis": status == StudyStatus.UNBLINDED,
            "rater_folder": home and status == StudyStatus.OPEN and study.n_raters > 0,
        }
        for key, on in enabled.items():
            self.buttons[key].setEnabled(on)
        self.hint.setText(_next_step(study))
        raters = self.setup.list_raters(study.id)
        pins = {r.id: rater_has_pin(self.db, r.id) for r in raters}
        self.raters.setRowCount(len(raters))
        for row, r in enumerate(raters):
            progress = f"{r.n_completed} of {r.n_items}" if r.n_items else "orders drawn when the study opens"
            for col, value in enumerate((r.name + ("  [PIN]" if pins.get(r.id) else ""), r.initials, r.site, progress)):
                item = QTableWidgetItem(value)
                if col == 0 and pins.get(r.id):
                    item.setToolTip("This rater gives a PIN to start rating.")
                self.raters.setItem(row, col, item)
        log = self.unblinding.log(study.id)
        self.log.setRowCount(len(log))
        for row, e in enumerate(log):
            result = "done" if e.success else f"refused: {e.detail}"
            for col, value in enumerate((e.at.strftime("%Y-%m-%d %H:%M"), e.action, e.actor, result)):
                self.log.setItem(row, col, QTableWidgetItem(value))

    def _run(self, title: str, action: Callable[[], Any]) -> Any:
        """Run an action and show a typed error as a message; returns None on failure.

        The pointer is a wait cursor meanwhile: a passphrase check (scrypt, ~0.5 s) is part of
        several actions, and a frozen window without one looks broken.
        """
        try:
            with wait_cursor():
                return action()
        except (StudyError, InferenceError, OSError) as exc:
            self.prompts.error(title, describe_error(exc))
            self._show_selected()
            return None

    # ------------------------------------------------------------------ draft

    def new_study(self) -> None:
        cases = self._run("Cases unavailable", lambda: CaseStore(self.db).list_cases())
        if cases is None:
            return
        dialog = NewStudyDialog(cases, default_manager().specs(), self.context.owner_name, self)
        if not self.prompts.run_dialog(dialog) or dialog.request is None:
            return
        req = dialog.request

        def create() -> StudyInfo:
            study = self.setup.create_study(req.title, req.owner_name, req.passphrase, req.options, req.description)
            self.setup.add_cases(study.id, req.case_ids)
            return self.setup.add_models(study.id, req.model_names)

        study = self._run("Study not created", create)
        if study is None:
            return
        self.refresh(study.id)
        if self.prompts.confirm("Generate outputs", f"Generate the {len(req.case_ids) * len(req.model_names)} "
                                                    "outputs now? This can take a while; you can cancel."):
            self._generate(study, req.passphrase)

    def generate_outputs(self) -> None:
        study = self.current()
        if study is None:
            return
        passphrase = self.prompts.ask_passphrase("Generate outputs", f"Owner passphrase of “{study.title}”:")
        if passphrase:
            self._generate(study, passphrase)

    def _generate(self, study: StudyInfo, passphrase: str) -> None:
        made: dict[str, object] = {}

        def callables() -> tuple[OutputMaker | Generate, Prepare | None]:
            generate, prepare = self.generation(self.context, study)
            made["prepare"], made["generate"] = prepare, generate
            return generate, prepare

        worker = GenerationWorker(self.setup, study.id, passphrase, callables)
        dialog = GenerationDialog(GenerationRunner(worker, self), self)
        self.last_generation = dialog
        dialog.start()
        self.prompts.run_dialog(dialog)
        self.refresh(study.id)
        if dialog.outcome == "failed":
            self.prompts.error("Outputs not generated", describe_error(dialog.result))  # type: ignore[arg-type]
        elif dialog.outcome == "cancelled":
            self.prompts.info("Generation cancelled", "The outputs are incomplete; generate them again before "
                                                      "opening the study.")
        elif dialog.outcome == "finished":
            fallbacks = (getattr(made.get("generate"), "fallbacks", None)
                         or getattr(made.get("prepare"), "fallbacks", []))
            text = f"{self.setup.get_study(study.id).n_outputs} outputs were generated and sealed."
            if fallbacks:
                text += (f"\n\nNo face was found in {len(fallbacks)} photo(s); for those cases the square "
                         "around the mask was used instead of the face crop.")
            self.prompts.info("Outputs ready", text)

    def add_rater(self) -> None:
        study = self.current()
        if study is None:
            return
        dialog = RaterDialog(self)
        if not self.prompts.run_dialog(dialog):
            return
        name, initials, site = dialog.values()
        if self._run("Rater not added", lambda: self.setup.add_rater(study.id, name, initials, site,
                                                                     pin=dialog.chosen_pin())) is not None:
            self.refresh(study.id)

    def open_study(self) -> None:
        study = self.current()
        if study is None or not self.prompts.confirm(
                "Open for rating", "Once open, the cases, models and outputs are frozen. Open the study?"):
            return
        if self._run("Study not opened", lambda: self.setup.open_study(study.id)) is not None:
            self.refresh(study.id)

    # ------------------------------------------------------------------ rating

    def start_rating(self) -> QWidget | None:
        """A rater picks their own name; the rating screen shows only their answers."""
        study = self.current()
        if study is None or not may_rate_here(self.prompts, self.db, study):  # no rating beside the case screen
            return None
        raters = self.setup.list_raters(study.id)
        choice = self.prompts.choose_item("Start rating", "Who is rating?",
                                          [f"{r.name} ({r.initials})" for r in raters],
                                          self._chosen_rater(study.id, raters))
        if choice is None:
            return None
        rater = raters[choice]
        self._last_rater[study.id] = rater.id
        from app.rating.pairwise_window import open_rating_screen

        pin = None
        try:
            needs_pin = rater_has_pin(self.db, rater.id)
        except StudyError as exc:
            self.prompts.error("Rating cannot start", describe_error(exc))
            return None
        if needs_pin:
            pin = self.prompts.ask_passphrase("Start rating", f"PIN of {rater.name} ({rater.initials}):")
            if pin is None:
                return None
        window = self._run("Rating cannot start", lambda: open_rating_screen(self.db, rater.id, pin))
        if window is None:
            return None
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.destroyed.connect(lambda *_: self.refresh())
        self._keep(window)
        window.show()
        return window

    def _chosen_rater(self, study_id: int, raters: list) -> int:
        """Row of the rater to offer first: the one selected in the raters table, else whoever
        rated last from this window, else the first."""
        rows = self.raters.selectionModel().selectedRows() if self.raters.selectionModel() else []
        if rows and 0 <= rows[0].row() < len(raters):
            return rows[0].row()
        last = self._last_rater.get(study_id)
        return next((i for i, r in enumerate(raters) if r.id == last), 0)

    # ------------------------------------------------------------------ other sites

    def make_rater_folder(self) -> None:
        """Copy the open study into an empty folder for its raters (no cases, no predictions)."""
        study = self.current()
        if study is not None:
            make_rater_folder_action(self.prompts, self.db, study, self.setup.list_raters(study.id))

    def export_package(self) -> None:
        study = self.current()
        if study is None:
            return
        raters = self.setup.list_raters(study.id)
        choice = self.prompts.choose_item("Send package", "Package for which raters?",
                                          ["All raters"] + [f"{r.name} ({r.initials}), {r.site or 'no site'}"
                                                            for r in raters])
        if choice is None:
            return
        path = self.prompts.save_file("Save the study package", ZIP_FILTER, "study_package.zip")
        if path is None:
            return
        ids = None if choice == 0 else [raters[choice - 1].id]
        if self._run("Package not saved", lambda: export_package(self.db, study.id, _suffix(path, ".zip"), ids)):
            self.prompts.info("Package saved", "The package holds the outputs under neutral names and the raters' "
                                               "orders, never the models. Send it to the other site.")

    def import_package(self) -> None:
        path = self.prompts.open_file("Import a study package", ZIP_FILTER)
        if path is None:
            return
        study = self._run("Package not imported", lambda: import_package(self.db, path))
        if study is not None:
            self.refresh(study.id)

    def import_answers(self) -> None:
        study = self.current()
        if study is None:
            return
        path = self.prompts.open_file("Merge an answer sheet", CSV_FILTER)
        if path is None:
            return
        report = self._run("Answers not merged", lambda: import_answers(self.db, study.id, path))
        if report is None:
            return
        self.refresh(study.id)
        self.prompts.info("Answers merged", f"{report.rows} rows read: {report.inserted} new answers, "
                                            f"{report.updated} updated, {report.unchanged} unchanged, "
                                            f"{report.kept_local} kept (newer here). "
                                            f"{report.items_completed} cases completed, "
                                            f"{report.items_incomplete} still incomplete.")

    def export_answers(self) -> None:
        study = self.current()
        if study is None:
            return
        path = self.prompts.save_file("Save the answer sheet", CSV_FILTER, "answers.csv")
        if path is not None and self._run("Answers not saved",
                                          lambda: export_answers(self.db, study.id, _suffix(path, ".csv"))):
            self.prompts.info("Answers saved", "Send this sheet back to the study owner.")

    # ------------------------------------------------------------------ closing and unblinding

    def close_study(self) -> None:
        study = self.current()
        if study is None:
            return
        passphrase = self.prompts.ask_passphrase("Close study", "Closing stops all rating. Owner passphrase:")
        if passphrase is None:
            return
        self._run("Study not closed", lambda: self.unblinding.close_study(study.id, passphrase, study.owner_name))
        self.refresh(study.id)

    def unblind(self) -> None:
        study = self.current()
        if study is None:
            return
        passphrase = self.prompts.ask_passphrase(
            "Unblind study", "Unblinding reveals which model made each output. It cannot be undone and is "
                             "logged. Owner passphrase:")
        if passphrase is None:
            return
        result = self._run("Study not unblinded", lambda: self.unblinding.unblind(study.id, passphrase,
                                                                                 study.owner_name))
        self.refresh(study.id)
        if result is not None:
            self.prompts.info("Study unblinded", f"{result.n_outputs} outputs were matched to their models. "
                                                 "The analysis is now available.")

    def show_analysis(self) -> QWidget | None:
        study = self.current()
        if study is None:
            return None
        from app.rating.analysis_window import AnalysisWindow

        window = self._run("No analysis", lambda: AnalysisWindow(self.db, study.id, self.prompts,
                                                                 self.context.clinic_name))
        if window is not None:
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self._keep(window)
            window.show()
        return window

    def _keep(self, window: QWidget) -> None:
        self.child_windows = [w for w in self.child_windows if _alive(w)]
        self.child_windows.append(window)


def _next_step(study: StudyInfo) -> str:
    if study.role == StudyRole.SATELLITE:
        return ("This is another site's study. Raters rate here; then export the answers and send the sheet "
                "back to the owner.")
    if study.status == StudyStatus.DRAFT:
        if study.generated_at is None:
            return "Next: generate the outputs (owner passphrase), add raters, then open the study."
        return "Next: add raters and open the study for rating. Opening freezes the outputs."
    if study.status == StudyStatus.OPEN:
        return "Raters rate now. When everyone is done, close the study (owner passphrase)."
    if study.status == StudyStatus.CLOSED:
        return "Next: unblind (owner passphrase). Every attempt is logged."
    return "The analysis, CSV/JSON export and the PDF report are available."


def _suffix(path: Path, suffix: str) -> Path:
    return path if path.suffix.lower() == suffix else path.with_suffix(suffix)


def _alive(widget: QWidget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:  # the C++ object was deleted
        return False
    return True


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def open_studies_window(parent: QWidget | None, settings_or_data_dir: Any) -> QWidget:
    """Entry point for the main window's menu: the studies window, shown as its own window."""
    window = StudiesWindow(settings_or_data_dir, parent)
    window.show()
    return window
