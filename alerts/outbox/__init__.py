"""Transactional outbox: revisions and their per-sink messages, committed together.

- :mod:`alerts.outbox.store`: open/migrate the database, produce revisions, events, findings.
- :mod:`alerts.outbox.admin`: list, show, approve, reject, retry, expire.
- :mod:`alerts.outbox.queue`: claim with a lease, complete, health, purge (the relay's side).
- :mod:`alerts.outbox.relay`: the relay loop (:func:`run_relay`).
"""

from __future__ import annotations

from alerts.outbox.queue import Health, health
from alerts.outbox.relay import Backoff, RelayStats, run_relay
from alerts.outbox.store import (
    DEAD,
    EXPIRED,
    PENDING_APPROVAL,
    QUEUED,
    REJECTED,
    SENT,
    STATUSES,
    OutboxStore,
    default_path,
    open_store,
)

__all__ = [
    "DEAD",
    "EXPIRED",
    "PENDING_APPROVAL",
    "QUEUED",
    "REJECTED",
    "SENT",
    "STATUSES",
    "Backoff",
    "Health",
    "OutboxStore",
    "RelayStats",
    "default_path",
    "health",
    "open_store",
    "run_relay",
]
