"""Issue 11's acceptance on several demo cities: the default one and seeds the rules never saw.

For each city (``build_demo(seed=N)``, small) ``geospace backtest`` replays the whole season
(irrigation and heat) and the two EGMS releases (deformation) with the built-in rules. The
season's products and outbox must meet the graded-warning acceptance (:mod:`graded_acceptance`,
read from ``truth.json`` only), and the backtest report must give the same figures: every planted
event found, no false urgent, a ramp warned before its alarm, the hidden park always DATA_GAP, the
watered park cleared, class-1 scores in the planted order; heat bulletins exactly on the drawn
heatwave forecasts; the drawn subsiding stretch (and a drawn, unlisted step) found.

The drawn seeds were not used to set any threshold (the watch limit was revisited on seeds 1
and 2, DESIGN section 4), so they show how the rules behave on layouts they were not tuned to.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from eo.demo.layout import DEMO_SEED, DemoLayout
from tests.flows.conftest import write_profile
from tests.flows.graded_acceptance import acceptance_failures, read_series

pytestmark = pytest.mark.slow  # builds demo cities and replays a season per city

SEEDS = (DEMO_SEED, 3, 4)
"""The default city and two drawn ones the rules were not tuned on."""
SEASON = (date(2022, 6, 14), date(2022, 8, 30))
RELEASES = (date(2018, 1, 1), date(2023, 12, 31))


@dataclass(frozen=True)
class SeededBacktest:
    seed: int
    truth: dict[str, Any]
    season: dict[str, Any]
    """backtest.json of irrigation and heat over the season."""
    releases: dict[str, Any]
    """backtest.json of deformation over the releases."""

    def run(self, doc: dict[str, Any]) -> Path:
        return Path(doc["runs"]["baseline"]["folder"])


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed-{s}")
def seeded(
    request: pytest.FixtureRequest,
    demo_small: DemoLayout,
    prefect_server: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> SeededBacktest:
    from eo.demo.build import build_demo
    from flows.backtest import run_backtest_cli

    seed = int(request.param)
    tmp = tmp_path_factory.mktemp(f"seed-{seed}")
    city = demo_small if seed == DEMO_SEED else build_demo(tmp / "city", small=True, seed=seed)
    profile = write_profile(tmp, Path(city.root), name="seeded")
    docs = []
    for (start, end), products in ((SEASON, ("irrigation", "heat")), (RELEASES, ("deformation",))):
        out = tmp / f"backtest-{products[0]}"
        with warnings.catch_warnings(record=True):  # the planted duplicate, wrong flag: reported
            warnings.simplefilter("always")
            code = run_backtest_cli(
                profile=str(profile), start=start, end=end, out_dir=out, products=products
            )
        assert code == 0
        report = out / "backtest" / f"vienna-demo_{start}_{end}" / "backtest.json"
        docs.append(json.loads(report.read_text(encoding="utf-8")))
    truth = json.loads(Path(city.truth).read_text(encoding="utf-8"))
    assert truth["seed"] == seed
    return SeededBacktest(seed, truth, docs[0], docs[1])


def test_season_meets_the_graded_warning_acceptance(seeded: SeededBacktest) -> None:
    from alerts.outbox import commands

    run = seeded.run(seeded.season)
    series = read_series(run / "vegetation")
    failures = acceptance_failures(seeded.truth, series, commands.list_revisions(run))
    assert not failures, (seeded.seed, failures)


def test_backtest_report_gives_the_same_figures(seeded: SeededBacktest) -> None:
    t = seeded.truth
    s = seeded.season["runs"]["baseline"]["summary"]["irrigation"]
    planted = [p["park_id"] for p in t["stressed_parks"] + t["watered_parks"]]
    assert s["events_in_period"] == len(planted) and s["recall"] == 1.0 and not s["missed"]
    assert s["false_alarm_windows"] == 0 and s["false_alarms_on_controls"] == 0
    assert s["warned_before_alarm"] >= 1
    assert s["hidden_subjects"] == s["hidden_always_data_gap"] == 1
    assert not set(s["not_cleared"]) & {p["park_id"] for p in t["watered_parks"]}
    events = {
        e["subject_id"]: e
        for e in seeded.season["runs"]["baseline"]["tables"]["irrigation"]["events"]
    }
    for park in t["watered_parks"]:
        assert events[park["park_id"]]["cleared"] is True, events[park["park_id"]]
    if s["order"] is not None:  # two or more stressed parks urgent in one window
        assert s["order_share"] == 1.0, s["order"]


def test_heat_bulletins_follow_the_drawn_heatwave(seeded: SeededBacktest) -> None:
    due = seeded.truth["heat"]["weather"]["forecasts_with_heatwave"]
    s = seeded.season["runs"]["baseline"]["summary"]["heat"]
    in_season = [d for d in due if str(SEASON[0]) <= d <= str(SEASON[1])]
    assert in_season and s["events_in_period"] == len(in_season)
    assert s["recall"] == 1.0 and s["false_alarm_windows"] == 0, s


def test_drawn_deformation_sites_are_found(seeded: SeededBacktest) -> None:
    """The subsiding stretch (beyond the warning velocity) is a work order; a step at works the
    profile does not list is settlement too, at least on watch (a step of 15-25 mm on a date
    inside the release reads as a velocity near the warning limit: the larger ones reach it, the
    backtest counts the others as missed, which is what an engineer should see)."""
    insar = seeded.truth["insar"]
    run = seeded.releases["runs"]["baseline"]
    s = run["summary"]["deformation"]
    events = {e["subject_id"]: e for e in run["tables"]["deformation"]["events"]}
    stretch = insar["subsiding_stretch"]
    assert events[f"{stretch['line']} {stretch['name']}"]["detected"], events
    step = insar["step"]
    if not step["known_event"]:
        assert events[f"{step['line']} {step['name']}"]["best_class"] <= 3, events
    assert s["events_in_period"] == len(events) == 1 + (not step["known_event"])
    assert s["false_alarm_windows"] == 0, s
    assert s["hidden_subjects"] == len(insar["sparse_stretch"]["segment_ids"])
