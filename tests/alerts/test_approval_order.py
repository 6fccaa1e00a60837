"""Approving bulletins keeps an alert's revisions in order: approving one rejects the older ones
still pending (superseded), and an older one is refused once a later one was approved."""

from __future__ import annotations

import pytest

from alerts.outbox import admin
from alerts.outbox.store import OutboxStore
from core.errors import InvalidInputError
from tests.alerts.outbox_fixtures import FakeClock, make_revision


def _pending(store: OutboxStore, clock: FakeClock, revision: int, subject: str = "city") -> int:
    rev = make_revision(subject, revision, hazard="heat", status="pending_approval",
                        onset=clock.now + 86_400)  # fmt: skip
    rev_id = store.add_revision(rev, sinks=["files", "rabbitmq"])
    assert rev_id is not None
    return rev_id


def _statuses(store: OutboxStore) -> dict[int, str]:
    return {int(r["id"]): r["status"] for r in admin.list_revisions(store)}


def test_approving_the_update_rejects_the_pending_alert_it_supersedes(
    store: OutboxStore, clock: FakeClock
) -> None:
    alert, update = _pending(store, clock, 1), _pending(store, clock, 2)
    other = _pending(store, clock, 1, subject="another city")  # another alert: untouched
    approved = admin.approve(store, update, by="Dr. Huber")
    assert approved["status"] == "queued"
    assert _statuses(store) == {alert: "rejected", update: "queued", other: "pending_approval"}
    superseded = admin.get_revision(store, alert)
    assert superseded["reason"] == f"superseded by revision 2 (id {update}), approved"
    assert superseded["decided_by"] == "Dr. Huber"
    assert {d["status"] for d in superseded["deliveries"]} == {"rejected"}  # never sent
    with pytest.raises(InvalidInputError, match="only pending_approval"):
        admin.approve(store, alert, by="late")


def test_in_order_approval_still_sends_both(store: OutboxStore, clock: FakeClock) -> None:
    alert, update = _pending(store, clock, 1), _pending(store, clock, 2)
    assert admin.approve(store, alert, by="Dr. Huber")["status"] == "queued"
    assert admin.approve(store, update, by="Dr. Huber")["status"] == "queued"
    assert _statuses(store) == {alert: "queued", update: "queued"}


def test_an_older_revision_is_refused_once_a_later_one_is_approved(
    store: OutboxStore, clock: FakeClock
) -> None:
    alert = _pending(store, clock, 1)
    update = _pending(store, clock, 2)
    admin.approve(store, update, by="Dr. Huber")
    # a revision 1 left pending by another path (e.g. restored): approving it would overtake
    store.db.execute("UPDATE revisions SET status = 'pending_approval' WHERE id = ?", (alert,))
    with pytest.raises(
        InvalidInputError, match=r"revision 2 of the same alert .* approved already"
    ):
        admin.approve(store, alert, by="late")
    assert admin.reject(store, alert, by="late")["status"] == "rejected"
