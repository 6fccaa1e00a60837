"""``geospace serve``: the flows on their schedules on one machine (Prefect's ``serve``).

The same schedules are declared for a Prefect server with work pools in ``infra/prefect.yaml``
(a test checks they agree): weekly irrigation priority (Mondays 06:00, April-October) on the
trailing window that ends the day before, a daily heat decision (07:30, May-September) on the
forecasts issued that day, a monthly deformation check (the 3rd, 05:00) for EGMS releases published
since, and the outbox relay every minute. Cron schedules are read in the profile's timezone
(Europe/Vienna for Vienna).

A scheduled run derives its window from its scheduled time, read in the profile's timezone (no
watermark state): a run that starts late, or a missed run triggered after an outage, evaluates the
window of its own schedule, and the outbox key makes a repeated window queue nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
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
HEAT_DAILY_CRON = "30 7 * 5-9 *"
"""Every day 07:30, May to September: after the morning forecast, before the working day."""
DEFORMATION_MONTHLY_CRON = "0 5 3 * *"
"""The 3rd of every month 05:00: picks up an EGMS release published in the month before."""
RELAY_INTERVAL_S = 60
DEFORMATION_FIRST_DAY = date(2015, 1, 1)
"""EGMS series start in 2015 (Sentinel-1): a monthly run considers every release since."""


@dataclass(frozen=True)
class ScheduleSpec:
    """One served deployment: its name suffix and cron, or interval in seconds."""

    suffix: str
    cron: str | None = None
    interval_s: int | None = None


SCHEDULES = (
    ScheduleSpec("vegetation-weekly", cron=VEGETATION_WEEKLY_CRON),
    ScheduleSpec("heat-daily", cron=HEAT_DAILY_CRON),
    ScheduleSpec("deformation-monthly", cron=DEFORMATION_MONTHLY_CRON),
    ScheduleSpec("outbox-delivery", interval_s=RELAY_INTERVAL_S),
)


def scheduled_day(scheduled: datetime | None, today: date, timezone: str = "UTC") -> date:
    """The calendar day of the scheduled time in ``timezone`` (``today`` for a manual run)."""
    return scheduled.astimezone(ZoneInfo(timezone)).date() if scheduled is not None else today


def window_end_for(scheduled: datetime | None, today: date, timezone: str = "UTC") -> date:
    """Last day of the window a run scheduled at ``scheduled`` evaluates: the day before it.

    Derived from the scheduled time, read in ``timezone`` (the profile's), not from the wall clock
    or a stored watermark, so a late or repeated run evaluates the same window.
    """
    return scheduled_day(scheduled, today, timezone) - timedelta(days=1)


def _today(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


CATCH_UP_MAX_RUNS = 8
"""A scheduled vegetation run catches up at most this many missed runs before its own (two
months of weekly runs); an older gap is left to a manual ``geospace run`` of that period."""


def completed_window_ends(out_dir: Path) -> list[date]:
    """Window ends whose vegetation products are on disk (``OUT/vegetation/<end>/manifest.json``,
    written last and atomically), ascending."""
    ends = []
    for manifest in (out_dir / "vegetation").glob("*/manifest.json"):
        try:
            ends.append(date.fromisoformat(manifest.parent.name))
        except ValueError:
            continue
    return sorted(ends)


def missed_window_ends(
    end: date,
    completed: list[date],
    *,
    cron: str = VEGETATION_WEEKLY_CRON,
    timezone: str = "UTC",
    max_runs: int = CATCH_UP_MAX_RUNS,
) -> list[date]:
    """Window ends a run evaluating ``end`` must evaluate, ascending, ``end`` last.

    The windows of the schedule's runs (``cron`` in ``timezone``; a run's window ends the day
    before it) after the last completed window before ``end``: the runs an outage missed. Derived
    from the schedule and the products on disk, not from a stored watermark; nothing before the
    first completed window (a new deployment does not backfill), at most ``max_runs`` missed runs.
    """
    from cronsim import CronSim

    earlier = [d for d in completed if d < end]
    if not earlier:
        return [end]
    zone = ZoneInfo(timezone)
    # The first run that could follow the last completed window's run: the day after it ended.
    after = datetime.combine(max(earlier) + timedelta(days=1), datetime.max.time(), zone)
    missed: list[date] = []
    for fire in CronSim(cron, after.replace(microsecond=0)):
        window_end = fire.astimezone(zone).date() - timedelta(days=1)
        if window_end >= end:
            break
        missed.append(window_end)
    return [*missed[-max_runs:], end]


@flow(name="vegetation-weekly")
def vegetation_weekly(profile: str, out_dir: str = "out", catch_up: bool = True) -> Any:
    """The vegetation flow for the window ending the day before the scheduled time.

    The inputs are resolved here, once: the profile's timezone places the window, and the flow
    gets the resolved inputs instead of loading the profile again. ``catch_up``: after an outage,
    the windows of the runs missed since the last completed window are evaluated too, in order,
    in the same run (:func:`missed_window_ends`; the outbox's message keys keep a re-evaluated
    window from queueing a duplicate).
    """
    inputs = resolve_inputs(profile, Path(out_dir))
    tz = inputs.profile.timezone
    end = window_end_for(flow_run.scheduled_start_time, _today(tz), tz)
    start = end
    if catch_up:
        done = completed_window_ends(Path(out_dir))
        start = missed_window_ends(end, done, cron=VEGETATION_WEEKLY_CRON, timezone=tz)[0]
    return vegetation_flow(profile=profile, start=start, end=end, out_dir=out_dir, inputs=inputs)


@flow(name="heat-daily")
def heat_daily(profile: str, out_dir: str = "out") -> Any:
    """The heat flow on the forecasts issued on the scheduled day (profile's timezone)."""
    from flows.heat import _flow as heat_flow

    tz = load_profile(profile, out_dir=Path(out_dir)).timezone
    day = scheduled_day(flow_run.scheduled_start_time, _today(tz), tz)
    return heat_flow()(profile=profile, start=day, end=day, out_dir=out_dir)


@flow(name="deformation-monthly")
def deformation_monthly(profile: str, out_dir: str = "out") -> Any:
    """The deformation flow on every EGMS release ending before the scheduled day.

    Each release is evaluated once; a release already evaluated queues no new revision.
    """
    from flows.deformation import deformation_flow

    tz = load_profile(profile, out_dir=Path(out_dir)).timezone
    end = window_end_for(flow_run.scheduled_start_time, _today(tz), tz)
    return deformation_flow()(
        profile=profile, start=DEFORMATION_FIRST_DAY, end=end, out_dir=out_dir
    )


SCHEDULED_FLOWS: dict[str, Any] = {
    "vegetation-weekly": vegetation_weekly,
    "heat-daily": heat_daily,
    "deformation-monthly": deformation_monthly,
}


def deployments(profile_ref: str, profile: CityProfile, out_dir: Path) -> list[Any]:
    """The served deployments of :data:`SCHEDULES`: cron in the profile's timezone, the relay."""
    served: list[Any] = []
    tags = [f"profile:{profile.name}", *(f"host:{h}" for h in profile.allowlist.hosts)]
    for spec in SCHEDULES:
        if spec.cron is not None:
            served.append(
                SCHEDULED_FLOWS[spec.suffix].to_deployment(
                    name=f"{profile.name}-{spec.suffix}",
                    schedule=Cron(spec.cron, timezone=profile.timezone),
                    parameters={"profile": profile_ref, "out_dir": str(out_dir)},
                    tags=tags,
                )
            )
        else:
            served.append(
                delivery_flow.to_deployment(
                    name=spec.suffix,
                    interval=spec.interval_s,
                    parameters={"out": str(out_dir), "profile": profile_ref},
                    tags=["delivery"],
                )
            )
    return served


def describe(served: list[Any]) -> list[str]:
    """One line per served deployment: its name and schedule (cron and zone, or interval)."""
    lines = []
    for deployment in served:
        for entry in deployment.schedules or ():
            schedule = entry.schedule
            if getattr(schedule, "cron", None):
                when = f"cron '{schedule.cron}' {schedule.timezone}"
            else:
                when = f"every {schedule.interval.total_seconds():.0f} s"
            lines.append(f"{deployment.flow_name}/{deployment.name}: {when}")
    return lines


def serve_flows(*, profile: str, out_dir: Path) -> int:
    """Print the schedules, then serve the deployments until SIGINT/SIGTERM (CLI: 130/143)."""
    import sys

    resolved = load_profile(profile, out_dir=out_dir)
    served = deployments(profile, resolved, out_dir)
    print(f"serving {len(served)} deployment(s) of profile {resolved.name}; stop with Ctrl-C:")
    for line in describe(served):
        print(f"  {line}")
    sys.stdout.flush()
    serve(*served)  # prints "Your deployments are being served" once they are registered
    return 0
