"""Operator notices (hazard ``notice``): the one builder, DATA_GAP as an event, the run digest.

Every notice revision is built by :func:`notice_revision`: DATA_GAP events (:func:`gap_notice`),
the digest of a run (:func:`digest_revision`), dead outbox rows (:mod:`alerts.outbox.dead_notices`)
and heat bulletins waiting for approval (:mod:`alerts.detect.heat_notice`). Pure functions, no I/O.

**DATA_GAP is an event**, like an alert: a subject that enters DATA_GAP opens it (revision 1,
CAP ``Alert``), a change of the reasons (``Finding.reasons``, e.g. "too few clear pixels" becoming
"no reference") updates it (``Update``), and the first window with usable data clears it
(``Cancel``). Its key is ``alert_key("notice", "<hazard>/<subject_id>", <first gap window start>)``,
stable for the whole gap, so reruns add nothing and operators get one message per gap, not one per
window. The **digest** is one revision per run summarising the gaps opened, updated and cleared
and the work orders (heat: bulletins) queued; a run that queued nothing new sends none (so a rerun
sends none).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from alerts.decide.policy import NoticePolicy, Policy
from alerts.decide.revisions import SubjectInfo, evidence
from alerts.model import (
    NOTICE_HAZARD,
    Certainty,
    Event,
    Finding,
    Revision,
    RevisionKind,
    RevisionStatus,
    SubjectStatus,
    alert_key,
    message_key,
    utc_iso,
)
from alerts.sinks.routing import HAZARD_KINDS, DeliveryKind

__all__ = [
    "GapChange",
    "NoticeTopic",
    "digest_revision",
    "gap_key",
    "gap_notice",
    "gap_reasons_of",
    "notice_revision",
    "notice_subject",
]

DEFAULT_VALID_FOR = timedelta(days=7)
WATCH_IN_SUMMARY = 20
"""Watched subjects named in a digest's summary (all of them are in its payload)."""


class NoticeTopic(StrEnum):
    """What a notice is about (``payload["notice"]``); routing reads it (digest vs notice)."""

    DATA_GAP = "data_gap"
    DELIVERY_FAILED = "delivery_failed"
    DIGEST = "digest"
    APPROVAL_PENDING = "approval_pending"


class GapChange(StrEnum):
    """What a window did to a subject's DATA_GAP event."""

    OPENED = "opened"
    UPDATED = "updated"
    CLEARED = "cleared"


def notice_subject(hazard: str, subject_id: str) -> str:
    """Subject id of a notice about ``subject_id`` of ``hazard``: ``"<hazard>/<subject_id>"``."""
    return f"{hazard}/{subject_id}"


def notice_revision(
    *,
    key: str,
    number: int,
    kind: RevisionKind,
    topic: NoticeTopic,
    about_hazard: str,
    subject_id: str,
    event_start: datetime,
    now: datetime,
    summary: str,
    instruction: str = "",
    payload: Mapping[str, Any] | None = None,
    level: int = 1,
    previous: Revision | None = None,
    notice_policy: NoticePolicy | None = None,
    rule_version: str | None = None,
    subject: SubjectInfo | None = None,
    expires: datetime | None = None,
) -> Revision:
    """The one builder of operator notices: revision ``number`` of the notice event ``key``.

    Parameters
    ----------
    key : str
        The notice event's ``alert_key`` (see :func:`gap_key`, ``dead_notice_key``).
    number, kind
        Revision number (1 = new) and why it exists (NOTICE, NEW_EVIDENCE, CLEAR).
    topic : NoticeTopic
        DATA_GAP, DELIVERY_FAILED, DIGEST or APPROVAL_PENDING (``payload["notice"]``).
    about_hazard, subject_id
        The hazard the notice is about and the notice's own subject (``"<hazard>/<id>"``).
    notice_policy : NoticePolicy, optional
        Validity, certainty, instruction and version (``notice.yaml``); defaults: 7 days,
        Observed, ``rule_version`` or ``"notice"``.
    expires : datetime, optional
        When the notice stops being true, if not ``now`` + the policy's validity (a bulletin
        awaiting approval: its onset).
    """
    valid_for = DEFAULT_VALID_FOR if notice_policy is None else notice_policy.valid_for
    info = subject or SubjectInfo()
    version = rule_version or (notice_policy.version if notice_policy is not None else "notice")
    event = {
        NoticeTopic.DATA_GAP: "Data gap",
        NoticeTopic.DELIVERY_FAILED: "Delivery failed",
        NoticeTopic.DIGEST: "Run digest",
        NoticeTopic.APPROVAL_PENDING: "Bulletin awaiting approval",
    }[topic]
    if not instruction and notice_policy is not None and topic == NoticeTopic.DATA_GAP:
        instruction = notice_policy.instruction
    return Revision(
        alert_key=key,
        message_key=message_key(key, number),
        revision=number,
        hazard=NOTICE_HAZARD,
        subject_id=subject_id,
        kind=kind,
        level=level,
        certainty=Certainty.OBSERVED if notice_policy is None else notice_policy.certainty,
        status=RevisionStatus.QUEUED,
        created_at=now,
        onset=now,
        expires=now + valid_for if expires is None else expires,
        rule_version=version,
        event_start=event_start,
        subject_name=info.name,
        summary=summary,
        instruction="" if kind == RevisionKind.CLEAR else instruction,
        previous_message_key=None if previous is None else previous.message_key,
        previous_sent=None if previous is None else previous.created_at,
        payload={
            "event": event,
            "notice": str(topic),
            "about_hazard": about_hazard,
            **dict(payload or {}),
        },
        geometry=info.geometry,
        area_name=info.area_name or info.name or subject_id,
        emma_id=info.emma_id,
    )


