"""The blinded rating screen, driven with real key presses and clicks (pytest-qt, offscreen).

Every answer must be in the database right after the key or click that gave it; the screen must
never show anything that names a model; states are grabbed to PNG for review
(set $CLEFTLIP_SCREENSHOTS to keep them).
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QModelIndex, Qt  # noqa: E402
from sqlalchemy import event  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QWidget,
)

from app.rating.rating_window import RatingWindow  # noqa: E402
from app_support import screenshot as grab  # noqa: E402
from inference.models.registry import list_models  # noqa: E402
from studies.options import InvalidReason, Scale, StudyOptions  # noqa: E402
from studies.rating import RaterSession  # noqa: E402
from studies.unblinding import UnblindingService  # noqa: E402
from test_rating_support import MODELS, OPTIONS, PASSPHRASE, build_open_study  # noqa: E402

pytestmark = pytest.mark.gui
SHOTS = "rating_screen"


@pytest.fixture
def study(tmp_path: Path):
    db, study_id, raters = build_open_study(tmp_path, n_cases=3, n_raters=2, options=OPTIONS)
    yield db, study_id, raters
    db.close()


def open_window(qtbot, db, rater_id: int) -> RatingWindow:
    window = RatingWindow(db, rater_id)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert window.hasFocus()  # keys go to the screen, not into a text field
    return window


def screenshot(widget: QWidget, name: str, folder: Path) -> Path:
    from PySide6.QtTest import QTest

    QTest.qWait(20)  # let posted layout requests run, as the event loop would before painting
    return grab(widget, name, folder)


def stored(db, rater_id: int, position: int):
    """What the database holds, read through a fresh session (not the window's)."""
    return {o.label: o for o in RaterSession(db, rater_id).item(position).outputs}


def press(qtbot, window: QWidget, key: str | Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(window, key, modifier)


def test_keys_store_every_answer_at_once_and_complete_the_case(qtbot, study, tmp_path: Path) -> None:
    db, _, raters = study
    w = open_window(qtbot, db, raters[0])
    screenshot(w, f"{SHOTS}_01_fresh", tmp_path)
    assert w.position == 1 and [c.label for c in w.cards] == ["A", "B", "C", "D"]

    press(qtbot, w, "1")
    press(qtbot, w, "v")
    assert stored(db, raters[0], 1)["A"].valid is True

    press(qtbot, w, "2")
    press(qtbot, w, "i")  # invalid needs a reason: nothing is stored yet
    assert stored(db, raters[0], 1)["B"].valid is None and w.cards[1].pending_invalid
    screenshot(w, f"{SHOTS}_02_reason_pending", tmp_path)
    press(qtbot, w, "x")
    b = stored(db, raters[0], 1)["B"]
    assert (b.valid, b.invalid_reason) == (False, InvalidReason.ARTIFACTS)

    press(qtbot, w, "3")
    press(qtbot, w, "v")
    press(qtbot, w, "4")
    press(qtbot, w, "b")  # invalid, too blurry, in one key
    d = stored(db, raters[0], 1)["D"]
    assert (d.valid, d.invalid_reason) == (False, InvalidReason.TOO_BLURRY)

    # every output judged: the ranking lists the valid ones; moving C up stores the order
    assert w.ranking.labels() == ["A", "C"] and not w.accept_ranking_button.isHidden()
    press(qtbot, w, "3")
    press(qtbot, w, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    answers = stored(db, raters[0], 1)
    assert (answers["C"].rank, answers["A"].rank) == (1, 2)
    assert w.ranking.labels() == ["C", "A"]

    # N refuses while the scales are missing, and says why
    press(qtbot, w, "n")
    assert w.position == 1 and "Score output" in w.message.text()

    for index in (0, 2):  # the valid outputs A and C
        press(qtbot, w, str(index + 1))
        press(qtbot, w, "1", Qt.KeyboardModifier.ControlModifier)  # first scale (nasal form)
        press(qtbot, w, Qt.Key.Key_Down)
        press(qtbot, w, "4", Qt.KeyboardModifier.ControlModifier)  # second scale (vermilion border)
        press(qtbot, w, Qt.Key.Key_Up)
    answers = stored(db, raters[0], 1)
    assert dict(answers["A"].scales) == {Scale.NASAL_FORM: 1, Scale.VERMILION_BORDER: 4}
    assert dict(answers["C"].scales) == {Scale.NASAL_FORM: 1, Scale.VERMILION_BORDER: 4}

    press(qtbot, w, "c")
    assert w.comment.hasFocus()
    qtbot.keyClicks(w.comment, "Lip of C looks natural")
    press(qtbot, w.comment, Qt.Key.Key_Escape)
    assert RaterSession(db, raters[0]).item(1).comment == "Lip of C looks natural"
    screenshot(w, f"{SHOTS}_03_answered", tmp_path)

    press(qtbot, w, "n")
    assert w.position == 2
    progress = RaterSession(db, raters[0]).progress()
    assert progress.completed == 1 and RaterSession(db, raters[0]).item(1).completed
    assert w.progress.value() == 1

    press(qtbot, w, "p")
    assert w.position == 1 and w.ranking.labels() == ["C", "A"]  # the stored answers come back


def test_clicks_and_drag_and_drop_store_answers(qtbot, study, tmp_path: Path) -> None:
    db, _, raters = study
    w = open_window(qtbot, db, raters[1])
    cards = w.cards
    for card in cards:
        qtbot.mouseClick(card.valid_button, Qt.MouseButton.LeftButton)
    assert all(o.valid for o in stored(db, raters[1], 1).values())
    qtbot.mouseClick(cards[3].invalid_button, Qt.MouseButton.LeftButton)
    assert stored(db, raters[1], 1)["D"].valid is True  # still valid until a reason is chosen
    qtbot.mouseClick(cards[3].reason_buttons[InvalidReason.OTHER], Qt.MouseButton.LeftButton)
    assert stored(db, raters[1], 1)["D"].valid is True  # 'other' needs a note first
    assert cards[3].note.hasFocus()
    qtbot.keyClicks(cards[3].note, "lip doubled")
    qtbot.keyClick(cards[3].note, Qt.Key.Key_Return)
    d = stored(db, raters[1], 1)["D"]
    assert (d.valid, d.invalid_reason, d.note) == (False, InvalidReason.OTHER, "lip doubled")
    assert w.ranking.labels() == ["A", "B", "C"]

    qtbot.mouseClick(w.accept_ranking_button, Qt.MouseButton.LeftButton)  # keep the order as shown
    assert [stored(db, raters[1], 1)[x].rank for x in "ABC"] == [1, 2, 3]
    # a drag and drop inside the list is a row move of its model: C to the top
    w.ranking.model().moveRow(QModelIndex(), 2, QModelIndex(), 0)
    assert w.ranking.labels() == ["C", "A", "B"]
    assert [stored(db, raters[1], 1)[x].rank for x in "CAB"] == [1, 2, 3]

    # A becomes invalid: its rank goes and the others close up (C 1, B 2)
    qtbot.mouseClick(cards[0].invalid_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(cards[0].reason_buttons[InvalidReason.IMPLAUSIBLE_ANATOMY], Qt.MouseButton.LeftButton)
    answers = stored(db, raters[1], 1)
    assert answers["A"].rank is None and (answers["C"].rank, answers["B"].rank) == (1, 2)

    score_button = cards[1].score_groups[Scale.NASAL_FORM].button(2)
    qtbot.mouseClick(score_button, Qt.MouseButton.LeftButton)
    assert stored(db, raters[1], 1)["B"].scales[Scale.NASAL_FORM] == 2
    w.toggle_focus_mode()
    assert [c.isVisible() for c in cards] == [False, True, False, False]
    screenshot(w, f"{SHOTS}_04_single_output", tmp_path)
    w.toggle_focus_mode()
    assert all(c.isVisible() for c in cards)


@contextmanager
def locked_database(db):
    """A second connection holds SQLite's write lock (as another program would); the window's
    connections give up after 0.2 s instead of 30 s."""
    def short_wait(dbapi_conn, _record) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    event.listen(db.engine, "connect", short_wait)
    db.engine.dispose()
    holder = sqlite3.connect(db.data_dir / "cleftlip.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        event.remove(db.engine, "connect", short_wait)
        db.engine.dispose()


def test_locked_database_keeps_the_unsaved_answer_on_screen_to_repeat(qtbot, study) -> None:
    db, _, raters = study
    w = open_window(qtbot, db, raters[0])
    card = w.cards[0]
    score_button = w.cards[1].score_groups[Scale.NASAL_FORM].button(4)
    with locked_database(db):
        qtbot.mouseClick(card.valid_button, Qt.MouseButton.LeftButton)
        assert "Not saved" in w.message.text() and "busy" in w.message.text()
        assert card.valid_button.isChecked() and card.chip.text().startswith("Not saved")
        w.select(1)
        w.score(4)
        assert score_button.isChecked() and w.cards[1].chip.text().startswith("Not saved")
        w.comment.setPlainText("nostril too wide")
        w.save_comment()
        assert "Comment not saved" in w.message.text()
        assert w.comment.toPlainText() == "nostril too wide"
    answers = stored(db, raters[0], 1)
    assert answers["A"].valid is None and not answers["B"].scales   # nothing half saved
    qtbot.mouseClick(card.valid_button, Qt.MouseButton.LeftButton)   # the rater repeats the answer
    if not stored(db, raters[0], 1)["A"].valid:                      # a click on a checked button unchecks it
        qtbot.mouseClick(card.valid_button, Qt.MouseButton.LeftButton)
    w.select(1)
    w.score(4)
    w.save_comment()
    answers = stored(db, raters[0], 1)
    assert answers["A"].valid is True and answers["B"].scales[Scale.NASAL_FORM] == 4
    assert RaterSession(db, raters[0]).item(1).comment == "nostril too wide"
    assert w.message.text() == ""


def test_pause_and_resume_at_the_first_unfinished_case(qtbot, study) -> None:
    db, _, raters = study
    session = RaterSession(db, raters[0])
    item = session.item(1)
    for out in item.outputs:
        session.set_validity(1, out.label, True)
        for scale in OPTIONS.scales:
            session.set_scale(1, out.label, scale, 2)
    session.set_ranking(1, [o.label for o in item.outputs])
    session.complete(1)
    w = open_window(qtbot, db, raters[0])
    assert w.position == 2 and "resuming at case 2" in w.message.text()
    qtbot.keyClicks(w.comment, "half-written")
    w.close()  # pausing saves the comment typed so far
    assert RaterSession(db, raters[0]).item(2).comment == "half-written"


def _visible_texts(root: QWidget) -> list[str]:
    """Every string a rater could read or a screen reader could announce."""
    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        texts += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription(),
                  widget.statusTip(), widget.whatsThis(), widget.windowTitle()]
        if isinstance(widget, (QLabel, QAbstractButton, QLineEdit)):
            texts.append(widget.text())
        if isinstance(widget, (QLineEdit, QPlainTextEdit)):
            texts.append(widget.placeholderText())
        if isinstance(widget, QPlainTextEdit):
            texts.append(widget.toPlainText())
        if isinstance(widget, QListWidget):
            texts += [widget.item(i).text() for i in range(widget.count())]
            texts += [widget.item(i).toolTip() for i in range(widget.count())]
        if isinstance(widget, QComboBox):
            texts += [widget.itemText(i) for i in range(widget.count())]
    return [t for t in texts if t]


def test_no_model_name_or_file_name_reaches_the_rating_screen(qtbot, study) -> None:
    db, _, raters = study
    forbidden = {name.lower() for name in MODELS}
    for spec in list_models():
        forbidden |= {spec.name.lower(), spec.display_name.lower()}
    forbidden |= {"telea", "navier", "nclg", "opencv", "model"}
    w = open_window(qtbot, db, raters[0])
    for position in range(1, w.info.progress.total + 1):
        w.go_to(position)
        w.mark_valid(0)
        w.mark_invalid(InvalidReason.ARTIFACTS, 1)
        texts = _visible_texts(w)
        assert any("Output" in t for t in texts)  # the walk does see the screen's text
        file_stems = {o.image_path.stem for o in w.item.outputs}
        for text in texts:
            low = text.lower()
            assert not any(word in low for word in forbidden), text
            assert not any(stem in text for stem in file_stems), text
            assert not re.search(r"[0-9a-f]{16}", low), text  # no neutral ids or hashes either


def test_closed_study_shows_answers_read_only(qtbot, study, tmp_path: Path) -> None:
    db, study_id, raters = study
    RaterSession(db, raters[0]).set_validity(1, "A", True)
    UnblindingService(db).close_study(study_id, PASSPHRASE, "Dr Owner")
    w = open_window(qtbot, db, raters[0])
    assert "not open for rating" in w.banner.text() and w.banner.isVisible()
    assert not any(card.isEnabled() for card in w.cards)
    assert w.cards[0].valid_button.isChecked()
    press(qtbot, w, "2")
    press(qtbot, w, "v")
    assert stored(db, raters[0], 1)["B"].valid is None
    screenshot(w, f"{SHOTS}_05_closed", tmp_path)


def test_minimal_study_without_references_ranking_or_scales(qtbot, tmp_path: Path) -> None:
    options = StudyOptions(show_original=False, show_masked_input=False, ask_ranking=False, ask_comment=False)
    db, _, raters = build_open_study(tmp_path, n_cases=1, n_raters=1, options=options,
                                     models=("nclg-mt", "opencv-ns"))
    w = open_window(qtbot, db, raters[0])
    assert not (w.refs_panel.isVisible() or w.comment.isVisible() or w.ranking.isVisible())
    press(qtbot, w, "v")
    press(qtbot, w, "2")
    press(qtbot, w, "v")
    press(qtbot, w, "n")
    assert RaterSession(db, raters[0]).progress().completed == 1
    assert "Every case is rated" in w.message.text()
    screenshot(w, f"{SHOTS}_06_minimal", tmp_path)
    db.close()


def test_rating_screen_code_only_uses_the_rater_session() -> None:
    """The screen's modules never touch the owner-side services or the sealed mapping."""
    folder = Path(__file__).resolve().parents[1] / "app" / "rating"
    for name in ("rating_window.py", "pairwise_window.py", "output_card.py", "ranking.py", "outputs_area.py",
                 "image_view.py"):
        source = (folder / name).read_text()
        for banned in ("UnitOfWork", "output_models", "OutputModel", "sealed", "StudySetup", "analysis",
                       "revealed_model", "image_path.name", "image_path.stem"):
            assert banned not in source, (name, banned)


# --------------------------------------------------------------------------- issue 13: size, scales, PIN


def test_up_down_stop_at_the_first_and_last_scale_with_a_clear_mark(qtbot, study, tmp_path: Path) -> None:
    db, _, raters = study
    w = open_window(qtbot, db, raters[0])
    card = w.cards[0]
    assert w.active_scale == 0 and card.active_scale == 0
    assert card.scale_markers[0].text() == "▶" and card.scale_rows[0].property("active") == "true"
    assert all(c.active_scale is None for c in w.cards[1:])  # only the selected output shows the mark
    press(qtbot, w, Qt.Key.Key_Up)  # already the first: stays there (no wrap to the last)
    assert w.active_scale == 0 and "first scale" in w.message.text()
    press(qtbot, w, Qt.Key.Key_Down)
    assert w.active_scale == 1 and card.scale_markers[1].text() == "▶" and not card.scale_markers[0].text()
    press(qtbot, w, Qt.Key.Key_Down)  # the last (of two): stays there
    assert w.active_scale == 1 and "last scale" in w.message.text()
    assert card.scale_rows[1].property("active") == "true" and card.scale_rows[0].property("active") == "false"
    press(qtbot, w, "3", Qt.KeyboardModifier.ControlModifier)
    assert stored(db, raters[0], 1)["A"].scales == {Scale.VERMILION_BORDER: 3}
    press(qtbot, w, "2")  # the mark follows the selected output, on the same scale
    assert w.cards[1].active_scale == 1 and card.active_scale is None
    screenshot(w, f"{SHOTS}_07_scale_mark", tmp_path)


def test_window_uses_the_screen_and_one_output_alone_uses_the_whole_window(qtbot, tmp_path: Path) -> None:
    db, _, raters = build_open_study(tmp_path, n_cases=1, n_raters=1, options=OPTIONS, models=("nclg-mt", "opencv-ns"))
    w = open_window(qtbot, db, raters[0])
    free = w.screen().availableGeometry()
    assert w.width() >= min(free.width() * 0.9, 1024) and w.height() >= min(free.height() * 0.85, 700)
    w.resize(1920, 1080)
    qtbot.waitUntil(lambda: w.outputs_area.width() > 1300)
    two = w.cards[0].view.width()
    # two outputs on a wide window: the panel moves beside them, each image takes a large share of the width
    assert w.outputs_area.placement.footer == "side" and two > 0.3 * w.width()
    press(qtbot, w, "f")
    assert w.focus_mode and not w.refs_panel.isVisible() and not w.footer.isVisible()
    assert not w.cards[1].isVisible() and w.cards[0].controls_beside()
    one = w.cards[0].view.width()
    assert one > 1.3 * two and one > w.height() * 0.7  # the single output fills the window's height
    screenshot(w, f"{SHOTS}_08_single_full_window", tmp_path)
    press(qtbot, w, "f")
    assert w.refs_panel.isVisible() and w.footer.isVisible() and w.cards[1].isVisible()
    assert not w.cards[0].controls_beside() and w.cards[0].view.width() == two
    press(qtbot, w, "f")
    press(qtbot, w, "c")  # the comment is in the hidden panel: the full view steps aside for it
    assert not w.focus_mode and w.comment.hasFocus()
    db.close()


def test_a_rater_with_a_pin_cannot_be_answered_for_without_it(qtbot, study) -> None:
    from studies.rater_pin import PinError
    from studies.study_setup import StudySetup

    db, study_id, raters = study
    pinned = StudySetup(db).add_rater(study_id, "Dr Pin", "DP", pin="2468")
    with pytest.raises(PinError, match="enter it"):
        RatingWindow(db, pinned.id)
    with pytest.raises(PinError, match="not correct"):
        RatingWindow(db, pinned.id, pin="1357")
    assert not RaterSession(db, pinned.id).progress().completed
    w = RatingWindow(db, pinned.id, pin="2468")
    qtbot.addWidget(w)
    assert w.info.initials == "DP"
