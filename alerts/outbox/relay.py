"""The relay: drains the outbox into the sinks, at least once, in order per subject.

Run it as its own light process (``python -m alerts.outbox --out OUT``); it imports neither
Prefect nor xarray, so it starts quickly and can be killed at any moment: a row is marked sent only after its sink confirmed, and a claim whose relay
died is reclaimed when its lease expires.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from alerts.outbox.admin import expire_due
from alerts.outbox.queue import (
    Claim,
    Outcome,
    claim,
    complete,
    health,
    purge_sent,
    refresh_planner_statistics,
    renew_lease,
)
from alerts.outbox.store import OutboxStore
from alerts.sinks.base import PermanentSinkError, Sink, SinkUnavailableError, TransientSinkError
from core.errors import InvalidInputError

MIN_LEASE_S = 0.5
MAX_ERRORS = 50  # distinct failure messages kept in a relay report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: ``min(cap_s, base_s * 2 ** (attempt - 1))`` seconds."""

    base_s: float = 1.0
    cap_s: float = 300.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1)))


@dataclass
class RelayStats:
    """What one relay run did (counts of outcomes, claims made, sinks found down)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    purged: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)


def check_relay_settings(
    *,
    lease_s: float,
    max_attempts: int,
    batch: int,
    backoff: Backoff | None = None,
    poll_s: float = 0.5,
    retention_s: float = 7 * 86400.0,
) -> None:
    """Refuse relay settings that cannot work (before any claim): exit 2 with the fix.

    Besides the lease, attempts and batch: a NaN or negative backoff would leave failed rows
    unscheduled (silently never retried), a poll of 0 spins a CPU, a negative one crashes the
    idle loop, and a negative retention purges what was just sent.
    """
    backoff = backoff or Backoff()
    for flag, value, low, example in (
        ("--backoff", backoff.base_s, 0.0, "1"),
        ("--backoff-cap", backoff.cap_s, backoff.base_s, "300"),
        ("--retention", retention_s, 0.0, "604800"),
    ):
        if not (math.isfinite(value) and value >= low):
            raise InvalidInputError(
                f"{flag}: {value:g}: must be finite and at least {low:g} s; give e.g. {flag} {example}"
            )
    if not (math.isfinite(poll_s) and poll_s > 0):
        raise InvalidInputError(
            f"--poll: {poll_s:g}: must be a positive, finite number of seconds; give e.g. --poll 0.5"
        )
    if not (math.isfinite(lease_s) and lease_s >= MIN_LEASE_S):
        raise InvalidInputError(
            f"--lease: {lease_s:g}: a lease must be at least {MIN_LEASE_S:g} s and finite (it is "
            "renewed while a delivery is in flight); give e.g. --lease 30"
        )
    if isinstance(max_attempts, bool) or int(max_attempts) != max_attempts or max_attempts < 1:
        raise InvalidInputError(f"--max-attempts: {max_attempts}: must be 1 or more; give e.g. 8")
    if isinstance(batch, bool) or int(batch) != batch or batch < 1:
        raise InvalidInputError(f"--batch: {batch}: must be 1 or more; give e.g. 100")


class _LeaseKeeper:
    """Keeps the lease of the claim being delivered alive (a sink may take longer than the lease).

    Before a delivery the claim's lease is renewed if a third of it is spent (a claim that another
    relay took over meanwhile is skipped, never delivered twice); during the delivery a background
    thread renews it every third of the lease. The database is touched by the thread only while
    the relay's own thread is inside ``Sink.deliver``.
    """

    def __init__(self, store: OutboxStore, owner: str, lease_s: float) -> None:
        self.store, self.owner, self.lease_s = store, owner, lease_s
        self._lock = threading.Lock()
        self._current: Claim | None = None
        self._renewed = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self._thread.start()

    def begin(self, c: Claim, claimed_at: float) -> bool:
        """Called before delivering ``c``; False when the lease is lost (skip the claim)."""
        now = time.monotonic()
        with self._lock:
            if now - claimed_at > self.lease_s / 3 and not renew_lease(
                self.store, c.outbox_id, self.owner, self.lease_s
            ):
                return False
            self._current = c
            self._renewed = claimed_at if now - claimed_at <= self.lease_s / 3 else now
            return True

    def end(self) -> None:
        with self._lock:
            self._current = None

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 6):
            with self._lock:
                c = self._current
                if c is not None and time.monotonic() - self._renewed >= self.lease_s / 3:
                    try:
                        renew_lease(self.store, c.outbox_id, self.owner, self.lease_s)
                        self._renewed = time.monotonic()
                    except Exception as err:  # keep delivering; the lease may lapse (logged)
                        log.warning("could not renew the lease of row %s: %s", c.outbox_id, err)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def deliver_batch(
    claims: list[Claim],
    sinks: Mapping[str, Sink],
    *,
    max_attempts: int,
    backoff: Backoff,
    down: dict[str, float],
    now: float,
    keeper: _LeaseKeeper | None = None,
    claimed_at: float = 0.0,
) -> list[Outcome]:
    """Deliver claims one by one; a sink found down releases the rest of its claims untouched.

    ``down`` maps a sink name to the time before which it is not tried again (updated in place).
    With a ``keeper``, each claim's lease is kept alive while it is delivered and a claim whose
    lease was lost to another relay is skipped (no outcome: it is that relay's now).
    """
    outcomes: list[Outcome] = []
    for c in claims:
        name = c.message.sink
        if down.get(name, 0.0) > now:
            outcomes.append(Outcome(c, "release", error="sink unavailable", delay_s=0.0))
            continue
        if keeper is not None and not keeper.begin(c, claimed_at):
            log.warning("outbox row %s: lease lost to another relay; not delivered", c.outbox_id)
            continue
        try:
            receipt = sinks[name].deliver(c.message)
        except SinkUnavailableError as err:
            pause = backoff.delay(c.message.attempt)
            down[name] = now + pause
            outcomes.append(Outcome(c, "release", error=str(err), delay_s=pause))
        except TransientSinkError as err:
            kind = "dead" if c.message.attempt >= max_attempts else "retry"
            reason = f"attempt {c.message.attempt} of {max_attempts}: {err}"
            outcomes.append(
                Outcome(c, kind, error=reason, delay_s=backoff.delay(c.message.attempt))
            )
        except PermanentSinkError as err:
            outcomes.append(Outcome(c, "dead", error=f"refused by {name}: {err}"))
        else:
            outcomes.append(Outcome(c, "sent", receipt=receipt))
        finally:
            if keeper is not None:
                keeper.end()
    return outcomes


def run_relay(
    store: OutboxStore,
    sinks: Mapping[str, Sink],
    *,
    lease_s: float = 30.0,
    max_attempts: int = 8,
    batch: int = 100,
    once: bool = False,
    backoff: Backoff | None = None,
    poll_s: float = 0.5,
    retention_s: float = 7 * 86400.0,
    stop: threading.Event | None = None,
    owner: str | None = None,
    dead_notices: bool = False,
    on_change: Callable[[], None] | None = None,
) -> RelayStats:
    """Claim, deliver and complete outbox rows until stopped (or, with ``once``, until idle).

    Parameters
    ----------
    store : OutboxStore
        The outbox.
    sinks : mapping of str to Sink
        Sinks by name; only rows for these sinks are claimed.
    lease_s : float
        Lease of a claim in seconds; a claim not completed by then may be delivered again.
    max_attempts : int
        Attempts after which a failing row goes dead (target-down releases do not count).
    batch : int
        Rows claimed per transaction.
    once : bool
        Return as soon as no row is ready (a drain pass) instead of polling forever.
    backoff : Backoff
        Delay before a failed row (or a sink found down) is tried again.
    poll_s : float
        Sleep between polls when idle.
    retention_s : float
        Sent rows older than this (seconds) are purged.
    stop : threading.Event, optional
        Set it to end the loop after the current batch.
    owner : str, optional
        Lease owner name (default host:pid:random).
    dead_notices : bool
        Queue one operator notice (hazard ``notice``) per revision whose row goes dead
        (:mod:`alerts.outbox.dead_notices`); ``geospace deliver`` turns it on.
    on_change : callable, optional
        Called when the queue goes idle (and when the loop ends) after rows were sent, retried
        or went dead since the last call: the relay process rewrites the operations dashboard
        there. An exception it raises is logged as a warning and never stops the relay.
    """
    backoff = backoff or Backoff()
    check_relay_settings(
        lease_s=lease_s, max_attempts=max_attempts, batch=batch, backoff=backoff,
        poll_s=poll_s, retention_s=retention_s,
    )  # fmt: skip
    owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    refresh_planner_statistics(store)  # a backlog left by an outage: claims stay index walks
    keeper = _LeaseKeeper(store, owner, lease_s)
    try:
        return _relay_loop(
            store, sinks, keeper, lease_s=lease_s, max_attempts=max_attempts, batch=batch,
            once=once, backoff=backoff, poll_s=poll_s, retention_s=retention_s, stop=stop,
            owner=owner, dead_notices=dead_notices, on_change=on_change,
        )  # fmt: skip
    finally:
        keeper.close()


def _relay_loop(
    store: OutboxStore,
    sinks: Mapping[str, Sink],
    keeper: _LeaseKeeper,
    *,
    lease_s: float,
    max_attempts: int,
    batch: int,
    once: bool,
    backoff: Backoff,
    poll_s: float,
    retention_s: float,
    stop: threading.Event | None,
    owner: str,
    dead_notices: bool,
    on_change: Callable[[], None] | None,
) -> RelayStats:
    stats = RelayStats()
    down: dict[str, float] = {}
    changed = False  # rows sent, retried or dead since on_change was last called
    stats.purged += purge_sent(store, retention_s)
    while stop is None or not stop.is_set():
        expire_due(store)
        now = store.clock()
        ready = sorted(name for name in sinks if down.get(name, 0.0) <= now)
        claimed_at = time.monotonic()
        claims = claim(
            store, owner, ready, lease_s=lease_s, batch=batch, max_attempts=max_attempts,
            dead_notices=dead_notices,
        )  # fmt: skip
        if not claims:
            if changed:
                changed = _notify(on_change)
            if once:
                break
            _sleep(poll_s, stop)
            continue
        outcomes = deliver_batch(
            claims, sinks, max_attempts=max_attempts, backoff=backoff, down=down, now=now,
            keeper=keeper, claimed_at=claimed_at,
        )  # fmt: skip
        complete(store, outcomes, dead_notices=dead_notices)
        _count(stats, outcomes)
        changed = changed or any(o.kind in ("sent", "retry", "dead") for o in outcomes)
    if changed:  # stopped while rows were still ready
        _notify(on_change)
    stats.purged += purge_sent(store, retention_s)
    return stats


def _notify(on_change: Callable[[], None] | None) -> bool:
    """Call ``on_change`` (a view of the outbox): log, never raise; False (nothing pending)."""
    if on_change is not None:
        try:
            on_change()
        except Exception as err:  # a view: the deliveries are already recorded
            log.warning("after delivery: %s: %s", type(err).__name__, err)
    return False


def _count(stats: RelayStats, outcomes: list[Outcome]) -> None:
    stats.batches += 1
    stats.claimed += len(outcomes)
    for out in outcomes:
        if out.kind == "sent":
            stats.sent += 1
        elif out.kind == "retry":
            stats.retried += 1
            _note(stats, f"row {out.claim.outbox_id} will be retried: {out.error}")
        elif out.kind == "dead":
            stats.dead += 1
            stats.errors.append(out.error)
            log.warning("outbox row %s is dead: %s", out.claim.outbox_id, out.error)
        else:
            stats.released += 1
            _note(stats, f"row {out.claim.outbox_id} released, sink down: {out.error}")


def _note(stats: RelayStats, error: str) -> None:
    """Record a failed attempt once per distinct message (a report, not a log: capped)."""
    if error not in stats.errors and len(stats.errors) < MAX_ERRORS:
        stats.errors.append(error)


def _sleep(seconds: float, stop: threading.Event | None) -> None:
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)


__all__ = [
    "Backoff",
    "RelayStats",
    "check_relay_settings",
    "deliver_batch",
    "health",
    "run_relay",
]
