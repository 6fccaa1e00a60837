"""Issue 11 acceptance on the DEFAULT small demo's season (the session's season run, no new flow).

Everything planted is read from ``truth.json`` (never a park name): every stressed park reaches
class 1 or 2 by the end of its ramp, at least one planted gradual ramp is at watch/high at least a
week before its first urgent window, no control is ever urgent, the watered park opens and clears
its work order, the cloud-hidden park is DATA_GAP every week, and class-1 scores order the stressed
parks by their planted dryness (:func:`tests.flows.graded_acceptance.acceptance_failures`, the same
check ``test_seed_acceptance`` applies to drawn cities through ``geospace backtest``).
"""

from __future__ import annotations

import json
from typing import Any

from eo.demo.layout import DemoLayout
from tests.flows.conftest import SeasonRun
from tests.flows.graded_acceptance import acceptance_failures, read_series


def test_default_demo_meets_the_graded_warning_acceptance(
    demo_small: DemoLayout, season_run: SeasonRun
) -> None:
    from alerts.outbox import commands

    t: dict[str, Any] = json.loads(demo_small.truth.read_text(encoding="utf-8"))
    assert t["scenario"]["default"] is True
    series = read_series(season_run.out / "vegetation")
    assert sorted(str(d) for d in next(iter(series.values()))) == sorted(season_run.windows)
    failures = acceptance_failures(t, series, commands.list_revisions(season_run.out))
    assert not failures, failures
