"""Findings -> rules -> outbox: events open, update and clear; reruns and DATA_GAP add nothing twice."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from alerts.decide.pipeline import apply_findings, latest_revision
from alerts.decide.policy import load_notice_policy, load_policy
from alerts.detect.irrigation_findings import irrigation_findings, park_subjects
from alerts.outbox.store import open_store

POLICY = load_policy("irrigation")
START = date(2022, 6, 1)


def _ranked(scores: dict[str, float | None]) -> gpd.GeoDataFrame:
    rows = []
    for i, (pid, score) in enumerate(scores.items()):
        gap = score is None
        klass = (
            None
            if gap
            else (1 if score >= 0.6 else 2 if score >= 0.4 else 3 if score >= 0.2 else 4)
        )
        rows.append(
            {
                "park_id": pid,
                "name": pid.title(),
                "status": "DATA_GAP" if gap else "OK",
                "score": float("nan") if gap else score,
                "priority_class": pd.NA if gap else klass,
                "clear_fraction": 0.1 if gap else 1.0,
                "geometry": box(600000 + 500 * i, 5340000, 600200 + 500 * i, 5340200),
            }
        )
    frame = gpd.GeoDataFrame(rows, crs="EPSG:32633")
    frame["priority_class"] = frame["priority_class"].astype("Int64")
    return frame


def _run(out: Path, week: int, scores: dict[str, float | None]) -> list:
    ranked = _ranked(scores)
    end = START + timedelta(days=7 * week + 13)
    findings = irrigation_findings(
        ranked,
        window_start=end - timedelta(days=13),
        window_end=end,
        threshold=0.6,
        sources=("S2A_x",),
    )
    store = open_store(out)
    try:
        return apply_findings(
            store, findings, POLICY, now=datetime(2022, 9, 1, tzinfo=UTC), sinks=("files",),
            subjects=park_subjects(ranked), notice_policy=load_notice_policy(),
        )  # fmt: skip
    finally:
        store.close()


def _revisions(out: Path) -> pd.DataFrame:
    store = open_store(out)
    try:
        rows = store.db.query(
            "SELECT hazard, subject_id, revision, msg_type, level FROM revisions ORDER BY id"
        )
    finally:
        store.close()
    return pd.DataFrame(
        [dict(r) for r in rows], columns=["hazard", "subject_id", "revision", "msg_type", "level"]
    )


def test_event_opens_after_persistence_updates_and_clears(tmp_path: Path) -> None:
    season = [0.1, 0.7, 0.7, 0.9, 0.9, 0.3, 0.05, 0.05]  # spike-free rise, stronger, then watered
    for week, score in enumerate(season):
        _run(tmp_path, week, {"augarten": score, "stadtpark": 0.05})
    revs = _revisions(tmp_path)
    augarten = revs[revs["subject_id"] == "augarten"]
    assert augarten["msg_type"].iloc[0] == "Alert"
    assert augarten["msg_type"].iloc[-1] == "Cancel"
    assert "Update" in set(augarten["msg_type"])
    assert list(augarten["revision"]) == list(range(1, len(augarten) + 1))
    assert (revs["subject_id"] == "stadtpark").sum() == 0  # never stressed: nothing


def test_single_window_spike_produces_nothing(tmp_path: Path) -> None:
    for week, score in enumerate([0.05, 0.9, 0.05, 0.05]):
        _run(tmp_path, week, {"augarten": score})
    assert _revisions(tmp_path).empty


def test_rerun_and_concurrent_runs_add_nothing(tmp_path: Path) -> None:
    for week, score in enumerate([0.7, 0.7, 0.7]):
        _run(tmp_path, week, {"augarten": score})
    before = _revisions(tmp_path)
    assert len(before) >= 1
    _run(tmp_path, 2, {"augarten": 0.7})  # the same window again
    threads = [
        threading.Thread(target=_run, args=(tmp_path, 2, {"augarten": 0.7})) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pd.testing.assert_frame_equal(_revisions(tmp_path), before)


def test_data_gap_gives_one_notice_per_window_never_an_alert(tmp_path: Path) -> None:
    for _ in range(3):  # rerun the same window three times
        _run(tmp_path, 0, {"belvedere": None, "augarten": 0.05})
    revs = _revisions(tmp_path)
    assert list(revs["hazard"]) == ["notice"]
    assert list(revs["subject_id"]) == ["irrigation/belvedere"]
    _run(tmp_path, 1, {"belvedere": None, "augarten": 0.05})
    assert len(_revisions(tmp_path)) == 2


def test_latest_revision_round_trips(tmp_path: Path) -> None:
    for week in range(3):
        _run(tmp_path, week, {"augarten": 0.8})
    store = open_store(tmp_path)
    try:
        key = store.open_event("irrigation", "augarten")["alert_key"]
        last = latest_revision(store, key)
    finally:
        store.close()
    assert last is not None and last.subject_id == "augarten" and last.level == 4
    assert last.subject_name == "Augarten"
    assert last.geometry is not None and last.geometry["type"] == "Polygon"
    assert last.revision == int(_revisions(tmp_path)["revision"].max())
