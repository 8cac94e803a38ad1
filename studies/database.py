"""Open the app database by URL, migrate it on open, and hand out sessions.

SQLite (default, a file in the app data folder chosen by the caller) gets foreign keys, WAL and
full fsync on every connection; the same code runs on PostgreSQL when given its URL.
Migrations live in ``studies/migrations`` and run on open: the SQLite file is backed up first,
and a database written by a newer app version is refused rather than touched.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from studies.errors import DatabaseError, DatabaseTooNewError, DatabaseWriteError
from studies.schema import RATER_HIDDEN_TABLES, Base

DEFAULT_FILENAME = "cleftlip.sqlite3"
_RAW_ERRORS = (SQLAlchemyError, sqlite3.Error)
log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True)
class Database:
    """An open, migrated database plus the data folder that holds its image files."""

    url: str
    data_dir: Path
    engine: Engine
    session_factory: sessionmaker[Session]
    # Sessions of the rating screen: on SQLite, while one holds a connection, that connection cannot
    # read or change the case store, the model names or the sealed mapping (``schema.RATER_HIDDEN_TABLES``,
    # refused by an SQLite authorizer; see ``RaterConnectionSession``).
    rater_session_factory: sessionmaker[Session] | None = None

    def close(self) -> None:
        self.engine.dispose()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(Path(data_dir) / DEFAULT_FILENAME).resolve().as_posix()}"


def open_database(data_dir: Path, url: str | None = None, *, backup: bool = True) -> Database:
    """Open (creating or upgrading) the database; image files live under ``data_dir``."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = url or default_url(data_dir)
    migrate(url, backup=backup)
    engine = _make_engine(url, foreign_keys=True)
    return Database(url=url, data_dir=data_dir, engine=engine,
                    session_factory=sessionmaker(engine, expire_on_commit=False),
                    rater_session_factory=sessionmaker(engine, class_=RaterConnectionSession,
                                                       expire_on_commit=False))


class RaterConnectionSession(Session):
    """Session of the rating screen. On SQLite each transaction's connection gets an authorizer that
    refuses every read or write of ``schema.RATER_HIDDEN_TABLES`` ("not authorized"); the engine
    removes it when the connection goes back to the pool, so owner sessions are unaffected."""