def gap_key(hazard: str, subject_id: str, gap_start: datetime) -> str:
    """``alert_key`` of the DATA_GAP event of a subject that entered the gap at ``gap_start``."""
    return alert_key(NOTICE_HAZARD, notice_subject(hazard, subject_id), gap_start)


def gap_reasons_of(latest: Finding, policy: Policy) -> tuple[str, ...]:
    """The reasons of a DATA_GAP finding: the detector's, else what the coverage rule says."""
    if latest.reasons:
        return tuple(latest.reasons)
    if math.isnan(latest.value):
        return ("no_value",)
    if policy.coverage is not None and not latest.coverage >= policy.coverage.minimum:
        return ("low_coverage",)
    return ("detector",)


def _coverage_text(latest: Finding, policy: Policy) -> str:
    seen = "no value" if math.isnan(latest.coverage) else f"{latest.coverage:.0%}"
    rule = f" ({policy.coverage.describe()})" if policy.coverage is not None else ""
    return f"coverage {seen}{rule}"


def _gap_summary(change: GapChange, latest: Finding, policy: Policy, name: str, since: str) -> str:
    window = f"{utc_iso(latest.window_start)} .. {utc_iso(latest.window_end)}"
    if change == GapChange.CLEARED:
        return (
            f"Usable data for {policy.hazard} subject {name} again in the window {window}: "
            f"the data gap open since {since} is closed."
        )
    why = ", ".join(gap_reasons_of(latest, policy))
    head = "No usable data" if change == GapChange.OPENED else "Data gap continues, reason changed"
    return (
        f"{head} for {policy.hazard} subject {name} in the window {window} ({why}): "
        f"{_coverage_text(latest, policy)}. No alert was raised or cleared."
    )


@dataclass(frozen=True)
class GapDecision:
    """What one window does to a subject's DATA_GAP event: a change, its revision, the event."""

    change: GapChange | None
    revision: Revision | None
    event: Event | None


def gap_notice(
    latest: Finding,
    policy: Policy,
    now: datetime,
    *,
    open_gap: Event | None = None,
    last: Revision | None = None,
    subject: SubjectInfo | None = None,
    notice_policy: NoticePolicy | None = None,
) -> GapDecision:
    """The DATA_GAP event after the rated ``latest`` finding (see the module docstring).

    ``open_gap`` and ``last`` are the subject's open gap event and its latest revision (None when
    no gap is open). Returns the change (None when nothing changes), the revision to record and
    the gap event afterwards (closed on a clear, None when no gap is open).
    """
    info = subject or SubjectInfo()
    name = info.name or latest.subject_id
    about = notice_subject(policy.hazard, latest.subject_id)
    gap = latest.status == SubjectStatus.DATA_GAP
    reasons = list(gap_reasons_of(latest, policy)) if gap else []
    if open_gap is None or not open_gap.open:
        if not gap:
            return GapDecision(None, None, None)
        event = Event.start(NOTICE_HAZARD, about, latest.window_start)
        change, number, kind, previous = GapChange.OPENED, 1, RevisionKind.NOTICE, None
    else:
        if last is None:
            raise ValueError(f"gap event {open_gap.alert_key} of {about} has no last revision")
        event, previous, number = open_gap, last, last.revision + 1
        if not gap:
            change, kind = GapChange.CLEARED, RevisionKind.CLEAR
            event = replace(open_gap, open=False)
        elif reasons != list(last.payload.get("reasons", [])):
            change, kind = GapChange.UPDATED, RevisionKind.NEW_EVIDENCE
        else:
            return GapDecision(None, None, open_gap)
    since = utc_iso(event.event_start)
    revision = notice_revision(
        key=event.alert_key, number=number, kind=kind, topic=NoticeTopic.DATA_GAP,
        about_hazard=policy.hazard, subject_id=about, event_start=event.event_start, now=now,
        summary=_gap_summary(change, latest, policy, name, since),
        payload={"gap": str(change), "reasons": reasons, **evidence(latest, None, 0),
                 **({"coverage_rule": _rule(policy)} if policy.coverage else {})},
        previous=previous, notice_policy=notice_policy, subject=info,
    )  # fmt: skip
    return GapDecision(change, revision, event)


