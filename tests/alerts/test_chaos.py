"""Chaos: relay processes killed with SIGKILL, the broker link cut and refused, while 10,000
revisions flow through the outbox into a real RabbitMQ behind a severable local proxy."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from alerts.outbox.queue import health
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import open_store
from alerts.sinks.base import DeliveryReceipt, OutboundMessage, PermanentSinkError
from alerts.sinks.rabbitmq import RabbitMQSink
from tests.alerts.outbox_fixtures import (
    AMQP,
    TcpProxy,
    make_revision,
)
from tests.conftest import REPO as REPO_ROOT

SUBJECTS = 2500
REVISIONS = 4  # Alert, Update, Update, Cancel: 10,000 revisions


def _revisions(rev: int) -> list[dict[str, Any]]:
    kind = "Cancel" if rev == REVISIONS else ("Alert" if rev == 1 else "Update")
    return [make_revision(f"seg-{i:05d}", rev, msg_type=kind) for i in range(SUBJECTS)]


def consume_all(url: str, queue: str, idle_s: float = 1.5) -> list[dict[str, Any]]:
    """Every message in ``queue`` in broker order, acknowledged; stops after ``idle_s`` of quiet."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1000)
    out: list[dict[str, Any]] = []
    for method, _props, body in ch.consume(queue, inactivity_timeout=idle_s):
        if method is None:
            break
        out.append(json.loads(body))
        ch.basic_ack(method.delivery_tag)
    ch.cancel()
    conn.close()
    return out


class Relays:
    """Relay processes (``python -m alerts.outbox``) that the test starts, kills and restarts."""

    def __init__(self, out: Path, sinks: dict[str, Any], env: dict[str, str], n: int) -> None:
        self.cmd = [sys.executable, "-m", "alerts.outbox", "--out", str(out), "--sinks",
                    json.dumps(sinks), "--lease", "1", "--batch", "50", "--max-attempts", "100",
                    "--backoff", "0.05", "--backoff-cap", "0.4", "--poll", "0.05"]  # fmt: skip
        self.env = env
        self.procs = [self._start() for _ in range(n)]
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.cmd, env=self.env, cwd=REPO_ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def kill_one(self, rng: random.Random) -> None:
        i = rng.randrange(len(self.procs))
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.kills += 1
        self.procs[i] = self._start()

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.mark.services
@pytest.mark.slow
def test_ten_thousand_revisions_survive_kills_and_broker_cuts(
    tmp_path: Path, amqp_proxy: TcpProxy, rabbit_prefix: str
) -> None:
    rng = random.Random(20220601)
    out = tmp_path / "out"
    store = open_store(out)
    env = {**os.environ, "GEOSPACE_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{amqp_proxy.port}/%2F"}
    sinks = {"rabbitmq": {"type": "rabbitmq", "prefix": rabbit_prefix}}
    relays = Relays(out, sinks, env, n=2)
    produced = threading.Event()

    def produce() -> None:
        producer = open_store(out)
        for rev in range(1, REVISIONS + 1):
            batch = _revisions(rev)
            for start in range(0, len(batch), 500):
                producer.add_revisions(batch[start : start + 500], sinks=["rabbitmq"])
                time.sleep(0.05)
        producer.close()
        produced.set()

    threading.Thread(target=produce, daemon=True).start()
    deadline = time.monotonic() + 150  # a bound on a hang, not a speed assertion
    try:
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.1, 0.5))
            if relays.kills < 40:
                relays.kill_one(rng)
            if relays.kills in (8, 20, 32) and amqp_proxy.cuts < relays.kills // 10:
                amqp_proxy.sever()
            if relays.kills == 25 and not amqp_proxy.refusing:
                amqp_proxy.refusing = True
                amqp_proxy.sever()
                time.sleep(1.0)  # several backoff cycles of refused connections
                amqp_proxy.refusing = False
            h = health(store)
            if produced.is_set() and relays.kills >= 30 and h.queue_depth == 0:
                break
    finally:
        relays.stop()
    h = health(store)
    assert produced.is_set() and relays.kills >= 30 and amqp_proxy.cuts >= 1
    assert (h.queue_depth, h.dead, h.sent) == (0, 0, SUBJECTS * REVISIONS)

    raw = consume_all(AMQP, f"{rabbit_prefix}maintenance.work_orders")
    applied: dict[str, list[tuple[int, str]]] = {}
    seen: set[str] = set()
    for msg in raw:  # the consumer de-duplicates by message_key before applying the effect
        if msg["message_key"] in seen:
            continue
        seen.add(msg["message_key"])
        applied.setdefault(msg["subject_id"], []).append((msg["revision"], msg["msg_type"]))
    expected = [(1, "Alert"), (2, "Update"), (3, "Update"), (4, "Cancel")]
    assert len(seen) == SUBJECTS * REVISIONS  # zero lost
    assert all(v == expected for v in applied.values())  # in order, updates and cancels included
    print(f"\nchaos: {relays.kills} kills, {amqp_proxy.cuts} broker cuts, "
          f"{len(raw) - len(seen)} raw redeliveries at the consumer, "
          f"{h.redeliveries} relay redeliveries")  # fmt: skip
    store.close()


