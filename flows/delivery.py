"""The delivery flow: a thin Prefect flow that drains the outbox once (``run_relay(once=True)``).

The relay itself (``alerts.outbox.relay``) knows nothing of Prefect; long-running relays run as
their own process (``python -m alerts.outbox``). This flow suits a schedule ("drain every minute").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.exceptions import MissingContextError


@flow(name="delivery", retries=0)
def delivery_flow(
    out: str = "out",
    sinks: dict[str, dict[str, Any]] | None = None,
    dsn: str | None = None,
    lease_s: float | None = None,
    max_attempts: int | None = None,
    batch: int = 100,
    profile: str | None = None,
) -> dict[str, Any]:
    """Drain what is ready in the outbox into the configured sinks; return counts and health.

    Parameters
    ----------
    out : str
        Output folder holding ``alerts/outbox.sqlite`` (and the default files sink).
    sinks : dict, optional
        Sink configuration ``{name: {"type": ..., ...}}``; default: the files sink.
    dsn : str, optional
        PostgreSQL outbox DSN (default ``GEOSPACE_OUTBOX_DSN``, read when the flow runs).
    lease_s, max_attempts, batch
        Relay settings (seconds, count, rows per claim); lease and attempts default to the
        profile's ``outbox`` section, else 60 s and 8.
    profile : str, optional
        City profile (name or path): its sinks (when ``sinks`` is not given), their allowed
        hosts, its outbox DSN variable and relay settings. A served city passes it, so its
        Open311 and broker rows are drained too, not only the files sink.
    """
    from alerts.outbox.commands import deliver
    from alerts.sinks.urls import check_sink_urls

    hosts: frozenset[str] | None = None
    if profile is not None:
        from alerts.sinks import profile_sinks
        from core.profile import load_profile

        city = load_profile(profile, out_dir=Path(out))
        profile_config, hosts = profile_sinks(city)
        sinks = profile_config if sinks is None else sinks
        dsn = city.outbox.dsn() if dsn is None else dsn
        lease_s = city.outbox.lease if lease_s is None else lease_s
        max_attempts = city.outbox.max_attempts if max_attempts is None else max_attempts
    check_sink_urls(sinks or {}, hosts)
    report = deliver(
        Path(out), sink_config=sinks, dsn=dsn or os.environ.get("GEOSPACE_OUTBOX_DSN"),
        lease_s=60.0 if lease_s is None else lease_s,
        max_attempts=8 if max_attempts is None else max_attempts, batch=batch,
    )  # fmt: skip
    if any(report.get(k) for k in ("sent", "retried", "dead")):  # served every minute
        from flows.artifacts import refresh_dashboard

        refresh_dashboard(Path(out), dsn=dsn or os.environ.get("GEOSPACE_OUTBOX_DSN"))
    health = report["health"]
    try:
        logger: Any = get_run_logger()
    except MissingContextError:  # called as delivery_flow.fn(...) outside a run
        import logging

        logger = logging.getLogger(__name__)
    logger.info(
        "delivered %s, retried %s, dead %s; queue %s, oldest unsent %.0f s, dead total %s",
        report["sent"], report["retried"], report["dead"], health["queue_depth"],
        health["oldest_unsent_age_s"], health["dead"],
    )  # fmt: skip
    return report
