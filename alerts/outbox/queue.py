"""The relay's side of the outbox: claim with a lease, complete, report health, purge.

Order per subject: a row is claimable only when no earlier row of the same (sink, subject) is
still queued (even leased to another relay) or dead, so a later revision never overtakes an
earlier one, and a dead revision blocks only its own subject. A claim counts an attempt, so a
message that crashes the relay every time also ends dead. With ``dead_notices``, a row that goes
dead queues, in the same transaction, one operator notice about its revision
(:mod:`alerts.outbox.dead_notices`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from alerts.outbox.admin import refresh_status
from alerts.outbox.dead_notices import queue_dead_notices
from alerts.outbox.store import DEAD, QUEUED, SENT, OutboxStore
from alerts.sinks.base import DeliveryReceipt, OutboundMessage


@dataclass(frozen=True)
class Claim:
    """One leased outbox row and the message to deliver."""

    outbox_id: int
    revision_id: int
    message: OutboundMessage


@dataclass(frozen=True)
class Outcome:
    """What became of one claim.

    ``kind`` is "sent" (``receipt`` set), "retry" (transient failure, counts as an attempt),
    "dead" (permanent failure, or the attempt budget is spent) or "release" (the target is down:
    give the row back without spending an attempt).
    """

    claim: Claim
    kind: str
    receipt: DeliveryReceipt | None = None
    error: str = ""
    delay_s: float = 0.0


@dataclass(frozen=True)
class Health:
    """Queue metrics: depth, oldest unsent age (s), dead rows, redeliveries, blocked subjects."""

    queue_depth: int
    pending_approval: int
    in_flight: int
    oldest_unsent_age_s: float
    dead: int
    redeliveries: int
    sent: int
    blocked: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dict(self.__dict__)


_CLAIM_SQL = (
    "SELECT o.id, o.revision_id, o.sink, o.attempts, r.message_key, r.alert_key, r.revision,"
    " r.hazard, r.subject_id, r.level, r.msg_type, r.payload"
    " FROM outbox o JOIN revisions r ON r.id = o.revision_id"
    " WHERE o.status = 'queued' AND o.next_attempt_at <= ?"
    " AND (o.lease_until IS NULL OR o.lease_until < ?) AND o.sink IN ({sinks})"
    " AND o.id = (SELECT p.id FROM outbox p WHERE p.sink = o.sink"
    "  AND p.subject_key = o.subject_key AND p.status IN ('queued', 'dead') ORDER BY p.id LIMIT 1)"
    " ORDER BY o.id LIMIT ?"
)
"""The claim: queued rows in id order (index ``outbox_queued``), each kept only when it is the head
of its (sink, subject): the oldest queued-or-dead row (one probe of ``outbox_head``). A correlated
``LIMIT 1`` subquery, not ``NOT EXISTS``: PostgreSQL turns ``NOT EXISTS`` into an anti-join over
every queued row of the sink before sorting, so each claim cost grew with the backlog (issue 10:
26 revisions/s at 10^4 queued); this form is evaluated per candidate and stops at the LIMIT."""


def claim(
    store: OutboxStore,
    owner: str,
    sinks: list[str],
    *,
    lease_s: float,
    batch: int,
    max_attempts: int,
    dead_notices: bool = False,
) -> list[Claim]:
    """Lease up to ``batch`` deliverable rows for ``owner``; rows of expired leases are reclaimed.

    A row whose lease expired after its last allowed attempt (the relay died delivering it every
    time) goes dead with that reason instead (and, with ``dead_notices``, queues its notice).
    """
    if not sinks:
        return []
    now = store.clock()
    db = store.db
    with db.transaction():
        died = db.query(
            "UPDATE outbox SET status = 'dead', lease_owner = NULL, lease_until = NULL,"
            " last_error = ? WHERE status = 'queued' AND lease_until IS NOT NULL"
            " AND lease_until < ? AND attempts >= ? RETURNING id, revision_id",
            (f"lease expired on attempt {max_attempts} of {max_attempts}: "
             "the relay stopped while delivering it", now, max_attempts),
        )  # fmt: skip
        if died:
            refresh_status(store, {int(r["revision_id"]) for r in died})
            if dead_notices:
                queue_dead_notices(store, [int(r["id"]) for r in died])
        sql = _CLAIM_SQL.format(sinks=",".join("?" * len(sinks))) + db.skip_locked
        rows = db.query(sql, (now, now, *sinks, batch))
        if rows:
            ids = [int(r["id"]) for r in rows]
            db.execute(
                "UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1"
                f" WHERE id IN ({','.join('?' * len(ids))})",
                (owner, now + lease_s, *ids),
            )
    return [_to_claim(r) for r in rows]


def refresh_planner_statistics(store: OutboxStore) -> None:
    """PostgreSQL: ``ANALYZE`` the outbox tables, so the claim's plan knows the backlog.

    A backlog is what an outage leaves; until autovacuum next analyses the table the planner may
    believe the outbox is empty and sort every queued row before the claim's LIMIT. The relay
    calls this once at start. SQLite needs nothing (its plan walks ``outbox_ready`` in id order).
    """
    if store.db.dialect == "postgres":
        with store.db.transaction():
            store.db.execute("ANALYZE outbox")
            store.db.execute("ANALYZE revisions")


def explain_claim(store: OutboxStore, sinks: list[str], *, batch: int = 200) -> list[str]:
    """The backend's plan of the claim query, one line per plan node (for tests and benchmarks).

    PostgreSQL: ``EXPLAIN`` text; SQLite: the ``detail`` column of ``EXPLAIN QUERY PLAN``.
    """
    now = store.clock()
    sql = _CLAIM_SQL.format(sinks=",".join("?" * len(sinks))) + store.db.skip_locked
    rows = store.db.query("EXPLAIN " + ("QUERY PLAN " if store.db.dialect == "sqlite" else "")
                          + sql, (now, now, *sinks, batch))  # fmt: skip
    if store.db.dialect == "sqlite":
        return [str(r["detail"]) for r in rows]
    return [str(next(iter(r.values()))) for r in rows]


def renew_lease(store: OutboxStore, outbox_id: int, owner: str, lease_s: float) -> bool:
    """Extend ``owner``'s lease of a queued row to ``now + lease_s``; False when the row is no
    longer ``owner``'s (another relay reclaimed it after the lease expired): do not deliver it."""
    with store.db.transaction():
        return bool(
            store.db.execute(
                "UPDATE outbox SET lease_until = ? WHERE id = ? AND lease_owner = ?"
                " AND status = 'queued'",
                (store.clock() + lease_s, outbox_id, owner),
            )
        )


