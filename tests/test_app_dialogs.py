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
