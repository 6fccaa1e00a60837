"""``geospace serve``: the flows on their schedules on one machine (Prefect's ``serve``).

The same schedules are declared for a Prefect server with work pools in ``infra/prefect.yaml``.
Weekly irrigation priority (Mondays 06:00 in the profile's timezone, Europe/Vienna for Vienna,
April-October) on the trailing window that ends the day before, and the outbox relay every minute.
A scheduled run derives its window from its scheduled time, read in the profile's timezone (no
watermark state); reruns are harmless because revisions are keyed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, serve
from prefect.runtime import flow_run
from prefect.schedules import Cron

from core.profile import CityProfile, load_profile
from flows.delivery import delivery_flow
from flows.vegetation import vegetation_flow
from flows.vegetation_inputs import resolve_inputs

VEGETATION_WEEKLY_CRON = "0 6 * 4-10 1"
"""Mondays 06:00, April to October (as ``infra/prefect.yaml``), in the profile's timezone."""
RELAY_INTERVAL_S = 60


def window_end_for(scheduled: datetime | None, today: date, timezone: str = "UTC") -> date:
    """Last day of the window a run scheduled at ``scheduled`` evaluates: the day before it.

    Derived from the scheduled time, read in ``timezone`` (the profile's), not from the wall clock
    or a stored watermark, so a late or repeated run evaluates the same window.
    """
    day = scheduled.astimezone(ZoneInfo(timezone)).date() if scheduled is not None else today
    return day - timedelta(days=1)


@flow(name="vegetation-weekly")
def vegetation_weekly(profile: str, out_dir: str = "out") -> Any:
    """The vegetation flow for the window ending the day before the scheduled time.

    The inputs are resolved here, once: the profile's timezone places the window, and the flow
    gets the resolved inputs instead of loading the profile again.
    """
    inputs = resolve_inputs(profile, Path(out_dir))
    tz = inputs.profile.timezone
    end = window_end_for(flow_run.scheduled_start_time, datetime.now(ZoneInfo(tz)).date(), tz)
    return vegetation_flow(profile=profile, start=end, end=end, out_dir=out_dir, inputs=inputs)


def deployments(profile_ref: str, profile: CityProfile, out_dir: Path) -> list[Any]:
    """The served deployments: the weekly vegetation run (profile's timezone) and the relay."""
    weekly = vegetation_weekly.to_deployment(
        name=f"{profile.name}-vegetation-weekly",
        schedule=Cron(VEGETATION_WEEKLY_CRON, timezone=profile.timezone),
        parameters={"profile": profile_ref, "out_dir": str(out_dir)},
    )
    relay = delivery_flow.to_deployment(
        name="outbox-delivery", interval=RELAY_INTERVAL_S, parameters={"out": str(out_dir)}
    )
    return [weekly, relay]


def serve_flows(*, profile: str, out_dir: Path) -> int:
    """Serve the scheduled deployments until interrupted."""
    resolved = load_profile(profile, out_dir=out_dir)
    serve(*deployments(profile, resolved, out_dir))
    return 0
