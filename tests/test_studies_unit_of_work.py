"""The units of work type every database error, and the one answers join feeds analysis and exchange."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from test_studies_support import build_open_study

from studies.database import open_database
from studies.errors import DatabaseWriteError, StudyError
from studies.options import Scale, StudyOptions
from studies.repositories.rater import RaterUnitOfWork
from studies.schema import CommentAnswer, RankAnswer, Rater, ScaleAnswer, ValidityAnswer, utcnow
from studies.unit_of_work import UnitOfWork


@pytest.fixture()
def db(tmp_path: Path):
    database = open_database(tmp_path / "data")
    yield database
    database.close()


@pytest.mark.parametrize("unit", [UnitOfWork, RaterUnitOfWork], ids=["owner", "rater"])
def test_a_failing_statement_leaves_as_a_typed_study_error(db, unit) -> None:
    with pytest.raises(DatabaseWriteError) as info:
        with unit(db) as uow:
            uow.session.execute(text("SELECT * FROM no_such_table"))
    assert isinstance(info.value, StudyError) and "no_such_table" not in str(info.value)  # no SQL shown
    assert info.value.__cause__ is not None  # the raw error stays attached for the log


def test_a_refused_commit_is_typed_and_rolled_back(db) -> None:
    with pytest.raises(DatabaseWriteError):
        with UnitOfWork(db) as uow:
            uow.session.add(Rater(uid="x" * 8, study_id=999, name="Nobody", initials="N", created_at=utcnow()))
            uow.commit()  # foreign key: study 999 does not exist
    with UnitOfWork(db) as uow:
        assert uow.session.execute(text("SELECT count(*) FROM raters")).scalar() == 0


def test_a_damaged_database_file_is_typed(db) -> None:
    db.engine.dispose()
    path = db.data_dir / "cleftlip.sqlite3"
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)
    path.write_bytes(b"this is not a database " * 400)
    with pytest.raises(DatabaseWriteError, match="damaged|failed"):
        with UnitOfWork(db) as uow:
            uow.studies.list()


def test_answer_rows_join_outputs_with_every_answer(tmp_path: Path) -> None:
    db, study_id, raters = build_open_study(tmp_path, n_cases=2, n_raters=2, models=("m1", "m2"),
                                            options=StudyOptions(repeat_fraction=0.0))
    at = utcnow()
    with UnitOfWork(db) as uow:
        items = uow.studies.items(raters[0])
        first = uow.studies.item_outputs([items[0].id])[0]
        uow.session.add_all([
            ValidityAnswer(item_output_id=first.id, valid=True, answered_at=at),
            RankAnswer(item_output_id=first.id, rank=1, answered_at=at),
            ScaleAnswer(item_output_id=first.id, scale=Scale.NASAL_FORM.value, score=4, answered_at=at),
            ScaleAnswer(item_output_id=first.id, scale=Scale.NASAL_SYMMETRY.value, score=2, answered_at=at),
            CommentAnswer(item_id=items[0].id, text="ok", answered_at=at),
        ])
        items[0].completed_at = at
        first_item, first_shown = items[0].id, first.id
        uow.commit()
    with UnitOfWork(db) as uow:
        rows = uow.studies.answer_rows(study_id)
        expected = []  # the same rows assembled table by table, as analysis and export did before
        for rater in uow.studies.raters(study_id):
            by_id = {i.id: i for i in uow.studies.items(rater.id)}
            shown = uow.studies.item_outputs(list(by_id))
            validity, ranks, scales = uow.studies.answers([s.id for s in shown])
            comments = uow.studies.comments(list(by_id))
            expected += [(rater.id, s.item_id, s.id, validity.get(s.id), ranks.get(s.id), comments.get(s.item_id),
                          tuple(scales.get(s.id, []))) for s in shown]
        assert [(r.rater.id, r.item.id, r.shown.id, r.validity, r.rank, r.comment, r.scales) for r in rows] == expected
        assert len(rows) == 2 * 2 * 2  # raters x cases x models
        answered = next(r for r in rows if r.shown.id == first_shown)
        assert answered.validity.valid and answered.rank.rank == 1 and answered.comment.text == "ok"
        assert sorted((a.scale, a.score) for a in answered.scales) == [("nasal_form", 4), ("nasal_symmetry", 2)]
        assert {r.item.id for r in uow.studies.answer_rows(study_id, completed_only=True)} == {first_item}
        assert {r.rater.id for r in uow.studies.answer_rows(study_id, [raters[1]])} == {raters[1]}
    db.close()
