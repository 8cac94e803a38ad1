"""Case identity and blinding in the app (issue 12, items 6 and 8), offscreen with scripted prompts:
the case list's previews and dates, deleting a case (confirmed; refused for the open case and for a
case in a study), deleting a prediction from the gallery, and the studies window refusing to start
rating beside case-screen predictions unless the owner says so, and making a rater folder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from app.dialogs.case_list import COL_TAKEN, CaseListDialog  # noqa: E402
from app.rating.rating_window import RatingWindow  # noqa: E402
from app.rating.studies_window import StudiesWindow  # noqa: E402
from app.state import AppState, PredictionView  # noqa: E402
from app.windows.predictions import Gallery, delete_prediction  # noqa: E402
from app_support import RecordingPrompts  # noqa: E402
from studies.cases import CaseStore  # noqa: E402
from studies.database import open_database  # noqa: E402
from test_studies_support import PASSPHRASE, build_open_study  # noqa: E402

pytestmark = pytest.mark.gui


@dataclass
class Prompts(RecordingPrompts):
    passphrases: list[str | None] = field(default_factory=list)
    folders: list[Path | None] = field(default_factory=list)
    asked: list[tuple[str, str]] = field(default_factory=list)

    def ask_passphrase(self, title: str, label: str) -> str | None:
        self.asked.append((title, label))
        return self.passphrases.pop(0) if self.passphrases else None

    def choose_folder(self, title: str) -> Path | None:
        return self.folders.pop(0) if self.folders else None

    def run_dialog(self, dialog) -> bool:  # noqa: ANN001
        return False

    def choose_item(self, title: str, label: str, items, *_current) -> int | None:  # noqa: ANN001
        return super().choose_item(title, label, items)


def _jpeg(path: Path, taken: str | None) -> Path:
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[36867] = taken
    Image.fromarray(np.full((120, 160, 3), 120, np.uint8)).save(path, format="JPEG", exif=exif)
    return path


@pytest.fixture()
def store(tmp_path: Path) -> CaseStore:
    db = open_database(tmp_path / "data")
    yield CaseStore(db)
    db.close()


def test_case_list_shows_previews_and_photo_dates_off_the_gui_thread(qtbot, store: CaseStore, tmp_path: Path):
    dated = store.create_case("DATED-1", _jpeg(tmp_path / "a.jpg", "2024:05:03 10:11:12"))
    plain = tmp_path / "b.png"
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(plain)
    store.create_case("PLAIN-2", plain)
    dialog = CaseListDialog(store, prompts=Prompts())
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 2 and dialog.table.item(0, COL_TAKEN).text() in ("…", "—", "2024-05-03 10:11")
    qtbot.waitUntil(lambda: dialog.thumbnails_pending == 0, timeout=30000)
    rows = {dialog.table.item(r, 0).text(): r for r in range(2)}
    assert dialog.table.item(rows["DATED-1"], COL_TAKEN).text() == "2024-05-03 10:11"
    assert dialog.table.item(rows["PLAIN-2"], COL_TAKEN).text() == "—"
    for r in rows.values():
        assert not dialog.table.item(r, 0).icon().isNull()
    assert (dated.photo_path.parent / "thumbnail.jpg").is_file()
    assert dialog.table.horizontalHeaderItem(1).text() == "Created"
    dialog.search.setText("dated")                 # filtering keeps the previews already made
    assert dialog.table.rowCount() == 1 and not dialog.table.item(0, 0).icon().isNull()


def test_deleting_a_case_from_the_list_asks_first(qtbot, store: CaseStore, tmp_path: Path):
    first = store.create_case("ALPHA-1", _jpeg(tmp_path / "a.jpg", None))
    second = store.create_case("BETA-2", _jpeg(tmp_path / "b.jpg", None))
    prompts = Prompts()
    dialog = CaseListDialog(store, prompts=prompts, current_case_id=first.id)
    qtbot.addWidget(dialog)
    assert dialog.selected_case_id() == second.id and dialog.delete_button.isEnabled()
    prompts.confirms = [False]                                  # "No": nothing happens
    assert not dialog.delete_selected() and dialog.table.rowCount() == 2
    assert "BETA-2" in prompts.questions[-1][1] and "cannot be undone" in prompts.questions[-1][1]
    prompts.confirms = [True]
    assert dialog.delete_selected()
    assert dialog.table.rowCount() == 1 and not second.photo_path.parent.exists()
    assert [c.pseudonym for c in store.list_cases()] == ["ALPHA-1"]
    dialog.table.selectRow(0)                                    # the case open in the main window
    assert not dialog.delete_selected() and "open in the main window" in prompts.errors[-1][1]
    assert first.photo_path.is_file()
    qtbot.waitUntil(lambda: dialog.thumbnails_pending == 0, timeout=30000)


def test_a_case_in_a_study_is_not_deleted_and_the_study_is_named(qtbot, tmp_path: Path):
    db, _, _ = build_open_study(tmp_path, n_cases=1, n_raters=1, models=("opencv-telea", "opencv-ns"))
    try:
        store = CaseStore(db)
        prompts = Prompts(confirms=[True])
        dialog = CaseListDialog(store, prompts=prompts)
        qtbot.addWidget(dialog)
        assert not dialog.delete_selected()
        assert prompts.errors[-1][0] == "Case not deleted" and "“Lip study”" in prompts.errors[-1][1]
        assert not prompts.questions and len(store.list_cases()) == 1    # refused before asking
        qtbot.waitUntil(lambda: dialog.thumbnails_pending == 0, timeout=30000)
    finally:
        db.close()


def _view(record) -> PredictionView:  # noqa: ANN001
    return PredictionView(record.id, record.model_name, record.model_name, record.image_path, record.device,
                          record.weights_sha256, record.app_version, "2026-01-01 10:00", None)


def test_a_prediction_is_deleted_from_the_gallery(qtbot, store: CaseStore, tmp_path: Path):
    case = store.create_case("CL-1", _jpeg(tmp_path / "a.jpg", None))
    records = [store.add_prediction(case.id, m, np.full((8, 8, 3), 9, np.uint8), device="cpu", app_version="t")
               for m in ("opencv-telea", "opencv-ns")]
    state = AppState()
    gallery = Gallery(state)
    qtbot.addWidget(gallery)
    state.set_case(case)
    state.set_predictions([_view(r) for r in records])
    gallery.show()
    gallery.setCurrentRow(0)
    gallery.setFocus()
    with qtbot.waitSignal(gallery.delete_requested, timeout=2000) as signal:
        qtbot.keyClick(gallery, Qt.Key.Key_Delete)
    assert signal.args == [records[0].id]
    prompts = Prompts(confirms=[False])
    assert not delete_prediction(state, store, prompts, records[0].id) and gallery.count() == 2
    assert "opencv-telea" in prompts.questions[-1][1]
    state.set_busy(True)                                       # never while a model runs
    assert not delete_prediction(state, store, prompts, records[0].id) and prompts.errors[-1][0] == "Please wait"
    state.set_busy(False)
    prompts.confirms = [True]
    assert delete_prediction(state, store, prompts, records[0].id)
    assert gallery.count() == 1 and [p.record_id for p in state.predictions] == [records[1].id]
    assert not records[0].image_path.exists() and records[1].image_path.is_file()
    assert [p.id for p in store.list_predictions(case.id)] == [records[1].id]


def test_rating_beside_case_predictions_needs_the_owner_and_raters_get_a_folder(qtbot, tmp_path: Path):
    db, study_id, _ = build_open_study(tmp_path, n_cases=1, n_raters=1, models=("opencv-telea", "opencv-ns"))
    store = CaseStore(db)
    case = store.list_cases()[0]
    store.add_prediction(case.id, "opencv-telea", np.zeros((8, 8, 3), np.uint8), device="cpu", app_version="t")
    db.close()
    prompts = Prompts()
    window = StudiesWindow(tmp_path / "data", prompts=prompts)
    qtbot.addWidget(window)
    assert window.buttons["rate"].isEnabled() and window.buttons["rater_folder"].isEnabled()
    assert window.start_rating() is None                                     # cancelled at the question
    title, label = prompts.asked[-1]
    assert "owner only" in title and "1 case-screen prediction" in label and "rater folder" in label
    prompts.passphrases = ["not the passphrase"]
    assert window.start_rating() is None and "not correct" in prompts.errors[-1][1]
    prompts.passphrases, prompts.choices = [PASSPHRASE], [0]
    rating = window.start_rating()
    assert isinstance(rating, RatingWindow)
    rating.close()

    prompts.choices, prompts.folders = [0], [tmp_path / "rater"]
    window.make_rater_folder()
    assert prompts.infos[-1][0] == "Rater folder ready" and (tmp_path / "rater" / "RATER-FOLDER.txt").is_file()
    rater_prompts = Prompts(choices=[0])
    remote = StudiesWindow(tmp_path / "rater", prompts=rater_prompts)
    qtbot.addWidget(remote)
    n_asked = len(rater_prompts.asked)
    rating = remote.start_rating()                                           # no question there
    assert isinstance(rating, RatingWindow) and len(rater_prompts.asked) == n_asked
    rating.close()
    window.context.db.close()
    remote.context.db.close()
