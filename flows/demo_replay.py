"""The demo season replay: every product flow run on the demo city, then one delivery.

``geospace demo`` builds the synthetic city (:mod:`eo.demo`) and calls :func:`replay_demo_season`.
Each product flow is one :class:`ReplayStep` in :func:`demo_steps`; a new flow (heat, deformation)
adds its step there and nothing else changes. The steps run in order on the same output folder,
then the outbox is delivered once and the work orders it holds are listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flows.progress import NullReporter

DEMO_PROFILE = "vienna-demo"
"""The packaged profile of the demo city (``core/profiles/vienna-demo.yaml``)."""
DEMO_SEASON = (date(2022, 6, 14), date(2022, 8, 30))
"""First and last window end of the replayed season (the demo city's planted summer)."""


@dataclass(frozen=True)
class ReplayStep:
    """One product flow of the demo replay: ``run(out_dir)`` returns the CLI exit code."""

    name: str
    run: Callable[[Path, NullReporter], int]


def _vegetation(out_dir: Path, progress: NullReporter) -> int:
    from flows.vegetation import run_vegetation_cli

    start, end = DEMO_SEASON
    return run_vegetation_cli(
        profile=DEMO_PROFILE, start=start, end=end, out_dir=out_dir, progress=progress
    )


HEAT_RUN = (date(2022, 6, 20), date(2022, 7, 19))
"""Forecast issue days the demo's heat run covers: one without a heatwave, then a heatwave that
is forecast and updated. Its bulletin stays pending approval: the heat run sets the outbox clock to
the replayed forecast time (alerts.outbox.asof), so it does not expire at once."""


def _heat(out_dir: Path, progress: NullReporter) -> int:
    from flows.heat import run_heat_cli

    start, end = HEAT_RUN
    return run_heat_cli(
        profile=DEMO_PROFILE, start=start, end=end, out_dir=out_dir, progress=progress
    )


DEFORMATION_PERIOD = (date(2018, 1, 1), date(2023, 12, 31))
"""The demo's EGMS releases (2018-2022 and 2019-2023, eo/demo/egms_releases.py), both in the period."""


def _deformation(out_dir: Path, progress: NullReporter) -> int:
    from flows.deformation import run_deformation_cli

    start, end = DEFORMATION_PERIOD
    return run_deformation_cli(
        profile=DEMO_PROFILE, start=start, end=end, out_dir=out_dir, progress=progress
    )


def demo_steps() -> tuple[ReplayStep, ...]:
    """The product flows the demo replays, in order (heat and deformation add theirs here)."""
    # heat first: it sets the outbox clock to its replayed forecast time, so every later step's
    # rows are due on that clock when the replay delivers.
    return (
        ReplayStep("heat", _heat),
        ReplayStep("vegetation", _vegetation),
        ReplayStep("deformation", _deformation),
    )


def replay_demo_season(*, out_dir: Path, small: bool, progress: NullReporter | None = None) -> int:
    """Run every step of :func:`demo_steps`, then deliver the outbox once; worst exit code wins.

    ``small`` is the size of the city already built under ``out_dir`` (the steps read it from
    there); it is accepted so callers need not know which flows care. ``progress``: the
    command's reporter; each step records its outcome on it.
    """
    from alerts.outbox import commands as ops
    from flows.artifacts import refresh_dashboard

    reporter = progress or NullReporter()
    code = 0
    steps = demo_steps()
    for number, step in enumerate(steps, 1):
        reporter.message(f"demo: step {number}/{len(steps)}: {step.name}")
        code = max(code, step.run(out_dir, reporter))
    reporter.stage("delivering the outbox")
    report = ops.deliver(out_dir)
    refresh_dashboard(out_dir)
    reporter.done("delivering the outbox", f"{report.get('sent', 0)} message(s) sent")
    reporter.finish(
        "Completed",
        [str(out_dir / "alerts" / "outbound.jsonl")],
        {"delivered": int(report.get("sent", 0))},
        f"delivered {report.get('sent', 0)} message(s) to {out_dir}/alerts/outbound.jsonl",
    )
    print(f"delivered {report.get('sent', 0)} message(s) to {out_dir}/alerts/outbound.jsonl")
    print(f"dashboard: {out_dir / 'index.html'} (open it in a browser; it works offline)")
    for rev in ops.list_revisions(out_dir):
        if rev["hazard"] == "heat" and rev["status"] == "pending_approval":
            print(
                f"  heat bulletin {rev['id']} (revision {rev['revision']} {rev['msg_type']}, level "
                f"{rev['level']}) waits for approval: geospace alerts approve {rev['id']} --by NAME "
                f"--out {out_dir}"
            )
        if rev["hazard"] in ("irrigation", "deformation"):
            print(
                f"  work order {rev['subject']}: revision {rev['revision']} {rev['msg_type']} "
                f"level {rev['level']} ({rev['status']})"
            )
    return code
