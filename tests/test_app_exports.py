"""Menu exports: prediction as DICOM next to the source study, consultation report PDF, clipboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.settings import AppSettings  # noqa: E402
from app.windows.main_window import MainWindow  # noqa: E402
from app_support import RecordingPrompts, face_photo, write_dicom  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 60000


@pytest.fixture
def window(qtbot, tmp_path: Path) -> MainWindow:
    settings = AppSettings(data_dir=tmp_path / "data", clinic_name="Cleft Clinic Test", clinician_name="Dr Test")
    win = MainWindow(settings, prompts=RecordingPrompts())
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    qtbot.waitUntil(lambda: bool(win.state.models), timeout=WAIT_MS)
    return win


def open_and_run(qtbot, window: MainWindow, path: Path) -> None:
    window.prompts.texts.append("CL-777")
    window.open_photo_file(path)
    qtbot.waitUntil(lambda: window.state.face is not None, timeout=WAIT_MS)
    window.suggest_mask()
    assert window.run_models(["opencv-telea"])
    qtbot.waitUntil(lambda: not window.state.busy and window.state.current_prediction is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)


def test_dicom_export_links_to_the_source_study(qtbot, window, utkface_paths, tmp_path):
    import pydicom

    rgb = face_photo(utkface_paths[1], 512)
    source = write_dicom(tmp_path / "photo.dcm", rgb)
    open_and_run(qtbot, window, source)
    out = tmp_path / "pred.dcm"
    assert window.export_dicom(out, deidentify=False), window.prompts.errors
    ds, src = pydicom.dcmread(out), pydicom.dcmread(source)
    assert ds.StudyInstanceUID == src.StudyInstanceUID and ds.SOPInstanceUID != src.SOPInstanceUID
    stored = np.asarray(Image.open(window.state.current_prediction.image_path).convert("RGB"))
    assert np.array_equal(ds.pixel_array, stored)
    assert "opencv-telea" in ds.SeriesDescription
    anon = tmp_path / "anon.dcm"
    assert window.export_dicom(anon, deidentify=True)
    assert str(pydicom.dcmread(anon).get("PatientName", "")) != "Test^Patient"


def test_report_of_a_classical_and_of_a_neural_prediction(qtbot, window, utkface_paths, tmp_path):
    rgb = face_photo(utkface_paths[2], 512)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    classical = tmp_path / "classical.pdf"
    assert window.export_report(classical, deidentified=False), window.prompts.errors
    assert classical.read_bytes().startswith(b"%PDF")
    # A prediction recorded with a weights hash (as a neural model's would be) can be reported too.
    image = np.asarray(Image.open(window.state.current_prediction.image_path).convert("RGB"))
    record = window.store.add_prediction(window.state.case.id, "nclg-mt-lite", image, device="CPU",
                                         app_version="test", weights_sha256="ab" * 32)
    window.state.add_prediction(window._prediction_view(record))
    out = tmp_path / "report.pdf"
    assert window.export_report(out, deidentified=False), window.prompts.errors
    assert out.read_bytes().startswith(b"%PDF")


def test_copy_prediction_puts_the_full_image_on_the_clipboard(qtbot, window, utkface_paths, tmp_path):
    rgb = face_photo(utkface_paths[0], 400)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    window.copy_prediction()
    image = QApplication.clipboard().image()
    assert (image.width(), image.height()) == (400, 400)


def test_report_dialog_offers_a_second_model(qtbot, window, utkface_paths, tmp_path):
    import shutil
    import subprocess

    rgb = face_photo(utkface_paths[0], 512)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    assert window.run_models(["opencv-ns"])
    qtbot.waitUntil(lambda: not window.state.busy and len(window.state.predictions) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    window.state.set_current_prediction(window.state.predictions[0])  # Telea chosen
    out = tmp_path / "two.pdf"
    window.prompts.files.append(out)
    window.prompts.confirms.append(False)  # the family's copy
    window.prompts.choices.append(1)  # + Navier-Stokes
    window.export_report_dialog()
    assert window.prompts.choice_lists[-1][0] == "No second model"
    assert len(window.prompts.choice_lists[-1]) == 2 and "Navier-Stokes" in window.prompts.choice_lists[-1][1]
    assert out.is_file(), window.prompts.errors
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert "Telea" in text and "Navier-Stokes" in text and "CL-777" in text
