"""Database opening: migrations on a fresh SQLite file, pragmas, refusal of newer/foreign files,
schema == migrations, and the same code path on PostgreSQL (offline SQL; live if a server can start)."""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from studies.database import MIGRATIONS_DIR, backup_sqlite, head_revision, open_database
from studies.errors import DatabaseError, DatabaseTooNewError
from studies.schema import Base, Mask, utcnow

REPO = Path(__file__).resolve().parents[1]


def test_fresh_sqlite_file_is_migrated_with_pragmas(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        assert (tmp_path / "cleftlip.sqlite3").is_file()
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
        assert {"cases", "masks", "predictions", "studies", "outputs", "output_models", "raters",
                "rater_items", "validity_answers", "rank_answers", "scale_answers", "unblinding_log"} <= tables
        # foreign keys are really enforced
        with db.session_factory() as session, pytest.raises(SAIntegrityError):
            session.add(Mask(case_id=999, file_path="x", sha256="0" * 64, width=1, height=1, updated_at=utcnow()))
            session.commit()
    finally:
        db.close()
    # reopening an up-to-date database makes no backup
    open_database(tmp_path).close()
    assert not list(tmp_path.glob("*.backup-*"))


def test_migrations_match_the_schema_module(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        db.close()


def test_newer_database_is_refused_and_untouched(tmp_path: Path) -> None:
    open_database(tmp_path).close()
    path = tmp_path / "cleftlip.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    before = path.read_bytes()
    with pytest.raises(DatabaseTooNewError, match="newer version"):
        open_database(tmp_path)
    assert path.read_bytes() == before


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cleftlip.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE something_else (x INTEGER)")
    with pytest.raises(DatabaseError, match="not a database of this app"):
        open_database(tmp_path)


def test_interrupted_first_start_leaves_nothing_half_made(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The schema is made in one transaction: a failure after the last table rolls every table back."""
    real_upgrade = command.upgrade

    def upgrade_then_die(cfg, revision) -> None:
        real_upgrade(cfg, revision)
        raise sqlite3.OperationalError("disk I/O error")   # as a crash or full disk right before COMMIT

    monkeypatch.setattr("studies.database.command.upgrade", upgrade_then_die)
    with pytest.raises(DatabaseError, match="full or cannot be written"):
        open_database(tmp_path)
    with sqlite3.connect(tmp_path / "cleftlip.sqlite3") as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == []
    monkeypatch.undo()
    open_database(tmp_path).close()


def test_half_made_database_from_an_older_start_is_recovered(tmp_path: Path) -> None:
    """Tables but no schema version and no rows (an interrupted older first start): made again."""
    path = tmp_path / "cleftlip.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    tables = [Base.metadata.tables[n] for n in ("cases", "studies", "masks")]
    Base.metadata.create_all(engine, tables=tables)
    engine.dispose()
    db = open_database(tmp_path)
    try:
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        db.close()


def test_half_made_database_with_rows_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "cleftlip.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["studies"]])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO studies (uid, title, description, owner_name, status, role, options_json, "
                          "created_at) VALUES ('u', 't', '', 'o', 'draft', 'owner', '{}', '2026-01-01')"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="has data but no schema version"):
        open_database(tmp_path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT title FROM studies").fetchall() == [("t",)]
        assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {"studies"}


_OPEN_SCRIPT = """
import sys, time
from pathlib import Path
from studies.database import open_database
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
open_database(Path(sys.argv[1])).close()
print("ok")
"""


def test_two_processes_starting_on_a_fresh_folder_both_succeed(tmp_path: Path) -> None:
    import sys
    import time

    start = f"{time.time() + 3.0:.3f}"                     # both start at the same moment, after imports
    procs = [subprocess.Popen([sys.executable, "-c", _OPEN_SCRIPT, str(tmp_path / "data"), start],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0 and out.strip() == "ok", err
    db = open_database(tmp_path / "data")
    try:
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    finally:
        db.close()
    assert not list((tmp_path / "data").glob("*.backup-*"))


def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO cases (uid, pseudonym, created_at, updated_at, notes, photo_path, "
                          "photo_sha256) VALUES ('u1', 'P1', '2024-01-01', '2024-01-01', '', 'p', 'h')"))
    target = backup_sqlite(db.url, tag="0001")
    db.close()
    assert target is not None and target.name.startswith("cleftlip.backup-0001-")
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT pseudonym FROM cases").fetchall() == [("P1",)]


def test_postgresql_offline_migration_sql() -> None:
    """The same migrations render valid PostgreSQL DDL (no server needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", "postgresql+psycopg://user@localhost/db")
    buf = io.StringIO()
    cfg.stdout = buf
    with redirect_stdout(buf):
        command.upgrade(cfg, "head", sql=True)
    sql = buf.getvalue()
    assert "CREATE TABLE output_models" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql and "BOOLEAN" in sql
    assert "REFERENCES outputs (id) ON DELETE CASCADE" in sql


def _start_postgres() -> tuple[str, list[str], Path] | None:
    bindir = Path("/usr/lib/postgresql/15/bin")
    runuser = shutil.which("runuser")
    if not (bindir / "initdb").exists() or runuser is None:
        return None
    pytest.importorskip("psycopg")
    prefix = [runuser, "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="studies-pg-"))  # pytest's tmp is private to root
    root.chmod(0o755)
    shutil.chown(root, "postgres")
    try:
        subprocess.run(prefix + [str(bindir / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True, timeout=60)
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-w", "-l", str(root / "log"),
                                 "-o", f"-k {root} -c listen_addresses='' -p 54331", "start"],
                       check=True, capture_output=True, timeout=60)
    except (subprocess.SubprocessError, OSError, LookupError):
        shutil.rmtree(root, ignore_errors=True)
        return None
    stop = prefix + [str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop"]
    return f"postgresql+psycopg://postgres@/postgres?host={root}&port=54331", stop, root


@pytest.mark.slow
def test_same_code_runs_on_postgresql(tmp_path: Path) -> None:
    """Full study flow on a throw-away PostgreSQL cluster (skipped where none can be started)."""
    started = _start_postgres()
    if started is None:
        pytest.skip("no PostgreSQL server can be started here")
    url, stop, root = started
    try:
        from test_studies_support import PASSPHRASE, build_open_study

        import test_studies_support as support
        from studies.analysis import analyse_study
        from studies.rating import RaterSession
        from studies.unblinding import UnblindingService

        real_open = support.open_database
        support.open_database = lambda data_dir: real_open(data_dir, url)  # type: ignore[assignment]
        try:
            db, study_id, raters = build_open_study(tmp_path, n_cases=2, n_raters=2)
        finally:
            support.open_database = real_open  # type: ignore[assignment]
        assert db.engine.dialect.name == "postgresql"
        for rater_id in raters:
            session = RaterSession(db, rater_id)
            while (item := session.next_item()) is not None:
                for out in item.outputs:
                    session.set_validity(item.position, out.label, out.label != "D", "artifacts")
                session.set_ranking(item.position, ["C", "B", "A"])
                session.complete(item.position)
        UnblindingService(db).close_study(study_id, PASSPHRASE, "owner")
        UnblindingService(db).unblind(study_id, PASSPHRASE, "owner")
        analysis = analyse_study(db, study_id)
        assert sum(m.n_rated for m in analysis.overall) == 2 * 2 * 4
        db.close()
    finally:
        subprocess.run(stop, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
