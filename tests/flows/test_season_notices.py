"""Operators are not flooded: the demo season gives one DATA_GAP event per subject per gap.

Each gap of a park (a run of DATA_GAP windows in the season's products) is one notice event: it
opens once (CAP Alert), may be updated when its reason changes, and is cleared (Cancel) when data
returns; plus one digest for the run. A window in which every park is DATA_GAP (the demo's
all-cloud date) is one gap of the whole parks layer, not one per park, so per-park gaps are counted
over the other windows. The cloud-hidden park (truth.json) is one gap all season.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from alerts.outbox.store import open_store
from tests.flows.conftest import SeasonRun


def _notices(season_run: SeasonRun) -> list[dict[str, Any]]:
    store = open_store(season_run.out)
    try:
        rows = store.db.query(
            "SELECT alert_key, revision, msg_type, subject_id, payload FROM revisions"
            " WHERE hazard = 'notice' ORDER BY id"
        )
    finally:
        store.close()
    out = []
    for row in rows:
        payload = json.loads(str(row["payload"]))["payload"]
        out.append({**dict(row), "topic": payload.get("notice"), "payload": payload})
    return out


def _runs(flags: list[tuple[str, bool]]) -> list[tuple[str, str | None]]:
    """Runs of True as (first window, first window after the run or None)."""
    runs: list[tuple[str, str | None]] = []
    start = None
    for end, gap in flags:
        if gap and start is None:
            start = end
        elif not gap and start is not None:
            runs.append((start, end))
            start = None
    if start is not None:
        runs.append((start, None))
    return runs


def _gap_runs(season_run: SeasonRun) -> tuple[dict[str, list[tuple[str, str | None]]], list]:
    """Per park, its runs of DATA_GAP windows (all-gap windows left out); the layer's runs."""
    ends = sorted(season_run.windows)
    status = {end: {k: p["status"] for k, p in season_run.parks(end).items()} for end in ends}
    layer = [(end, all(v == "DATA_GAP" for v in status[end].values())) for end in ends]
    seen = [end for end, all_gap in layer if not all_gap]
    parks = {
        park: _runs([(end, status[end][park] == "DATA_GAP") for end in seen])
        for park in status[ends[0]]
    }
    return {k: v for k, v in parks.items() if v}, _runs(layer)


def test_one_data_gap_event_per_gap_and_one_digest(
    season_run: SeasonRun, demo_truth: dict[str, Any]
) -> None:
    notices = _notices(season_run)
    gaps = [n for n in notices if n["topic"] == "data_gap"]
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n in gaps:
        events[n["alert_key"]].append(n)
    by_park: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for revisions in events.values():
        by_park[revisions[0]["subject_id"].removeprefix("irrigation/")].append(revisions)
    runs, layer_runs = _gap_runs(season_run)
    assert runs, "the demo season plants gaps"
    layer = next((k for k in by_park if k.endswith(":all-parks")), None)
    assert len(by_park.pop(layer, [])) == len(layer_runs)
    for park, park_runs in runs.items():
        park_events = by_park.get(park, [])
        assert len(park_events) == len(park_runs), (park, park_runs)
        closed = [r for r in park_runs if r[1] is not None]
        cancels = [e for e in park_events if e[-1]["msg_type"] == "Cancel"]
        assert len(cancels) == len(closed), (park, park_runs)
        for revisions in park_events:  # opened once, updated, cleared at most once and last
            assert [r["revision"] for r in revisions] == list(range(1, len(revisions) + 1))
            assert revisions[0]["msg_type"] == "Alert"
            assert all(r["msg_type"] == "Update" for r in revisions[1:-1])
    assert set(by_park) == set(runs)  # no notice about a park that never was a gap
    hidden = demo_truth["cloud_hidden_park"]["park_id"]
    assert len(by_park[hidden]) == 1 and by_park[hidden][0][-1]["msg_type"] != "Cancel"
    # far fewer notices than (park, window) gap pairs: the old flood was one per pair
    gap_windows = sum(
        p["status"] == "DATA_GAP"
        for end in season_run.windows
        for p in season_run.parks(end).values()
    )
    assert len(gaps) < gap_windows
    digests = [n for n in notices if n["topic"] == "digest"]
    assert len(digests) == 1
    summary = digests[0]["payload"]
    opened = [p for p, r in runs.items() for _ in r] + [layer for _ in layer_runs]
    assert sorted(summary["gaps"]["opened"]) == sorted(opened)
    assert hidden in summary["open_gaps"]
