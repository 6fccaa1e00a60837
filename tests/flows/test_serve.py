"""Scheduled runs derive their window from the scheduled time, never from a watermark."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from core.profile import load_profile
from flows.serve import deployments, window_end_for


def test_window_ends_the_day_before_the_scheduled_run() -> None:
    monday = datetime(2022, 8, 29, 6, 0, tzinfo=UTC)
    # a run that starts late (Wednesday) still evaluates the window of its schedule
    assert window_end_for(monday, today=date(2022, 8, 31)) == date(2022, 8, 28)


def test_manual_run_without_schedule_uses_today() -> None:
    assert window_end_for(None, today=date(2022, 9, 5)) == date(2022, 9, 4)


def test_scheduled_time_is_read_in_the_profiles_timezone() -> None:
    # Monday 00:30 in Vienna is still Sunday in UTC: the window ends on Sunday, not Saturday.
    scheduled = datetime(2022, 8, 28, 22, 30, tzinfo=UTC)
    assert window_end_for(scheduled, today=date(2022, 9, 5), timezone="Europe/Vienna") == date(
        2022, 8, 28
    )
    assert window_end_for(scheduled, today=date(2022, 9, 5), timezone="UTC") == date(2022, 8, 27)


def test_served_schedules_match_infra_and_carry_the_profiles_timezone(tmp_path: Path) -> None:
    infra = yaml.safe_load(
        (Path(__file__).parents[2] / "infra" / "prefect.yaml").read_text(encoding="utf-8")
    )
    declared = {d["name"]: d["schedules"][0] for d in infra["deployments"] if d.get("schedules")}
    profile = load_profile("vienna", out_dir=tmp_path)
    served = deployments("vienna", profile, tmp_path)
    # every scheduled deployment of the file for this profile is served, and nothing else
    assert {d.name for d in served} == set(declared)
    for deployment in served:
        (schedule,) = deployment.schedules
        want = declared[deployment.name]
        if "cron" in want:
            assert schedule.schedule.cron == want["cron"]
            assert schedule.schedule.timezone == profile.timezone == want["timezone"]
            assert deployment.parameters == {"profile": "vienna", "out_dir": str(tmp_path)}
        else:
            assert schedule.schedule.interval.total_seconds() == want["interval"]
            assert deployment.parameters == {"out": str(tmp_path), "profile": "vienna"}


def test_weekly_run_resolves_its_inputs_once_and_hands_them_to_the_flow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import flows.serve as serve_module

    resolved: list[tuple[str, Path]] = []
    inputs = SimpleNamespace(profile=SimpleNamespace(timezone="Europe/Vienna"))
    runs: list[dict[str, Any]] = []

    def resolve(profile: str, out_dir: Path) -> Any:
        resolved.append((profile, out_dir))
        return inputs

    monkeypatch.setattr(serve_module, "resolve_inputs", resolve)
    monkeypatch.setattr(serve_module, "vegetation_flow", lambda **kw: runs.append(kw))
    serve_module.vegetation_weekly.fn(profile="vienna", out_dir=str(tmp_path))
    assert resolved == [("vienna", tmp_path)]
    (run,) = runs
    assert run["inputs"] is inputs and run["start"] == run["end"]
    assert run["profile"] == "vienna" and run["out_dir"] == str(tmp_path)


@pytest.mark.parametrize(
    ("wrapper", "module", "factory", "want"),
    [
        # heat: the forecasts issued on the scheduled day (Vienna), one day
        ("heat_daily", "flows.heat", "_flow", (date(2022, 7, 18), date(2022, 7, 18))),
        # deformation: every release since EGMS began, ending before the scheduled day
        ("deformation_monthly", "flows.deformation", "deformation_flow",
         (date(2015, 1, 1), date(2022, 7, 17))),
    ],
)  # fmt: skip
def test_daily_and_monthly_runs_take_their_window_from_the_scheduled_time(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    wrapper: str,
    module: str,
    factory: str,
    want: tuple[date, date],
) -> None:
    import importlib

    import flows.serve as serve_module

    calls: list[dict[str, Any]] = []
    # 2022-07-17 23:30 UTC is 2022-07-18 01:30 in Vienna: the Vienna day counts
    scheduled = datetime(2022, 7, 17, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(serve_module, "flow_run", SimpleNamespace(scheduled_start_time=scheduled))
    monkeypatch.setattr(
        serve_module, "load_profile", lambda *a, **k: SimpleNamespace(timezone="Europe/Vienna")
    )
    monkeypatch.setattr(
        importlib.import_module(module), factory, lambda: lambda **kw: calls.append(kw)
    )
    getattr(serve_module, wrapper).fn(profile="vienna", out_dir=str(tmp_path))
    (call,) = calls
    assert (call["start"], call["end"]) == want
    assert call["profile"] == "vienna" and call["out_dir"] == str(tmp_path)


def test_missed_windows_since_the_last_completed_one_follow_the_schedule() -> None:
    from flows.serve import VEGETATION_WEEKLY_CRON, missed_window_ends

    def missed(end: date, done: list[date], max_runs: int = 8) -> list[date]:
        return missed_window_ends(
            end, done, cron=VEGETATION_WEEKLY_CRON, timezone="Europe/Vienna", max_runs=max_runs
        )

    # Mondays 06:00 Vienna: windows end on Sundays; 2022-07-03 and 07-10 were missed.
    assert missed(date(2022, 7, 17), [date(2022, 6, 19), date(2022, 6, 26)]) == [
        date(2022, 7, 3),
        date(2022, 7, 10),
        date(2022, 7, 17),
    ]
    # Nothing missed, a repeated run, a first run (no backfill) and the winter pause (Apr-Oct).
    assert missed(date(2022, 7, 17), [date(2022, 7, 10)]) == [date(2022, 7, 17)]
    assert missed(date(2022, 7, 17), [date(2022, 7, 10), date(2022, 7, 17)]) == [date(2022, 7, 17)]
    assert missed(date(2022, 7, 17), []) == [date(2022, 7, 17)]
    assert missed(date(2023, 4, 2), [date(2022, 10, 30)]) == [date(2023, 4, 2)]
    # A long outage catches up a bounded number of runs.
    assert missed(date(2022, 9, 4), [date(2022, 5, 1)], max_runs=2) == [
        date(2022, 8, 21),
        date(2022, 8, 28),
        date(2022, 9, 4),
    ]


def test_weekly_run_after_an_outage_evaluates_the_missed_windows_in_one_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import flows.serve as serve_module

    for end in ("2022-06-19", "2022-06-26"):  # completed windows: products with a manifest
        (tmp_path / "vegetation" / end).mkdir(parents=True)
        (tmp_path / "vegetation" / end / "manifest.json").write_text("{}")
    (tmp_path / "vegetation" / "2022-07-03").mkdir()  # staged, never completed: not done
    inputs = SimpleNamespace(profile=SimpleNamespace(timezone="Europe/Vienna"))
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(serve_module, "resolve_inputs", lambda *a: inputs)
    monkeypatch.setattr(serve_module, "vegetation_flow", lambda **kw: runs.append(kw))
    # Monday 2022-07-18 06:00 Vienna (04:00 UTC): its window ends Sunday 2022-07-17.
    scheduled = datetime(2022, 7, 18, 4, 0, tzinfo=UTC)
    monkeypatch.setattr(serve_module, "flow_run", SimpleNamespace(scheduled_start_time=scheduled))
    serve_module.vegetation_weekly.fn(profile="vienna", out_dir=str(tmp_path))
    serve_module.vegetation_weekly.fn(profile="vienna", out_dir=str(tmp_path), catch_up=False)
    assert [(r["start"], r["end"]) for r in runs] == [
        (date(2022, 7, 3), date(2022, 7, 17)),  # the missed 07-03 and 07-10, then 07-17
        (date(2022, 7, 17), date(2022, 7, 17)),
    ]
