"""Operator actions on revisions: list, show, approve, reject, retry, expire.

Every action is one transaction that moves the revision and its outbox rows together; an action
that does not apply to the revision's current status raises :class:`InvalidInputError` naming the
status and what would apply.
"""

from __future__ import annotations

import json
from typing import Any

from alerts.outbox.db import Row
from alerts.outbox.store import (
    DEAD,
    EXPIRED,
    PENDING_APPROVAL,
    QUEUED,
    REJECTED,
    SENT,
    OutboxStore,
)
from core.errors import InvalidInputError

_STATUS_SQL = (
    "UPDATE revisions SET status = CASE"
    " WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.revision_id = revisions.id"
    "  AND o.status = 'dead') THEN 'dead'"
    " WHEN NOT EXISTS (SELECT 1 FROM outbox o WHERE o.revision_id = revisions.id"
    "  AND o.status <> 'sent') THEN 'sent'"
    " ELSE 'queued' END"
    " WHERE id IN ({ids}) AND status IN ('queued', 'dead', 'sent')"
)


def refresh_status(store: OutboxStore, revision_ids: set[int]) -> None:
    """Derive each revision's status from its outbox rows (inside the caller's transaction)."""
    ids = sorted(revision_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        store.db.execute(_STATUS_SQL.format(ids=",".join("?" * len(chunk))), chunk)


def list_revisions(store: OutboxStore, status: str | None = None) -> list[Row]:
    """One row per revision (not per sink), oldest first, optionally with one status."""
    expire_due(store)
    sql = (
        "SELECT id, alert_key, message_key, revision, hazard, subject_id, level, msg_type, status,"
        " onset, created_at, approved_by, approved_at, decided_by, decided_at, reason"
        " FROM revisions"
    )
    if status is None:
        return store.db.query(sql + " ORDER BY id")
    return store.db.query(sql + " WHERE status = ? ORDER BY id", (status,))


def get_revision(store: OutboxStore, revision_id: int) -> Row:
    """One revision with its payload decoded and its outbox rows (``deliveries``)."""
    rows = store.db.query("SELECT * FROM revisions WHERE id = ?", (revision_id,))
    if not rows:
        raise InvalidInputError(
            f"no revision with id {revision_id}; list them with `geospace alerts list`"
        )
    row = rows[0]
    row["payload"] = json.loads(row["payload"])
    row["deliveries"] = store.db.query(
        "SELECT id, sink, status, attempts, last_error, receipt, sent_at, next_attempt_at"
        " FROM outbox WHERE revision_id = ? ORDER BY sink",
        (revision_id,),
    )
    return row


_DONE = {"approve": "approved", "reject": "rejected", "retry": "retried"}


def _require(store: OutboxStore, revision_id: int, allowed: tuple[str, ...], action: str) -> Row:
    row = get_revision(store, revision_id)
    if row["status"] not in allowed:
        raise InvalidInputError(
            f"cannot {action} revision {revision_id} ({row['message_key'][:12]}): it is "
            f"{row['status']}, and only {' or '.join(allowed)} revisions can be {_DONE[action]}"
        )
    return row


def approve(store: OutboxStore, revision_id: int, by: str) -> Row:
    """Approve a pending bulletin: record who and when, and queue its outbox rows.

    Revisions of one alert go out in order: a revision older than one already approved is refused
    (it would follow its successor), and approving a revision rejects the older ones of its alert
    still pending (superseded: the approved one says what is current; they are never sent)."""
    if not by.strip():
        raise InvalidInputError("approve needs the approver's name (--by NAME)")
    with store.db.transaction():
        expire_due(store)
        row = _require(store, revision_id, (PENDING_APPROVAL,), "approve")
        later = store.db.query(
            "SELECT id, revision FROM revisions WHERE alert_key = ? AND revision > ?"
            " AND status NOT IN (?, ?, ?) ORDER BY revision",
            (row["alert_key"], int(row["revision"]), PENDING_APPROVAL, REJECTED, EXPIRED),
        )
        if later:
            raise InvalidInputError(
                f"cannot approve revision {revision_id} ({row['message_key'][:12]}): revision "
                f"{later[-1]['revision']} of the same alert (id {later[-1]['id']}) was approved "
                f"already and is current; reject this one (`geospace alerts reject {revision_id} "
                "--by NAME`)"
            )
        older = store.db.query(
            "SELECT id FROM revisions WHERE alert_key = ? AND revision < ? AND status = ?",
            (row["alert_key"], int(row["revision"]), PENDING_APPROVAL),
        )
        for old in older:
            _finish(store, int(old["id"]), REJECTED, by,
                    f"superseded by revision {row['revision']} (id {revision_id}), approved")  # fmt: skip
        now = store.clock()
        store.db.execute(
            "UPDATE revisions SET status = ?, approved_by = ?, approved_at = ? WHERE id = ?",
            (QUEUED, by, now, revision_id),
        )
        store.db.execute(
            "UPDATE outbox SET status = ?, next_attempt_at = ? WHERE revision_id = ? AND status = ?",
            (QUEUED, now, revision_id, PENDING_APPROVAL),
        )
    return get_revision(store, revision_id)


def reject(store: OutboxStore, revision_id: int, by: str, reason: str = "") -> Row:
    """Reject a pending bulletin: it is never sent."""
    with store.db.transaction():
        _require(store, revision_id, (PENDING_APPROVAL,), "reject")
        _finish(store, revision_id, REJECTED, by, reason)
    return get_revision(store, revision_id)


def retry(store: OutboxStore, revision_id: int) -> Row:
    """Requeue a dead revision's dead outbox rows with a fresh attempt budget."""
    with store.db.transaction():
        _require(store, revision_id, (DEAD,), "retry")
        store.db.execute(
            "UPDATE outbox SET status = ?, attempts = 0, next_attempt_at = ?, lease_owner = NULL,"
            " lease_until = NULL WHERE revision_id = ? AND status = ?",
            (QUEUED, store.clock(), revision_id, DEAD),
        )
        store.db.execute("UPDATE revisions SET status = ? WHERE id = ?", (QUEUED, revision_id))
    return get_revision(store, revision_id)


def expire_due(store: OutboxStore) -> int:
    """Expire pending bulletins whose onset has passed (never sent); return how many."""
    now = store.clock()
    with store.db.transaction():
        rows = store.db.query(
            "SELECT id FROM revisions WHERE status = ? AND onset IS NOT NULL AND onset <= ?",
            (PENDING_APPROVAL, now),
        )
        for row in rows:
            _finish(store, int(row["id"]), EXPIRED, "relay", "not approved before its onset")
    return len(rows)


def _finish(store: OutboxStore, revision_id: int, status: str, by: str, reason: str) -> None:
    store.db.execute(
        "UPDATE revisions SET status = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ?",
        (status, by, store.clock(), reason, revision_id),
    )
    store.db.execute(
        "UPDATE outbox SET status = ? WHERE revision_id = ? AND status = ?",
        (status, revision_id, PENDING_APPROVAL),
    )


def summary(row: Row) -> dict[str, Any]:
    """The CLI/JSON view of a revision row (``subject`` is the subject id)."""
    return {
        "id": int(row["id"]),
        "alert_key": row["alert_key"],
        "message_key": row["message_key"],
        "revision": int(row["revision"]),
        "hazard": row["hazard"],
        "subject": row["subject_id"],
        "level": int(row["level"]),
        "msg_type": row.get("msg_type", "Alert"),
        "status": row["status"],
        "approved_by": row.get("approved_by"),
        "approved_at": row.get("approved_at"),
    }


__all__ = [
    "DEAD",
    "SENT",
    "approve",
    "expire_due",
    "get_revision",
    "list_revisions",
    "refresh_status",
    "reject",
    "retry",
    "summary",
]
