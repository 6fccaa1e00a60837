"""Relay throughput: SQLite (WAL, synchronous=FULL), PostgreSQL, and end to end into RabbitMQ.

Prints numbers; asserts nothing. Usage::

    .venv/bin/python bench/bench_relay.py [--n 20000] [--skip-pg] [--skip-amqp]

PostgreSQL (127.0.0.1:5432, user postgres) gets a database of its own that is dropped afterwards;
RabbitMQ (127.0.0.1:5672, guest) gets uniquely named queues that are deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from alerts.outbox.queue import health
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import OutboxStore, open_store
from alerts.sinks.base import DeliveryReceipt, OutboundMessage

AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"


class NullSink:
    """Confirms instantly: measures the outbox and relay alone."""

    name = "null"

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        return DeliveryReceipt(self.name, message.message_key)

    def close(self) -> None:
        pass


def revisions(n: int, subjects: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        subject, rev = f"seg-{i % subjects:06d}", i // subjects + 1
        akey = hashlib.sha256(f"deformation|{subject}".encode()).hexdigest()
        mkey = hashlib.sha256(f"{akey}|{rev}".encode()).hexdigest()
        out.append({"alert_key": akey, "message_key": mkey, "revision": rev,
                    "hazard": "deformation", "subject_id": subject, "level": 3})  # fmt: skip
    return out


def measure(label: str, store: OutboxStore, sink: Any, n: int, batch: int) -> None:
    revs = revisions(n, subjects=max(1, n // 4))
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        store.add_revisions(revs[start : start + 1000], sinks=[sink.name])
    t1 = time.perf_counter()
    stats = run_relay(store, {sink.name: sink}, once=True, batch=batch, backoff=Backoff(0.1, 1))
    t2 = time.perf_counter()
    assert health(store).queue_depth == 0
    print(f"{label:<34} produce {n / (t1 - t0):8.0f} rev/s   relay {stats.sent / (t2 - t1):8.0f} "
          f"rev/s   ({stats.sent} sent in {t2 - t1:.1f} s, batch {batch})")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--skip-pg", action="store_true")
    p.add_argument("--skip-amqp", action="store_true")
    p.add_argument("--out", type=Path, help="accepted for `make bench`; the relay runs in temp dirs")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(tmp)
        measure("SQLite synchronous=FULL, null sink", store, NullSink(), args.n, args.batch)
        store.close()
    if not args.skip_pg:
        bench_pg(args.n, args.batch)
    if not args.skip_amqp:
        bench_amqp(min(args.n, 5000), args.batch)


def bench_pg(n: int, batch: int) -> None:
    import psycopg

    name = f"geospace_bench_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        store = open_store(dsn=f"host=127.0.0.1 user=postgres dbname={name}")
        measure("PostgreSQL, null sink", store, NullSink(), n, batch)
        store.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_amqp(n: int, batch: int) -> None:
    import pika

    from alerts.sinks.rabbitmq import RabbitMQSink

    sink = RabbitMQSink(AMQP, prefix=f"bench.{uuid.uuid4().hex[:8]}.")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(tmp)
            measure("SQLite -> RabbitMQ (confirms)", store, sink, n, batch)
            store.close()
    finally:
        sink.close()
        conn = pika.BlockingConnection(pika.URLParameters(AMQP))
        ch = conn.channel()
        for q in sink.queues():
            ch.queue_delete(q)
        ch.exchange_delete(sink.exchange)
        ch.exchange_delete(sink.dead_letter_exchange)
        conn.close()


if __name__ == "__main__":
    main()
