"""Operator notice that a heat bulletin waits for a person's approval, and until when.

One notice per bulletin revision (its own event keyed by the bulletin's ``message_key``, so a rerun
adds nothing), hazard ``notice`` with ``about_hazard`` ``heat``: the profile's routing sends it to
the sinks that take notices (the approvers' feed), never to the public-health sink. Built by the
one notice builder (:func:`alerts.decide.notices.notice_revision`, topic ``approval_pending``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.decide.notices import NoticeTopic, notice_revision
from alerts.decide.revisions import SubjectInfo
from alerts.model import NOTICE_HAZARD, Revision, RevisionKind, alert_key

TOPIC = str(NoticeTopic.APPROVAL_PENDING)
RULE_VERSION = "heat-approval-1"


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
    return notice_revision(
        key=key,
        number=1,
        kind=RevisionKind.NOTICE,
        topic=NoticeTopic.APPROVAL_PENDING,
        about_hazard="heat",
        subject_id=subject,
        event_start=now,
        now=now,
        summary=summary,
        instruction=f"geospace alerts approve {bulletin.get('id', 'ID')} --by NAME",
        payload={
            "bulletin_message_key": bulletin["message_key"],
            "bulletin_id": bulletin.get("id"),
            "approve_before": bulletin["onset"],
        },
        rule_version=RULE_VERSION,
        subject=SubjectInfo(
            name="heat bulletin approval", area_name=str(bulletin.get("area_name", ""))
        ),
        expires=onset,
    )
