"""The outbox store: revisions, their per-sink outbox rows, events, findings, tickets.

A revision and its outbox rows (one per sink) are written in ONE transaction, so a revision is
never recorded without the messages that announce it, nor the reverse. Producing the same
revision again (same ``message_key``) changes nothing. Statuses (DESIGN section 5)::

    pending_approval -> queued -> sent
                     -> rejected | expired          (never sent)
                        queued   -> dead             (after N attempts; retry requeues)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alerts.model import RevisionStatus
from alerts.outbox.db import Database, Row, connect_postgres, connect_sqlite, migrate
from core.errors import InvalidInputError

if TYPE_CHECKING:
    from alerts.sinks.routing import Routing

# The statuses of alerts.model.RevisionStatus, as the plain strings stored in the tables.
PENDING_APPROVAL = RevisionStatus.PENDING_APPROVAL.value
QUEUED = RevisionStatus.QUEUED.value
SENT = RevisionStatus.SENT.value
REJECTED = RevisionStatus.REJECTED.value
EXPIRED = RevisionStatus.EXPIRED.value
DEAD = RevisionStatus.DEAD.value
STATUSES = (PENDING_APPROVAL, QUEUED, SENT, REJECTED, EXPIRED, DEAD)

_REQUIRED = ("alert_key", "revision", "message_key", "hazard", "subject_id", "level")


def default_path(out_dir: str | Path) -> Path:
    """Where the default SQLite outbox of an output folder lives: ``OUT/alerts/outbox.sqlite``."""
    return Path(out_dir) / "alerts" / "outbox.sqlite"


def subject_key(hazard: str, subject_id: str) -> str:
    """The ordering key: revisions sharing it are delivered in the order they were produced."""
    return f"{hazard}/{subject_id}"


def to_epoch(value: Any) -> float | None:
    """POSIX seconds from None, a number, a datetime or an ISO 8601 string (naive = UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def revision_fields(revision: Any) -> dict[str, Any]:
    """Normalise a ``Revision`` (anything with ``to_dict()``) or a mapping into outbox columns."""
    data = revision.to_dict() if hasattr(revision, "to_dict") else dict(revision)
    missing = [name for name in _REQUIRED if data.get(name) in (None, "")]
    if missing:
        raise InvalidInputError(
            f"revision {data.get('message_key', '?')} lacks {', '.join(missing)}; "
            "build it with alerts.model so every identity field is set"
        )
    status = str(_plain(data.get("status")) or QUEUED)
    if status not in (PENDING_APPROVAL, QUEUED):
        status = PENDING_APPROVAL if data.get("needs_approval") else QUEUED
    return {
        "alert_key": str(data["alert_key"]),
        "revision": int(data["revision"]),
        "message_key": str(data["message_key"]),
        "hazard": str(_plain(data["hazard"])),
        "subject_id": str(data["subject_id"]),
        "level": int(data["level"]),
        "msg_type": str(_plain(data.get("msg_type") or data.get("msg") or "Alert")),
        "status": status,
        "onset": to_epoch(data.get("onset")),
        "event_start": data.get("event_start"),
        "payload": json.dumps(data, sort_keys=True, default=str),
    }


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


class OutboxStore:
    """The outbox on one database; cheap to open, one per process or thread.

    Parameters
    ----------
    db : Database
        An open, migrated database (see :func:`open_store`).
    clock : callable
        Returns POSIX seconds; tests pass a fake clock.
    routing : Routing, optional
        The profile's sink routing, for revisions the outbox produces itself (dead-row notices
        go to the sinks that accept notices); None sends them to the dead revision's sinks.
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], float] = time.time,
        routing: Routing | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.routing = routing

    # -- producing ---------------------------------------------------------------------------
    def add_revision(self, revision: Any, sinks: Iterable[str] = ("files",)) -> int | None:
        """Record a revision and one outbox row per sink in one transaction.

        Returns the new revision id, or None when a revision with this ``message_key`` (or this
        ``(alert_key, revision)``) already exists; then nothing is written.
        """
        with self.db.transaction():
            return self._insert_revision(revision_fields(revision), tuple(sinks))

    def add_revisions(self, revisions: Iterable[Any], sinks: Iterable[str] = ("files",)) -> int:
        """Record many revisions in one transaction; return how many were new."""
        names = tuple(sinks)
        fields = [revision_fields(rev) for rev in revisions]
        with self.db.transaction():
            return sum(self._insert_revision(f, names) is not None for f in fields)

    def _insert_revision(self, f: dict[str, Any], sinks: tuple[str, ...]) -> int | None:
        now = self.clock()
        if f["event_start"]:
            self._insert_event(f["alert_key"], f["hazard"], f["subject_id"], f["event_start"])
        rows = self.db.query(
            "INSERT INTO revisions (alert_key, revision, message_key, hazard, subject_id, level,"
            " msg_type, status, onset, payload, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (
                f["alert_key"], f["revision"], f["message_key"], f["hazard"], f["subject_id"],
                f["level"], f["msg_type"], f["status"], f["onset"], f["payload"], now,
            ),
        )  # fmt: skip
        if not rows:
            return None
        rev_id = int(rows[0]["id"])
        key = subject_key(f["hazard"], f["subject_id"])
        for sink in sinks:
            self.db.execute(
                "INSERT INTO outbox (revision_id, message_key, sink, subject_key, status,"
                " next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?)",
                (rev_id, f["message_key"], sink, key, f["status"], now, now),
            )
        return rev_id

    # -- events, findings --------------------------------------------------------------------
    def record_event(self, alert_key: str, hazard: str, subject_id: str, event_start: Any) -> bool:
        """Persist an event's start once; return True when it was new."""
        with self.db.transaction():
            return self._insert_event(alert_key, hazard, subject_id, event_start)

    def _insert_event(self, alert_key: str, hazard: str, subject_id: str, start: Any) -> bool:
        return bool(
            self.db.query(
                "INSERT INTO events (alert_key, hazard, subject_id, event_start, created_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING alert_key",
                (alert_key, str(_plain(hazard)), subject_id, str(start), self.clock()),
            )
        )

    def event(self, alert_key: str) -> Row | None:
        """One event by key, or None."""
        rows = self.db.query("SELECT * FROM events WHERE alert_key = ?", (alert_key,))
        return rows[0] if rows else None

    def open_event(self, hazard: str, subject_id: str) -> Row | None:
        """The open event of a subject for a hazard (storm cap: at most one), or None."""
        rows = self.db.query(
            "SELECT * FROM events WHERE hazard = ? AND subject_id = ? AND status = 'open'"
            " ORDER BY created_at DESC LIMIT 1",
            (hazard, subject_id),
        )
        return rows[0] if rows else None

    def close_event(self, alert_key: str, reason: str) -> bool:
        """Mark an event closed (cleared, or its ticket was closed); True if it was open."""
        with self.db.transaction():
            return bool(
                self.db.execute(
                    "UPDATE events SET status = 'closed', closed_at = ?, closed_reason = ?"
                    " WHERE alert_key = ? AND status = 'open'",
                    (self.clock(), reason, alert_key),
                )
            )

    def record_findings(self, findings: Iterable[Mapping[str, Any]]) -> int:
        """Insert findings, ignoring ones already stored for (subject, kind, window); return new."""
        added = 0
        with self.db.transaction():
            for f in findings:
                added += bool(
                    self.db.query(
                        "INSERT INTO findings (subject_id, kind, window_start, window_end, value,"
                        " units, coverage, status, payload, created_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
                        _finding_params(f, self.clock()),
                    )
                )
        return added

    def findings(self, subject_id: str | None = None, kind: str | None = None) -> list[Row]:
        """Stored findings, oldest window first, optionally for one subject and/or kind."""
        where, params = ["1 = 1"], []
        if subject_id is not None:
            where.append("subject_id = ?")
            params.append(subject_id)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        return self.db.query(
            f"SELECT * FROM findings WHERE {' AND '.join(where)}"
            " ORDER BY subject_id, kind, window_start",
            params,
        )

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()


def _finding_params(f: Mapping[str, Any], now: float) -> tuple[Any, ...]:
    window = f.get("window")
    start, end = window if window else (f.get("window_start"), f.get("window_end"))
    value = f.get("value")
    return (
        str(f["subject_id"] if "subject_id" in f else f["subject"]),
        str(_plain(f["kind"])),
        str(start),
        str(end),
        None if value is None else float(value),
        str(f.get("units", "")),
        None if f.get("coverage") is None else float(f["coverage"]),
        str(_plain(f.get("status", "OK"))),
        json.dumps(dict(f), sort_keys=True, default=str),
        now,
    )


def open_store(
    out_dir: str | Path | None = None,
    *,
    dsn: str | None = None,
    clock: Callable[[], float] | None = None,
    busy_timeout_s: float = 30.0,
    create: bool = True,
) -> OutboxStore:
    """Open and migrate the outbox: PostgreSQL when ``dsn`` is given, else SQLite under out_dir.

    Parameters
    ----------
    out_dir : path, optional
        Output folder; the SQLite file is ``out_dir/alerts/outbox.sqlite``.
    dsn : str, optional
        PostgreSQL DSN (``postgresql://...``); wins over ``out_dir``.
    clock : callable
        POSIX seconds; tests pass a fake clock. Default: the folder's replay clock
        (:mod:`alerts.outbox.asof`) when a replay set one, else the wall clock.
    busy_timeout_s : float
        SQLite only: seconds to wait for another writer.
    create : bool
        SQLite only: create a missing outbox (writers); commands that only read pass False and
        get an error naming the folder instead of a fresh empty outbox.
    """
    if dsn:
        db = connect_postgres(dsn)
    elif out_dir is not None:
        db = connect_sqlite(default_path(out_dir), busy_timeout_s=busy_timeout_s, create=create)
    else:
        raise InvalidInputError("open_store needs an output folder or a PostgreSQL DSN")
    migrate(db)
    if clock is None:
        from alerts.outbox.asof import outbox_clock

        clock = outbox_clock(out_dir)
    return OutboxStore(db, clock)
