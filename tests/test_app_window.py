"""The main window end to end (offscreen): open every format, bad inputs, run, cancel, reopen.

Each state is grabbed to PNG (set ``$CLEFTLIP_SCREENSHOTS`` to keep them for review).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, QRectF  # noqa: E402

from app.settings import AppSettings  # noqa: E402
from app.state import Tool  # noqa: E402
from app.windows.main_window import MainWindow  # noqa: E402
from app_support import RecordingPrompts, exported, face_photo, screenshot, stored_prediction, write_dicom  # noqa: E402

pytestmark = pytest.mark.gui
WAIT_MS = 60000


@pytest.fixture
def face_rgb(utkface_paths: list[Path]) -> np.ndarray:
    return face_photo(utkface_paths[0], 640)


@pytest.fixture
def make_window(qtbot, tmp_path: Path):
    def make(prompts: RecordingPrompts | None = None, data_dir: Path | None = None) -> MainWindow:
        settings = AppSettings(data_dir=data_dir or tmp_path / "data")
        window = MainWindow(settings, prompts=prompts or RecordingPrompts(), settings_path=tmp_path / "settings.json")
        qtbot.addWidget(window)
        window.resize(1280, 820)
        window.show()
        qtbot.waitUntil(lambda: bool(window.state.models), timeout=WAIT_MS)
        return window

    return make


def open_case(qtbot, window: MainWindow, path: Path, pseudonym: str = "CL-001", expect_face: bool = True) -> None:
    window.prompts.texts.append(pseudonym)
    window.open_photo_file(path)
    qtbot.waitUntil(lambda: window.state.case is not None and not window.tasks.busy, timeout=WAIT_MS)
    if expect_face:
        qtbot.waitUntil(lambda: window.state.face is not None, timeout=WAIT_MS)


def paint_lip(window: MainWindow) -> np.ndarray:
    """Paint over the upper lip with the suggestion, returning the mask."""
    window.masks.suggest_mask()
    return window.canvas.layer.to_bool()


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif", ".bmp", ".dcm"])
def test_opens_each_format_and_finds_the_face(qtbot, make_window, face_rgb, tmp_path, suffix):
    path = tmp_path / f"photo{suffix}"
    if suffix == ".dcm":
        write_dicom(path, face_rgb)
    else:
        Image.fromarray(face_rgb).save(path, quality=95) if suffix == ".jpg" else Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    assert window.prompts.errors == []
    assert window.state.case.pseudonym == "CL-001"
    assert window.photo.rgb.shape == face_rgb.shape
    if suffix in (".png", ".tif", ".bmp", ".dcm"):  # lossless formats come back exactly
        assert np.array_equal(window.photo.rgb, face_rgb)
    assert (window.photo.dicom is not None) == (suffix == ".dcm")
    assert window.state.face.landmarks.shape == (68, 2)
    assert window.canvas.layer.width == 640 and window.canvas.layer.is_empty()
    if suffix == ".jpg":
        window.state.set_face_overlay_visible(True)
        screenshot(window, "01-opened-photo-with-landmarks", tmp_path / "shots")


def _bomb_png(path: Path) -> Path:
    """A tiny PNG whose header claims 20000 x 20000 pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))
    return path


def test_bad_inputs_give_a_message_and_the_app_keeps_running(qtbot, make_window, face_rgb, tmp_path):
    garbage = tmp_path / "notes.jpg"
    garbage.write_bytes(b"this is not a photo at all" * 10)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    no_pixels = write_dicom(tmp_path / "report.dcm", face_rgb, with_pixels=False)
    bomb = _bomb_png(tmp_path / "bomb.png")
    window = make_window()
    for i, path in enumerate([garbage, empty, no_pixels, bomb, tmp_path / "missing.jpg"]):
        window.open_photo_file(path)
        qtbot.waitUntil(lambda n=i + 1: len(window.prompts.errors) == n, timeout=WAIT_MS)
        title, text = window.prompts.errors[-1]
        assert title == "Cannot open photo" and path.name in text, text
    texts = [t for _, t in window.prompts.errors]
    assert "without an image" in texts[2]
    assert "megapixels" in texts[3]
    assert window.state.case is None and window.isVisible()
    screenshot(window, "02-empty-after-bad-inputs", tmp_path / "shots")
    # ... and a good photo still opens afterwards.
    good = tmp_path / "good.png"
    Image.fromarray(face_rgb).save(good)
    open_case(qtbot, window, good)
    assert window.state.case is not None


