"""The relay on both backends: leases, at-least-once, order per subject, dead rows, health."""

from __future__ import annotations

from typing import Any

from alerts.outbox import admin
from alerts.outbox.queue import claim, complete, health, purge_sent
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import OutboxStore
from alerts.sinks.base import DeliveryReceipt, OutboundMessage, PermanentSinkError
from tests.alerts.outbox_fixtures import (
    FakeClock,
    RecordingSink,
    make_revision,
)

FAST = Backoff(base_s=0.0, cap_s=0.0)


def _drain(store: OutboxStore, sink: Any, **kw: Any) -> Any:
    opts: dict[str, Any] = {
        "lease_s": 1.0,
        "max_attempts": 3,
        "batch": 10,
        "once": True,
        "backoff": FAST,
    }
    opts.update(kw)
    return run_relay(store, {sink.name: sink}, **opts)


def test_drains_in_order_per_subject(store: OutboxStore) -> None:
    for rev in (1, 2, 3):
        for subject in ("a", "b", "c"):
            store.add_revision(make_revision(subject, rev))
    sink = RecordingSink()
    stats = _drain(store, sink)
    assert stats.sent == 9
    per_subject: dict[str, list[int]] = {}
    for m in sink.raw:
        per_subject.setdefault(m.subject_id, []).append(m.revision)
    assert per_subject == {"a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2, 3]}
    assert {r["status"] for r in admin.list_revisions(store)} == {"sent"}
    h = health(store)
    assert (h.queue_depth, h.dead, h.sent, h.redeliveries) == (0, 0, 9, 0)


def test_a_claim_blocks_later_revisions_and_expired_lease_is_reclaimed(
    store: OutboxStore, clock: FakeClock
) -> None:
    store.add_revision(make_revision("a", 1))
    store.add_revision(make_revision("a", 2))
    first = claim(store, "r1", ["files"], lease_s=1.0, batch=10, max_attempts=5)
    assert [c.message.revision for c in first] == [1]
    # Leased to r1: nobody else gets it, and revision 2 waits behind it.
    assert claim(store, "r2", ["files"], lease_s=1.0, batch=10, max_attempts=5) == []
    clock.advance(1.5)  # r1 crashed: its lease expires
    again = claim(store, "r2", ["files"], lease_s=1.0, batch=10, max_attempts=5)
    assert [(c.message.revision, c.message.attempt) for c in again] == [(1, 2)]
    assert health(store).redeliveries == 1


def test_transient_failure_retries_with_backoff_then_dead(
    store: OutboxStore, clock: FakeClock
) -> None:
    store.add_revision(make_revision("a", 1))
    key = make_revision("a", 1)["message_key"]
    sink = RecordingSink(fail_keys={key})
    backoff = Backoff(base_s=10.0, cap_s=15.0)
    stats = _drain(store, sink, backoff=backoff)
    assert stats.retried == 1
    row = store.db.query("SELECT next_attempt_at, attempts FROM outbox")[0]
    assert row["next_attempt_at"] == clock.now + 10.0 and row["attempts"] == 1
    clock.advance(10)
    _drain(store, sink, backoff=backoff)  # attempt 2, next in min(15, 20) = 15 s
    assert (
        store.db.query("SELECT next_attempt_at FROM outbox")[0]["next_attempt_at"] == clock.now + 15
    )
    clock.advance(15)
    stats = _drain(store, sink, backoff=backoff)  # attempt 3 of 3: dead
    assert stats.dead == 1
    rev = admin.list_revisions(store)[0]
    assert rev["status"] == "dead"
    assert "attempt 3 of 3" in store.db.query("SELECT last_error FROM outbox")[0]["last_error"]
    sink.fail_keys.clear()
    assert admin.retry(store, int(rev["id"]))["status"] == "queued"
    assert _drain(store, sink).sent == 1
    assert admin.list_revisions(store)[0]["status"] == "sent"


def test_dead_revision_blocks_only_its_own_subject(store: OutboxStore) -> None:
    class Refuses(RecordingSink):
        def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
            if message.subject_id == "bad" and message.revision == 1:
                raise PermanentSinkError("schema violation")
            return super().deliver(message)

    for rev in (1, 2):
        for subject in ("bad", "good"):
            store.add_revision(make_revision(subject, rev))
    sink = Refuses()
    stats = _drain(store, sink)
    assert (stats.sent, stats.dead) == (2, 1)
    assert [(m.subject_id, m.revision) for m in sink.raw] == [("good", 1), ("good", 2)]
    h = health(store)
    assert h.dead == 1 and h.queue_depth == 1
    assert [(b["subject_key"], b["waiting"]) for b in h.blocked] == [("deformation/bad", 1)]
    assert "schema violation" in h.blocked[0]["last_error"]


def test_target_down_spends_no_attempt(store: OutboxStore, clock: FakeClock) -> None:
    store.add_revision(make_revision("a", 1))
    sink = RecordingSink()
    sink.down = True
    for _ in range(5):
        stats = _drain(store, sink, backoff=Backoff(1.0, 1.0))
        assert stats.released == 1
        clock.advance(1.0)
    assert store.db.query("SELECT attempts, status FROM outbox")[0] == {
        "attempts": 0,
        "status": "queued",
    }
    sink.down = False
    assert _drain(store, sink).sent == 1


def test_crash_loop_on_one_row_ends_dead(store: OutboxStore, clock: FakeClock) -> None:
    store.add_revision(make_revision("a", 1))
    for _ in range(3):  # the relay dies while delivering, three times
        assert len(claim(store, "r", ["files"], lease_s=1.0, batch=5, max_attempts=3)) == 1
        clock.advance(2)
    assert claim(store, "r", ["files"], lease_s=1.0, batch=5, max_attempts=3) == []
    assert admin.list_revisions(store)[0]["status"] == "dead"
    assert "lease expired" in store.db.query("SELECT last_error FROM outbox")[0]["last_error"]


def test_pending_approval_waits_and_late_ack_is_harmless(
    store: OutboxStore, clock: FakeClock
) -> None:
    rid = store.add_revision(make_revision("d", hazard="heat", status="pending_approval"))
    assert rid is not None
    sink = RecordingSink()
    assert _drain(store, sink).sent == 0
    assert health(store).pending_approval == 1
    admin.approve(store, rid, by="ops")
    claims = claim(store, "slow", ["files"], lease_s=1.0, batch=5, max_attempts=5)
    clock.advance(2)
    assert _drain(store, sink).sent == 1  # another relay redelivers after the lease
    receipt = DeliveryReceipt("files", claims[0].message.message_key)
    from alerts.outbox.queue import Outcome

    complete(store, [Outcome(claims[0], "sent", receipt=receipt)])  # the slow ack: no change
    assert health(store).sent == 1 and len(sink.raw) == 1


def test_sent_rows_are_kept_for_retention_then_purged(store: OutboxStore, clock: FakeClock) -> None:
    store.add_revision(make_revision("a", 1))
    _drain(store, RecordingSink())
    clock.advance(100)
    assert purge_sent(store, retention_s=200) == 0
    clock.advance(101)
    assert purge_sent(store, retention_s=200) == 1
    assert admin.list_revisions(store)[0]["status"] == "sent"  # the revision record stays


def test_on_change_is_called_once_the_queue_goes_idle_after_deliveries(store: OutboxStore) -> None:
    calls: list[int] = []
    sink = RecordingSink()

    def seen() -> None:
        calls.append(len(sink.raw))

    _drain(store, sink, on_change=seen)
    assert calls == []  # nothing delivered: nothing to show
    for subject in ("a", "b", "c"):
        store.add_revision(make_revision(subject, 1))
    _drain(store, sink, batch=2, on_change=seen)
    assert calls == [3]  # once, after the last batch, not per batch


def test_a_failing_on_change_never_stops_the_relay(store: OutboxStore) -> None:
    store.add_revision(make_revision("a", 1))

    def broken() -> None:
        raise OSError("read-only folder")

    assert _drain(store, RecordingSink(), on_change=broken).sent == 1