def _rule(policy: Policy) -> dict[str, Any]:
    assert policy.coverage is not None
    rule = policy.coverage
    return {
        "minimum": rule.minimum,
        "degraded_below": rule.degraded_below,
        "min_dates": rule.min_dates,
    }


def _queued_kind(hazard: str) -> str:
    """What a hazard's alert revisions are, for the digest's text: work-order or bulletin."""
    kind = HAZARD_KINDS.get(hazard, DeliveryKind.WORK_ORDER)
    return str(kind).replace("_", "-")


def digest_revision(
    *,
    hazard: str,
    scope: str,
    period: tuple[datetime, datetime],
    changes: Mapping[str, Sequence[str]],
    work_orders: int,
    open_gaps: Sequence[str],
    now: datetime,
    notice_policy: NoticePolicy | None = None,
    watch: Sequence[Mapping[str, Any]] = (),
) -> Revision:
    """The one digest of a run for operators: gaps opened/updated/cleared, work orders queued,
    and the subjects on watch (seen moving, no work order).

    Keyed by hazard, scope (the profile name) and the run's period, so a rerun of the same period
    yields the same ``message_key`` (and the caller sends no digest for a run that queued nothing).

    Parameters
    ----------
    changes : mapping of GapChange value to subject ids
        ``{"opened": [...], "updated": [...], "cleared": [...]}``.
    work_orders : int
        New alert revisions queued in the run (work orders; for heat, bulletins).
    open_gaps : sequence of str
        Subjects whose gap is still open after the run.
    watch : sequence of mappings
        Subjects on watch, each with ``subject_id`` and ``text`` (one line for people, e.g. line,
        chainage and velocity +- sigma) plus any figures; listed in ``payload["watch"]`` and, the
        first :data:`WATCH_IN_SUMMARY`, in the summary.
    """
    start, end = period
    subject = f"digest/{hazard}/{scope}"
    key = alert_key(NOTICE_HAZARD, f"{subject}/{utc_iso(end)}", start)
    lists = {str(c): sorted(changes.get(str(c), ())) for c in GapChange}
    counts = ", ".join(f"{len(v)} {k}" for k, v in lists.items())
    summary = (
        f"{hazard} run {utc_iso(start)[:10]} .. {utc_iso(end)[:10]} for {scope}: data gaps "
        f"{counts}; {len(open_gaps)} still open; {work_orders} {_queued_kind(hazard)} revision(s) "
        "queued."
    )
    watched = [json.loads(json.dumps(dict(w), allow_nan=False)) for w in watch]
    if watched:
        lines = [str(w.get("text") or w.get("subject_id")) for w in watched[:WATCH_IN_SUMMARY]]
        more = len(watched) - len(lines)
        summary += f" {len(watched)} on watch (no work order): " + "; ".join(lines)
        summary += f"; and {more} more (see payload watch)." if more else "."
    return notice_revision(
        key=key, number=1, kind=RevisionKind.NOTICE, topic=NoticeTopic.DIGEST,
        about_hazard=hazard, subject_id=subject, event_start=start, now=now, summary=summary,
        payload={"period": {"start": utc_iso(start), "end": utc_iso(end)}, "gaps": lists,
                 "open_gaps": sorted(open_gaps), "work_orders": work_orders,
                 **({"watch": watched} if watched else {})},
        notice_policy=notice_policy,
    )  # fmt: skip
