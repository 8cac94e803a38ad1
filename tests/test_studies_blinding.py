"""Blinding: identical files, no model name where a rater can reach, sealed mapping, owner-only
unblinding after closing (logged), and rater orders drawn from stored seeds."""

from __future__ import annotations

import ast
import os
import struct
import zipfile
from dataclasses import fields
from pathlib import Path

import pytest
from sqlalchemy import event, select
from test_studies_support import MODELS, PASSPHRASE, build_open_study

import studies
from studies.errors import PassphraseError, StudyStateError
from studies.exchange import export_package
from studies.ordering import plan_rater_items
from studies.rating import RaterSession
from studies.sealing import Seal
from studies.schema import Output, OutputModel, Rater, RaterItem, RaterItemOutput
from studies.study_setup import StudySetup
from studies.unblinding import UnblindingService
from studies.unit_of_work import UnitOfWork

STUDIES_DIR = Path(studies.__file__).resolve().parent


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    db, study_id, raters = build_open_study(tmp_path_factory.mktemp("blind"), n_cases=3, n_raters=2)
    yield db, study_id, raters
    db.close()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes | None]]:
    """(type, payload for IHDR else None) of every PNG chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        out.append((kind, data[pos + 8:pos + 8 + length] if kind == b"IHDR" else None))
        pos += 12 + length
    return out


def output_paths(db, study_id) -> list[Path]:
    with UnitOfWork(db) as uow:
        return [db.data_dir / o.file_path for o in uow.studies.outputs(study_id)]


def test_output_files_are_indistinguishable_in_format_size_and_metadata(study) -> None:
    db, study_id, _ = study
    paths = output_paths(db, study_id)
    assert len(paths) == 3 * len(MODELS)
    first = paths[0].read_bytes()
    for path in paths:
        data = path.read_bytes()
        assert len(data) == len(first), "file size differs between outputs"
        assert png_chunks(data) == png_chunks(first), "PNG structure or header differs"
        assert {k for k, _ in png_chunks(data)} == {b"IHDR", b"IDAT", b"IEND"}  # no text/time/ICC chunks
        # modification time is the same fixed value (access times only record later reading)
        assert path.stat().st_mtime == paths[0].stat().st_mtime
        assert len(path.stem) == 32 and all(c in "0123456789abcdef" for c in path.stem)
    assert len({p.read_bytes() for p in paths}) == len(paths)  # contents really differ


def test_no_model_name_where_a_rater_can_reach(study, tmp_path: Path) -> None:
    db, study_id, raters = study
    names = [m.lower().encode() for m in MODELS]
    # 1. every file of the study (names and bytes)
    study_dir = next((db.data_dir / "studies").iterdir())
    for path in study_dir.rglob("*"):
        lowered = str(path.relative_to(db.data_dir)).lower().encode()
        assert not any(n in lowered for n in names)
        if path.is_file():
            assert not any(n in path.read_bytes().lower() for n in names)
    # 2. everything the rating service returns, and the SQL it runs
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        for rater_id in raters:
            session = RaterSession(db, rater_id)
            text = repr(session.info())
            for pos in range(1, session.progress().total + 1):
                text += repr(session.item(pos))
            session.set_validity(1, "A", True)
            assert not any(n.decode() in text.lower() for n in names)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert statements and not any("output_models" in s or "study_models" in s for s in statements)
    # 3. the package for another site
    package = export_package(db, study_id, tmp_path / "pkg.zip")
    with zipfile.ZipFile(package) as zf:
        for info in zf.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert not any(n in info.filename.lower().encode() for n in names)
            assert not any(n in zf.read(info).lower() for n in names)
        assert b"is_repeat" not in zf.read("manifest.json")


def test_rater_facing_code_has_no_path_to_the_mapping() -> None:
    for module in ("rating.py", "repositories/rater.py"):
        tree = ast.parse((STUDIES_DIR / module).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    for alias in node.names}
        modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert "OutputModel" not in imported and "StudyModel" not in imported
        assert "studies.unit_of_work" not in modules and "studies.repositories.sealed" not in modules
    assert not any(c.name.lower().startswith("model") for c in Output.__table__.columns)
    assert not any("time" in str(c.type).lower() or c.name.endswith("_at") for c in Output.__table__.columns)


def test_mapping_is_sealed_in_the_database(study) -> None:
    db, study_id, _ = study
    with UnitOfWork(db) as uow:
        study_row = uow.studies.get(study_id)
        salt = study_row.seal_salt
        rows = [(r.output_id, r.sealed_token, r.revealed_model) for r in uow.session.scalars(
            select(OutputModel).where(OutputModel.study_id == study_id))]
    assert len(rows) == 3 * len(MODELS)
    assert len({len(token) for _, token, _ in rows}) == 1  # tokens all the same length
    assert all(revealed is None for _, _, revealed in rows)
    assert not any(m.encode() in token.encode() for _, token, _ in rows for m in MODELS)
    with pytest.raises(PassphraseError):
        Seal("not the passphrase", salt).open(rows[0][1])
    positions = [Seal(PASSPHRASE, salt).open(token) for _, token, _ in rows]
    assert sorted(positions) == sorted(list(range(len(MODELS))) * 3)


def test_orders_are_seeded_stored_and_different_per_rater(study) -> None:
    db, study_id, raters = study
    with UnitOfWork(db) as uow:
        by_case: dict[int, list[str]] = {}
        for out in uow.studies.outputs(study_id):
            by_case.setdefault(out.study_case_id, []).append(out.id)
        sequences = []
        for rater_id in raters:
            rater = uow.session.get(Rater, rater_id)
            items = uow.session.scalars(select(RaterItem).where(RaterItem.rater_id == rater_id)
                                        .order_by(RaterItem.position)).all()
            stored = []
            for item in items:
                slots = uow.session.scalars(select(RaterItemOutput).where(RaterItemOutput.item_id == item.id)
                                            .order_by(RaterItemOutput.slot)).all()
                stored.append((item.study_case_id, item.is_repeat, tuple(s.output_id for s in slots)))
            plan = plan_rater_items(rater.seed, by_case, 0.25)
            assert stored == [(p.study_case_id, p.is_repeat, p.output_ids) for p in plan]
            repeats = [i for i in stored if i[1]]
            assert len(repeats) == 1  # 25 % of 3 cases -> 1 repeat, shown after its first showing
            first = next(i for i, s in enumerate(stored) if s[0] == repeats[0][0] and not s[1])
            assert stored.index(repeats[0]) > first
            sequences.append(stored)
    assert sequences[0] != sequences[1]


def test_unblinding_only_by_owner_after_closing_and_logged(tmp_path: Path) -> None:
    db, study_id, _ = build_open_study(tmp_path, n_cases=1, n_raters=1, models=("m1", "m2"))
    service = UnblindingService(db)
    with pytest.raises(StudyStateError, match="Close the study"):
        service.unblind(study_id, PASSPHRASE, "owner")
    with pytest.raises(PassphraseError):
        service.close_study(study_id, "not the passphrase", "someone")
    service.close_study(study_id, PASSPHRASE, "owner")
    with pytest.raises(PassphraseError, match="logged"):
        service.unblind(study_id, "guessing123", "curious rater")
    result = service.unblind(study_id, PASSPHRASE, "owner")
    assert result.outputs_per_model == {"m1": 1, "m2": 1}
    with pytest.raises(StudyStateError):
        service.unblind(study_id, PASSPHRASE, "owner")
    log = [(e.action, e.actor, e.success) for e in service.log(study_id)]
    assert log == [("unblind", "owner", False), ("close", "someone", False), ("close", "owner", True),
                   ("unblind", "curious rater", False), ("unblind", "owner", True), ("unblind", "owner", False)]
    db.close()


def test_generation_needs_the_owner_passphrase(tmp_path: Path) -> None:
    db, study_id, _ = build_open_study(tmp_path, n_cases=1, n_raters=0, models=("m1", "m2"))
    setup = StudySetup(db)
    draft = setup.create_study("Second", "Owner", PASSPHRASE)
    with pytest.raises(PassphraseError):
        list(setup.iter_generate_outputs(draft.id, lambda c, m, n: c, "wrong passphrase"))
    assert {f.name for f in fields(setup.get_study(study_id))} >= {"model_names", "status"}
    assert os.access(output_paths(db, study_id)[0], os.R_OK)
    db.close()
