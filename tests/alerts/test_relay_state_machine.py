"""A hypothesis state machine drives the SQLite outbox with a fake clock through produce, claim,
deliver, crash before ack, lease expiry and ack, and checks the delivery invariants."""

from __future__ import annotations

import shutil
import tempfile

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from alerts.outbox.queue import Claim, Outcome, claim, complete, health
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import open_store
from alerts.sinks.base import DeliveryReceipt
from tests.alerts.outbox_fixtures import FakeClock, RecordingSink, make_revision

SUBJECTS = ("a", "b", "c")
OWNERS = ("r1", "r2")


class OutboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="outbox-sm-")
        self.clock = FakeClock()
        self.store = open_store(self.dir, clock=self.clock)
        self.consumer = RecordingSink()
        self.produced: dict[str, int] = {s: 0 for s in SUBJECTS}
        self.held: dict[str, list[tuple[Claim, bool]]] = {o: [] for o in OWNERS}

    @rule(subject=st.sampled_from(SUBJECTS), again=st.booleans())
    def produce(self, subject: str, again: bool) -> None:
        if again and self.produced[subject]:
            added = self.store.add_revision(make_revision(subject, self.produced[subject]))
            assert added is None  # same message_key: nothing new
            return
        self.produced[subject] += 1
        assert self.store.add_revision(make_revision(subject, self.produced[subject])) is not None

    @rule(owner=st.sampled_from(OWNERS), batch=st.integers(1, 4))
    def claim_rows(self, owner: str, batch: int) -> None:
        got = claim(self.store, owner, ["files"], lease_s=1.0, batch=batch, max_attempts=10_000)
        self.held[owner] += [(c, False) for c in got]

    @rule(owner=st.sampled_from(OWNERS))
    def deliver(self, owner: str) -> None:
        for c, delivered in self.held[owner]:
            if not delivered:
                self.consumer.deliver(c.message)
        self.held[owner] = [(c, True) for c, _ in self.held[owner]]

    @rule(owner=st.sampled_from(OWNERS))
    def crash_before_ack(self, owner: str) -> None:
        self.held[owner] = []

    @rule(seconds=st.sampled_from([0.3, 0.7, 1.1, 2.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: any(self.held.values()))
    @rule(owner=st.sampled_from(OWNERS))
    def ack(self, owner: str) -> None:
        done = [c for c, delivered in self.held[owner] if delivered]
        outcomes = [
            Outcome(c, "sent", receipt=DeliveryReceipt("files", c.message.message_key))
            for c in done
        ]
        complete(self.store, outcomes)
        self.held[owner] = [(c, d) for c, d in self.held[owner] if not d]

    @invariant()
    def sent_only_after_effect_and_in_order(self) -> None:
        delivered = set(self.consumer.unique_keys)
        sent = self.store.db.query("SELECT message_key FROM outbox WHERE status = 'sent'")
        assert {r["message_key"] for r in sent} <= delivered
        firsts: dict[str, list[int]] = {}
        seen: set[str] = set()
        for m in self.consumer.raw:
            if m.message_key not in seen:
                seen.add(m.message_key)
                firsts.setdefault(m.subject_id, []).append(m.revision)
        for revisions in firsts.values():
            assert revisions == list(range(1, len(revisions) + 1))

    def teardown(self) -> None:
        try:
            self.clock.advance(5.0)  # every relay crashed: all leases expire
            run_relay(self.store, {"files": self.consumer}, lease_s=1.0, once=True,
                      max_attempts=10_000, backoff=Backoff(0, 0))  # fmt: skip
            expected = {make_revision(s, r)["message_key"]
                        for s, n in self.produced.items() for r in range(1, n + 1)}  # fmt: skip
            assert set(self.consumer.unique_keys) == expected  # nothing lost
            h = health(self.store)
            assert h.queue_depth == 0 and h.dead == 0
            # Raw duplicates at the consumer only come from claims of a row after its first.
            assert len(self.consumer.raw) - len(expected) <= h.redeliveries
        finally:
            self.store.close()
            shutil.rmtree(self.dir, ignore_errors=True)


OutboxMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestOutboxMachine = OutboxMachine.TestCase
