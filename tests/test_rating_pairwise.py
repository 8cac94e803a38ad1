"""The pairwise rating screen driven with real key presses (pytest-qt, offscreen): ← and → store the
choice at once and move on, P goes back to change it, nothing names a model, a closed study is
read-only."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from app.rating.pairwise_window import PairwiseRatingWindow, open_rating_screen  # noqa: E402
from app.rating.rating_window import RatingWindow  # noqa: E402
from app_support import screenshot  # noqa: E402
from studies.options import StudyOptions  # noqa: E402
from studies.rater_pin import PinError  # noqa: E402
from studies.rating import RaterSession  # noqa: E402
from studies.study_setup import StudySetup  # noqa: E402
from studies.unblinding import UnblindingService  # noqa: E402
from test_rating_screen import _visible_texts  # noqa: E402
from test_rating_support import MODELS, PASSPHRASE, build_open_study  # noqa: E402

pytestmark = pytest.mark.gui
PAIRS = StudyOptions(pairwise=True, ask_validity=False, ask_ranking=False, show_original=True,
                     show_masked_input=True, repeat_fraction=0.0)


@pytest.fixture
def study(tmp_path: Path):
    db, study_id, raters = build_open_study(tmp_path, n_cases=2, n_raters=1, options=PAIRS,
                                            models=("nclg-mt", "opencv-ns", "opencv-telea"))
    yield db, study_id, raters
    db.close()


def open_window(qtbot, db, rater_id: int, **kw) -> PairwiseRatingWindow:  # noqa: ANN001
    window = open_rating_screen(db, rater_id, **kw)
    assert isinstance(window, PairwiseRatingWindow)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def test_left_and_right_store_the_choice_and_move_on(qtbot, study, tmp_path: Path) -> None:
    db, _, raters = study
    w = open_window(qtbot, db, raters[0])
    assert w.position == 1 and w.item.total == 2 * 3 and [o.label for o in w.item.outputs] == ["A", "B"]
    screenshot(w, "pairwise_01_fresh", tmp_path)
    qtbot.keyClick(w, Qt.Key.Key_Left)
    session = RaterSession(db, raters[0])
    assert session.item(1).preferred == "A" and session.item(1).completed and w.position == 2
    qtbot.keyClick(w, Qt.Key.Key_Right)
    assert session.item(2).preferred == "B" and w.position == 3 and session.progress().completed == 2
    qtbot.keyClick(w, "p")
    assert w.position == 2 and w.choose_buttons[1].isChecked() and not w.choose_buttons[0].isChecked()
    assert "saved" in w.choose_buttons[1].text()
    qtbot.keyClick(w, Qt.Key.Key_Left)  # change of mind: A after all
    assert session.item(2).preferred == "A" and session.item(2).completed and w.position == 3
    qtbot.keyClick(w, "n")  # N without a choice refuses and says why
    assert w.position == 3 and "better output" in w.message.text()
    qtbot.mouseClick(w.choose_buttons[1], Qt.MouseButton.LeftButton)  # a click works like →
    assert session.item(3).preferred == "B" and w.position == 4
    for _ in range(3):
        qtbot.keyClick(w, Qt.Key.Key_Right)
    assert session.progress().next_position is None and "Every pair is rated" in w.message.text()
    w.close()
    again = open_window(qtbot, db, raters[0])  # resuming after everything is done
    assert "Every pair is rated" in again.message.text()


def test_the_pair_screen_names_no_model_and_a_closed_study_is_read_only(qtbot, study) -> None:
    db, study_id, raters = study
    w = open_window(qtbot, db, raters[0])
    forbidden = {m.lower() for m in MODELS} | {"telea", "navier", "nclg", "opencv", "model"}
    for position in range(1, w.item.total + 1):
        w.go_to(position)
        stems = {o.image_path.stem for o in w.item.outputs}
        for text in _visible_texts(w):
            assert not any(word in text.lower() for word in forbidden), text
            assert not any(stem in text for stem in stems) and not re.search(r"[0-9a-f]{16}", text.lower()), text
    w.close()
    UnblindingService(db).close_study(study_id, PASSPHRASE, "Dr Owner")
    closed = open_window(qtbot, db, raters[0])
    qtbot.keyClick(closed, Qt.Key.Key_Left)
    assert RaterSession(db, raters[0]).item(1).preferred is None and closed.position == 1
    assert closed.banner.isVisible() and not closed.choose_buttons[0].isEnabled()


def test_a_pairwise_rater_with_a_pin_and_the_classic_screen_for_other_studies(qtbot, study, tmp_path: Path) -> None:
    db, study_id, _ = study
    pinned = StudySetup(db).add_rater(study_id, "Dr Pin", "DP", pin="2468")
    with pytest.raises(PinError):
        open_rating_screen(db, pinned.id, "0000")
    assert open_window(qtbot, db, pinned.id, pin="2468").info.initials == "DP"
    other, _, raters = build_open_study(tmp_path / "classic", n_cases=1, n_raters=1, models=("m1", "m2"))
    window = open_rating_screen(other, raters[0])
    qtbot.addWidget(window)
    assert isinstance(window, RatingWindow)
    other.close()
