"""The one module of answer rules, used by the rating screen's service and by the merge of another
site's answer sheet: the same answer is refused in both places, with the same reason."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_studies_support import build_open_study

from studies import answer_rules as rules
from studies.errors import AnswerError, ExchangeError
from studies.exchange import export_answers, import_answers
from studies.options import InvalidReason, Scale, StudyOptions
from studies.rating import RaterSession

OPTIONS = StudyOptions(scales=(Scale.NASAL_FORM, Scale.VERMILION_BORDER))


def test_validity_needs_a_reason_and_other_needs_a_note() -> None:
    assert rules.invalid_reason(True, "artifacts", "") is None  # a valid output keeps no reason
    assert rules.invalid_reason(False, InvalidReason.TOO_BLURRY) == "too_blurry"
    assert rules.invalid_reason(False, "other", "lip doubled") == "other"
    with pytest.raises(AnswerError, match="needs a reason"):
        rules.invalid_reason(False, None)
    with pytest.raises(AnswerError, match="needs a reason"):
        rules.invalid_reason(False, "  ")
    with pytest.raises(AnswerError, match="Unknown reason"):
        rules.invalid_reason(False, "ugly")
    with pytest.raises(AnswerError, match="few words"):
        rules.invalid_reason(False, InvalidReason.OTHER, "  ")


def test_scores_ranks_and_rankings() -> None:
    assert rules.score(3) == 3 and rules.score(4.0) == 4
    for bad in (0, 6, 2.5, True, "3", None):
        with pytest.raises(AnswerError, match="1 \\(very good\\) to 5"):
            rules.score(bad)
    assert rules.rank(1) == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(AnswerError, match="starting at 1"):
            rules.rank(bad)
    assert rules.asked_scale("nasal_form", OPTIONS) is Scale.NASAL_FORM
    with pytest.raises(AnswerError, match="does not ask"):
        rules.asked_scale(Scale.NASOLABIAL_PROFILE, OPTIONS)
    with pytest.raises(AnswerError, match="Unknown scale"):
        rules.asked_scale("lip_length", OPTIONS)
    assert rules.ranking(["c", " a"], {"A", "C"}) == ["C", "A"]
    with pytest.raises(AnswerError, match="only once"):
        rules.ranking(["A", "a"], {"A"})
    with pytest.raises(AnswerError, match="valid: A, C"):
        rules.ranking(["A", "B"], {"A", "C"})
    assert rules.ranks_complete([2, 1, 3], 3) and not rules.ranks_complete([1, 1, 2], 3)
    assert not rules.ranks_complete([1, 3], 2) and rules.ranks_complete([], 0)
    assert rules.preference("b", ["A", "B"]) == "B"
    with pytest.raises(AnswerError, match="no output 'C'"):
        rules.preference("C", ["A", "B"])


def test_completion_in_the_order_the_rater_reads() -> None:
    out = rules.OutputAnswers
    full = {Scale.NASAL_FORM: 1, Scale.VERMILION_BORDER: 2}
    assert rules.completion_problem(OPTIONS, [out("A", None), out("B", True, 1, full)]) == \
        "Say whether output A is valid."
    assert "Score output B on: vermilion border" in rules.completion_problem(
        OPTIONS, [out("A", False), out("B", True, 1, {Scale.NASAL_FORM: 1})])
    assert rules.completion_problem(OPTIONS, [out("A", False), out("B", True, 1, full)]) is None
    assert "Rank all valid" in rules.completion_problem(
        OPTIONS, [out("A", True, 1, full), out("B", True, 1, full)])
    assert rules.completion_problem(OPTIONS, [out("A", False), out("B", False)]) is None  # nothing to rank
    pairs = StudyOptions(pairwise=True, ask_validity=False, ask_ranking=False)
    assert "better output" in rules.completion_problem(pairs, [out("A"), out("B")])
    assert rules.completion_problem(pairs, [out("A"), out("B")], preferred="B") is None
    assert rules.in_sheet(AnswerError("Scores go from 1"), "answer sheet line 4") == \
        "answer sheet line 4: scores go from 1"


def _sheet(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_screen_and_an_imported_sheet_refuse_the_same_answers(tmp_path: Path) -> None:
    db, study_id, raters = build_open_study(tmp_path, n_cases=1, n_raters=1, models=("m1", "m2"), options=OPTIONS)
    session = RaterSession(db, raters[0])
    with open(export_answers(db, study_id, tmp_path / "blank.csv"), encoding="utf-8") as fh:
        row = next(csv.DictReader(fh))
    label = row["label"]
    cases = [  # (what the screen is asked, the same answer in a sheet row, the rule's words)
        (lambda: session.set_validity(1, label, False, InvalidReason.OTHER, ""),
         {"valid": "0", "invalid_reason": "other", "invalid_note": ""}, "few words"),
        (lambda: session.set_validity(1, label, False, None),
         {"valid": "0", "invalid_reason": ""}, "needs a reason"),
        (lambda: session.set_scale(1, label, Scale.NASAL_FORM, 7),
         {"valid": "1", "nasal_form": "7"}, "1 \\(very good\\) to 5"),
        (None, {"valid": "1", "rank": "0"}, "starting at 1"),
    ]
    for on_screen, sheet_values, words in cases:
        if on_screen is not None:
            with pytest.raises(AnswerError, match=words):
                on_screen()
        with pytest.raises(ExchangeError, match=f"line 2.*{words}"):
            import_answers(db, study_id, _sheet(tmp_path / "s.csv", [dict(row, **sheet_values)]))
    assert all(o.valid is None for o in session.item(1).outputs)  # nothing was stored either way
    db.close()
