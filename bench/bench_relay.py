"""Relay throughput: SQLite (WAL, synchronous=FULL), PostgreSQL, and end to end into RabbitMQ.

Prints numbers; asserts nothing. Usage::

    .venv/bin/python bench/bench_relay.py [--backlogs 1000 10000 100000] [--skip-pg] [--skip-amqp]

Each backlog is queued first, then drained by one relay pass (``--out``: ``bench_relay.json``, which
``bench/run_all.py`` turns into pass/short rows: at least 1,000 revisions/s, and the rate at the
largest backlog at least 0.8 of the rate at the smallest, per backend and end to end).

PostgreSQL (127.0.0.1:5432, user postgres) gets a database of its own that is dropped afterwards;
RabbitMQ (127.0.0.1:5672, guest) gets uniquely named queues that are deleted afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
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


def measure(label: str, store: OutboxStore, sink: Any, n: int, batch: int) -> dict[str, Any]:
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
    return {"backlog": n, "produce_per_s": round(n / (t1 - t0)),
            "relay_per_s": round(stats.sent / (t2 - t1)), "relay_s": round(t2 - t1, 2)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=None, help="one backlog (default: --backlogs)")
    p.add_argument("--backlogs", type=int, nargs="*", default=[1000, 10000, 100000])
    p.add_argument("--quick", action="store_true", help="backlogs 10^3 and 10^4 only")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--skip-pg", action="store_true")
    p.add_argument("--skip-amqp", action="store_true")
    p.add_argument(
        "--amqp-backlogs", type=int, nargs="*",
        help="backlogs end to end into RabbitMQ (default: those of --backlogs up to 10^4; 10^5 "
        "takes about 5 minutes at pika's 300 confirms/s)",
    )  # fmt: skip
    p.add_argument(
        "--out", type=Path, help="writes bench_relay.json there (the relay runs in temp dirs)"
    )
    args = p.parse_args()
    backlogs = [args.n] if args.n else ([1000, 10000] if args.quick else args.backlogs)
    results: dict[str, list[dict[str, Any]]] = {"sqlite": [], "postgres": [], "rabbitmq": []}
    for n in backlogs:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(tmp)
            label = f"SQLite synchronous=FULL, null sink, {n}"
            results["sqlite"].append(measure(label, store, NullSink(), n, args.batch))
            store.close()
        if not args.skip_pg:
            results["postgres"].append(bench_pg(n, args.batch))
    if not args.skip_amqp:
        for n in args.amqp_backlogs or [b for b in backlogs if b <= 10_000]:
            results["rabbitmq"].append(bench_amqp(n, args.batch))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_relay.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")


def bench_pg(n: int, batch: int) -> dict[str, Any]:
    import psycopg

    name = f"geospace_bench_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        store = open_store(dsn=f"host=127.0.0.1 user=postgres dbname={name}")
        result = measure(f"PostgreSQL, null sink, {n}", store, NullSink(), n, batch)
        store.close()
        return result
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_amqp(n: int, batch: int) -> dict[str, Any]:
    import pika

    from alerts.sinks.rabbitmq import RabbitMQSink

    sink = RabbitMQSink(AMQP, prefix=f"bench.{uuid.uuid4().hex[:8]}.")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(tmp)
            result = measure("SQLite -> RabbitMQ (confirms)", store, sink, n, batch)
            store.close()
            return result
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
