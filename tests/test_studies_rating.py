"""Rating sessions: answers saved at once, validation, resume, frozen study, tamper check,
and a rater process killed mid-session that loses no acknowledged answer."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_studies_support import build_open_study

from studies.errors import AnswerError, IntegrityError, StudyStateError
from studies.options import InvalidReason, Scale, StudyOptions
from studies.rating import RaterSession
from studies.study_setup import StudySetup

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def study(tmp_path: Path):
    db, study_id, raters = build_open_study(
        tmp_path, n_cases=3, n_raters=2, models=("m1", "m2", "m3"),
        options=StudyOptions(scales=(Scale.NASAL_FORM,), repeat_fraction=0.0))
    yield db, study_id, raters
    db.close()


def test_answers_are_validated(study) -> None:
    db, _, raters = study
    s = RaterSession(db, raters[0])
    item = s.next_item()
    assert item is not None and [o.label for o in item.outputs] == ["A", "B", "C"]
    with pytest.raises(AnswerError, match="why"):
        s.set_validity(item.position, "A", False)
    with pytest.raises(AnswerError, match="few words"):
        s.set_validity(item.position, "A", False, InvalidReason.OTHER)
    with pytest.raises(AnswerError, match="no output 'Q'"):
        s.set_validity(item.position, "Q", True)
    with pytest.raises(AnswerError, match="before ranking"):
        s.set_ranking(item.position, ["A", "B", "C"])
    s.set_validity(item.position, "A", True)
    s.set_validity(item.position, "B", False, "implausible_anatomy", "third nostril")
    s.set_validity(item.position, "C", True)
    with pytest.raises(AnswerError, match="valid: A, C"):
        s.set_ranking(item.position, ["A", "B", "C"])
    with pytest.raises(AnswerError, match="only once"):
        s.set_ranking(item.position, ["A", "A"])
    with pytest.raises(AnswerError, match="1 \\(very good\\) to 5"):
        s.set_scale(item.position, "A", Scale.NASAL_FORM, 6)
    with pytest.raises(AnswerError, match="does not ask"):
        s.set_scale(item.position, "A", Scale.NASOLABIAL_PROFILE, 2)
    s.set_ranking(item.position, ["c", "a"])
    with pytest.raises(AnswerError, match="Score output A"):
        s.complete(item.position)
    s.set_scale(item.position, "A", "nasal_form", 2)
    s.set_scale(item.position, "C", Scale.NASAL_FORM, 1)
    s.set_comment(item.position, "C looks natural")
    progress = s.complete(item.position)
    assert progress.completed == 1 and progress.next_position == item.position + 1
    done = s.item(item.position)
    assert done.completed and done.comment == "C looks natural"
    assert [(o.valid, o.rank, dict(o.scales)) for o in done.outputs] == [
        (True, 2, {Scale.NASAL_FORM: 2}), (False, None, {}), (True, 1, {Scale.NASAL_FORM: 1})]
    assert done.outputs[1].invalid_reason is InvalidReason.IMPLAUSIBLE_ANATOMY
    # changing an answer re-opens the item, and an output made invalid loses its rank
    s.set_validity(item.position, "C", False, "artifacts")
    again = s.item(item.position)
    assert not again.completed and again.outputs[2].rank is None
    with pytest.raises(AnswerError, match="Rank all valid"):
        s.complete(item.position)  # A still has rank 2, but it is the only valid one: must be rank 1
    s.set_ranking(item.position, ["A"])
    s.complete(item.position)


def test_single_valid_output_is_ranked_first_automatically(study) -> None:
    db, _, raters = study
    s = RaterSession(db, raters[0])
    pos = s.next_item().position
    s.set_validity(pos, "A", False, "too_blurry")
    s.set_validity(pos, "B", True)
    s.set_validity(pos, "C", False, "artifacts")
    s.set_scale(pos, "B", "nasal_form", 3)
    s.complete(pos)
    assert [o.rank for o in s.item(pos).outputs] == [None, 1, None]


def test_raters_see_only_their_own_answers_and_resume(study) -> None:
    db, _, (r0, r1) = study
    s0 = RaterSession(db, r0)
    first = s0.next_item()
    s0.set_validity(first.position, "A", True)
    s0.set_comment(first.position, "rater zero")
    other = RaterSession(db, r1)
    for pos in range(1, other.progress().total + 1):
        item = other.item(pos)
        assert all(o.valid is None for o in item.outputs) and item.comment == ""
    resumed = RaterSession(db, r0)  # a new session (another day) continues where the rater stopped
    item = resumed.next_item()
    assert item.position == first.position and item.outputs[0].valid is True and item.comment == "rater zero"


def test_study_is_frozen_once_open_and_tampering_is_detected(study) -> None:
    db, study_id, raters = study
    setup = StudySetup(db)
    with pytest.raises(StudyStateError, match="frozen"):
        setup.add_models(study_id, ["m4"])
    with pytest.raises(StudyStateError, match="frozen"):
        setup.add_cases(study_id, [1])
    s = RaterSession(db, raters[0])
    item = s.next_item()
    path = item.outputs[0].image_path
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="changed"):
        s.item(item.position)


def test_closed_study_refuses_answers(study) -> None:
    from test_studies_support import PASSPHRASE

    from studies.unblinding import UnblindingService

    db, study_id, raters = study
    UnblindingService(db).close_study(study_id, PASSPHRASE, "owner")
    s = RaterSession(db, raters[0])
    with pytest.raises(StudyStateError, match="not open"):
        s.set_validity(1, "A", True)


RATER_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from studies.database import open_database
    from studies.rating import RaterSession
    db = open_database(Path(sys.argv[1]))
    s = RaterSession(db, int(sys.argv[2]))
    while (item := s.next_item()) is not None:
        for out in item.outputs:
            s.set_validity(item.position, out.label, True)
            print("ACK", item.position, out.label, flush=True)
        s.set_ranking(item.position, [o.label for o in item.outputs])
        for out in item.outputs:
            s.set_scale(item.position, out.label, "nasal_form", 3)
        s.complete(item.position)
        print("DONE", item.position, flush=True)
""")


@pytest.mark.slow
def test_killed_rater_process_loses_no_saved_answer(study, tmp_path: Path) -> None:
    db, _, raters = study
    data_dir = db.data_dir
    proc = subprocess.Popen([sys.executable, "-c", RATER_SCRIPT, str(data_dir), str(raters[0])],
                            cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    acked: list[tuple[int, str]] = []
    done: list[int] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        parts = line.split()
        if parts[0] == "ACK":
            acked.append((int(parts[1]), parts[2]))
        elif parts[0] == "DONE":
            done.append(int(parts[1]))
        if len(acked) == 5:  # mid-way through the second case, while it keeps writing
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(data_dir / "cleftlip.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    s = RaterSession(db, raters[0])
    for position, label in acked:
        view = next(o for o in s.item(position).outputs if o.label == label)
        assert view.valid is True, f"answer {position}{label} was acknowledged but lost"
    assert done == [1] and s.item(1).completed
    assert s.progress().completed >= 1 and s.next_item().position == 2
