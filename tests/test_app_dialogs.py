"""Case list (search, selection) and settings dialog (round trip into AppSettings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from app.dialogs.case_list import CaseListDialog  # noqa: E402
from app.dialogs.settings_dialog import SettingsDialog  # noqa: E402
from app.settings import AppSettings  # noqa: E402
from app.state import ModelChoice  # noqa: E402

pytestmark = pytest.mark.gui


def test_case_list_searches_and_returns_the_chosen_case(qtbot, tmp_path: Path):
    from studies.cases import CaseStore
    from studies.database import open_database

    store = CaseStore(open_database(tmp_path / "data"))
    photo = tmp_path / "p.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    first = store.create_case("ALPHA-1", photo)
    second = store.create_case("BETA-2", photo)
    dialog = CaseListDialog(store)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 2
    assert dialog.selected_case_id() == second.id  # newest first
    assert dialog.table.item(0, 4).text() == "⚠ ALPHA-1"   # the same photo file is flagged on both rows
    assert dialog.table.item(1, 1).text()[:2] == "20"        # with its date
    dialog.search.setText("alp")
    assert dialog.table.rowCount() == 1 and dialog.selected_case_id() == first.id
    dialog.search.setText("nobody")
    assert dialog.table.rowCount() == 0 and dialog.selected_case_id() is None


def test_settings_dialog_edits_every_field(qtbot, tmp_path: Path):
    models = [ModelChoice("opencv-telea", "Telea", True, "", False, ""), ModelChoice("nclg-mt", "NCLG", False, "", True, "")]
    dialog = SettingsDialog(AppSettings(data_dir=tmp_path / "a"), models)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.model.setCurrentIndex(dialog.model.findData("nclg-mt"))
    dialog.data_dir.setText(str(tmp_path / "b"))
    dialog.clinic.setText("  North Clinic ")
    dialog.clinician.setText("Dr A")
    dialog.logo.setText(str(tmp_path / "logo.png"))
    result = dialog.result_settings()
    assert (result.device, result.default_model, result.data_dir) == ("cpu", "nclg-mt", tmp_path / "b")
    assert (result.clinic_name, result.clinician_name, result.clinic_logo) == ("North Clinic", "Dr A", tmp_path / "logo.png")
    assert result.research_mark  # on unless turned off on purpose
    dialog.research_mark.setChecked(False)
    assert not dialog.result_settings().research_mark


def _report_dialog(qtbot, **choices):  # noqa: ANN001, ANN202
    from app.dialogs.report_dialog import ReportChoices, ReportExportDialog

    asked: list = []

    def preview(options):  # noqa: ANN001, ANN202 - a page-shaped picture; records what was asked
        asked.append(options)
        return np.full((280, 200, 3), 200 if options.kind == "family" else 90, np.uint8)

    base = dict(second_models=[("opencv-ns", "Navier-Stokes (2024-05-03 10:00)")], has_notes=True,
                has_landmarks=True, preview=preview)
    base.update(choices)
    dialog = ReportExportDialog(ReportChoices(**base))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitActive(dialog)
    return dialog, asked


def test_report_dialog_keyboard_choices_and_preview(qtbot):
    from PySide6.QtCore import Qt

    dialog, asked = _report_dialog(qtbot)
    family = dialog.kind_buttons["family"]
    assert family.isChecked() and dialog.focusWidget() is family, (dialog.focusWidget(), dialog.isActiveWindow())
    # The family copy cannot carry notes or landmarks: those boxes are greyed out.
    assert not dialog.notes.isEnabled() and not dialog.landmarks.isEnabled() and dialog.mark.isChecked()
    qtbot.waitUntil(lambda: dialog.preview_image is not None, timeout=20000)
    assert asked[-1].kind == "family" and dialog.preview.pixmap() is not None
    qtbot.keyClick(family, Qt.Key.Key_Down)  # arrow keys move between the three copies
    assert dialog.kind == "clinical" and dialog.notes.isEnabled() and dialog.landmarks.isEnabled()
    qtbot.waitUntil(lambda: asked[-1].kind == "clinical" and int(dialog.preview_image[0, 0, 0]) == 90,
                    timeout=20000)
    dialog.notes.setFocus()
    qtbot.keyClick(dialog.notes, Qt.Key.Key_Space)
    dialog.second.setFocus()
    qtbot.keyClick(dialog.second, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.second, Qt.Key.Key_Return)
    options = dialog.options()
    assert (options.kind, options.include_notes, options.include_landmarks, options.second_model) == (
        "clinical", True, False, "opencv-ns")
    # Switching to the family copy drops the notes, whatever the greyed-out box still shows.
    dialog.kind_buttons["family"].click()
    assert not dialog.options().include_notes and dialog.options().second_model == "opencv-ns"
    dialog.export_button.click()
    assert dialog.result() == dialog.DialogCode.Accepted


def test_report_dialog_says_why_there_is_no_preview(qtbot):
    from studies.reports import ReportInputError

    def fails(_options):  # noqa: ANN001, ANN202
        raise ReportInputError("The clinic name is not set; fill it in under Settings.")

    dialog, _ = _report_dialog(qtbot, preview=fails, has_notes=False, has_landmarks=False, second_models=[])
    qtbot.waitUntil(lambda: "clinic name" in dialog.preview.text(), timeout=20000)
    dialog.kind_buttons["clinical"].click()
    assert not dialog.notes.isEnabled() and "no notes" in dialog.notes.toolTip()
    assert not dialog.second.isEnabled()
    dialog.reject()
