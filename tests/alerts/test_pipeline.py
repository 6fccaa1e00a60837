"""Findings -> rules -> outbox: events open, update and clear; reruns and DATA_GAP add nothing twice."""

from __future__ import annotations

import math
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
from core.status import CoverageRule

COVERAGE = CoverageRule(minimum=0.6, degraded_below=0.9, min_dates=2)  # the packaged profiles'
POLICY = load_policy("irrigation").with_coverage(COVERAGE)
START = date(2022, 6, 1)


def _ranked(scores: dict[str, float | str | None]) -> gpd.GeoDataFrame:
    """Parks with a score; None is a DATA_GAP seen 10 % clear, "dark" one seen not at all."""
    rows = []
    for i, (pid, given) in enumerate(scores.items()):
        gap = given is None or given == "dark"
        score = float(given) if not gap else math.nan  # type: ignore[arg-type]
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
                "clear_fraction": (0.0 if given == "dark" else 0.1) if gap else 1.0,
                "geometry": box(600000 + 500 * i, 5340000, 600200 + 500 * i, 5340200),
            }
        )
    frame = gpd.GeoDataFrame(rows, crs="EPSG:32633")
    frame["priority_class"] = frame["priority_class"].astype("Int64")
    return frame


def _run(out: Path, week: int, scores: dict[str, float | str | None]) -> list:
    ranked = _ranked(scores)
    end = START + timedelta(days=7 * week + 13)
    findings = irrigation_findings(
        ranked,
        window_start=end - timedelta(days=13),
        window_end=end,
        threshold=0.6,
        coverage=COVERAGE,
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


def _notice_keys(out: Path) -> list[tuple[str, int, str]]:
    store = open_store(out)
    try:
        rows = store.db.query(
            "SELECT alert_key, revision, msg_type FROM revisions WHERE hazard = 'notice' ORDER BY id"
        )
    finally:
        store.close()
    return [(str(r["alert_key"]), int(r["revision"]), str(r["msg_type"])) for r in rows]


def test_data_gap_is_one_notice_event_opened_then_cleared_never_an_alert(tmp_path: Path) -> None:
    for _ in range(3):  # rerun the same window three times
        _run(tmp_path, 0, {"belvedere": None, "augarten": 0.05})
    revs = _revisions(tmp_path)
    assert list(revs["hazard"]) == ["notice"]
    assert list(revs["subject_id"]) == ["irrigation/belvedere"]
    _run(tmp_path, 1, {"belvedere": None, "augarten": 0.05})  # the gap goes on, same reason
    assert len(_revisions(tmp_path)) == 1
    for _ in range(2):  # data returns (and a rerun of that window adds nothing)
        outcomes = _run(tmp_path, 2, {"belvedere": 0.05, "augarten": 0.05})
    (opened, cleared) = _notice_keys(tmp_path)
    assert opened[0] == cleared[0]  # one event: the same alert_key
    assert (opened[1:], cleared[1:]) == ((1, "Alert"), (2, "Cancel"))
    assert {o.subject_id: o.gap_open for o in outcomes}["belvedere"] is False
    assert not (_revisions(tmp_path)["hazard"] == "irrigation").any()


def test_data_gap_notice_updates_only_when_its_reason_changes(tmp_path: Path) -> None:
    _run(tmp_path, 0, {"belvedere": None})  # seen 10 % clear: too few clear pixels
    _run(tmp_path, 1, {"belvedere": "dark"})  # seen not at all: another reason
    _run(tmp_path, 2, {"belvedere": "dark"})  # same reason: nothing new
    keys = _notice_keys(tmp_path)
    assert [(rev, msg) for _, rev, msg in keys] == [(1, "Alert"), (2, "Update")]
    assert len({key for key, _, _ in keys}) == 1


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


def test_the_digest_names_what_each_product_queued() -> None:
    """One digest text for every product: work orders for irrigation and deformation, bulletins
    for heat (the figure is the same payload field, ``work_orders``)."""
    from alerts.decide.notices import digest_revision

    t0 = datetime(2022, 7, 18, tzinfo=UTC)
    texts = {}
    for hazard in ("irrigation", "deformation", "heat"):
        digest = digest_revision(
            hazard=hazard, scope="vienna", period=(t0, t0 + timedelta(days=1)),
            changes={"opened": ["x"]}, work_orders=2, open_gaps=["x"], now=t0,
        )  # fmt: skip
        assert digest.payload["work_orders"] == 2 and digest.payload["about_hazard"] == hazard
        texts[hazard] = digest.summary
    assert "2 work-order revision(s) queued" in texts["irrigation"]
    assert "2 work-order revision(s) queued" in texts["deformation"]
    assert "2 bulletin revision(s) queued" in texts["heat"]
