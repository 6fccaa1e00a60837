"""``geospace backtest`` on the small demo: two weekly windows, the built-in rules against a
deliberately worse rule version (absurd class thresholds written here), report files checked
against truth.json and against the products the runs wrote (independent of the scoring code).

One backtest (two vegetation runs of two windows each) is shared by the tests of this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.policies import BUILT_IN
from eo.demo.layout import DemoLayout
from flows.cli import main
from tests.flows.conftest import write_profile

pytestmark = pytest.mark.slow  # builds the small demo city and runs flows

START, END = date(2022, 8, 23), date(2022, 8, 30)  # two windows: fast, late in the ramps
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Backtest:
    out: Path
    report: Path
    doc: dict[str, Any]
    truth: dict[str, Any]
    code: int


def _worse_rules(folder: Path) -> Path:
    """The built-in priority rule with class thresholds no score reaches (a broken release)."""
    doc = yaml.safe_load((BUILT_IN / "irrigation_priority.yaml").read_text(encoding="utf-8"))
    doc["version"] = "irrigation-priority-absurd"
    doc["classes"].update(urgent="0.999 1", high="0.998 1", watch="0.997 1")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "irrigation_priority.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def backtest(
    demo_small: DemoLayout, prefect_server: None, tmp_path_factory: pytest.TempPathFactory
) -> Backtest:
    from flows.backtest import run_backtest_cli

    tmp = tmp_path_factory.mktemp("backtest")
    profile = write_profile(tmp, Path(demo_small.root), name="bt")
    out = tmp / "out"
    code = run_backtest_cli(
        profile=str(profile), start=START, end=END, out_dir=out,
        compare_rules=_worse_rules(tmp / "worse"),
    )  # fmt: skip
    report = out / "backtest" / f"vienna-demo_{START}_{END}"
    doc = json.loads((report / "backtest.json").read_text(encoding="utf-8"))
    truth = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))
    return Backtest(out, report, doc, truth, code)


def _products(run: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """window end -> park id -> properties, read from the run's GeoJSON products."""
    out = {}
    for folder in sorted((run / "vegetation").iterdir()):
        doc = json.loads((folder / "irrigation_priority.geojson").read_text(encoding="utf-8"))
        out[folder.name] = {f["properties"]["park_id"]: f["properties"] for f in doc["features"]}
    return out


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [i["park_id"] if isinstance(i, dict) else str(i) for i in items]


def test_report_files_exist_parse_and_work_offline(backtest: Backtest) -> None:
    assert backtest.code == 0
    md = (backtest.report / "backtest.md").read_text(encoding="utf-8")
    page = (backtest.report / "backtest.html").read_text(encoding="utf-8")
    assert md.startswith("# Backtest") and "## irrigation" in md
    assert page.startswith("<!DOCTYPE html>") and "http://" not in page and "https://" not in page
    plots = backtest.doc["plots"]["irrigation"]
    parks = _products(Path(backtest.doc["runs"]["baseline"]["folder"]))
    assert set(plots) == set(next(iter(parks.values())))  # a plot per subject
    for rel in plots.values():
        assert (backtest.report / rel).read_bytes().startswith(PNG)
        assert f"]({rel})" in md
    assert page.count("data:image/png;base64,") == len(plots)
    assert backtest.doc["period"]["window_ends"] == [str(START), str(END)]
    assert not list(backtest.report.rglob(".*.tmp"))  # atomic writes left nothing behind


