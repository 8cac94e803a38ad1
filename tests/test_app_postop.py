"""The post-op comparison window (issue 14): the slider wipes and blends from the prediction to the aligned
post-op photo, the measures of the three pictures and the landmark distance are shown, and the main
window's two actions store a post-op photo and open the window on an aligned real face."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from app_support import RecordingPrompts, screenshot
from PIL import Image

from app.case_controller import CaseController
from app.state import AppState, FaceInfo, PredictionView
from app.windows.postop import (
    BLEND,
    POSTOP_COLUMN,
    PREDICTION_COLUMN,
    PREOP_COLUMN,
    PostopActions,
    PostopComparisonView,
    PostopWindow,
    focus_box,
    mix,
)
from inference.alignment import Similarity
from inference.io import load_photo
from inference.measures import DEFINITIONS
from studies.cases import CaseStore
from studies.database import open_database
from studies.postop import PostopStore
from tests.test_measures import asymmetric_face, place, symmetric_face

ALAR = [d.key for d in DEFINITIONS].index("alar_base_height_difference")
SIZE = 400


def gradient(colour: tuple[int, int, int]) -> np.ndarray:
    """A picture with a left-right ramp in one colour, so a wipe's columns can be told apart."""
    ramp = np.linspace(0.3, 1.0, SIZE)[None, :, None]
    return np.broadcast_to(np.asarray(colour) * ramp, (SIZE, SIZE, 3)).astype(np.uint8).copy()


def synthetic_view() -> PostopComparisonView:
    pre = place(asymmetric_face(), degrees=0.0, scale=2.0, shift=(200.0, 160.0))
    post = place(symmetric_face(), degrees=0.0, scale=2.0, shift=(200.0, 160.0))
    pred = post.copy()
    pred[48:68] += (0.0, 9.0)                                        # lip 9 px = 5 % IOD lower than real
    return PostopComparisonView(gradient((255, 40, 40)), gradient((40, 40, 255)), pre, pred, post,
                                "NCLG-MT lite", "Post-op photo scaled by 1.00, turned by +0.0°.")


def test_slider_changes_the_shown_image(qtbot, tmp_path: Path) -> None:
    window = PostopWindow(synthetic_view())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    x0, y0, x1, y1 = focus_box(window.view)
    assert (x1 - x0, y1 - y0) != (SIZE, SIZE) and window.shown_image().shape == (y1 - y0, x1 - x0, 3)
    prediction = window.view.prediction_rgb[y0:y1, x0:x1]
    postop = window.view.postop_rgb[y0:y1, x0:x1]
    assert np.array_equal(window.prediction_pane.rgb, prediction) and np.array_equal(window.postop_pane.rgb, postop)

    before = window.wipe_pane.pixmap().toImage()
    window.slider.setValue(100)
    assert np.array_equal(window.shown_image(), prediction)
    window.slider.setValue(0)
    assert np.array_equal(window.shown_image(), postop)
    assert window.wipe_pane.pixmap().toImage() != before            # what is on screen followed
    window.slider.setValue(25)                                      # the line a quarter of the way across
    shown, w = window.shown_image(), x1 - x0
    split = round(0.25 * w)
    assert np.array_equal(shown[:, : split - 2], prediction[:, : split - 2])
    assert np.array_equal(shown[:, split + 2:], postop[:, split + 2:])
    assert (shown[:, split] == 255).all() and "left of the line" in window.slider_text.text()
    window.mode.setCurrentText(BLEND)
    blended = window.shown_image().astype(int)
    expected = 0.25 * prediction.astype(int) + 0.75 * postop.astype(int)
    assert np.abs(blended - expected).max() <= 1 and window.slider_text.text() == "25 % prediction, 75 % post-op"
    window.zoom.setChecked(False)                                   # the whole photo
    assert window.shown_image().shape == (SIZE, SIZE, 3)
    screenshot(window, "postop_window_synthetic", tmp_path)


