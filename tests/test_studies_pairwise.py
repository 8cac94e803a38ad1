"""Pairwise studies without Qt: the pair plan, the rater's preference stored and completed, the
rater PIN, and the analysis (pairs table, Bradley-Terry scores, export)."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest
from test_studies_support import PASSPHRASE, build_open_study

from studies.analysis import analyse_study, export_analysis, pairs_frame
from studies.errors import AnswerError, SetupError
from studies.options import StudyOptions
from studies.pairwise import plan_pair_items
from studies.rater_pin import PinError, check_pin_format, hash_pin, verify_pin
from studies.rating import RaterSession, rater_has_pin, unlock_session
from studies.study_setup import StudySetup
from studies.unblinding import UnblindingService

PAIRS = StudyOptions(pairwise=True, ask_validity=False, ask_ranking=False, show_masked_input=True,
                     repeat_fraction=0.0)
MODELS = ("strong", "middle", "weak")


def test_pairwise_options_replace_validity_ranking_and_scales() -> None:
    assert PAIRS.pairwise and StudyOptions.from_json(PAIRS.to_json()) == PAIRS
    assert not StudyOptions.from_json(StudyOptions().to_json()).pairwise  # older studies: not pairwise
    with pytest.raises(SetupError, match="pairwise"):
        StudyOptions(pairwise=True)  # validity and ranking are on by default
    StudyOptions(pairwise=True, ask_validity=False, ask_ranking=False, ask_comment=False)  # a question enough


def test_every_pair_of_every_case_once_with_sides_at_random() -> None:
    outputs = {case: [f"{case}-{m}" for m in "abcd"] for case in (10, 11, 12)}
    plan = plan_pair_items(42, outputs, repeat_fraction=0.0)
    assert plan == plan_pair_items(42, outputs, 0.0) and plan != plan_pair_items(43, outputs, 0.0)
    assert len(plan) == 3 * 6 and all(len(p.output_ids) == 2 for p in plan)
    assert {(p.study_case_id, frozenset(p.output_ids)) for p in plan} == {
        (c, frozenset(pair)) for c, outs in outputs.items() for pair in itertools.combinations(outs, 2)}
    assert len({p.study_case_id for p in plan[:6]}) > 1  # the cases are interleaved
    many = plan_pair_items(1, {c: [f"{c}-{m}" for m in range(6)] for c in range(20)}, 0.0)
    left = Counter(p.output_ids[0].split("-")[1] for p in many)
    assert all(abs(n / (len(many) / 6) - 1) < 0.35 for n in left.values())  # no output always on one side
    repeated = plan_pair_items(5, outputs, repeat_fraction=0.25)
    again = [p for p in repeated if p.is_repeat]
    assert len(again) == round(18 * 0.25)
    for p in again:
        first = next(i for i, q in enumerate(repeated) if not q.is_repeat and q.study_case_id == p.study_case_id
                     and set(q.output_ids) == set(p.output_ids))
        assert repeated.index(p) > first + 1


@pytest.fixture()
def pairwise_study(tmp_path: Path):
    db, study_id, raters = build_open_study(tmp_path, n_cases=2, n_raters=2, models=MODELS, options=PAIRS)
    yield db, study_id, raters
    db.close()


def test_a_preference_is_stored_at_once_and_completes_the_pair(pairwise_study) -> None:
    db, _, raters = pairwise_study
    session = RaterSession(db, raters[0])
    assert session.info().questions.pairwise and session.progress().total == 2 * 3
    item = session.next_item()
    assert [o.label for o in item.outputs] == ["A", "B"] and item.preferred is None
    with pytest.raises(AnswerError, match="better output"):
        session.complete(item.position)
    with pytest.raises(AnswerError, match="no output 'C'"):
        session.set_preference(item.position, "C")
    with pytest.raises(AnswerError, match="does not ask"):
        session.set_validity(item.position, "A", True)
    session.set_preference(item.position, "a")
    assert RaterSession(db, raters[0]).item(item.position).preferred == "A"
    session.complete(item.position)
    session.set_preference(item.position, "B")  # changing the answer re-opens the pair until completed again
    assert not session.item(item.position).completed and session.item(item.position).preferred == "B"
    session.complete(item.position)
    assert session.progress().completed == 1


def _answer_by_name(db, study_id: int, rater_id: int, prefer: str) -> None:
    """Reveal which output is whose (owner side, for the test only) and always prefer ``prefer``."""
    from studies.sealing import Seal
    from studies.unit_of_work import UnitOfWork

    with UnitOfWork(db) as uow:
        study = uow.studies.get(study_id)
        seal = Seal(PASSPHRASE, study.seal_salt or "")
        names = {m.position: m.name for m in uow.studies.models(study_id)}
        model_of = {row.output_id: names[seal.open(row.sealed_token)] for row in uow.sealed.for_study(study_id)}
        slots = {(s.item_id, s.slot): model_of[s.output_id]
                 for s in uow.studies.item_outputs([i.id for i in uow.studies.items(rater_id)])}
        items = {i.position: i.id for i in uow.studies.items(rater_id)}
    session = RaterSession(db, rater_id)
    while (item := session.next_item()) is not None:
        left = slots[(items[item.position], 0)]
        session.set_preference(item.position, "A" if left == prefer else "B")
        if item.position == 1:
            session.set_comment(item.position, "A has a seam, B looks natural")
        session.complete(item.position)


def test_analysis_gives_bradley_terry_scores_and_exports_the_pairs(pairwise_study, tmp_path: Path) -> None:
    db, study_id, raters = pairwise_study
    for rater in raters:
        _answer_by_name(db, study_id, rater, prefer="strong")
    service = UnblindingService(db)
    service.close_study(study_id, PASSPHRASE, "Dr Owner")
    service.unblind(study_id, PASSPHRASE, "Dr Owner")
    pairs = pairs_frame(db, study_id)
    assert len(pairs) == 2 * 2 * 3
    assert set(pairs.loc[(pairs["left"] == "strong") | (pairs["right"] == "strong"), "winner"]) == {"strong"}
    analysis = analyse_study(db, study_id)
    assert analysis.pairwise and analysis.friedman is None and analysis.intra_rater == ()
    bt = {m.model: m for m in analysis.bradley_terry.models}
    assert bt["strong"].wins == bt["strong"].comparisons == 8
    assert bt["strong"].score > max(bt["middle"].score, bt["weak"].score)
    assert bt["strong"].ci_low > bt["weak"].ci_high
    assert set(analysis.bradley_terry_by_rater) == {"R0", "R1"}
    comments = [c for c in analysis.comments if c.source == "case"]
    assert comments and all(c.text.startswith("[A = left: ") for c in comments)
    assert {c.model for c in comments} <= set(MODELS)
    paths = export_analysis(db, study_id, tmp_path / "export")
    assert [p.name for p in paths] == ["ratings.csv", "model_summary.csv", "analysis.json", "pairs.csv"]
    data = json.loads(paths[2].read_text())
    assert data["pairwise"] and data["bradley_terry"]["n_comparisons"] == 12
    assert all("/" not in e["image_path"] for e in data["examples"])  # file names only, no local folders


def test_a_rater_pin_is_hashed_and_asked_when_the_session_starts(tmp_path: Path) -> None:
    db, study_id, raters = build_open_study(tmp_path, n_cases=1, n_raters=1, models=("m1", "m2"))
    setup = StudySetup(db)
    with pytest.raises(PinError, match="4 to 32"):
        setup.add_rater(study_id, "Dr Short", "DS", pin="12")
    pinned = setup.add_rater(study_id, "Dr Pin", "DP", pin="2468")
    assert not rater_has_pin(db, raters[0]) and rater_has_pin(db, pinned.id)
    from studies.unit_of_work import UnitOfWork

    with UnitOfWork(db) as uow:
        stored = uow.studies.rater(pinned.id).pin_hash
    assert stored.startswith("scrypt$") and "2468" not in stored
    with pytest.raises(PinError, match="enter it"):
        unlock_session(db, pinned.id)
    with pytest.raises(PinError, match="not correct"):
        unlock_session(db, pinned.id, "1357")
    assert unlock_session(db, pinned.id, "2468").info().initials == "DP"
    assert unlock_session(db, raters[0]).info().initials == "R0"  # no PIN, nothing asked
    assert verify_pin(None, None) and not verify_pin("2468", "md5$x") and not verify_pin("", hash_pin("2468"))
    with pytest.raises(PinError):
        check_pin_format(" 2468")
    db.close()


def test_comments_are_filed_under_the_models_their_letters_name() -> None:
    import pandas as pd

    from studies.analysis import annotate_labels, model_comments

    text, named = annotate_labels("C looks natural; A/B too flat. A bit of a seam on D?",
                                  {"A": "x", "B": "y", "C": "z"})
    assert named == ["z", "x", "y"]
    assert text.startswith("C (z) looks natural; A (x)/B (y) too flat. A (x) bit")  # "A" as a word is read as output A
    frame = pd.DataFrame({
        "rater": ["R0"] * 3 + ["R1"] * 3, "position": [1] * 3 + [4] * 3, "case": ["Case 001"] * 6,
        "label": list("ABC") * 2, "model": ["x", "y", "z", "y", "z", "x"],
        "invalid_note": ["", "lip doubled", "", "", "", ""],
        "comment": ["C is best"] * 3 + ["hard case"] * 3})
    comments = model_comments(frame)
    assert [(c.model, c.source, c.text) for c in comments] == [
        ("y", "invalid", "lip doubled"), ("z", "case", "C (z) is best"), (None, "case", "hard case")]


@pytest.mark.skipif(not __import__("shutil").which("pdftotext"), reason="Debian poppler-utils is not installed")
def test_pairwise_report_shows_bradley_terry_not_rankings(pairwise_study, tmp_path: Path) -> None:
    import subprocess

    from studies.reports.study_report import build_study_report

    db, study_id, raters = pairwise_study
    for rater in raters:
        _answer_by_name(db, study_id, rater, prefer="middle")
    service = UnblindingService(db)
    service.close_study(study_id, PASSPHRASE, "Dr Owner")
    service.unblind(study_id, PASSPHRASE, "Dr Owner")
    analysis = analyse_study(db, study_id)
    out = build_study_report(analysis, tmp_path / "pairs.pdf", study=StudySetup(db).get_study(study_id))
    text = " ".join(subprocess.run(["pdftotext", "-layout", out, "-"], capture_output=True, text=True,
                                   check=True).stdout.replace("\u00a0", " ").split())
    for words in ("Pairwise preferences (Bradley-Terry)", "Bradley-Terry score", "pairwise comparison",
                  "12 pairs compared", "Example outputs", "bootstrap"):
        assert words in text, words
    for absent in ("Friedman", "Fleiss", "Valid probability"):
        assert absent not in text, absent
    middle = next(m for m in analysis.bradley_terry.models if m.model == "middle")
    assert f"middle {middle.wins} {middle.comparisons} {middle.score:+.2f}" in text
