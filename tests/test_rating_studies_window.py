"""The studies window end to end (pytest-qt, offscreen), with scripted dialogs.

New study from the case store (real faces + masks) with the two classical models of the registry
and the face pipeline's crop, generation in the worker thread, raters, opening, rating,
closing, a refused and a good unblinding (both logged), the analysis window and its exports,
cancelling a generation, and a package round trip to another site.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialog  # noqa: E402

from app.rating import open_studies_window  # noqa: E402
from app.rating.analysis_window import AnalysisWindow  # noqa: E402
from app.rating.dialogs import GenerationDialog, NewStudyDialog, RaterDialog  # noqa: E402
from app.rating.rating_window import RatingWindow  # noqa: E402
from app.rating.studies_window import StudiesWindow  # noqa: E402
from app_support import RecordingPrompts, screenshot  # noqa: E402
from studies.cases import CaseStore  # noqa: E402
from studies.database import open_database  # noqa: E402
from studies.options import StudyRole, StudyStatus  # noqa: E402
from test_rating_support import PASSPHRASE, answer_all  # noqa: E402
from test_studies_support import make_photo  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 120000


@dataclass
class StudyDialogs(RecordingPrompts):
    """Scripted answers for the study screens; dialogs are filled by queued handlers."""

    passphrases: list[str | None] = field(default_factory=list)
    choices: list[int | None] = field(default_factory=list)
    folders: list[Path | None] = field(default_factory=list)
    handlers: list[Callable[[QDialog], bool]] = field(default_factory=list)
    dialogs: list[QDialog] = field(default_factory=list)

    def ask_passphrase(self, title: str, label: str) -> str | None:
        return self.passphrases.pop(0) if self.passphrases else None

    offered: list[int] = field(default_factory=list)  # the item each list opened on

    def choose_item(self, title: str, label: str, items, current: int = 0) -> int | None:  # noqa: ANN001
        self.questions.append((title, "\n".join(items)))
        self.offered.append(current)
        return self.choices.pop(0) if self.choices else None

    def choose_folder(self, title: str) -> Path | None:
        return self.folders.pop(0) if self.folders else None

    def run_dialog(self, dialog: QDialog) -> bool:
        self.dialogs.append(dialog)
        return self.handlers.pop(0)(dialog) if self.handlers else False


def wait_for_generation(qtbot) -> Callable[[QDialog], bool]:  # noqa: ANN001
    def handler(dialog: QDialog) -> bool:
        assert isinstance(dialog, GenerationDialog)
        qtbot.waitUntil(lambda: dialog.outcome != "running", timeout=WAIT_MS)
        return dialog.outcome == "finished"
    return handler


def fill_new_study(title: str, n_cases: int | None = None, passphrase2: str = PASSPHRASE):
    def handler(dialog: QDialog) -> bool:
        assert isinstance(dialog, NewStudyDialog)
        dialog.title.setText(title)
        dialog.owner.setText("Dr Owner")
        dialog.passphrase.setText(PASSPHRASE)
        dialog.passphrase2.setText(passphrase2)
        dialog.show_original.setChecked(True)
        dialog.repeat.setValue(0)
        for scale_box in list(dialog.scales.values())[:1]:
            scale_box.setChecked(True)
        enabled_cases = [dialog.cases.item(i) for i in range(dialog.cases.count())
                         if dialog.cases.item(i).flags() & Qt.ItemFlag.ItemIsEnabled]
        for item in enabled_cases[:n_cases]:
            item.setCheckState(Qt.CheckState.Checked)
        for i in range(dialog.models.count()):
            item = dialog.models.item(i)
            if item.data(Qt.ItemDataRole.UserRole) in ("opencv-telea", "opencv-ns"):
                item.setCheckState(Qt.CheckState.Checked)
        dialog.accept()
        return dialog.result() == QDialog.DialogCode.Accepted
    return handler


def add_rater(name: str, initials: str, site: str = "") -> Callable[[QDialog], bool]:
    def handler(dialog: QDialog) -> bool:
        assert isinstance(dialog, RaterDialog)
        dialog.name.setText(name)
        dialog.initials.setText(initials)
        dialog.site.setText(site)
        return True
    return handler


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A case store with three real faces (masks saved) and one case without a mask."""
    folder = tmp_path / "data"
    db = open_database(folder)
    store = CaseStore(db)
    for i in range(3):
        photo, mask = make_photo(tmp_path, i)
        store.save_mask(store.create_case(f"P-{i:03d}", photo).id, mask)
    store.create_case("P-no-mask", make_photo(tmp_path, 0)[0])
    db.close()
    return folder


def make_window(qtbot, data_dir: Path, prompts: StudyDialogs, **kw) -> StudiesWindow:  # noqa: ANN001
    window = StudiesWindow(data_dir, prompts=prompts, **kw)
    qtbot.addWidget(window)
    window.show()
    return window


