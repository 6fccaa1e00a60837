"""Two database backends behind one tiny interface: SQLite (default) and PostgreSQL (a DSN).

SQL is written once with ``?`` placeholders; the PostgreSQL backend rewrites them to ``%s``.
Both connections run in autocommit mode and every unit of work is an explicit transaction
(:meth:`Database.transaction`): ``BEGIN IMMEDIATE`` on SQLite (one writer at a time, waits up to
the busy timeout), a regular transaction on PostgreSQL, where claims add ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from alerts.outbox import migrations
from core.errors import DataReadError, InvalidInputError, SourceUnavailableError


class OutboxMissingError(InvalidInputError):
    """A command that only reads found no outbox: the folder never held a run (exit 2)."""


class OutboxCorruptError(DataReadError):
    """The outbox file exists but is not a readable outbox (zero bytes, not SQLite): exit 1."""


Row = dict[str, Any]


class Database:
    """A connection plus the dialect details the outbox needs.

    Parameters
    ----------
    conn : sqlite3.Connection or psycopg.Connection
        An autocommit connection.
    dialect : {"sqlite", "postgres"}
        Which SQL dialect ``conn`` speaks.
    """

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self._depth = 0

    @property
    def skip_locked(self) -> str:
        """Suffix that makes a claim skip rows other relays are claiming (PostgreSQL only)."""
        return " FOR UPDATE OF o SKIP LOCKED" if self.dialect == "postgres" else ""

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgres" else sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a statement and return its rows as dicts (empty list when it returns none)."""
        cur = self.conn.execute(self._sql(sql), tuple(params))
        if cur.description is None:
            return []
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return the number of rows it changed."""
        cur = self.conn.execute(self._sql(sql), tuple(params))
        return int(cur.rowcount or 0)

    def script(self, sql: str) -> None:
        """Run several ``;``-separated DDL statements (inside the current transaction)."""
        for statement in sql.split(";"):
            if statement.strip():
                self.conn.execute(statement)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction; nested calls join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            if self.dialect == "postgres":
                with self.conn.transaction():
                    yield self
            else:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                self.conn.execute("COMMIT")
        finally:
            self._depth = 0

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def connect_sqlite(path: Path, *, busy_timeout_s: float = 30.0, create: bool = True) -> Database:
    """Open a SQLite outbox in WAL mode with ``synchronous=FULL``.

    A new outbox is built in a temporary file and linked into place, so a zero-byte
    ``outbox.sqlite`` is never a legitimate state: it is refused as damaged, as is any file that is
    not a SQLite database, instead of being read as an empty outbox (issue 15).

    Parameters
    ----------
    path : Path
        Database file, by default ``OUT/alerts/outbox.sqlite``.
    busy_timeout_s : float
        Seconds a writer waits for another writer's lock before failing.
    create : bool
        Create the outbox (and its folder) when it does not exist; read-only commands pass False
        and get :class:`OutboxMissingError` instead.
    """
    if not path.exists():
        if not create:
            raise OutboxMissingError(
                f"outbox: {path}: not found: {path.parent.parent} never held a run; check --out "
                "(or --dsn), or run `geospace run` / `geospace demo` there first"
            )
        _create_sqlite(path, busy_timeout_s)
    if path.is_dir() or path.stat().st_size == 0:
        raise OutboxCorruptError(
            _damaged(path, "it is empty (zero bytes)" if path.is_file() else "a folder")
        )
    try:
        conn = sqlite3.connect(
            str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:  # checked before anything is written to the file
            conn.close()
            raise OutboxCorruptError(_damaged(path, "it holds no outbox tables"))
        _enable_wal(conn, busy_timeout_s)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as err:
        if "locked" in str(err):
            raise
        raise OutboxCorruptError(_damaged(path, f"SQLite says: {err}")) from err
    return Database(conn, "sqlite")


def _damaged(path: Path, why: str) -> str:
    return (
        f"outbox: {path}: damaged, {why}; restore it from a backup (copy outbox.sqlite with its "
        "-wal file while no geospace process runs), or move it aside and rerun the flows to "
        "rebuild it (revisions only in this file are lost)"
    )


def _create_sqlite(path: Path, busy_timeout_s: float) -> None:
    """Build an empty, migrated outbox in a temporary file and link it into place atomically
    (several processes creating it at once: the first link wins, the others use it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    conn = sqlite3.connect(str(tmp), timeout=busy_timeout_s, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        migrate(Database(conn, "sqlite"))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _enable_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch to WAL; on a brand-new file, concurrent openers can see "database is locked" here
    without SQLite's busy handler being used (the switch needs an exclusive lock), so retry."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def connect_postgres(dsn: str) -> Database:
    """Open a PostgreSQL outbox from a libpq DSN or URL (credentials never appear in errors)."""
    import psycopg

    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as err:
        raise SourceUnavailableError(
            "cannot connect to the PostgreSQL outbox (DSN given by configuration); check that the "
            f"server runs and the DSN is right: {type(err).__name__}"
        ) from err
    return Database(conn, "postgres")


def migrate(db: Database) -> int:
    """Apply the backend's pending migrations; return the schema version now in force."""
    scripts = migrations.POSTGRES if db.dialect == "postgres" else migrations.SQLITE
    with db.transaction():
        if db.dialect == "postgres":
            # Serialise concurrent first starts (several relays at once).
            db.query("SELECT pg_advisory_xact_lock(741105)")
        db.execute(migrations.SCHEMA_VERSION_TABLE)
        rows = db.query("SELECT MAX(version) AS v FROM schema_version")
        current = int(rows[0]["v"] or 0)
        latest = scripts[-1][0]
        if current > latest:
            raise InvalidInputError(
                f"outbox schema version {current} is newer than this code knows ({latest}); "
                "upgrade geospace before using this outbox"
            )
        for version, sql in scripts:
            if version > current:
                db.script(sql)
                db.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (version, _utc_now_iso()),
                )
                current = version
    return current


def _utc_now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