def test_measures_of_the_three_pictures_and_the_landmark_distance(qtbot) -> None:
    window = PostopWindow(synthetic_view())
    qtbot.addWidget(window)
    assert window.cell(ALAR, PREOP_COLUMN) == "left higher by 10.0 %"
    assert window.cell(ALAR, POSTOP_COLUMN) == "even" and window.cell(ALAR, PREDICTION_COLUMN) == "even"
    assert "NCLG-MT lite" in window.table.horizontalHeaderItem(PREDICTION_COLUMN).text()
    assert window.result is not None and window.result.lip_distance_iod == pytest.approx(5.0)
    assert "lip (48-67) <b>5.0 %</b>" in window.distance.text() and "nose (27-35) <b>0.0 %</b>" in window.distance.text()
    assert "outer inter-ocular distance" in window.distance.text() and "turned by" in window.alignment.text()
    before = window.prediction_pane.rgb.copy()
    window.points.setChecked(True)                                   # the points drawn on the pictures
    assert not np.array_equal(window.prediction_pane.rgb, before)
    no_points = PostopWindow(PostopComparisonView(gradient((9, 9, 9)), gradient((99, 9, 9)), None, None, None))
    qtbot.addWidget(no_points)
    assert no_points.result is None and "–" in no_points.distance.text()
    assert no_points.shown_image().shape == (SIZE, SIZE, 3) and not no_points.points.isEnabled()
    with pytest.raises(ValueError, match="size"):
        PostopComparisonView(gradient((9, 9, 9)), gradient((9, 9, 9))[:200], None, None, None)


def test_mix_ends() -> None:
    a, b = gradient((255, 0, 0)), gradient((0, 0, 255))
    assert np.array_equal(mix(a, b, 1.0), a) and np.array_equal(mix(a, b, 0.0), b)
    assert np.array_equal(mix(a, b, 1.0, BLEND), a) and np.array_equal(mix(a, b, 0.0, BLEND), b)


class SyncTasks:
    """The TaskRunner's submit, run at once on the calling thread."""

    def submit(self, fn, on_done, on_error, on_progress=None) -> None:  # noqa: ANN001
        try:
            value = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to on_error as the runner does
            on_error(exc)
        else:
            on_done(value)


@dataclass
class KnownFace:
    """A pipeline whose analysis gives back fixed landmarks (the real face's hand annotations)."""

    landmarks: np.ndarray

    def analyse(self, rgb: np.ndarray) -> SimpleNamespace:
        return SimpleNamespace(landmarks=self.landmarks)


