"""Study packages and answer sheets between sites: round trip, hand-filled sheet, idempotent
merge with the later answer winning, identity kept, damaged input refused."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_studies_support import PASSPHRASE, build_open_study

from studies.database import open_database
from studies.errors import ExchangeError, StudyStateError
from studies.exchange import SHEET_COLUMNS, export_answers, export_package, import_answers, import_package
from studies.options import StudyOptions
from studies.rating import RaterSession
from studies.study_setup import StudySetup
from studies.unblinding import UnblindingService


@pytest.fixture()
def home(tmp_path: Path):
    db, study_id, raters = build_open_study(tmp_path / "home", n_cases=2, n_raters=2, models=("m1", "m2"),
                                            options=StudyOptions(repeat_fraction=0.0))
    yield db, study_id, raters
    db.close()


def read_sheet(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def write_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=SHEET_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_hand_filled_blank_sheet_is_merged_once(home, tmp_path: Path) -> None:
    db, study_id, raters = home
    package = export_package(db, study_id, tmp_path / "p.zip", [raters[1]])
    with zipfile.ZipFile(package) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("answer_sheet.csv").decode())))
    assert len(rows) == 2 * 2 and all(r["valid"] == "" for r in rows)
    for row in rows:  # the remote surgeon fills the sheet in a spreadsheet
        row["valid"] = "1" if row["label"] == "A" else "0"
        row["invalid_reason"] = "" if row["label"] == "A" else "too_blurry"
        row["rank"] = "1" if row["label"] == "A" else ""
        row["comment"] = "fine" if row["label"] == "A" else ""
    sheet = write_sheet(tmp_path / "filled.csv", rows)
    report = import_answers(db, study_id, sheet)
    assert (report.rows, report.inserted, report.items_completed) == (4, 4 + 2 + 2, 2)
    session = RaterSession(db, raters[1])
    assert session.progress().completed == 2
    assert [(o.valid, o.rank) for o in session.item(1).outputs] == [(True, 1), (False, None)]
    assert session.item(1).comment == "fine"
    assert RaterSession(db, raters[0]).progress().completed == 0  # the other rater is untouched
    report = import_answers(db, study_id, sheet)
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 8)


def test_later_answer_wins_on_conflict(home, tmp_path: Path) -> None:
    db, study_id, raters = home
    local = RaterSession(db, raters[0])
    local.set_validity(1, "A", True)
    local.set_validity(1, "B", True)
    rows = [r for r in read_sheet(export_answers(db, study_id, tmp_path / "a.csv", [raters[0]]))
            if r["position"] == "1"]
    b_row = next(r for r in rows if r["label"] == "B")
    b_row.update(valid="0", invalid_reason="artifacts")
    b_row["answered_at"] = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    older = import_answers(db, study_id, write_sheet(tmp_path / "old.csv", [b_row]))
    assert older.kept_local == 1 and local.item(1).outputs[1].valid is True
    b_row["answered_at"] = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    newer = import_answers(db, study_id, write_sheet(tmp_path / "new.csv", [b_row]))
    assert newer.updated == 1 and local.item(1).outputs[1].valid is False


def test_satellite_copy_round_trip_keeps_identity(home, tmp_path: Path) -> None:
    db, study_id, raters = home
    package = export_package(db, study_id, tmp_path / "p.zip")
    site = open_database(tmp_path / "site")
    copy = import_package(site, package)
    assert import_package(site, package).id == copy.id  # importing twice gives the same copy
    assert copy.role.value == "satellite" and copy.n_outputs == 4 and copy.model_names == ()
    home_raters = {r.uid: r for r in StudySetup(db).list_raters(study_id)}
    site_raters = StudySetup(site).list_raters(copy.id)
    assert {r.uid for r in site_raters} == set(home_raters)
    # same order and labels at both sites
    for r in site_raters:
        home_id = home_raters[r.uid].id
        for pos in (1, 2):
            there = RaterSession(site, r.id).item(pos)
            here = RaterSession(db, home_id).item(pos)
            assert there.case_code == here.case_code
            assert [o.image_path.name for o in there.outputs] == [o.image_path.name for o in here.outputs]
    with pytest.raises(StudyStateError):
        StudySetup(site).add_rater(copy.id, "New", "NW")
    with pytest.raises(StudyStateError):
        UnblindingService(site).close_study(copy.id, PASSPHRASE, "someone")
    with pytest.raises(ExchangeError, match="owned by this site"):
        import_package(db, package)
    site.close()


def test_bad_packages_and_sheets_are_refused(home, tmp_path: Path) -> None:
    db, study_id, raters = home
    package = export_package(db, study_id, tmp_path / "p.zip")
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("outputs/"):
                data = data[:-10] + b"0123456789"
            dst.writestr(info, data)
    site = open_database(tmp_path / "site")
    with pytest.raises(ExchangeError, match="damaged"):
        import_package(site, damaged)
    (tmp_path / "not.zip").write_bytes(b"hello")
    with pytest.raises(ExchangeError, match="not a study package"):
        import_package(site, tmp_path / "not.zip")
    site.close()
    rows = read_sheet(export_answers(db, study_id, tmp_path / "a.csv"))
    bad = dict(rows[0], valid="0", invalid_reason="")
    with pytest.raises(ExchangeError, match="line 2: an invalid output needs a reason"):
        import_answers(db, study_id, write_sheet(tmp_path / "b1.csv", [bad]))
    bad = dict(rows[0], rater_uid="f" * 32, valid="1")
    with pytest.raises(ExchangeError, match="not part of this study"):
        import_answers(db, study_id, write_sheet(tmp_path / "b2.csv", [bad]))
    bad = dict(rows[0], output_id="0" * 32, valid="1")
    with pytest.raises(ExchangeError, match="does not match"):
        import_answers(db, study_id, write_sheet(tmp_path / "b3.csv", [bad]))
    good, bad = dict(rows[0], valid="1"), dict(rows[1], valid="maybe")
    with pytest.raises(ExchangeError, match="line 3"):
        import_answers(db, study_id, write_sheet(tmp_path / "b4.csv", [good, bad]))
    assert RaterSession(db, raters[0]).item(1).outputs[0].valid is None  # all-or-nothing


# --------------------------------------------------------------------------- pairwise studies between sites

PAIRS = StudyOptions(pairwise=True, ask_validity=False, ask_ranking=False, show_masked_input=True,
                     repeat_fraction=0.0)


@pytest.fixture()
def pairs_home(tmp_path: Path):
    db, study_id, raters = build_open_study(tmp_path / "pairs", n_cases=2, n_raters=2, models=("m1", "m2", "m3"),
                                            options=PAIRS)
    yield db, study_id, raters
    db.close()


def test_pairwise_answers_travel_to_another_site_and_back(pairs_home, tmp_path: Path) -> None:
    """Package out, pairs chosen at the other site, answer sheet back: the same choices, the same outputs,
    completed, counted by the analysis; merging twice changes nothing."""
    from studies.analysis import pairs_frame

    db, study_id, raters = pairs_home
    package = export_package(db, study_id, tmp_path / "p.zip", [raters[0]])
    with zipfile.ZipFile(package) as zf:
        blank = list(csv.DictReader(io.StringIO(zf.read("answer_sheet.csv").decode())))
    total = 2 * 3                                                   # 2 cases x 3 pairs of 3 models
    assert "preferred" in SHEET_COLUMNS and len(blank) == 2 * total and {r["preferred"] for r in blank} == {""}
    site = open_database(tmp_path / "site")
    copy = import_package(site, package)
    assert copy.options.pairwise and copy.role.value == "satellite"
    [there] = StudySetup(site).list_raters(copy.id)
    remote = RaterSession(site, there.id)
    chosen = {}
    for position in range(1, total + 1):
        chosen[position] = "A" if position % 3 else "B"
        remote.set_preference(position, chosen[position])
        remote.complete(position)
    sheet = export_answers(site, copy.id, tmp_path / "answers.csv")
    rows = read_sheet(sheet)
    assert len(rows) == 2 * total
    assert all(r["preferred"] == chosen[int(r["position"])] and r["completed"] == "1" and r["answered_at"]
               for r in rows)
    site_outputs = {(int(r["position"]), r["preferred"]): r["output_id"] for r in rows if r["label"] == r["preferred"]}
    site.close()

    report = import_answers(db, study_id, sheet)
    assert (report.rows, report.inserted, report.unchanged) == (2 * total, total, total)  # one choice per pair
    assert (report.items_completed, report.items_incomplete) == (total, 0)
    home = RaterSession(db, raters[0])
    assert home.progress().completed == total and RaterSession(db, raters[1]).progress().completed == 0
    for position in range(1, total + 1):
        item = home.item(position)
        assert item.completed and item.preferred == chosen[position]
    home_rows = read_sheet(export_answers(db, study_id, tmp_path / "home.csv", [raters[0]]))
    assert {(int(r["position"]), r["preferred"]): r["output_id"] for r in home_rows
            if r["label"] == r["preferred"]} == site_outputs         # the very same outputs won at both sites
    again = import_answers(db, study_id, sheet)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2 * total)

    service = UnblindingService(db)
    service.close_study(study_id, PASSPHRASE, "Dr Owner")
    service.unblind(study_id, PASSPHRASE, "Dr Owner")
    assert len(pairs_frame(db, study_id)) == total


def test_pair_choices_in_a_sheet_are_checked(pairs_home, home, tmp_path: Path) -> None:
    db, study_id, raters = pairs_home
    rows = [r for r in read_sheet(export_answers(db, study_id, tmp_path / "a.csv", [raters[0]]))
            if r["position"] == "1"]
    assert [r["label"] for r in rows] == ["A", "B"]
    with pytest.raises(ExchangeError, match="line 2, preferred: there is no output 'C' in this pair"):
        import_answers(db, study_id, write_sheet(tmp_path / "c.csv", [dict(rows[0], preferred="C")]))
    with pytest.raises(ExchangeError, match="line 3: the pair choice A differs from the choice B"):
        import_answers(db, study_id, write_sheet(tmp_path / "d.csv", [dict(rows[0], preferred="b"),
                                                                       dict(rows[1], preferred="A")]))
    with pytest.raises(ExchangeError, match="does not ask about validity"):
        import_answers(db, study_id, write_sheet(tmp_path / "e.csv", [dict(rows[0], valid="1")]))
    with pytest.raises(ExchangeError, match="does not ask for a ranking"):
        import_answers(db, study_id, write_sheet(tmp_path / "f.csv", [dict(rows[0], rank="1")]))
    assert RaterSession(db, raters[0]).item(1).preferred is None    # all-or-nothing
    # a later choice wins, an older one is kept out
    local = RaterSession(db, raters[0])
    local.set_preference(1, "A")
    older = dict(rows[0], preferred="B", answered_at=(datetime.now(timezone.utc) - timedelta(days=1)).isoformat())
    assert import_answers(db, study_id, write_sheet(tmp_path / "g.csv", [older])).kept_local == 1
    newer = dict(older, answered_at=(datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat())
    assert import_answers(db, study_id, write_sheet(tmp_path / "h.csv", [newer])).updated == 1
    assert local.item(1).preferred == "B" and local.item(1).completed   # merged, then completed
    # a pair choice is not an answer of a study that ranks
    ranks_db, ranks_id, ranks_raters = home
    row = read_sheet(export_answers(ranks_db, ranks_id, tmp_path / "r.csv", [ranks_raters[0]]))[0]
    with pytest.raises(ExchangeError, match="does not compare outputs in pairs"):
        import_answers(ranks_db, ranks_id, write_sheet(tmp_path / "i.csv", [dict(row, preferred="A")]))