def test_study_from_creation_to_report(qtbot, data_dir: Path, tmp_path: Path) -> None:
    prompts = StudyDialogs()
    w = make_window(qtbot, data_dir, prompts)
    assert not any(b.isEnabled() for b in w.buttons.values())

    # the dialog refuses mismatched passphrases and stays open
    prompts.handlers = [fill_new_study("Classical fill", passphrase2="something else entirely")]
    w.new_study()
    assert "differ" in prompts.dialogs[-1].problem.text() and not w.studies()
    dialog = prompts.dialogs[-1]
    unavailable = [dialog.models.item(i) for i in range(dialog.models.count())
                   if not dialog.models.item(i).flags() & Qt.ItemFlag.ItemIsEnabled]
    assert unavailable and all("not available" in i.text() and i.toolTip() for i in unavailable)
    no_mask = [dialog.cases.item(i) for i in range(dialog.cases.count()) if "no mask" in dialog.cases.item(i).text()]
    assert len(no_mask) == 1 and not no_mask[0].flags() & Qt.ItemFlag.ItemIsEnabled
    screenshot(dialog, "studies_01_new_study_dialog", tmp_path)

    prompts.handlers = [fill_new_study("Classical fill", n_cases=2), wait_for_generation(qtbot)]
    prompts.confirms = [True]  # generate now
    w.new_study()
    [study] = w.studies()
    assert study.status == StudyStatus.DRAFT and study.n_outputs == 4 and study.generated_at is not None
    assert prompts.infos[-1][0] == "Outputs ready" and not prompts.errors
    assert w.buttons["open"].isEnabled() and not w.buttons["rate"].isEnabled()

    prompts.handlers = [add_rater("Dr Ada Rater", "ar"), add_rater("Dr Ben Rater", "BR", "Other hospital")]
    w.add_rater()
    w.add_rater()
    assert [w.raters.item(r, 1).text() for r in range(w.raters.rowCount())] == ["AR", "BR"]
    prompts.confirms = [True]
    w.open_study()
    assert w.current().status == StudyStatus.OPEN and w.buttons["rate"].isEnabled()
    screenshot(w, "studies_02_open", tmp_path)

    prompts.choices = [1]  # "Dr Ben Rater" picks his own name
    rating = w.start_rating()
    assert isinstance(rating, RatingWindow) and rating.info.initials == "BR"
    rating.close()

    for rater in w.setup.list_raters(study.id):
        answer_all(w.db, rater.id, strictness=0.5 if rater.initials == "AR" else 0.4, seed=rater.id)
    w.refresh()
    assert w.raters.item(0, 3).text() == "2 of 2"

    prompts.passphrases = [PASSPHRASE]
    w.close_study()
    assert w.current().status == StudyStatus.CLOSED
    prompts.passphrases = ["wrong passphrase here"]
    w.unblind()
    assert "not correct" in prompts.errors[-1][1] and w.current().status == StudyStatus.CLOSED
    prompts.passphrases = [PASSPHRASE]
    w.unblind()
    assert w.current().status == StudyStatus.UNBLINDED and w.buttons["analysis"].isEnabled()
    results = [w.log.item(r, 3).text() for r in range(w.log.rowCount())]
    assert results[0] == "done" and results[1].startswith("refused") and results[2] == "done"
    screenshot(w, "studies_03_unblinded", tmp_path)

    analysis = w.show_analysis()
    assert isinstance(analysis, AnalysisWindow)
    assert analysis.table.rowCount() == 2
    assert {analysis.table.item(r, 0).text() for r in range(2)} == {"opencv-telea", "opencv-ns"}
    assert len(analysis.valid_chart.bars) == 2 and "Friedman" in analysis.statistics.text()
    analysis.resize(1150, 900)
    screenshot(analysis, "studies_04_analysis", tmp_path)
    analysis.scope.setCurrentIndex(1)
    assert analysis.table.item(0, 1).text() == "2"  # one rater: 2 cases per model

    prompts.folders = [tmp_path / "export"]
    analysis.export_tables()
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == ["analysis.json", "model_summary.csv",
                                                                       "ratings.csv"]
    prompts.files = [tmp_path / "report"]
    analysis.save_pdf()
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert prompts.infos[-1][0] == "Report saved"