class _RefuseOne:
    """Wraps a sink and permanently refuses one message key (a poison revision)."""

    def __init__(self, inner: RabbitMQSink, poison: str) -> None:
        self.inner, self.poison, self.name = inner, poison, inner.name

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        if message.message_key == self.poison:
            raise PermanentSinkError("the broker's schema check refused it")
        return self.inner.deliver(message)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.services
def test_unreachable_broker_then_drain_in_order_and_dead_blocks_own_subject(
    tmp_path: Path, amqp_proxy: TcpProxy, rabbit_prefix: str
) -> None:
    store = open_store(tmp_path)
    url = f"amqp://guest:guest@127.0.0.1:{amqp_proxy.port}/%2F"
    poison = make_revision("s-00", 2)["message_key"]
    sink = _RefuseOne(RabbitMQSink(url, prefix=rabbit_prefix, timeout_s=2), poison)
    amqp_proxy.refusing = True
    for rev in (1, 2, 3):
        store.add_revisions([make_revision(f"s-{i:02d}", rev) for i in range(20)], ["rabbitmq"])
    stop = threading.Event()
    relay_store = open_store(tmp_path)  # the relay thread has its own connection
    relay = threading.Thread(
        target=run_relay,
        args=(relay_store, {"rabbitmq": sink}),
        kwargs={"lease_s": 1.0, "max_attempts": 3, "batch": 20, "poll_s": 0.02,
                "backoff": Backoff(0.05, 0.2), "stop": stop},
        daemon=True,
    )  # fmt: skip
    relay.start()
    while amqp_proxy.refused < 4:  # several backoff cycles against a refusing broker
        time.sleep(0.05)
    h = health(store)
    assert h.queue_depth == 60 and h.sent == 0 and h.dead == 0
    # none spent: rows the relay is not holding right now (a claim in flight counts its attempt
    # until the unreachable sink hands it back) have all their attempts left
    idle = store.db.query("SELECT MAX(attempts) AS a FROM outbox WHERE lease_owner IS NULL")
    assert idle[0]["a"] in (0, None)
    amqp_proxy.refusing = False
    for _ in range(600):  # wait (bounded) for the drain
        h = health(store)
        if h.sent == 58:
            break
        time.sleep(0.05)
    stop.set()
    relay.join(timeout=10)
    sink.close()
    relay_store.close()
    assert (h.sent, h.dead, h.queue_depth) == (58, 1, 1)
    assert [(b["subject_key"], b["waiting"]) for b in h.blocked] == [("deformation/s-00", 1)]
    got = consume_all(AMQP, f"{rabbit_prefix}maintenance.work_orders", idle_s=0.5)
    order: dict[str, list[int]] = {}
    for msg in got:
        order.setdefault(msg["subject_id"], []).append(msg["revision"])
    assert order.pop("s-00") == [1]
    assert order == {f"s-{i:02d}": [1, 2, 3] for i in range(1, 20)}
    store.close()
