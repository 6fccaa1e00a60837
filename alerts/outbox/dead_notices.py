"""Operator notices about dead outbox rows: one ``notice`` revision per dead revision.

When a revision's outbox row goes dead (its sink refused it, or its attempt budget is spent), the
relay queues, in the same transaction, ONE operator notice: hazard ``notice``, subject
``"<hazard>/<subject_id>"`` of the dead revision, revision 1, keyed by the dead revision's
``message_key``::

    alert_key = sha256(json.dumps(["notice", "<hazard>/<subject_id>", "dead:" + message_key],
                                  separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    message_key = alerts.model.message_key(alert_key, 1)

so a second dead sink of the same revision, a rerun, a relay restart or a dead row after
``geospace alerts retry`` adds nothing (the outbox ignores a known ``message_key``): one notice per
dead-row event, not one per attempt or per sink. The notice is built by the one notice builder
(:func:`alerts.decide.notices.notice_revision`). Given the profile's routing, it goes to the sinks
that accept notices (the operators'); without routing, to the sinks the dead revision was
addressed to. Its ordering key is its own subject (``notice/<hazard>/<subject_id>``), so the dead
row does not block it. A dead notice never yields a notice about the notice (no loops). The notice
is an event: when the revision it is about is delivered after all (``geospace alerts retry``), the
next ``geospace deliver`` clears it (:func:`clear_delivered_dead_notices`, a Cancel).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.decide.notices import NoticeTopic, notice_revision, notice_subject
from alerts.model import NOTICE_HAZARD, Revision, RevisionKind
from alerts.outbox.store import OutboxStore
from alerts.sinks.routing import Routing

__all__ = [
    "DEAD_NOTICE_VALID_FOR",
    "clear_delivered_dead_notices",
    "dead_notice",
    "dead_notice_key",
    "queue_dead_notices",
]

DEAD_NOTICE_VALID_FOR = timedelta(days=7)
RULE_VERSION = "relay-dead-notice-1"


def dead_notice_key(hazard: str, subject_id: str, dead_message_key: str) -> str:
    """``alert_key`` of the notice about a dead revision (formula in the module docstring)."""
    items = [NOTICE_HAZARD, f"{hazard}/{subject_id}", f"dead:{dead_message_key}"]
    text = json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dead_notice(dead: dict[str, Any], sinks: list[str], now: float) -> Revision:
    """The notice revision about the dead revision row ``dead`` (a ``revisions`` row plus the
    dead outbox row's ``sink`` and ``last_error``), created at POSIX time ``now``."""
    subject = notice_subject(str(dead["hazard"]), str(dead["subject_id"]))
    key = dead_notice_key(str(dead["hazard"]), str(dead["subject_id"]), str(dead["message_key"]))
    when = datetime.fromtimestamp(now, UTC).replace(microsecond=0)
    summary = (
        f"Delivery of {subject} revision {dead['revision']} (id {dead['id']}, message_key "
        f"{dead['message_key']}) failed for good on sink {dead['sink']}: {dead['last_error']}. "
        f"Later revisions of {subject} on that sink wait behind it."
    )
    return notice_revision(
        key=key,
        number=1,
        kind=RevisionKind.NOTICE,
        topic=NoticeTopic.DELIVERY_FAILED,
        about_hazard=str(dead["hazard"]),
        subject_id=subject,
        event_start=when,
        now=when,
        summary=summary,
        instruction=(
            f"Fix the sink {dead['sink']} or the message, then run "
            f"`geospace alerts retry {dead['id']}`."
        ),
        payload={
            "about_subject": str(dead["subject_id"]),
            "dead_revision_id": int(dead["id"]),
            "dead_message_key": str(dead["message_key"]),
            "sink": str(dead["sink"]),
            "error": str(dead["last_error"] or ""),
            "sinks": sinks,
        },
        level=2,
        rule_version=RULE_VERSION,
    )


def queue_dead_notices(
    store: OutboxStore, dead_outbox_ids: list[int], routing: Routing | None = None
) -> int:
    """Queue one notice per revision among these dead outbox rows (inside the caller's
    transaction); rows of notices are skipped. Returns how many notices were new.

    With ``routing`` (default: the store's), the notice goes to the sinks that accept it; else
    to the dead revision's.
    """
    routing = routing if routing is not None else store.routing
    if not dead_outbox_ids:
        return 0
    marks = ",".join("?" * len(dead_outbox_ids))
    rows = store.db.query(
        "SELECT r.id, r.message_key, r.revision, r.hazard, r.subject_id, o.sink, o.last_error"
        f" FROM outbox o JOIN revisions r ON r.id = o.revision_id WHERE o.id IN ({marks})"
        " AND o.status = 'dead' AND r.hazard <> ? ORDER BY o.id",
        (*dead_outbox_ids, NOTICE_HAZARD),
    )
    added, seen = 0, set()
    for row in rows:
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        sinks = [
            str(s["sink"])
            for s in store.db.query(
                "SELECT DISTINCT sink FROM outbox WHERE revision_id = ? ORDER BY sink",
                (row["id"],),
            )
        ]
        notice = dead_notice(row, sinks, store.clock())
        targets = routing.sinks_for(notice) if routing is not None else sinks
        added += store.add_revision(notice, targets) is not None
    return added


def clear_delivered_dead_notices(store: OutboxStore, routing: Routing | None = None) -> int:
    """Clear every dead-row notice event whose revision was delivered after all (an operator ran
    ``geospace alerts retry`` and the sink took it): revision 2 of the notice, a Cancel, and the
    event closes. Returns how many were cleared; a second call clears nothing more.

    With ``routing`` (default: the store's), the clear goes to the sinks that accept notices;
    else to the sinks of the notice itself.
    """
    routing = routing if routing is not None else store.routing
    cleared = 0
    for event in store.db.query(
        "SELECT alert_key FROM events WHERE hazard = ? AND status = 'open'", (NOTICE_HAZARD,)
    ):
        last = _latest(store, str(event["alert_key"]))
        if last is None or last.payload.get("notice") != NoticeTopic.DELIVERY_FAILED:
            continue
        dead_id = int(last.payload["dead_revision_id"])
        state = store.db.query("SELECT status FROM revisions WHERE id = ?", (dead_id,))
        if not state or state[0]["status"] != "sent":
            continue
        clear = _resolved(last, store.clock())
        if routing is not None:
            targets = list(routing.sinks_for(clear))
        else:
            targets = [str(r["sink"]) for r in store.db.query(
                "SELECT DISTINCT o.sink FROM outbox o JOIN revisions r ON r.id = o.revision_id"
                " WHERE r.message_key = ? ORDER BY o.sink", (last.message_key,),
            )]  # fmt: skip
        with store.db.transaction():
            cleared += store.add_revision(clear, targets) is not None
            store.close_event(last.alert_key, "delivered after retry")
    return cleared


def _latest(store: OutboxStore, alert_key: str) -> Revision | None:
    rows = store.db.query(
        "SELECT payload FROM revisions WHERE alert_key = ? ORDER BY revision DESC LIMIT 1",
        (alert_key,),
    )
    return Revision.from_dict(json.loads(str(rows[0]["payload"]))) if rows else None


def _resolved(last: Revision, now: float) -> Revision:
    """The Cancel of a dead-row notice event: the revision it was about is delivered."""
    when = datetime.fromtimestamp(now, UTC).replace(microsecond=0)
    about = last.payload
    summary = (
        f"Delivery of {last.subject_id} (revision id {about['dead_revision_id']}, message_key "
        f"{about['dead_message_key']}) succeeded after a retry; the delivery failure is resolved."
    )
    return notice_revision(
        key=last.alert_key,
        number=last.revision + 1,
        kind=RevisionKind.CLEAR,
        topic=NoticeTopic.DELIVERY_FAILED,
        about_hazard=str(about.get("about_hazard", "")),
        subject_id=last.subject_id,
        event_start=last.event_start,
        now=when,
        summary=summary,
        payload={k: about[k] for k in ("about_subject", "dead_revision_id", "dead_message_key")},
        level=last.level,
        previous=last,
        rule_version=RULE_VERSION,
    )