def test_generation_can_be_cancelled(qtbot, data_dir: Path) -> None:
    calls: list[str] = []

    def slow_generate(crop: np.ndarray, hole: np.ndarray, model: str) -> np.ndarray:
        calls.append(model)
        time.sleep(0.3)
        return crop

    def cancel_after_first(dialog: QDialog) -> bool:
        qtbot.waitUntil(lambda: dialog.bar.value() >= 1, timeout=WAIT_MS)
        dialog.cancel()
        qtbot.waitUntil(lambda: dialog.outcome != "running", timeout=WAIT_MS)
        return False

    prompts = StudyDialogs(handlers=[fill_new_study("Cancelled", n_cases=3), cancel_after_first], confirms=[True])
    w = make_window(qtbot, data_dir, prompts, generation=lambda ctx, study: (slow_generate, None))
    w.new_study()
    assert w.last_generation is not None and w.last_generation.outcome == "cancelled"
    assert len(calls) < 6  # stopped before all 3 cases x 2 models
    study = w.current()
    assert study.generated_at is None and not w.buttons["open"].isEnabled()
    assert prompts.infos[-1][0] == "Generation cancelled"


def test_wrong_passphrase_for_generation_is_reported(qtbot, data_dir: Path) -> None:
    prompts = StudyDialogs(handlers=[fill_new_study("Typo", n_cases=1)], confirms=[False])
    w = make_window(qtbot, data_dir, prompts)
    w.new_study()
    prompts.passphrases = ["not the passphrase"]
    prompts.handlers = [wait_for_generation(qtbot)]
    w.generate_outputs()
    assert prompts.errors[-1][0] == "Outputs not generated" and "passphrase" in prompts.errors[-1][1]


def test_package_to_another_site_and_answers_back(qtbot, data_dir: Path, tmp_path: Path) -> None:
    prompts = StudyDialogs(handlers=[fill_new_study("Two sites", n_cases=1)], confirms=[False, True])
    fake = lambda ctx, study: (lambda crop, hole, model: crop, None)  # noqa: E731
    home = make_window(qtbot, data_dir, prompts, generation=fake)
    home.new_study()
    prompts.passphrases = [PASSPHRASE]
    prompts.handlers = [wait_for_generation(qtbot), add_rater("Dr Far Away", "FA", "Site B")]
    home.generate_outputs()
    home.add_rater()
    home.open_study()
    prompts.choices, prompts.files = [0], [tmp_path / "package"]
    home.export_package()
    assert (tmp_path / "package.zip").is_file()

    remote_prompts = StudyDialogs(files=[tmp_path / "package.zip"])
    remote = make_window(qtbot, tmp_path / "site_b", remote_prompts)
    remote.import_package()
    copy = remote.current()
    assert copy.role == StudyRole.SATELLITE and "other site" in remote.table.item(0, 0).text()
    assert remote.buttons["rate"].isEnabled() and remote.buttons["export_answers"].isEnabled()
    assert not remote.buttons["close"].isEnabled() and "kept at the owner's site" in remote.details.text()
    [rater] = remote.setup.list_raters(copy.id)
    answer_all(remote.db, rater.id, strictness=0.5, seed=3)
    remote_prompts.files = [tmp_path / "answers"]
    remote.export_answers()
    assert (tmp_path / "answers.csv").is_file()

    prompts.files = [tmp_path / "answers.csv"]
    home.import_answers()
    assert prompts.infos[-1][0] == "Answers merged" and "1 cases completed" in prompts.infos[-1][1]


def test_entry_point_opens_the_window_for_app_settings(qtbot, data_dir: Path) -> None:
    from app.settings import AppSettings

    window = open_studies_window(None, AppSettings(data_dir=data_dir, device="cpu", clinic_name="Clinic"))
    qtbot.addWidget(window)
    assert isinstance(window, StudiesWindow) and window.isVisible()
    assert window.context.device == "cpu" and window.context.clinic_name == "Clinic"
    assert window.table.rowCount() == 0 and "No study yet" in window.heading.text()


# --------------------------------------------------------------------------- issue 13: rater PIN, pairwise


def add_rater_with_pin(name: str, initials: str, pin: str, again: str | None = None):
    def handler(dialog: QDialog) -> bool:
        assert isinstance(dialog, RaterDialog)
        dialog.name.setText(name)
        dialog.initials.setText(initials)
        dialog.pin.setText(pin)
        dialog.pin2.setText(pin if again is None else again)
        dialog.accept()
        return dialog.result() == QDialog.DialogCode.Accepted
    return handler


def test_rater_dialog_refuses_pins_that_differ_or_are_too_short(qtbot, tmp_path: Path) -> None:
    dialog = RaterDialog()
    qtbot.addWidget(dialog)
    dialog.name.setText("Dr Ada Rater")
    dialog.initials.setText("AR")
    dialog.pin.setText("2468")
    dialog.pin2.setText("2469")
    dialog.show()
    dialog.accept()
    assert dialog.isVisible() and "differ" in dialog.problem.text()
    screenshot(dialog, "studies_05_rater_pin_refused", tmp_path)
    dialog.pin.setText("12")
    dialog.pin2.setText("12")
    dialog.accept()
    assert dialog.isVisible() and "4 to 32" in dialog.problem.text()
    dialog.pin.setText("")
    dialog.pin2.setText("")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.chosen_pin() is None