def test_figures_match_truth_and_the_products(backtest: Backtest) -> None:
    from alerts.outbox import commands

    run = Path(backtest.doc["runs"]["baseline"]["folder"])
    products = _products(run)
    rows = [p for parks in products.values() for p in parks.values()]
    s = backtest.doc["runs"]["baseline"]["summary"]["irrigation"]
    truth = backtest.truth
    stressed = _ids(truth["stressed_parks"])
    # every planted stressed park whose ramp ended by the period is found (class 1 or 2) ...
    for park in stressed:
        best = min(p[park]["priority_class"] or 4 for p in products.values())
        assert best <= 2, park
    ramps_done = [
        p["park_id"] for p in truth["stressed_parks"]
        if date.fromisoformat(p["onset"]).toordinal() + p["ramp_days"] <= END.toordinal()
    ]  # fmt: skip
    assert ramps_done and set(ramps_done) <= set(stressed)
    assert s["recall"] == 1.0 and s["missed"] == []
    assert s["detected"] == s["events_in_period"] >= len(ramps_done)
    # ... no unstressed park is ever urgent, and the report counts no false urgent on them
    controls = _ids(truth["unstressed_parks"])
    assert all(p[c]["priority_class"] != 1 for p in products.values() for c in controls)
    assert s["false_alarms_on_controls"] == 0
    urgent_outside = {
        pid for parks in products.values() for pid, p in parks.items()
        if p["priority_class"] == 1 and pid not in stressed + _ids(truth.get("watered_parks"))
    }  # fmt: skip
    assert s["false_alarm_windows"] == 0 and not urgent_outside
    # the cloud-hidden park is DATA_GAP in every window, and the share is the products'
    hidden = _ids(truth["cloud_hidden_park"])
    assert all(p[h]["status"] == "DATA_GAP" for p in products.values() for h in hidden)
    assert s["hidden_subjects"] == s["hidden_always_data_gap"] == len(hidden)
    gaps = sum(r["status"] == "DATA_GAP" for r in rows)
    assert s["subject_windows"] == len(rows) and s["data_gap_share"] == round(gaps / len(rows), 4)
    # revisions counted from the run's own outbox; nothing was delivered
    revisions = commands.list_revisions(run)
    work_orders = [r for r in revisions if r["hazard"] == "irrigation"]
    assert s["revisions"]["work_orders"] == len(work_orders)
    assert s["revisions"]["events"] == len({r["subject"] for r in work_orders})
    assert s["revisions"]["total"] == len(
        [r for r in revisions if r["hazard"] == "irrigation"
         or str(r["subject"]).startswith(("irrigation/", "digest/irrigation/"))]
    )  # fmt: skip
    assert all(r["status"] != "sent" for r in revisions)
    # a watered park: "cleared" is whether its last window after the planted recovery is below
    # urgent, as the products say
    events = {
        e["subject_id"]: e
        for e in backtest.doc["runs"]["baseline"]["tables"]["irrigation"]["events"]
    }
    for park in truth.get("watered_parks", []):
        recovered = park.get("recovered")
        after = [
            p[park["park_id"]]
            for end, p in sorted(products.items())
            if recovered and end > recovered
        ]
        seen = [p["priority_class"] for p in after if p["status"] != "DATA_GAP"]
        assert events[park["park_id"]]["cleared"] == ((seen[-1] != 1) if seen else None)
    assert not (run / "alerts" / "outbound.jsonl").exists()
    assert not (backtest.out / "alerts").exists()  # the user's own outbox was never touched


