"""Two database backends behind one tiny interface: SQLite (default) and PostgreSQL (a DSN).

SQL is written once with ``?`` placeholders; the PostgreSQL backend rewrites them to ``%s``.
Both connections run in autocommit mode and every unit of work is an explicit transaction
(:meth:`Database.transaction`): ``BEGIN IMMEDIATE`` on SQLite (one writer at a time, waits up to
the busy timeout), a regular transaction on PostgreSQL, where claims add ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from alerts.outbox import migrations
from core.errors import InvalidInputError, SourceUnavailableError

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


def connect_sqlite(path: Path, *, busy_timeout_s: float = 30.0) -> Database:
    """Open (creating its folder) a SQLite outbox in WAL mode with ``synchronous=FULL``.

    Parameters
    ----------
    path : Path
        Database file, by default ``OUT/alerts/outbox.sqlite``.
    busy_timeout_s : float
        Seconds a writer waits for another writer's lock before failing.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    _enable_wal(conn, busy_timeout_s)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return Database(conn, "sqlite")


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
