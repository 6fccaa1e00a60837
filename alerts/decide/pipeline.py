"""From findings to outbox rows: the findings history, the rules, one transaction per revision.

For each subject the latest findings are stored in the findings history (insert-or-ignore, so a rerun
of the same window adds nothing), the rule engine (:func:`alerts.decide.rules.decide`) reads the history,
the subject's open event and its last revision, and what it decides is recorded in the outbox:
the revision and its outbox rows commit together (:meth:`OutboxStore.add_revision`). Revisions are
keyed by ``message_key``, so re-running a flow, or three runs at once, produce nothing new.
Given the output folder, every bulletin revision is archived as CAP right after it is recorded
(:mod:`alerts.products.cap_archive`: ``OUT/alerts/cap/<identifier>.xml``, with the status its row has, so
Draft until approved); a rerun rewrites nothing but restores a file lost to a crash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from alerts.decide.notices import GapChange, NoticeTopic, notice_subject
from alerts.decide.policy import NoticePolicy, Policy
from alerts.decide.revisions import SubjectInfo
from alerts.decide.rules import Action, decide, rate
from alerts.model import NOTICE_HAZARD, Event, Finding, Revision, SubjectStatus
from alerts.outbox.store import OutboxStore
from alerts.products.cap_archive import archive_stored
from alerts.sinks.routing import Routing


@dataclass(frozen=True)
class Outcome:
    """What the rules did for one subject: the action, why, and the revision id if one was new."""

    subject_id: str
    action: str
    reason: str
    revision_id: int | None
    message_key: str | None
    gap: str | None = None  # GapChange: opened, updated, cleared (None: the gap state held)
    gap_revision_id: int | None = None
    gap_open: bool = False  # a DATA_GAP event of the subject is open after this window

    @property
    def new_revisions(self) -> int:
        """How many revisions this outcome added to the outbox (an alert's and a gap notice's)."""
        return len({self.revision_id, self.gap_revision_id} - {None})


def _event_of(store: OutboxStore, hazard: str, subject_id: str) -> Event | None:
    row = store.open_event(hazard, subject_id)
    if row is None:
        return None
    return Event(
        alert_key=str(row["alert_key"]),
        hazard=hazard,
        subject_id=subject_id,
        event_start=datetime.fromisoformat(str(row["event_start"])),
    )


def latest_revision(store: OutboxStore, alert_key: str) -> Revision | None:
    """The newest revision of an event, or None."""
    rows = store.db.query(
        "SELECT payload FROM revisions WHERE alert_key = ? ORDER BY revision DESC LIMIT 1",
        (alert_key,),
    )
    return Revision.from_dict(json.loads(str(rows[0]["payload"]))) if rows else None


def history(store: OutboxStore, subject_id: str, kind: str) -> list[Finding]:
    """The subject's stored findings of ``kind``, oldest window first."""
    return [
        Finding.from_dict(json.loads(str(row["payload"])))
        for row in store.findings(subject_id, kind)
    ]


def policy_history(store: OutboxStore, subject_id: str, policy: Policy) -> list[Finding]:
    """The subject's stored findings of every kind ``policy`` rates (its own and ``also_rates``)."""
    kinds = (policy.finding_kind, *(o.finding_kind for o in policy.also))
    return [f for kind in kinds for f in history(store, subject_id, kind)]


def _record(
    store: OutboxStore, revision: Revision, routing: Routing, out_dir: str | Path | None
) -> int | None:
    """Record one revision with an outbox row per accepting sink; archive bulletins as CAP."""
    new_id = store.add_revision(revision, routing.sinks_for(revision))
    if out_dir is not None:  # also when not new: heals a crash before the archive
        archive_stored(store, out_dir, [revision.message_key])
    return new_id


TICKET_CLOSED = "ticket closed"
TICKET_RELEASED = "ticket closed; subject recovered"


def _held_by_ticket(
    store: OutboxStore, policy: Policy, rated: Sequence[Finding], subject_id: str
) -> str | None:
    """The alert key of the subject's last event if the crew closed its ticket and the subject
    has not left the alert state since (so it is not raised again), else None.

    The hold ends (and is recorded as ended) at the first valid window below every threshold.
    """
    rows = store.db.query(
        "SELECT alert_key, closed_reason FROM events WHERE hazard = ? AND subject_id = ?"
        " AND status = 'closed' ORDER BY closed_at DESC LIMIT 1",
        (policy.hazard, subject_id),
    )
    if not rows or rows[0]["closed_reason"] != TICKET_CLOSED or not rated:
        return None
    key, latest = str(rows[0]["alert_key"]), rated[-1]
    if latest.status != SubjectStatus.DATA_GAP and latest.level == 0:
        with store.db.transaction():
            store.db.execute(
                "UPDATE events SET closed_reason = ? WHERE alert_key = ?", (TICKET_RELEASED, key)
            )
        return None
    return key


