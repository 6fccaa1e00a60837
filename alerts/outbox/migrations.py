"""Versioned schema migrations of the outbox, one numbered SQL script per backend.

Each entry is ``(version, sql)``; :func:`alerts.outbox.store.migrate` applies, in one transaction
each, the scripts whose version is above the highest row of ``schema_version``. Never edit a
released script: append a new number. SQLite and PostgreSQL keep the same tables, columns and
semantics; only types and key generation differ. Times are POSIX seconds (float, UTC).
"""

from __future__ import annotations

_COMMON_TABLES = """
CREATE TABLE events (
    alert_key     TEXT PRIMARY KEY,
    hazard        TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    event_start   TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open',
    closed_at     {real},
    closed_reason TEXT,
    created_at    {real} NOT NULL
);
CREATE INDEX events_subject ON events (hazard, subject_id, status);

CREATE TABLE revisions (
    id           {pk},
    alert_key    TEXT NOT NULL,
    revision     INTEGER NOT NULL,
    message_key  TEXT NOT NULL UNIQUE,
    hazard       TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    level        INTEGER NOT NULL,
    msg_type     TEXT NOT NULL DEFAULT 'Alert',
    status       TEXT NOT NULL,
    onset        {real},
    payload      TEXT NOT NULL,
    created_at   {real} NOT NULL,
    approved_by  TEXT,
    approved_at  {real},
    decided_by   TEXT,
    decided_at   {real},
    reason       TEXT,
    UNIQUE (alert_key, revision)
);
CREATE INDEX revisions_status ON revisions (status, onset);

CREATE TABLE outbox (
    id              {pk},
    revision_id     INTEGER NOT NULL REFERENCES revisions (id),
    message_key     TEXT NOT NULL,
    sink            TEXT NOT NULL,
    subject_key     TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {real} NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     {real},
    last_error      TEXT,
    receipt         TEXT,
    created_at      {real} NOT NULL,
    sent_at         {real},
    UNIQUE (message_key, sink)
);
CREATE INDEX outbox_ready ON outbox (status, id);
CREATE INDEX outbox_order ON outbox (sink, subject_key, status, id);
CREATE INDEX outbox_revision ON outbox (revision_id);

CREATE TABLE tickets (
    message_key       TEXT NOT NULL,
    sink              TEXT NOT NULL,
    alert_key         TEXT NOT NULL,
    service_request_id TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open',
    updated_at        {real} NOT NULL,
    PRIMARY KEY (message_key, sink)
);
CREATE INDEX tickets_status ON tickets (status);

CREATE TABLE findings (
    id           {pk},
    subject_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    value        {real},
    units        TEXT NOT NULL DEFAULT '',
    coverage     {real},
    status       TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{{}}',
    created_at   {real} NOT NULL,
    UNIQUE (subject_id, kind, window_start, window_end)
);
"""


_CLAIM_INDEXES = """
CREATE INDEX outbox_head ON outbox (sink, subject_key, id) WHERE status IN ('queued', 'dead');
CREATE INDEX outbox_queued ON outbox (id) WHERE status = 'queued';
CREATE INDEX outbox_leased ON outbox (status, lease_until) WHERE lease_until IS NOT NULL;
"""
"""Version 2: partial indexes that keep the relay's claim independent of the backlog (issue 10).

``outbox_queued`` walks queued rows in id order (the claim stops at its LIMIT), ``outbox_head``
answers "is this row the oldest queued-or-dead row of its (sink, subject)" with one index probe,
``outbox_leased`` finds expired leases without reading every queued row. Both backends support
partial indexes; the claim query's predicates repeat the index predicates word for word so that
SQLite's planner can use them.
"""

SQLITE: tuple[tuple[int, str], ...] = (
    (1, _COMMON_TABLES.format(real="REAL", pk="INTEGER PRIMARY KEY AUTOINCREMENT")),
    (2, _CLAIM_INDEXES),
)

POSTGRES: tuple[tuple[int, str], ...] = (
    (1, _COMMON_TABLES.format(real="DOUBLE PRECISION", pk="BIGSERIAL PRIMARY KEY")),
    (2, _CLAIM_INDEXES),
)

SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
)
