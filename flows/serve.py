"""``geospace serve``: the flows on their schedules on one machine (Prefect's ``serve``).

The same schedules are declared for a Prefect server with work pools in ``infra/prefect.yaml``.
Weekly irrigation priority (Mondays 06:00 Europe/Vienna, April-October) on the trailing window that
ends the day before, and the outbox relay every minute. A scheduled run derives its window from its
scheduled time (no watermark state); reruns are harmless because revisions are keyed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, serve
from prefect.runtime import flow_run

from flows.delivery import delivery_flow
from flows.vegetation import vegetation_flow


def window_end_for(scheduled: datetime | None, today: date) -> date:
    """Last day of the window a run scheduled at ``scheduled`` evaluates: the day before it.

    Derived from the scheduled time, not from the wall clock or a stored watermark, so a late or
    repeated run evaluates the same window (no watermark state).
    """
    return (scheduled.date() if scheduled is not None else today) - timedelta(days=1)


@flow(name="vegetation-weekly")
def vegetation_weekly(profile: str, out_dir: str = "out") -> Any:
    """The vegetation flow for the window ending the day before the scheduled time."""
    end = window_end_for(flow_run.scheduled_start_time, date.today())
    return vegetation_flow(profile=profile, start=end, end=end, out_dir=out_dir)


def serve_flows(*, profile: str, out_dir: Path) -> int:
    """Serve the scheduled deployments until interrupted."""
    weekly = vegetation_weekly.to_deployment(
        name=f"{profile}-vegetation-weekly",
        cron="0 6 * 4-10 1",
        parameters={"profile": profile, "out_dir": str(out_dir)},
    )
    relay = delivery_flow.to_deployment(
        name="outbox-delivery", interval=60, parameters={"out": str(out_dir)}
    )
    serve(weekly, relay)  # type: ignore[arg-type]  # sync context: to_deployment returns a deployment
    return 0