@event.listens_for(RaterConnectionSession, "after_begin")
def _hide_tables_from_raters(_session: Session, _transaction: object, connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.connection.driver_connection.set_authorizer(_hiding(RATER_HIDDEN_TABLES))


def head_revision() -> str:
    """The newest schema revision this code knows."""
    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    if len(heads) != 1:
        raise DatabaseError(f"The app's schema migrations are inconsistent (heads: {heads}).")
    return heads[0]


def current_revision(url: str) -> str | None:
    engine = _make_engine(url, foreign_keys=False)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def migrate(url: str, *, backup: bool = True) -> str:
    """Bring the database at ``url`` to the newest schema; return the revision it is at.

    On SQLite the whole check-and-upgrade runs in one ``BEGIN EXCLUSIVE`` transaction, DDL
    included: a crash leaves the file as it was, and of two programs opening a fresh folder at
    once the second waits for the first and then finds the schema made.
    """
    cfg = _alembic_config()
    script = ScriptDirectory.from_config(cfg)
    head = head_revision()
    known = {rev.revision for rev in script.walk_revisions()}
    # Migrations run with foreign keys off: SQLite batch mode re-creates tables, and cascades
    # must not fire while it does. Integrity is checked after the upgrade instead.
    engine = _make_engine(url, foreign_keys=False, exclusive=True)
    try:
        with engine.begin() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None and current not in known:
                raise DatabaseTooNewError(
                    "This database was written by a newer version of the app "
                    f"(schema {current}). Please update the app; the database was not changed."
                )
            if current is None:
                _clear_half_made_schema(conn)
            if current == head:
                return head
            if current is not None and backup and engine.dialect.name == "sqlite":
                backup_sqlite(url, tag=current)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if engine.dialect.name == "sqlite":
                problems = conn.execute(text("PRAGMA foreign_key_check")).fetchall()
                if problems:
                    raise DatabaseError(f"The upgraded database has broken references: {problems[:5]}")
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise DatabaseError(f"The database could not be opened or upgraded. {describe_database_error(exc)}") from exc
    finally:
        engine.dispose()
    return head


def describe_database_error(exc: BaseException) -> str:
    """A message for the clinician about a failed database operation (no SQL, no values)."""
    text_ = str(getattr(exc, "orig", None) or exc).lower()
    if "locked" in text_ or "busy" in text_:
        return ("The database is busy: another window or program is using it. Nothing was saved; "
                "wait a moment and try again.")
    if "full" in text_ or "disk i/o" in text_ or "no space" in text_:
        return ("The disk that holds the app's data folder is full or cannot be written. Nothing was saved; "
                "free some space and try again.")
    if "readonly" in text_ or "read-only" in text_ or "permission" in text_ or "unable to open" in text_:
        return "The app's data folder cannot be written (no permission, or a read-only disk). Nothing was saved."
    if "malformed" in text_ or "not a database" in text_ or "corrupt" in text_:
        return "The database file is damaged. Nothing was saved; restore it from a backup copy."
    return f"A database operation failed ({type(getattr(exc, 'orig', None) or exc).__name__}). Nothing was saved."


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn any SQLAlchemy or SQLite error inside the block into a typed ``DatabaseWriteError``."""
    try:
        yield
    except _RAW_ERRORS as exc:
        _log_failure(exc)
        raise DatabaseWriteError(describe_database_error(exc)) from exc


def end_session(session: Session, exc: BaseException | None) -> None:
    """End a unit of work: roll back anything uncommitted, close, and type a raw database error."""
    with database_errors():
        try:
            session.rollback()  # no-op after commit(); undoes anything left uncommitted
        finally:
            session.close()
    if isinstance(exc, _RAW_ERRORS):
        _log_failure(exc)
        raise DatabaseWriteError(describe_database_error(exc)) from exc


def _log_failure(exc: BaseException) -> None:
    """Log SQLite's own message only: SQLAlchemy's text quotes the SQL parameters (patient data)."""
    orig = getattr(exc, "orig", None) or exc
    detail = str(orig) if isinstance(orig, sqlite3.Error) else ""
    log.warning("Database operation failed: %s %s", type(orig).__name__, detail)


def backup_sqlite(url: str, *, tag: str = "") -> Path | None:
    """Copy the SQLite file (consistently, through SQLite's backup API) next to itself."""
    path = _sqlite_path(url)
    if path is None or not path.exists():
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = path.with_name(f"{path.stem}.backup-{tag or 'x'}-{stamp}{path.suffix}")
    src = sqlite3.connect(path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _clear_half_made_schema(conn: Connection) -> None:
    """No schema version: a fresh file, one of ours left half made by an older version, or a stranger.

    Our own tables with no rows in any of them are what an interrupted first start leaves; they
    are dropped (in the caller's transaction) so the schema is made again. Anything else is refused.
    """
    names = set(inspect(conn).get_table_names()) - {"alembic_version"}
    if not names:
        return
    ours = set(Base.metadata.tables)
    if not names <= ours:
        raise DatabaseError("This file is not a database of this app (it has tables but no schema version).")
    if any(conn.execute(select(func.count()).select_from(Base.metadata.tables[n])).scalar() for n in names):
        raise DatabaseError("This database has data but no schema version; it was not changed. "
                            "Restore it from a backup copy or choose another data folder.")
    for table in reversed(Base.metadata.sorted_tables):
        if table.name in names:
            table.drop(conn)


def _hiding(tables: frozenset[str]):  # noqa: ANN202 - an sqlite3 authorizer callback
    """SQLite authorizer refusing any read or write of ``tables`` ("not authorized")."""
    touch = {sqlite3.SQLITE_READ, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE,
             sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_ALTER_TABLE}

    def authorize(action: int, arg1: str | None, _arg2: str | None, _db: str | None, _src: str | None) -> int:
        return sqlite3.SQLITE_DENY if action in touch and arg1 in tables else sqlite3.SQLITE_OK

    return authorize


def _make_engine(url: str, *, foreign_keys: bool, exclusive: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")  # first: the pragmas below may wait for another process
        cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        if path is not None:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # an answer that was acknowledged survives a crash
        cur.close()
        if exclusive:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, so DDL is inside the transaction

    @event.listens_for(engine, "checkin")
    def _no_authorizer(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        try:
            dbapi_conn.set_authorizer(None)  # a rating session's restriction ends with its transaction
        except sqlite3.ProgrammingError:  # a connection already closed (invalidated) needs nothing
            pass

    if exclusive:
        @event.listens_for(engine, "begin")
        def _begin_exclusive(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")

    return engine
