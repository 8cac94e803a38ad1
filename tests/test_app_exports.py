"""Menu exports: prediction as DICOM next to the source study, consultation report PDF, clipboard."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.settings import AppSettings  # noqa: E402
from app.windows.main_window import MainWindow  # noqa: E402
from app_support import RecordingPrompts, exported, face_photo, stored_prediction, write_dicom  # noqa: E402

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
    window.masks.suggest_mask()
    assert window.runs.run_models(["opencv-telea"])
    qtbot.waitUntil(lambda: not window.state.busy and window.state.current_prediction is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)


def test_dicom_export_links_to_the_source_study(qtbot, window, utkface_paths, tmp_path):
    import pydicom

    rgb = face_photo(utkface_paths[1], 512)
    source = write_dicom(tmp_path / "photo.dcm", rgb)
    open_and_run(qtbot, window, source)
    out = tmp_path / "pred.dcm"
    assert exported(qtbot, window, window.exports.export_dicom(out, deidentify=False)), window.prompts.errors
    ds, src = pydicom.dcmread(out), pydicom.dcmread(source)
    assert ds.StudyInstanceUID == src.StudyInstanceUID and ds.SOPInstanceUID != src.SOPInstanceUID
    stored = stored_prediction(window)
    assert np.array_equal(ds.pixel_array, stored)
    assert "opencv-telea" in ds.SeriesDescription
    anon = tmp_path / "anon.dcm"
    assert exported(qtbot, window, window.exports.export_dicom(anon, deidentify=True))
    assert str(pydicom.dcmread(anon).get("PatientName", "")) != "Test^Patient"


def _pdf_text(path: Path) -> str:
    import subprocess

    return " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())


def _pdf_page(path: Path, page: int = 1, dpi: int = 50) -> np.ndarray:
    """Page ``page`` of a PDF rendered by poppler as RGB uint8."""
    import io
    import subprocess

    png = subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), str(path)],
                         capture_output=True, check=True).stdout
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _photo_colour_share(page: np.ndarray, photo: np.ndarray) -> float:
    """Share of the page's pixels whose colour (in 16-level bins) is one of the photo's common tinted colours.

    Greys are left out, so black text and white paper never count as the photo.
    """
    def bins(rgb: np.ndarray) -> np.ndarray:
        q = rgb.reshape(-1, 3).astype(int) // 16
        return (q[:, 0] * 16 + q[:, 1]) * 16 + q[:, 2]

    counts = np.bincount(bins(photo), minlength=4096)
    levels = np.stack(np.unravel_index(np.arange(4096), (16, 16, 16)), axis=1)
    tinted = levels.max(axis=1) - levels.min(axis=1) >= 2
    common = (counts > 0.001 * counts.sum()) & tinted
    return float(common[bins(page)].mean())


def _check_report_pdf(path: Path, photo: np.ndarray, *texts: str) -> None:
    """The report reads as text and its first page shows the photo, not a blank or broken page."""
    text = _pdf_text(path)
    for expected in texts:
        assert expected in text, (expected, text[:500])
    page = _pdf_page(path)
    assert page.shape[0] > page.shape[1] > 300                      # a portrait page
    ink = np.any(page < 235, axis=2)
    assert 0.05 < ink.mean() < 0.9, ink.mean()                      # neither blank nor a solid block
    assert _photo_colour_share(page, photo) > 0.05                  # the photo's skin and lip colours are on it
    assert _photo_colour_share(np.where(ink[..., None], 0, 255).astype(np.uint8), photo) == 0  # text alone: none


def test_dicom_export_of_a_png_case_carries_the_pseudonym(qtbot, window, utkface_paths, tmp_path):
    import pydicom

    rgb = face_photo(utkface_paths[1], 400)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    out = tmp_path / "pred.dcm"
    assert exported(qtbot, window, window.exports.export_dicom(out, deidentify=False)), window.prompts.errors
    ds = pydicom.dcmread(out)
    assert str(ds.PatientName) == "CL-777" and ds.PatientID == "CL-777"
    assert len(ds.SeriesDescription) <= 64 and "opencv-telea" in ds.ImageComments
    anon = tmp_path / "anon.dcm"
    assert exported(qtbot, window, window.exports.export_dicom(anon, deidentify=True))
    assert pydicom.dcmread(anon).PatientID == ""


def test_report_of_a_classical_and_of_a_neural_prediction(qtbot, window, utkface_paths, tmp_path):
    rgb = face_photo(utkface_paths[2], 512)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    classical = tmp_path / "classical.pdf"
    assert window.exports.export_report(classical), window.prompts.errors  # written on a worker
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    assert classical.read_bytes().startswith(b"%PDF"), window.prompts.errors
    # A prediction recorded with a weights hash (as a neural model's would be) can be reported too.
    image = stored_prediction(window)
    record = window.store.add_prediction(window.state.case.id, "nclg-mt-lite", image, device="CPU",
                                         app_version="test", weights_sha256="ab" * 32)
    window.state.add_prediction(window.cases.prediction_view(record))
    out = tmp_path / "report.pdf"
    assert window.exports.export_report(out), window.prompts.errors
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    assert out.read_bytes().startswith(b"%PDF"), window.prompts.errors
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("Debian poppler-utils is not installed: the reports' text and pages are not checked")
    _check_report_pdf(classical, rgb, "CL-777", "Telea")
    _check_report_pdf(out, rgb, "CL-777")


def test_copy_prediction_puts_the_full_image_on_the_clipboard(qtbot, window, utkface_paths, tmp_path):
    rgb = face_photo(utkface_paths[0], 400)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    window.exports.copy_prediction()
    exported(qtbot, window, True)
    image = QApplication.clipboard().image()
    assert (image.width(), image.height()) == (400, 400)
    from app.canvas.images import qimage_to_rgb

    stored = stored_prediction(window)
    copied = qimage_to_rgb(image)
    marked = np.any(copied != stored, axis=2)                       # the research mark, bottom right only
    assert marked[-30:, -200:].any() and not marked[:-40].any() and not marked[:, :150].any()
    repaired = np.any(stored != rgb, axis=2)                        # the prediction, not the photo
    assert 0 < repaired.mean() < 0.25 and repaired[200:].sum() > 0.9 * repaired.sum()  # around the mouth
    assert np.array_equal(copied[:-40][repaired[:-40]], stored[:-40][repaired[:-40]])
    # Without the mark the clipboard holds the stored prediction, pixel for pixel.
    window.settings = window.settings.with_changes(research_mark=False)
    QApplication.clipboard().clear()
    window.exports.copy_prediction()
    exported(qtbot, window, True)
    assert np.array_equal(qimage_to_rgb(QApplication.clipboard().image()), stored)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="Debian poppler-utils is not installed")
def test_report_dialog_choices_decide_what_each_copy_prints(qtbot, window, utkface_paths, tmp_path):
    from app.dialogs.report_dialog import ReportOptions

    rgb = face_photo(utkface_paths[0], 512)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    assert window.runs.run_models(["opencv-ns"])
    qtbot.waitUntil(lambda: not window.state.busy and len(window.state.predictions) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    window.case_panel.notes.setPlainText("Mother worried about the nostril.")
    window.state.set_current_prediction(window.state.predictions[0])  # Telea chosen
    family, clinical = tmp_path / "family.pdf", tmp_path / "clinical.pdf"
    # The family copy: asking for notes and landmarks changes nothing; the second model is shown.
    window.prompts.report_answers.append(ReportOptions("family", include_notes=True, include_landmarks=True,
                                                       second_model="opencv-ns"))
    window.prompts.files.append(family)
    window.exports.export_report_dialog()
    choices = window.prompts.report_choices[-1]
    assert [name for name, _label in choices.second_models] == ["opencv-ns"]
    assert "Navier-Stokes" in choices.second_models[0][1] and choices.has_notes and choices.mark_default
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    text = _pdf_text(family)
    assert "Telea" in text and "Navier-Stokes" in text and "CL-777" in text, window.prompts.errors
    for secret in ("Mother worried", "SHA-256", "Appendix", "App version"):
        assert secret not in text, secret
    # The clinical record of the same case carries the notes and the technical appendix.
    window.prompts.report_answers.append(ReportOptions("clinical", include_notes=True))
    window.prompts.files.append(clinical)
    window.exports.export_report_dialog()
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    text = _pdf_text(clinical)
    assert "Mother worried about the nostril." in text and "Appendix: technical record" in text
    assert "Navier-Stokes" not in text  # no second model asked for
    # Cancelling the dialog asks for no file and writes nothing.
    files_before = list(window.prompts.files)
    window.exports.export_report_dialog()
    assert window.prompts.files == files_before and len(window.prompts.report_choices) == 3
    # The preview the dialog shows is page 1 of the very report, rendered with poppler.
    page = choices.preview(ReportOptions("family"))
    assert page.ndim == 3 and page.shape[0] > page.shape[1] > 300  # portrait page at 60 dpi


def test_saved_and_copied_predictions_carry_the_research_mark(qtbot, window, utkface_paths, tmp_path):
    rgb = face_photo(utkface_paths[0], 400)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    stored = stored_prediction(window)
    marked_png = tmp_path / "marked.png"
    assert exported(qtbot, window, window.exports.save_prediction(marked_png))
    marked = np.asarray(Image.open(marked_png).convert("RGB"))
    differs = np.any(marked != stored, axis=2)
    assert differs[-30:, -200:].any() and not differs[:300].any()  # a small mark, bottom right
    window.exports.copy_prediction()
    exported(qtbot, window, True)
    from app.canvas.images import qimage_to_rgb

    assert np.array_equal(qimage_to_rgb(QApplication.clipboard().image()), marked)
    # Turned off on purpose in the settings: the stored pixels leave unchanged.
    window.settings = window.settings.with_changes(research_mark=False)
    plain_png = tmp_path / "plain.png"
    assert exported(qtbot, window, window.exports.save_prediction(plain_png))
    assert np.array_equal(np.asarray(Image.open(plain_png).convert("RGB")), stored)


def test_the_report_draws_the_mask_the_prediction_was_made_with(qtbot, window, utkface_paths, tmp_path,
                                                                monkeypatch):
    import studies.reports.consultation as consultation

    rgb = face_photo(utkface_paths[2], 400)
    path = tmp_path / "photo.png"
    Image.fromarray(rgb).save(path)
    open_and_run(qtbot, window, path)
    made_with = window.state.mask.copy()
    assert window.masks.transform_mask("grow", 6)                  # the mask on screen changes afterwards
    assert not np.array_equal(window.state.mask, made_with)
    drawn: list[np.ndarray] = []

    def build(report, out_path):  # noqa: ANN001, ANN202 - records what the report would draw
        drawn.append(report.mask)
        out_path.write_bytes(b"%PDF-1.4\n")
        return out_path

    monkeypatch.setattr(consultation, "build_consultation_report", build)
    assert exported(qtbot, window, window.exports.export_report(tmp_path / "report.pdf")), window.prompts.errors
    assert window.prompts.errors == [] and len(drawn) == 1
    assert np.array_equal(drawn[0], made_with)