def _to_claim(row: dict[str, Any]) -> Claim:
    message = OutboundMessage(
        message_key=row["message_key"],
        alert_key=row["alert_key"],
        revision=int(row["revision"]),
        hazard=row["hazard"],
        subject_id=row["subject_id"],
        level=int(row["level"]),
        msg_type=row["msg_type"],
        payload=json.loads(row["payload"]),
        sink=row["sink"],
        attempt=int(row["attempts"]) + 1,
    )
    return Claim(int(row["id"]), int(row["revision_id"]), message)


def complete(store: OutboxStore, outcomes: list[Outcome], *, dead_notices: bool = False) -> None:
    """Record a batch of outcomes in one transaction (sent only after the sink confirmed).

    With ``dead_notices``, every revision whose row went dead gets its one operator notice queued
    in the same transaction.
    """
    if not outcomes:
        return
    now = store.clock()
    db = store.db
    with db.transaction():
        dead = [out.claim.outbox_id for out in outcomes if _apply(store, out, now)]
        refresh_status(store, {o.claim.revision_id for o in outcomes})
        if dead_notices:
            queue_dead_notices(store, dead)


def _apply(store: OutboxStore, out: Outcome, now: float) -> bool:
    """Record one outcome; True when it moved the row to dead."""
    db, oid = store.db, out.claim.outbox_id
    if out.kind == "sent" and out.receipt is not None:
        changed = db.execute(
            "UPDATE outbox SET status = ?, sent_at = ?, receipt = ?, lease_owner = NULL,"
            " lease_until = NULL, last_error = NULL WHERE id = ? AND status = ?",
            (SENT, now, json.dumps(out.receipt.to_dict()), oid, QUEUED),
        )
        if changed and out.receipt.external_id:
            db.execute(
                "INSERT INTO tickets (message_key, sink, alert_key, service_request_id,"
                " updated_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                (out.receipt.message_key, out.receipt.sink, out.claim.message.alert_key,
                 out.receipt.external_id, now),
            )  # fmt: skip
    elif out.kind == "dead":
        return bool(
            db.execute(
                "UPDATE outbox SET status = ?, last_error = ?, lease_owner = NULL,"
                " lease_until = NULL WHERE id = ? AND status = ?",
                (DEAD, out.error, oid, QUEUED),
            )
        )
    else:
        spent = 0 if out.kind == "release" else 1
        db.execute(
            "UPDATE outbox SET attempts = attempts - ?, next_attempt_at = ?, last_error = ?,"
            " lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = ?",
            (1 - spent, now + out.delay_s, out.error or None, oid, QUEUED),
        )
    return False


def health(store: OutboxStore) -> Health:
    """Queue depth, age of the oldest unsent row, dead and redelivery counts, blocked subjects."""
    now = store.clock()
    db = store.db
    agg = db.query(
        "SELECT"
        " SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) AS depth,"
        " SUM(CASE WHEN status = 'pending_approval' THEN 1 ELSE 0 END) AS pending,"
        " SUM(CASE WHEN status = 'queued' AND lease_until >= ? THEN 1 ELSE 0 END) AS flight,"
        " MIN(CASE WHEN status = 'queued' THEN created_at END) AS oldest,"
        " SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead,"
        " SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END) AS sent,"
        " SUM(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END) AS redeliveries"
        " FROM outbox",
        (now,),
    )[0]
    blocked = db.query(
        "SELECT d.sink, d.subject_key, d.message_key AS dead_message_key, d.last_error,"
        " (SELECT COUNT(*) FROM outbox q WHERE q.sink = d.sink AND q.subject_key = d.subject_key"
        "  AND q.status = 'queued' AND q.id > d.id) AS waiting"
        " FROM outbox d WHERE d.status = 'dead' ORDER BY d.id"
    )
    oldest = agg["oldest"]
    return Health(
        queue_depth=int(agg["depth"] or 0),
        pending_approval=int(agg["pending"] or 0),
        in_flight=int(agg["flight"] or 0),
        oldest_unsent_age_s=0.0 if oldest is None else max(0.0, now - float(oldest)),
        dead=int(agg["dead"] or 0),
        redeliveries=int(agg["redeliveries"] or 0),
        sent=int(agg["sent"] or 0),
        blocked=[dict(b) for b in blocked if int(b["waiting"] or 0) > 0],
    )


def purge_sent(store: OutboxStore, retention_s: float) -> int:
    """Delete outbox rows sent more than ``retention_s`` seconds ago (revisions stay)."""
    with store.db.transaction():
        return store.db.execute(
            "DELETE FROM outbox WHERE status = ? AND sent_at < ?",
            (SENT, store.clock() - retention_s),
        )