def open_gap_event(store: OutboxStore, gap_subject: str) -> tuple[Event | None, Revision | None]:
    """The open DATA_GAP event of a notice subject (``"<hazard>/<id>"``) and its last revision.

    Open dead-row notice events of the same subject are left alone; an open notice event of no
    known topic (a per-window notice written before gaps were events) is closed as superseded,
    so it never stands for a gap.
    """
    rows = store.db.query(
        "SELECT alert_key, event_start FROM events WHERE hazard = ? AND subject_id = ?"
        " AND status = 'open' ORDER BY created_at DESC",
        (NOTICE_HAZARD, gap_subject),
    )
    for row in rows:
        last = latest_revision(store, str(row["alert_key"]))
        topic = last.payload.get("notice") if last is not None else None
        if last is not None and topic == NoticeTopic.DATA_GAP:
            start = datetime.fromisoformat(str(row["event_start"]))
            return Event(last.alert_key, NOTICE_HAZARD, gap_subject, start), last
        if topic not in (
            NoticeTopic.DELIVERY_FAILED,
            NoticeTopic.DIGEST,
            NoticeTopic.APPROVAL_PENDING,
        ):
            store.close_event(str(row["alert_key"]), "superseded: not a data-gap event")
    return None, None


def apply_findings(
    store: OutboxStore,
    findings: Sequence[Finding],
    policy: Policy,
    *,
    now: datetime,
    sinks: Iterable[str] | Routing,
    subjects: Mapping[str, SubjectInfo] | None = None,
    notice_policy: NoticePolicy | None = None,
    out_dir: str | Path | None = None,
) -> list[Outcome]:
    """Record ``findings`` and let the rules decide, subject by subject; return the outcomes.

    ``sinks`` is the profile's :class:`~alerts.sinks.routing.Routing` (each revision gets outbox
    rows only for the sinks that accept it), or sink names that all take everything. Each
    subject's DATA_GAP event (hazard ``notice``) is read and updated beside its alert event. With
    ``out_dir`` (the output folder; the store itself has none when it is PostgreSQL), each new
    bulletin revision decided is archived as CAP under ``out_dir/alerts/cap``. Findings of the kinds
    the policy's ``also_rates`` policies rate are recorded and weigh in their subject's decision
    (one outcome per finding of the policy's own kind, so one event per subject).
    """
    routing = sinks if isinstance(sinks, Routing) else Routing.everything(sinks)
    store.record_findings(f.to_dict() for f in findings)
    evidence_only = {o.finding_kind for o in policy.also}
    outcomes = []
    for finding in findings:
        if finding.kind in evidence_only:
            continue  # an also_rates kind: evidence decided with its subject's own finding
        event = _event_of(store, policy.hazard, finding.subject_id)
        last = latest_revision(store, event.alert_key) if event else None
        gap_subject = notice_subject(policy.hazard, finding.subject_id)
        open_gap, last_gap = open_gap_event(store, gap_subject)
        decision = decide(
            policy_history(store, finding.subject_id, policy),
            event,
            last,
            policy,
            now,
            subject=(subjects or {}).get(finding.subject_id),
            notice_policy=notice_policy,
            open_gap=open_gap,
            last_gap=last_gap,
        )
        held = None
        if decision.action == Action.OPEN:
            rated = rate(policy_history(store, finding.subject_id, policy), policy)
            held = _held_by_ticket(store, policy, rated, finding.subject_id)
        elif event is None:  # a valid window below every threshold ends a hold
            rated = rate(policy_history(store, finding.subject_id, policy), policy)
            _held_by_ticket(store, policy, rated, finding.subject_id)
        gap = decision.gap
        gap_id = None
        if gap is not None and gap.revision is not None:
            gap_id = _record(store, gap.revision, routing, out_dir)
            if gap.change == GapChange.CLEARED:
                store.close_event(gap.revision.alert_key, "data returned")
        new_id = gap_id if decision.action == Action.NOTICE else None
        if held is not None:
            decision = replace(
                decision,
                action=Action.NOTHING,
                reason=f"the crew closed the ticket of event {held[:12]}: not raised again "
                "until the subject leaves the alert state",
                revision=None,
            )
        if decision.revision is not None and decision.action != Action.NOTICE:
            new_id = _record(store, decision.revision, routing, out_dir)
            if decision.action == Action.CLEAR and decision.event is not None:
                store.close_event(decision.event.alert_key, "cleared")
        outcomes.append(
            Outcome(
                subject_id=finding.subject_id,
                action=str(decision.action),
                reason=decision.reason,
                revision_id=new_id,
                message_key=decision.revision.message_key if decision.revision else None,
                gap=str(gap.change) if gap is not None and gap.change else None,
                gap_revision_id=gap_id,
                gap_open=gap is not None and gap.event is not None and gap.event.open,
            )
        )
    return outcomes
