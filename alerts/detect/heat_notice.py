"""Operator notice that a heat bulletin waits for a person's approval, and until when.

One notice per bulletin revision (its own event keyed by the bulletin's ``message_key``, so a rerun
adds nothing), hazard ``notice`` with ``about_hazard`` ``heat``: the profile's routing sends it to
the sinks that take notices (the approvers' feed), never to the public-health sink.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.model import (
    NOTICE_HAZARD,
    Certainty,
    Revision,
    RevisionKind,
    RevisionStatus,
    alert_key,
    message_key,
)

TOPIC = "approval_pending"


def approval_notice(bulletin: dict[str, Any], *, now: datetime, timezone: str) -> Revision:
    """A queued notice: bulletin ``id`` waits for approval until its onset (then it expires)."""
    subject = f"heat/approval/{bulletin['message_key'][:16]}"
    key = alert_key(NOTICE_HAZARD, subject, now)
    onset = datetime.fromisoformat(str(bulletin["onset"]))
    local = onset.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")
    summary = (
        f"Heat bulletin {bulletin.get('id', '?')} (revision {bulletin['revision']}, level "
        f"{bulletin['level']}, {bulletin.get('area_name', '')}) waits for approval until {local}; "
        "unapproved at its onset it expires and is never sent."
    )
    return Revision(
        alert_key=key,
        message_key=message_key(key, 1),
        revision=1,
        hazard=NOTICE_HAZARD,
        subject_id=subject,
        kind=RevisionKind.NOTICE,
        level=1,
        certainty=Certainty.OBSERVED,
        status=RevisionStatus.QUEUED,
        created_at=now,
        onset=now,
        expires=onset,
        rule_version="heat-approval-1",
        event_start=now,
        subject_name="heat bulletin approval",
        summary=summary,
        instruction=f"geospace alerts approve {bulletin.get('id', 'ID')} --by NAME",
        payload={
            "event": "Bulletin awaiting approval",
            "notice": TOPIC,
            "about_hazard": "heat",
            "bulletin_message_key": bulletin["message_key"],
            "bulletin_id": bulletin.get("id"),
            "approve_before": bulletin["onset"],
        },
        area_name=str(bulletin.get("area_name", "")),
    )
