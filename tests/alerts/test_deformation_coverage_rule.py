"""One owner of the segments' coverage rule: the profile's deformation.min_points.

Change it and the segment status (the detector's gate), the work-order rules (the deformation
policy as the flow binds it, and the distortion rule beside it) and the "why" of a DATA_GAP notice
all follow; neither rule file restates a coverage minimum. The points are handed to the detection
as a frame (what :func:`eo.insar.read_release` returns), no file is read.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from shapely.geometry import LineString

from alerts.decide.notices import gap_notice
from alerts.decide.rules import coverage_status, rate
from alerts.detect.deformation import (
    deformation_findings,
    deformation_policy,
    evaluate_release,
    rules_from_profile,
)
from alerts.model import Finding
from core.profile import PACKAGED_PROFILES, CityProfile, parse_profile
from core.status import SubjectStatus
from eo.insar import Release, ReleaseFile, ReleasePoints
from indices.deformation import segment_corridors

NOW = datetime(2022, 6, 1, tzinfo=UTC)
X0, Y0 = 4.79e6, 2.8e6


def _profile(tmp_path: Path, min_points: int | None) -> CityProfile:
    doc: dict[str, Any] = copy.deepcopy(
        yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text("utf-8"))
    )
    if min_points is not None:
        doc["deformation"]["min_points"] = min_points
    return parse_profile(doc, base_dir=tmp_path, source="test profile")


def _release() -> ReleasePoints:
    """Ascending points subsiding 6 mm/yr: 6 on the first 100 m segment, 2 on the second."""
    xs = [10.0, 25.0, 40.0, 55.0, 70.0, 85.0, 130.0, 170.0]
    days = pd.date_range("2019-01-06", "2021-12-30", freq="12D")
    years = (days - days[0]).days.to_numpy() / 365.25
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"pid": [f"p{i}" for i in range(len(xs))], "easting": X0 + np.array(xs),
                          "northing": Y0 + 2.0, "temporal_coherence": 0.9, "mean_velocity": -6.0,
                          "los_east": -0.6, "los_north": -0.1, "los_up": 0.79,
                          "incidence_angle": 38.0})  # fmt: skip
    series = {
        day.strftime("%Y%m%d"): -6.0 * 0.79 * t + rng.normal(0, 0.3, len(xs))
        for day, t in zip(days, years, strict=True)
    }
    frame = pd.concat([frame, pd.DataFrame(series)], axis=1)
    points = gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["easting"], frame["northing"]), crs="EPSG:3035"
    )
    path = Path("EGMS_L2b_073_0001_IW2_VV_2019_2021_1.csv")
    return ReleasePoints(Release(2019, 2021, (path,)), (ReleaseFile(path, points),))


def _findings(profile: CityProfile) -> tuple[gpd.GeoDataFrame, dict[str, Finding]]:
    assert profile.deformation is not None
    rules = rules_from_profile(profile.deformation)
    line = gpd.GeoDataFrame({"cid": ["U3"], "name": ["U-Bahn U3"]},
                            geometry=[LineString([(X0, Y0), (X0 + 200, Y0)])], crs="EPSG:3035")  # fmt: skip
    segments = segment_corridors(line, id_field="cid", name_field="name")
    ev = evaluate_release(
        _release(), segments, rules, {}, start=date(2019, 1, 1), end=date(2021, 12, 31)
    )
    return ev.segments.set_index("segment_id"), {
        f.subject_id: f for f in deformation_findings(ev, rules)
    }


@pytest.mark.parametrize(
    ("min_points", "status", "minimum_text"),
    [
        (None, "DEGRADED", "minimum 5 coherent points (50 % of 10)"),  # the packaged minimum
        (7, "DATA_GAP", "minimum 7 coherent points (50 % of 14)"),
        (3, "OK", "minimum 3 coherent points (50 % of 6)"),
    ],
)
def test_status_rules_and_why_follow_the_profile_min_points(
    tmp_path: Path, min_points: int | None, status: str, minimum_text: str
) -> None:
    profile = _profile(tmp_path, min_points)
    assert profile.deformation is not None
    segments, found = _findings(profile)
    many, few = found["U3-001"], found["U3-002"]
    assert segments.loc["U3-001", "n_coherent"] == 6 and segments.loc["U3-002", "n_coherent"] == 2
    # the segment status: the detector's gate
    gap = status == "DATA_GAP"
    assert (segments.loc["U3-001", "status"] == "DATA_GAP") == gap
    # the rules: the deformation policy as the flow binds it, and the distortion rule beside it
    policy = deformation_policy(profile.deformation)
    assert [p.coverage for p in policy.also] == [policy.coverage]
    assert coverage_status(many.coverage, policy) == SubjectStatus(status)
    [rated] = rate([many], policy)
    assert rated.status == SubjectStatus(status)
    # and the operators' DATA_GAP notice of the sparse segment quotes the same minimum
    [sparse] = rate([few], policy)
    assert sparse.status == SubjectStatus.DATA_GAP
    notice = gap_notice(sparse, policy, NOW)
    assert notice.revision is not None and minimum_text in notice.revision.summary


def test_no_deformation_rule_file_restates_the_coverage_minimum() -> None:
    policies = Path(__file__).parents[2] / "alerts" / "policies"
    for name in ("deformation.yaml", "deformation_distortion.yaml"):
        doc = yaml.safe_load((policies / name).read_text("utf-8"))
        assert "coverage" not in doc, name