def test_a_worse_rule_version_scores_worse(backtest: Backtest) -> None:
    runs = backtest.doc["runs"]
    assert runs["candidate"]["rules"]["irrigation_priority"] == "irrigation-priority-absurd"
    assert runs["baseline"]["rules"]["irrigation_priority"] != "irrigation-priority-absurd"
    base = runs["baseline"]["summary"]["irrigation"]
    cand = runs["candidate"]["summary"]["irrigation"]
    assert cand["recall"] < base["recall"] and cand["detected"] == 0
    cmp = backtest.doc["comparison"]["irrigation"]
    assert cmp["verdict"] == "worse" and "recall" in cmp["worse"]
    assert cmp["figures"]["recall"]["delta"] == round(cand["recall"] - base["recall"], 4)
    md = (backtest.report / "backtest.md").read_text(encoding="utf-8")
    assert "candidate rules are WORSE" in md
    # the candidate's products really came from the absurd rule: nothing above class 4
    classes = {
        p["priority_class"]
        for parks in _products(Path(runs["candidate"]["folder"])).values()
        for p in parks.values()
    }
    assert classes <= {4, None}


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--truth", "{tmp}/missing.csv"], "--truth: "),
        (["--truth", "{tmp}/bad.csv"], "line 2: start '10/07/2022' is not a date"),
        (["--rules", "{tmp}/wrong_name.yaml"], "is not a built-in policy"),
        (["--compare-rules", "{tmp}/broken"], "--compare-rules: "),
        (["--start", "2022-08-30", "--end", "2022-08-23"], "before --start"),
        (["--products", "irrigation,floods"], "--products: irrigation,floods: floods"),
    ],
)
def test_invalid_input_exits_2_and_writes_nothing(
    tmp_path: Path,
    demo_small: DemoLayout,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    needle: str,
) -> None:
    profile = write_profile(tmp_path, Path(demo_small.root), name="bt")
    (tmp_path / "bad.csv").write_text(
        "subject_id,product,start,end\naugarten,irrigation,10/07/2022,\n", encoding="utf-8"
    )
    (tmp_path / "wrong_name.yaml").write_text("version: x\n", encoding="utf-8")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "irrigation_priority.yaml").write_text("version: x\nclasses: 3\n", encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    period = [] if "--start" in extra else ["--start", str(START), "--end", str(END)]
    out = tmp_path / "out"
    rc = main(["backtest", "--profile", str(profile), "--out", str(out), *period, *args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("geospace: error:") == 1 and needle in err, err
    assert not out.exists()


def test_deformation_sites_against_truth(
    demo_small: DemoLayout, prefect_server: None, tmp_path: Path
) -> None:
    """One deformation backtest over the demo's two releases: sites judged as their products say."""
    from flows.backtest import run_backtest_cli

    profile = write_profile(tmp_path, Path(demo_small.root), name="bt")
    out = tmp_path / "out"
    start, end = date(2018, 1, 1), date(2023, 12, 31)
    assert run_backtest_cli(
        profile=str(profile), start=start, end=end, out_dir=out, products=("deformation",)
    ) == 0  # fmt: skip
    report = out / "backtest" / f"vienna-demo_{start}_{end}"
    doc = json.loads((report / "backtest.json").read_text(encoding="utf-8"))
    insar = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))["insar"]
    run = Path(doc["runs"]["baseline"]["folder"])
    releases = {}
    for folder in sorted((run / "deformation").iterdir()):
        fc = json.loads((folder / "corridor_segments.geojson").read_text(encoding="utf-8"))
        releases[folder.name] = {
            f["properties"]["segment_id"]: f["properties"] for f in fc["features"]
        }
    assert sorted(releases) == ["2018_2022", "2019_2023"]
    s = doc["runs"]["baseline"]["summary"]["deformation"]
    stretch = insar["subsiding_stretch"]["segment_ids"]
    found = any(r[seg]["alert"] == "warning" for r in releases.values() for seg in stretch)
    assert found and s["recall"] == 1.0 and s["events_in_period"] == 1
    step = insar["step"]
    step_warned = sum(
        any(r[seg]["alert"] == "warning" for seg in step["segment_ids"]) for r in releases.values()
    )
    assert step["known_event"] and s["false_alarms_on_controls"] == step_warned
    sparse = insar["sparse_stretch"]["segment_ids"]
    always_gap = sum(
        all(r[seg]["status"] == "DATA_GAP" for r in releases.values()) for seg in sparse
    )
    assert s["hidden_subjects"] == len(sparse) and s["hidden_always_data_gap"] == always_gap
    assert doc["plots"]["deformation"] and doc["not_evaluated"]["irrigation"]
    assert "## deformation" in (report / "backtest.md").read_text(encoding="utf-8")


def test_heat_bulletins_against_truth(
    demo_small: DemoLayout, prefect_server: None, tmp_path: Path
) -> None:
    """One heat backtest over the demo's forecast issue days: a bulletin where one was due."""
    from flows.backtest import run_backtest_cli

    profile = write_profile(tmp_path, Path(demo_small.root), name="bt")
    out = tmp_path / "out"
    start, end = date(2022, 6, 20), date(2022, 7, 19)
    assert run_backtest_cli(
        profile=str(profile), start=start, end=end, out_dir=out, products=("heat",)
    ) == 0  # fmt: skip
    doc = json.loads(
        (out / "backtest" / f"vienna-demo_{start}_{end}" / "backtest.json").read_text("utf-8")
    )
    weather = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))["heat"]["weather"]
    due = set(weather["forecasts_with_heatwave"])
    run = Path(doc["runs"]["baseline"]["folder"])
    manifests = {
        m.parent.name: json.loads(m.read_text(encoding="utf-8"))
        for m in (run / "heat").glob("*/manifest.json")
    }
    issued = {day for day, m in manifests.items() if m["forecast"]["heatwave"]}
    s = doc["runs"]["baseline"]["summary"]["heat"]
    in_period = {d for d in due if str(start) <= d <= str(end)}
    assert in_period and s["events_in_period"] == len(in_period)
    assert s["detected"] == len(in_period & issued) and s["recall"] == 1.0
    assert s["false_alarm_windows"] == len(issued - due) == 0
    heat_revisions = [r for r in _list(run) if r["hazard"] == "heat"]
    assert s["revisions"]["work_orders"] == len(heat_revisions) > 0


def _list(run: Path) -> list[dict[str, Any]]:
    from alerts.outbox import commands

    return commands.list_revisions(run)