def test_start_rating_offers_the_chosen_rater_and_asks_their_pin(qtbot, data_dir: Path, tmp_path: Path) -> None:
    prompts = StudyDialogs(handlers=[fill_new_study("With PINs", n_cases=1), wait_for_generation(qtbot)],
                           confirms=[True])
    w = make_window(qtbot, data_dir, prompts, generation=lambda ctx, study: (lambda crop, hole, m: crop, None))
    w.new_study()
    prompts.handlers = [add_rater("Dr Ada Rater", "AR"), add_rater_with_pin("Dr Ben Rater", "BR", "2468")]
    w.add_rater()
    w.add_rater()
    assert w.raters.item(1, 0).text().endswith("[PIN]") and not w.raters.item(0, 0).text().endswith("[PIN]")
    prompts.confirms = [True]
    w.open_study()
    w.raters.selectRow(1)  # the owner picks Ben in the table: "Who is rating?" opens on him
    prompts.choices, prompts.passphrases = [1], ["1357"]
    assert w.start_rating() is None
    assert prompts.offered[-1] == 1 and "not correct" in prompts.errors[-1][1]
    prompts.choices, prompts.passphrases = [1], [None]  # cancelling the PIN starts nothing
    assert w.start_rating() is None
    prompts.choices, prompts.passphrases = [1], ["2468"]
    rating = w.start_rating()
    assert isinstance(rating, RatingWindow) and rating.info.initials == "BR"
    rating.close()
    w.raters.clearSelection()
    prompts.choices = [0]  # no row chosen: the list opens on whoever rated last here
    ada = w.start_rating()
    assert prompts.offered[-1] == 1 and isinstance(ada, RatingWindow) and ada.info.initials == "AR"
    ada.close()


def test_a_pairwise_study_from_the_dialog_to_its_screen(qtbot, data_dir: Path, tmp_path: Path) -> None:
    from app.rating.pairwise_window import PairwiseRatingWindow

    def pairwise(dialog: QDialog) -> bool:
        dialog.pairwise.setChecked(True)
        assert not dialog.ask_validity.isEnabled() and not dialog.ask_ranking.isChecked()
        assert not any(box.isEnabled() or box.isChecked() for box in dialog.scales.values())
        return fill_new_study("Pairs", n_cases=2)(dialog)

    prompts = StudyDialogs(handlers=[pairwise, wait_for_generation(qtbot)], confirms=[True])
    w = make_window(qtbot, data_dir, prompts, generation=lambda ctx, study: (lambda crop, hole, m: crop, None))
    w.new_study()
    [study] = w.studies()
    assert study.options.pairwise and not study.options.scales and "pairwise comparison" in w.details.text()
    prompts.handlers = [add_rater("Dr Ada Rater", "AR")]
    w.add_rater()
    prompts.confirms = [True]
    w.open_study()
    # the answer sheet carries the pair choice: a pairwise study can go to another site or a rater folder
    assert w.buttons["rate"].isEnabled() and w.buttons["export_package"].isEnabled()
    assert w.buttons["rater_folder"].isEnabled() and "pair choices" not in w.hint.text()
    screenshot(w, "studies_06_pairwise_open", tmp_path)
    prompts.choices = [0]
    screen = w.start_rating()
    assert isinstance(screen, PairwiseRatingWindow) and screen.item.total == 2  # 2 cases x 1 pair
    screen.close()
    folder = data_dir.parent / "rater-folder"
    folder.mkdir()
    prompts.choices, prompts.folders = [0], [folder]
    w.make_rater_folder()
    assert not prompts.errors and (folder / "RATER-FOLDER.txt").is_file()
    from studies.study_setup import StudySetup

    there = open_database(folder)
    try:
        [copy] = StudySetup(there).list_studies()
        assert copy.options.pairwise and copy.n_raters == 1
    finally:
        there.close()


def test_blocking_study_actions_show_a_wait_cursor_and_restore_it(qtbot, data_dir: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    from studies.errors import StudyError

    prompts = StudyDialogs()
    w = make_window(qtbot, data_dir, prompts)
    seen = []

    def slow_check() -> None:  # stands in for a scrypt passphrase check that then fails
        cursor = QGuiApplication.overrideCursor()
        seen.append(None if cursor is None else cursor.shape())
        raise StudyError("The owner passphrase is not correct.")

    assert w._run("Study not closed", slow_check) is None
    assert seen == [Qt.CursorShape.WaitCursor]
    assert QGuiApplication.overrideCursor() is None                   # restored before the error shows
    assert prompts.errors[-1] == ("Study not closed", "The owner passphrase is not correct.")