def _case_with_postop_photo(tmp_path: Path, helen_samples, truth: Similarity, pseudonym: str):  # noqa: ANN001, ANN202
    """A real annotated face stored as a case, and its post-op photo taken with ``truth`` (not yet added)."""
    path, pre_lm = helen_samples[1]
    pre = load_photo(path).rgb
    post = cv2.warpAffine(pre, truth.matrix, (360, 380), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    post_path = tmp_path / "after.png"
    Image.fromarray(post).save(post_path)
    db = open_database(tmp_path / "data")
    store = CaseStore(db)
    return pre, pre_lm, post_path, db, store, store.create_case(pseudonym, path)


def test_add_and_compare_actions_on_a_real_face(qtbot, tmp_path: Path, helen_samples) -> None:
    truth = Similarity(1.2, np.deg2rad(-9.0), 40.0, 60.0)           # how the post-op photo was taken
    pre, pre_lm, post_path, db, store, case = _case_with_postop_photo(tmp_path, helen_samples, truth, "CL-9")
    h, w = pre.shape[:2]
    state = AppState()
    cases = CaseController(state, store, KnownFace(truth.apply(pre_lm)))
    prompts = RecordingPrompts(files=[post_path], confirms=[True])
    actions = PostopActions(cases, SyncTasks(), prompts)
    actions.add_postop_photo()
    assert prompts.errors == [("No case open", prompts.errors[0][1])]  # nothing open yet
    state.set_case(case)
    state.set_photo(SimpleNamespace(rgb=pre))
    state.set_face(FaceInfo((0, 0, w, h), pre_lm, manual=False))
    predicted = pre.copy()
    predicted[int(pre_lm[51, 1]):int(pre_lm[57, 1]), int(pre_lm[48, 0]):int(pre_lm[54, 0])] = (200, 60, 60)
    store.prediction_image = lambda stored, rgb: predicted           # the prediction as decoded by the store
    state.set_current_prediction(PredictionView(1, "nclg-mt-lite", "NCLG-MT lite", Path("p.png"), "cpu", None,
                                                "0", "2024-01-01", pre_lm + (0.0, 2.0), stored=object()))
    prompts.files = [post_path]
    actions.add_postop_photo()                                       # stored, then "compare now?" -> yes
    info = PostopStore(db).postop_photo(case.id)
    assert info is not None and np.allclose(info.landmarks, truth.apply(pre_lm), atol=1e-3)
    window = actions.window
    assert isinstance(window, PostopWindow) and prompts.questions[-1][0] == "Post-operative photo added"
    qtbot.addWidget(window)
    qtbot.waitExposed(window)
    # the aligned post-op photo sits on the pre-op photo: the real face lines up within a grey level or two
    x0, y0, x1, y1 = focus_box(window.view)
    inside = np.abs(window.view.postop_rgb[y0:y1, x0:x1].astype(int) - pre[y0:y1, x0:x1].astype(int)).mean()
    assert inside < 6.0 and np.abs(window.view.postop_landmarks - pre_lm).max() < 0.5
    assert window.result.lip_distance_px == pytest.approx(2.0, abs=0.1)  # the prediction's points were 2 px low
    window.slider.setValue(60)
    window.points.setChecked(True)
    screenshot(window, "postop_window", tmp_path)
    # refused without a post-op photo, with a clear message
    PostopStore(db).remove_postop_photo(case.id)
    actions.compare()
    assert prompts.errors[-1][0] == "Cannot compare with the post-operative photo" and "no post-operative" in \
        prompts.errors[-1][1]
    db.close()


def _pdf_text(path: Path) -> str:
    import subprocess

    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_report_includes_the_aligned_postop_photo(tmp_path: Path, helen_samples) -> None:
    import shutil

    from app.dialogs.report_dialog import ReportOptions
    from app.windows.report_export import PredictionSource, ReportSnapshot, build_report, has_postop_photo
    from studies.errors import CaseError
    from studies.reports.postop_section import POSTOP_HEADING

    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext) is not installed")
    truth = Similarity(1.1, np.deg2rad(6.0), 30.0, 20.0)
    pre, pre_lm, post_path, db, store, case = _case_with_postop_photo(tmp_path, helen_samples, truth, "CL-7")
    h, w = pre.shape[:2]
    predicted = pre.copy()
    predicted[int(pre_lm[51, 1]):int(pre_lm[57, 1]), int(pre_lm[48, 0]):int(pre_lm[54, 0])] = (200, 60, 60)
    store.prediction_image = lambda stored, rgb: predicted
    store.prediction_mask = lambda stored: None
    mask = np.zeros((h, w), bool)
    mask[int(pre_lm[51, 1]):int(pre_lm[57, 1]), int(pre_lm[48, 0]):int(pre_lm[54, 0])] = True
    primary = PredictionSource(object(), "NCLG-MT lite", "1", None, pre_lm + (0.0, 2.0), "2024-01-01", "cpu", "0")

    def snapshot() -> ReportSnapshot:
        return ReportSnapshot("Clinic", None, "Dr A", "CL-7", "", pre, case.photo_sha256, mask, (0, 0, w, h), pre_lm,
                              primary, store=store, case_id=case.id, has_postop=has_postop_photo(store, case.id))

    assert not snapshot().has_postop
    with pytest.raises(CaseError, match="no post-operative photo"):
        build_report(snapshot(), ReportOptions(kind="clinical", include_postop=True), tmp_path / "none.pdf")
    PostopStore(db).add_postop_photo(case.id, post_path, truth.apply(pre_lm))
    snap = snapshot()
    assert snap.has_postop
    with_postop = build_report(snap, ReportOptions(kind="clinical", include_postop=True), tmp_path / "with.pdf")
    without = build_report(snap, ReportOptions(kind="clinical"), tmp_path / "without.pdf")
    assert POSTOP_HEADING in " ".join(_pdf_text(with_postop).split())
    assert POSTOP_HEADING not in " ".join(_pdf_text(without).split())
    db.close()


def test_report_dialog_offers_the_postop_photo_only_when_there_is_one(qtbot) -> None:
    from app.dialogs.report_dialog import ReportChoices, ReportExportDialog

    page = lambda options: np.full((280, 200, 3), 200, np.uint8)  # noqa: E731
    without = ReportExportDialog(ReportChoices(preview=page))
    qtbot.addWidget(without)
    without.postop.setChecked(True)
    assert not without.postop.isEnabled() and not without.options().include_postop
    with_photo = ReportExportDialog(ReportChoices(preview=page, has_postop=True))
    qtbot.addWidget(with_photo)
    assert with_photo.postop.isEnabled() and not with_photo.options().include_postop  # off until asked for
    with_photo.postop.setChecked(True)
    assert with_photo.options().include_postop
    without.done(0)
    with_photo.done(0)


def test_main_window_has_the_postop_actions(qtbot, tmp_path: Path) -> None:
    from app.settings import AppSettings
    from app.windows.main_window import MainWindow

    window = MainWindow(AppSettings(data_dir=tmp_path / "data"), prompts=RecordingPrompts(), probe=False)
    qtbot.addWidget(window)
    file_menu = window.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert texts.index("Add post-op photo…") == texts.index("Export prediction as DICOM…") + 2  # after a separator
    assert "Compare with post-op photo…" in texts
    assert isinstance(window.postop, PostopActions)
    assert not window.act_add_postop.isEnabled() and not window.act_compare_postop.isEnabled()  # no case open
    window.close()
