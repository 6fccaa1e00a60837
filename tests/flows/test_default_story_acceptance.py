"""Issue 11 acceptance on the DEFAULT small demo's season (the session's season run, no new flow).

Everything planted is read from ``truth.json`` (never a park name): every stressed park reaches
class 1 or 2 by the end of its ramp, at least one planted gradual ramp is at watch/high at least a
week before its first urgent window, no control is ever urgent, the watered park opens and clears,
the cloud-hidden park is DATA_GAP every week, and class-1 scores order the stressed parks by their
planted dryness.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from eo.demo.layout import DemoLayout
from tests.flows.conftest import SeasonRun


def _classes(season_run: SeasonRun, park: str) -> dict[date, tuple[Any, Any, Any]]:
    """Per window end: (status, priority class, score) of ``park``."""
    out: dict[date, tuple[Any, Any, Any]] = {}
    for end in sorted(season_run.windows):
        p = season_run.parks(end)[park]
        out[date.fromisoformat(end)] = (p.get("status"), p.get("priority_class"), p.get("score"))
    return out


def test_default_demo_meets_the_graded_warning_acceptance(
    demo_small: DemoLayout, season_run: SeasonRun
) -> None:
    t: dict[str, Any] = json.loads(demo_small.truth.read_text(encoding="utf-8"))
    assert t["scenario"]["default"] is True
    week = timedelta(days=7)

    warned_early = []
    for s in t["stressed_parks"] + t["watered_parks"]:
        series = _classes(season_run, s["park_id"])
        urgent = [d for d, (_, c, _) in series.items() if c == 1]
        early = [d for d, (_, c, _) in series.items() if c in (2, 3)]
        if s["gradual"] and urgent and early and min(early) <= min(urgent) - week:
            warned_early.append(s["park_id"])
    for s in t["stressed_parks"]:
        series = _classes(season_run, s["park_id"])
        ramp_end = date.fromisoformat(s["ramp_end"])
        by_end = [c for d, (_, c, _) in series.items() if d <= ramp_end + week]
        assert {1, 2} & set(by_end), (s["park_id"], series)
    assert warned_early, "no planted gradual ramp reached watch/high a week before urgent"

    for park in t["unstressed_parks"]:
        assert all(c != 1 for _, c, _ in _classes(season_run, park).values()), park

    for w in t["watered_parks"]:
        rows = list(_classes(season_run, w["park_id"]).values())
        assert any(c == 1 for _, c, _ in rows), (w["park_id"], rows)
        assert rows[-1][1] == 4 and rows[-1][0] != "DATA_GAP", rows

    hidden = t["cloud_hidden_park"]["park_id"]
    assert {st for st, _, _ in _classes(season_run, hidden).values()} == {"DATA_GAP"}

    last = max(season_run.windows)
    parks = season_run.parks(last)
    urgent_now = [p for p in t["expected_dryness_order"] if parks[p].get("priority_class") == 1]
    by_score = sorted(urgent_now, key=lambda p: -float(parks[p]["score"]))
    assert urgent_now and by_score == urgent_now, (urgent_now, by_score)
