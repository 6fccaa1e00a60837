"""Operator actions on the outbox as plain functions (the ``geospace alerts ...`` commands).

Each function opens the outbox of an output folder (``OUT/alerts/outbox.sqlite``) or, given a
DSN, the PostgreSQL outbox, does one thing, closes it and returns plain JSON-ready values.
Bulletins are archived as CAP under ``OUT/alerts/cap`` (:mod:`alerts.products.cap_archive`) when they are
enqueued (Draft) and again when approved (Actual), also when the outbox is PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alerts.outbox import admin
from alerts.outbox.dead_notices import clear_delivered_dead_notices
from alerts.outbox.queue import health as _health
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import OutboxStore, open_store, revision_fields
from alerts.products.cap_archive import archive_stored
from alerts.sinks import Sink, SinkError, build_sinks
from alerts.sinks.routing import Routing

PathLike = str | Path


@contextmanager
def _store(out_dir: PathLike, dsn: str | None, *, create: bool = False) -> Iterator[OutboxStore]:
    """The outbox of ``out_dir``; only producers (``create``) make a missing one (issue 15)."""
    store = open_store(out_dir, dsn=dsn, create=create)
    try:
        yield store
    finally:
        store.close()


def enqueue(
    out_dir: PathLike, revisions: Iterable[Any], sinks: Iterable[str] = ("files",), *,
    dsn: str | None = None,
) -> int:  # fmt: skip
    """Record revisions (``alerts.model.Revision`` or dicts) with one outbox row per sink.

    Returns how many were new; revisions already recorded (same ``message_key``) add nothing.
    Bulletins among them are archived as CAP with the status their row has (Draft when pending).
    """
    items = list(revisions)
    keys = [revision_fields(rev)["message_key"] for rev in items]
    with _store(out_dir, dsn, create=True) as store:
        added = store.add_revisions(items, sinks)
        archive_stored(store, out_dir, keys)
        return added


def list_revisions(
    out_dir: PathLike, *, status: str | None = None, dsn: str | None = None
) -> list[dict[str, Any]]:
    """One object per revision (not per sink): id, alert_key, message_key, revision, hazard,
    subject, level, msg_type, status, approved_by, approved_at."""
    with _store(out_dir, dsn) as store:
        return [admin.summary(row) for row in admin.list_revisions(store, status)]


def show(out_dir: PathLike, revision_id: int, *, dsn: str | None = None) -> dict[str, Any]:
    """One revision in full: summary fields, payload, and its per-sink deliveries."""
    with _store(out_dir, dsn) as store:
        row = admin.get_revision(store, revision_id)
    return {**admin.summary(row), "payload": row["payload"], "deliveries": row["deliveries"],
            "reason": row["reason"], "decided_by": row["decided_by"]}  # fmt: skip


def approve(
    out_dir: PathLike, revision_id: int, by: str, *, dsn: str | None = None
) -> dict[str, Any]:
    """Approve a pending bulletin (records who and when), queue it and archive it as Actual CAP."""
    with _store(out_dir, dsn) as store:
        row = admin.approve(store, revision_id, by)
        archive_stored(store, out_dir, [str(row["message_key"])])
        return admin.summary(row)


def reject(
    out_dir: PathLike, revision_id: int, by: str, reason: str = "", *, dsn: str | None = None
) -> dict[str, Any]:
    """Reject a pending bulletin; it is never sent."""
    with _store(out_dir, dsn) as store:
        return admin.summary(admin.reject(store, revision_id, by, reason))


def retry(out_dir: PathLike, revision_id: int, *, dsn: str | None = None) -> dict[str, Any]:
    """Requeue a dead revision with a fresh attempt budget."""
    with _store(out_dir, dsn) as store:
        return admin.summary(admin.retry(store, revision_id))


def ensure_outbox(out_dir: PathLike, *, dsn: str | None = None) -> None:
    """Create (and migrate) the outbox of a run, so a quiet run still leaves an empty outbox."""
    with _store(out_dir, dsn, create=True):
        pass


def health(out_dir: PathLike, *, dsn: str | None = None) -> dict[str, Any]:
    """Queue depth, oldest unsent age (s), dead and redelivery counts, blocked subjects."""
    with _store(out_dir, dsn) as store:
        return _health(store).to_dict()


def deliver(
    out_dir: PathLike,
    sinks: Mapping[str, Sink] | None = None,
    *,
    sink_config: Mapping[str, Mapping[str, Any]] | None = None,
    dsn: str | None = None,
    lease_s: float = 60.0,
    max_attempts: int = 8,
    batch: int = 100,
    backoff: Backoff | None = None,
    dead_notices: bool = True,
    routing: Routing | None = None,
) -> dict[str, Any]:
    """Drain what is ready now (one relay pass), read back Open311 ticket statuses, and return
    the counts plus the queue health.

    A revision whose row goes dead gets one operator notice (hazard ``notice``) queued unless
    ``dead_notices`` is False; notices themselves never get notices. The notice goes to the sinks
    that accept notices under ``routing`` (default: the ``accepts`` of ``sink_config``), and is
    cleared (a Cancel, ``dead_notices_cleared``) once its revision was delivered after a retry.
    After the pass, every Open311 sink's open tickets are read back
    (:func:`alerts.sinks.open311.sync_status`): a ticket the crew closed closes its event
    (``tickets_closed`` lists their alert keys; a sync failure is reported in ``errors``, the
    delivery stands).

    ``sinks`` objects win over ``sink_config`` (``{name: {"type": ..., ...}}``); with neither,
    the ``files`` sink writes ``OUT/alerts/outbound.jsonl``.
    """
    built = dict(sinks) if sinks is not None else build_sinks(sink_config, out_dir)
    if routing is None and sink_config:
        routing = Routing.from_config(sink_config)
    with _store(out_dir, dsn) as store:
        store.routing = routing
        try:
            stats = run_relay(
                store, built, lease_s=lease_s, max_attempts=max_attempts, batch=batch,
                once=True, backoff=backoff, dead_notices=dead_notices,
            )  # fmt: skip
            closed = _sync_tickets(store, built, stats.errors)
        finally:
            if sinks is None:
                for sink in built.values():
                    sink.close()
        report = {k: v for k, v in stats.__dict__.items()}
        report["tickets_closed"] = closed
        report["dead_notices_cleared"] = clear_delivered_dead_notices(store) if dead_notices else 0
        report["health"] = _health(store).to_dict()
    return report


def _sync_tickets(store: OutboxStore, sinks: Mapping[str, Sink], errors: list[str]) -> list[str]:
    """Read back the tickets of every Open311 sink; alert keys whose events the crew closed."""
    from alerts.sinks.open311 import Open311Sink, sync_status

    closed: list[str] = []
    for name, sink in sinks.items():
        if not isinstance(sink, Open311Sink):
            continue
        try:
            closed += sync_status(store, sink)
        except SinkError as err:  # the delivery stands; the next pass reads the tickets again
            errors.append(f"ticket status of sink {name} not read: {err}")
    return closed
