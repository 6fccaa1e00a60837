"""Deformation findings per release -> the deformation rules: watch vs warning, distortion, gaps."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from alerts.decide.policy import load_policy
from alerts.decide.rules import Action, decide
from alerts.detect.deformation import (
    ReleaseEvaluation,
    deformation_findings,
    distortion_findings,
    segment_subjects,
)
from alerts.model import Finding
from indices.deformation import SegmentRules

RULES = SegmentRules()
NOW = datetime(2024, 6, 1, tzinfo=UTC)


def _evaluation(first_year: int, rows: list[dict]) -> ReleaseEvaluation:
    base = {"corridor_id": "U3", "line_name": "U-Bahn U3", "n_points": 20, "n_coherent": 18,
            "velocity_sigma": 0.2, "angular_distortion": 1e-4, "status": "OK", "gate": "none",
            "vertical_velocity": 0.0}  # fmt: skip
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["chainage_from_m"] = [100.0 * i for i in range(len(frame))]
    frame["chainage_to_m"] = frame["chainage_from_m"] + 100.0
    geoms = [
        LineString([(4.79e6 + c, 2.8e6), (4.79e6 + c + 100, 2.8e6)])
        for c in frame["chainage_from_m"]
    ]
    return ReleaseEvaluation(
        release=f"{first_year}_{first_year + 4}",
        window_start=date(first_year, 1, 3),
        window_end=date(first_year + 4, 12, 28),
        segments=gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:3035"),
        series={},
        sources=(f"EGMS_L2b_073_0001_IW2_VV_{first_year}_{first_year + 4}_1.csv",),
        points=100,
    )


ROWS = [
    {"segment_id": "U3-001", "gate": "watch", "vertical_velocity": -3.0},
    {"segment_id": "U3-002", "gate": "warning", "vertical_velocity": -6.5},
    {"segment_id": "U3-003", "gate": "warning", "vertical_velocity": -10.0},
    {"segment_id": "U3-004", "status": "DATA_GAP", "n_points": 4, "n_coherent": 3,
     "vertical_velocity": math.nan, "angular_distortion": math.nan},
    {"segment_id": "U3-005", "angular_distortion": 1 / 500},
    {"segment_id": "U3-006", "angular_distortion": 1 / 150},
]  # fmt: skip


def test_finding_levels_values_and_windows() -> None:
    found = {f.subject_id: f for f in deformation_findings(_evaluation(2018, ROWS), RULES)}
    assert [found[s].level for s in ("U3-001", "U3-002", "U3-003", "U3-004")] == [2, 3, 4, 0]
    assert found["U3-002"].value == -6.5 and found["U3-002"].units == "mm yr-1"
    assert found["U3-004"].status == "DATA_GAP" and math.isnan(found["U3-004"].value)
    assert found["U3-002"].coverage == 1.0  # 18 coherent points: at least 10
    assert found["U3-002"].window_start == datetime(2018, 1, 3, tzinfo=UTC)
    assert found["U3-002"].sources[0].endswith("2018_2022_1.csv")


def _decide(
    policy_name: str, subject: str, make: Callable[[ReleaseEvaluation, SegmentRules], list[Finding]]
) -> Action:
    policy = load_policy(policy_name)
    history = [f for year in (2018, 2019) for f in make(_evaluation(year, ROWS), RULES)]
    mine = [f for f in history if f.subject_id == subject]
    return decide(mine, None, None, policy, NOW).action


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("U3-001", Action.NOTHING), ("U3-002", Action.OPEN), ("U3-003", Action.OPEN)],
)
def test_watch_opens_no_work_order_warning_does(subject: str, expected: Action) -> None:
    assert _decide("deformation", subject, deformation_findings) == expected


def test_one_release_alone_does_not_persist() -> None:
    policy = load_policy("deformation")
    once = [
        f for f in deformation_findings(_evaluation(2018, ROWS), RULES) if f.subject_id == "U3-002"
    ]
    assert decide(once, None, None, policy, NOW).action == Action.NOTHING


def test_angular_distortion_on_the_limits_opens_its_own_work_order() -> None:
    found = {f.subject_id: f for f in distortion_findings(_evaluation(2018, ROWS), RULES)}
    assert "U3-004/distortion" not in found  # a DATA_GAP segment has no distortion finding
    assert found["U3-005/distortion"].level == 3 and found["U3-006/distortion"].level == 4
    assert found["U3-001/distortion"].level == 0
    policy = load_policy("deformation_distortion")
    for subject, level in (("U3-005/distortion", 3), ("U3-006/distortion", 4)):
        history = [
            f for year in (2018, 2019) for f in distortion_findings(_evaluation(year, ROWS), RULES)
            if f.subject_id == subject
        ]  # fmt: skip
        d = decide(history, None, None, policy, NOW)
        assert d.action == Action.OPEN and d.revision is not None and d.revision.level == level
        assert d.revision.hazard == "deformation"


def test_subjects_name_line_and_chainage() -> None:
    subjects = segment_subjects(_evaluation(2018, ROWS).segments)
    assert subjects["U3-002"].name == "U-Bahn U3, km 0.100-0.200 (U3-002)"
    assert subjects["U3-002/distortion"].name.endswith("differential settlement")
    lon, lat = subjects["U3-002"].geometry["coordinates"][0]  # type: ignore[index]
    assert 5 < lon < 30 and 40 < lat < 60


def test_coverage_counts_coherent_points_so_few_points_lower_the_certainty() -> None:
    from alerts.decide.rules import coverage_status
    from alerts.detect.deformation import point_coverage

    policy = load_policy("deformation")
    assert [point_coverage(n, RULES) for n in (4, 5, 7, 10, 40)] == [0.4, 0.5, 0.7, 1.0, 1.0]
    assert str(coverage_status(point_coverage(5, RULES), policy)) == "DEGRADED"
    assert str(coverage_status(point_coverage(10, RULES), policy)) == "OK"