def test_empty_pseudonym_is_refused(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "p.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    window.prompts.texts.append("   ")
    window.open_photo_file(path)
    qtbot.waitUntil(lambda: bool(window.prompts.errors), timeout=WAIT_MS)
    assert "pseudonym" in window.prompts.errors[0][1].lower()
    assert window.state.case is None


def test_no_face_offers_manual_square(qtbot, make_window, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "wall.png"
    Image.fromarray((rng.random((400, 500, 3)) * 40 + 100).astype(np.uint8)).save(path)
    prompts = RecordingPrompts(confirms=[True])
    window = make_window(prompts)
    open_case(qtbot, window, path, expect_face=False)
    qtbot.waitUntil(lambda: bool(prompts.questions), timeout=WAIT_MS)
    assert prompts.questions[0][0] == "No face found"
    assert window.state.tool == Tool.FACE_BOX and window.state.face is None
    window.canvas.tool_press(QPointF(100, 60))
    window.canvas.tool_move(QPointF(400, 360))
    window.canvas.tool_release(QPointF(400, 360))
    assert window.state.face is not None and window.state.face.manual
    assert window.state.face.box == pytest.approx((100, 60, 400, 360))
    assert window.state.tool == Tool.BRUSH
    assert not window.tool_panel.suggest.isEnabled()  # no landmarks to suggest from
    screenshot(window, "03-manual-face-square", tmp_path / "shots")
    # Reopening the case uses the stored square without asking again.
    again = make_window(RecordingPrompts(), data_dir=tmp_path / "data")
    again.open_case(window.state.case.id)
    qtbot.waitUntil(lambda: again.state.face is not None, timeout=WAIT_MS)
    assert again.state.face.manual and again.state.face.box == pytest.approx((100, 60, 400, 360))
    assert again.prompts.questions == []


def test_run_telea_records_and_shows_the_prediction_then_reopen(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path, "CL-042")
    window.case_panel.notes.setPlainText("left unilateral, pre-op")
    mask = paint_lip(window)
    assert mask.any()
    screenshot(window, "04-suggested-mask", tmp_path / "shots")
    window.state.set_selected_model("opencv-telea")
    assert window.runs.run_models(["opencv-telea"])
    assert window.state.busy and window.act_cancel.isEnabled()
    qtbot.waitUntil(lambda: not window.state.busy, timeout=WAIT_MS)
    assert window.prompts.errors == []
    assert len(window.state.predictions) == 1
    pred = window.state.current_prediction
    assert pred.model_name == "opencv-telea" and pred.device == "CPU" and pred.weights_sha256 is None
    assert pred.app_version
    out = stored_prediction(window, pred)
    assert out.shape == face_rgb.shape
    changed = np.any(out != face_rgb, axis=2)
    feather = int(np.ceil(max(2.0, 2.0 * window.state.face.analysis.crop.size / 256))) + 1
    near = cv2.dilate(mask.astype(np.uint8), np.ones((2 * feather + 1,) * 2, np.uint8)).astype(bool)
    assert changed[mask].mean() > 0.5 and not changed[~near].any()  # filled inside, untouched away from it
    assert window.tabs.currentIndex() == 1 and window.compare.right.has_image()
    assert window.gallery.count() == 1
    left, right = window.compare.left, window.compare.right

    def centre(view):
        return view.mapToScene(view.viewport().rect().center())

    assert left.zoom == pytest.approx(right.zoom) and (centre(left) - centre(right)).manhattanLength() < 2
    right.set_zoom(3.0, anchor=QPointF(100, 120))  # zoom the prediction: the original follows
    assert left.zoom == pytest.approx(3.0) and (centre(left) - centre(right)).manhattanLength() < 2
    left.fit()
    screenshot(window, "05-side-by-side", tmp_path / "shots")
    window.tabs.setCurrentIndex(2)
    window.before_after.slider.setValue(650)
    screenshot(window, "06-before-after", tmp_path / "shots")
    # Save at full resolution without metadata.
    saved = tmp_path / "export.jpg"
    assert exported(qtbot, window, window.exports.save_prediction(saved))
    with Image.open(saved) as img:
        assert img.size == (640, 640) and not img.getexif() and "icc_profile" not in img.info
    window._save_notes()
    case_id = window.state.case.id
    window.autosave.flush()

    # A second window on the same data folder reopens everything.
    again = make_window(data_dir=tmp_path / "data")
    again.open_case(case_id)
    qtbot.waitUntil(lambda: again.state.case is not None and not again.tasks.busy, timeout=WAIT_MS)
    assert again.state.case.pseudonym == "CL-042"
    assert again.case_panel.notes.toPlainText() == "left unilateral, pre-op"
    assert np.array_equal(again.canvas.layer.to_bool(), mask)
    assert [p.model_name for p in again.state.predictions] == ["opencv-telea"]
    qtbot.waitUntil(lambda: again.compare.right.has_image(), timeout=WAIT_MS)
    assert not again.canvas.undo_stack.canUndo()  # reopening is not an edit
    # Clearing the mask is saved too: the next reopen shows no stale mask.
    again.masks.clear_mask()
    again.autosave.flush()
    third = make_window(data_dir=tmp_path / "data")
    third.open_case(case_id)
    qtbot.waitUntil(lambda: third.state.case is not None and not third.tasks.busy, timeout=WAIT_MS)
    assert not third.canvas.layer.to_bool().any()


def test_cancel_stops_before_the_next_model(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    paint_lip(window)
    assert window.runs.run_models(["opencv-telea", "opencv-ns", "opencv-telea", "opencv-ns"])
    window.runs.cancel_run()  # before the worker reaches the first check
    qtbot.waitUntil(lambda: not window.state.busy, timeout=WAIT_MS)
    done = len(window.state.predictions)
    assert done < 4
    assert window.statusBar().currentMessage() == "Run cancelled"
    # The mask's autosave lands in its own label and does not hide the cancel message.
    window.autosave.flush()
    qtbot.waitUntil(lambda: window.mask_saved_label.text().startswith("Mask saved"), timeout=WAIT_MS)
    assert window.statusBar().currentMessage() == "Run cancelled"
    # The bar shows what was done, not "4 of 4".
    bar = window.model_panel.progress
    assert (bar.value(), bar.maximum()) == (done, 4) and bar.text() == f"{done} of 4 models"
    assert window.model_panel.status.text() == f"Cancelled after {done} of 4 models"


def test_run_refused_without_mask_and_for_missing_weights(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    assert not window.runs.run_models(["opencv-telea"])
    assert "Paint the area" in window.prompts.errors[-1][1]
    neural = [m for m in window.state.models if m.neural and not m.available]
    if not neural:
        pytest.skip("every neural model has weights here")
    combo = window.model_panel.picker
    index = combo.findData(neural[0].name)
    assert not combo.model().item(index).isEnabled()
    assert "weights" in combo.itemData(index, 3).lower()  # Qt.ToolTipRole
    paint_lip(window)
    assert window.runs.run_models([neural[0].name])
    qtbot.waitUntil(lambda: not window.state.busy, timeout=WAIT_MS)
    assert window.prompts.errors[-1][0] == "Some models did not run"
    assert window.state.predictions == []


def test_mask_autosaves_and_survives_a_new_window(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    window.state.set_brush_size(20)
    window.canvas.tool_press(QPointF(300, 420))
    window.canvas.tool_move(QPointF(340, 430))
    window.canvas.tool_release(QPointF(340, 430))
    qtbot.waitUntil(lambda: window.store.mask_info(window.state.case.id) is not None, timeout=WAIT_MS)
    stored = window.store.load_mask(window.state.case.id)
    assert np.array_equal(stored, window.canvas.layer.to_bool())


def test_mask_import_export_round_trip_and_size_check(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    mask = np.zeros((640, 640), bool)
    mask[400:460, 250:390] = True
    mask[300, 300] = True
    src = tmp_path / "in.png"
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8)).save(src)
    assert window.masks.import_mask(src)
    assert np.array_equal(window.canvas.layer.to_bool(), mask)
    out = tmp_path / "out.png"
    assert window.masks.export_mask(out)
    assert np.array_equal(np.asarray(Image.open(out)) == 255, mask)
    window.canvas.undo_stack.undo()
    assert window.canvas.layer.is_empty()
    small = tmp_path / "small.png"
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(small)
    assert not window.masks.import_mask(small)
    assert "should be 640 x 640" in window.prompts.errors[-1][1]


def test_rotated_mask_is_imported_upright_like_its_photo(qtbot, make_window, face_rgb, tmp_path):
    """Photo and mask stored sideways with the same EXIF Orientation: the hole stays on the lip."""
    exif = Image.Exif()
    exif[0x0112] = 6                                     # stored turned; displayed turned 90 degrees clockwise
    path = tmp_path / "face.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(face_rgb, 1))).save(path, quality=95, exif=exif.tobytes())
    mask = np.zeros((640, 640), bool)
    mask[400:460, 250:390] = True                        # the lip, in the upright photo
    src = tmp_path / "mask.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(mask, 1)).astype(np.uint8) * 255).save(
        src, quality=100, exif=exif.tobytes())
    window = make_window()
    open_case(qtbot, window, path, expect_face=False)
    assert window.masks.import_mask(src)
    assert np.array_equal(window.canvas.layer.to_bool(), mask)


def test_notes_not_saved_on_a_locked_database_stay_in_the_box(qtbot, make_window, face_rgb, tmp_path):
    import sqlite3

    from sqlalchemy import event

    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path, expect_face=False)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    engine = window.store.db.engine

    def short_wait(dbapi_conn, _record) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    event.listen(engine, "connect", short_wait)
    engine.dispose()
    holder = sqlite3.connect(window.store.db.data_dir / "cleftlip.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")                    # another program holds the database
    try:
        window.case_panel.notes.setPlainText("left unilateral")
        window._save_notes()
        title, text = window.prompts.errors[-1]
        assert title == "Notes not saved" and "busy" in text and "still in the box" in text
        assert window.case_panel.notes.toPlainText() == "left unilateral"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        event.remove(engine, "connect", short_wait)
        engine.dispose()
    window._save_notes()                                 # the next save succeeds
    assert window.store.get_case(window.state.case.id).notes == "left unilateral"


def test_about_lists_every_model_card_and_the_terms(qtbot, make_window):
    from app.dialogs.about import AboutDialog

    window = make_window()
    dialog = AboutDialog("1.2.3", window.state.models, window)
    qtbot.addWidget(dialog)
    cards = dialog.cards_text.toPlainText()
    for m in window.state.models:
        assert m.display_name in cards
    about = dialog.about_text.toPlainText()
    assert "not a promise" in about and "non-commercial research" in about


def test_manual_face_square_outside_photo_is_refused(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    window.faces.manual_face_drawn(QRectF(700, 700, 100, 100))
    assert window.prompts.errors[-1][0] == "Face square not usable"


def test_undo_redo_keyboard_shortcuts(qtbot, make_window, face_rgb, tmp_path):
    from PySide6.QtCore import Qt

    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    window.activateWindow()
    window.canvas.setFocus()
    window.canvas.tool_press(QPointF(300, 400))
    window.canvas.tool_release(QPointF(300, 400))
    painted = window.canvas.layer.to_bool()
    assert painted.any()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.layer.is_empty()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(window.canvas.layer.to_bool(), painted)


def test_drop_a_photo_file_opens_it(qtbot, make_window, face_rgb, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    path = tmp_path / "dropped.bmp"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    window.prompts.texts.append("DROP-1")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)  # Qt drops synthetic drop events that no drag started; call the handler
    assert event.isAccepted()
    qtbot.waitUntil(lambda: window.state.case is not None, timeout=WAIT_MS)
    assert window.state.case.pseudonym == "DROP-1"


def test_typing_notes_does_not_trigger_single_key_shortcuts(qtbot, make_window, face_rgb, tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    window.activateWindow()
    window.case_panel.notes.setFocus()
    qtbot.keyClicks(window.case_panel.notes, "bilateral [lip] mfe")
    assert window.case_panel.notes.toPlainText() == "bilateral [lip] mfe"
    assert window.state.tool == Tool.BRUSH and window.state.mask_visible and window.state.brush_size == 40
    qtbot.waitUntil(lambda: window.store.get_case(window.state.case.id).notes == "bilateral [lip] mfe", timeout=5000)


def test_studies_menu_opens_the_studies_window_on_the_same_data(qtbot, make_window):
    window = make_window()
    studies = window.studies_window()
    qtbot.addWidget(studies)
    assert studies.isVisible()
    assert window.studies_window() is studies  # a second click raises the same window
    assert window.act_studies.shortcut().toString() == "Ctrl+Shift+B"


def test_shipped_network_runs_and_records_its_weights_hash(qtbot, make_window, face_rgb, tmp_path):
    from inference.models.registry import get_spec

    status = get_spec("nclg-mt-lite").weights_status()
    if not status.available:
        pytest.skip("the lite weights are not shipped in this checkout")
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path)
    mask = paint_lip(window)
    assert window.runs.run_models(["nclg-mt-lite"])
    qtbot.waitUntil(lambda: not window.state.busy, timeout=WAIT_MS)
    assert window.prompts.errors == []
    pred = window.state.current_prediction
    assert pred.model_name == "nclg-mt-lite" and pred.weights_sha256 == status.sha256
    assert pred.landmarks is not None and pred.landmarks.shape == (68, 2)  # the landmark branch, in photo pixels
    out = stored_prediction(window, pred)
    assert np.any(out[mask] != face_rgb[mask])


def test_run_all_reuses_predictions_of_an_unchanged_mask_and_marks_older_ones(qtbot, make_window, face_rgb,
                                                                              tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(face_rgb).save(path)
    window = make_window()
    open_case(qtbot, window, path, "CL-RUNALL")
    paint_lip(window)
    classical = ["opencv-telea", "opencv-ns"]
    assert window.runs.run_models(classical, reuse=True)
    qtbot.waitUntil(lambda: not window.state.busy and not window.tasks.busy, timeout=WAIT_MS)
    assert len(window.state.predictions) == 2 and window.prompts.errors == []
    assert not any(window.state.is_out_of_date(p) for p in window.state.predictions)
    # Unchanged mask: nothing runs again, nothing is added.
    assert not window.runs.run_models(classical, reuse=True)
    assert len(window.state.predictions) == 2 and "Up to date" in window.model_panel.status.text()
    assert len(window.store.list_predictions(window.state.case.id)) == 2
    # Grow the mask (one undo step): both predictions are now out of date, and the gallery says so.
    assert window.masks.transform_mask("grow", 4)
    assert all(window.state.is_out_of_date(p) for p in window.state.predictions)
    labels = [window.gallery.item(i).text() for i in range(window.gallery.count())]
    assert all("older mask" in t for t in labels), labels
    assert "out of date" in window.compare.right_caption.text()
    # Undo brings the old mask back, and with it the predictions are current again.
    window.canvas.undo_stack.undo()
    assert not any(window.state.is_out_of_date(p) for p in window.state.predictions)
    window.canvas.undo_stack.redo()
    # Run all on the new mask runs both again; the old ones stay, marked.
    assert window.runs.run_models(classical, reuse=True)
    qtbot.waitUntil(lambda: not window.state.busy and not window.tasks.busy, timeout=WAIT_MS)
    stale = [window.state.is_out_of_date(p) for p in window.state.predictions]
    assert stale == [True, True, False, False]
    # Reopened, the store still knows which mask each prediction was made with.
    case_id = window.state.case.id
    window.close_case()
    window.open_case(case_id)
    qtbot.waitUntil(lambda: window.state.case is not None and len(window.state.predictions) == 4
                    and not window.tasks.busy, timeout=WAIT_MS)
    assert [window.state.is_out_of_date(p) for p in window.state.predictions] == stale
