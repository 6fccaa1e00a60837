"""Persistence on tracks (issue 9): within one release, a segment's exceedance seen on its ascending
and its descending points alone counts as persistent; tracks that disagree, or a single track, wait
for the releases (2 of the last 3).

The point sets are built by hand: one 100 m segment, points every 10 m of each track with their
LOS displacement series made from a planted (east, up) motion, so each track's LOS-to-vertical
figure is known: ``(e * los_east + u * los_up) / cos(incidence)``, ``los_up = cos(incidence)``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from alerts.decide.policy import load_policy, parse_policy
from alerts.decide.rules import Action, Decision, decide, tracks_agree
from alerts.detect.deformation import (
    ReleaseEvaluation,
    deformation_findings,
    distortion_findings,
    segment_subjects,
)
from alerts.model import Finding
from core.errors import InvalidInputError
from indices.deformation import SegmentRules, segment_corridors, segment_figures

RULES = SegmentRules()
NOW = datetime(2024, 6, 1, tzinfo=UTC)
VECTOR = {"asc": (-0.6, -0.1, 0.8), "desc": (0.6, -0.1, 0.8)}  # EGMS LOS unit vectors, cos(inc) 0.8
INCIDENCE = math.degrees(math.acos(0.8))


def _segment() -> gpd.GeoDataFrame:
    line = gpd.GeoDataFrame(
        {"cid": ["A"], "name": ["U-Bahn A"]},
        geometry=[LineString([(4.79e6, 2.8e6), (4.79e6 + 100, 2.8e6)])],
        crs="EPSG:3035",
    )
    return segment_corridors(line, id_field="cid", name_field="name")


def _release(first_year: int, east: float, up: float, tracks: dict[str, int]) -> ReleaseEvaluation:
    """One release of the segment: ``tracks`` maps a track to its number of coherent points, each
    point moving at ``(east, up)`` mm/yr with a +-0.1 mm/yr spread (no noise in time)."""
    segments = _segment()
    dates = pd.date_range(f"{first_year}-01-03", f"{first_year + 4}-12-28", freq="12D")
    years = (dates - dates[0]).days.to_numpy() / 365.25
    rows, series = [], {}
    for key, count in tracks.items():
        le, ln, lu = VECTOR[key]
        rates = [(east * le + up * lu) + (0.1 if i % 2 else -0.1) for i in range(count)]
        series[key] = (pd.DatetimeIndex(dates), np.outer(rates, years))
        for i in range(count):
            rows.append({"segment": 0, "geometry_key": key, "row": i, "temporal_coherence": 0.9,
                         "incidence_angle": INCIDENCE, "chainage_m": 5.0 + 90.0 * i / count,
                         "los_east": le, "los_north": ln, "los_up": lu})  # fmt: skip
    figures, plots = segment_figures(pd.DataFrame(rows), series, segments, RULES)
    merged = segments.merge(figures, on="segment_id", how="left")
    return ReleaseEvaluation(
        release=f"{first_year}_{first_year + 4}",
        window_start=date(first_year, 1, 3),
        window_end=date(first_year + 4, 12, 28),
        segments=merged,
        series=plots,
        sources=(f"EGMS_L2b_{first_year}_{first_year + 4}.csv",),
        points=len(rows),
    )


def _findings(ev: ReleaseEvaluation) -> list[Finding]:
    return [*deformation_findings(ev, RULES), *distortion_findings(ev, RULES)]


def _decide(*releases: ReleaseEvaluation) -> Decision:
    history = [f for ev in releases for f in _findings(ev)]
    subject = segment_subjects(releases[-1].segments)["A-001"]
    return decide(history, None, None, load_policy("deformation"), NOW, subject=subject)


BOTH = {"asc": 8, "desc": 8}


def test_each_track_has_its_own_figures_where_it_has_the_minimum_of_points() -> None:
    row = _release(2018, 0.0, -7.0, {"asc": 8, "desc": 4}).segments.iloc[0]
    assert row["n_coherent"] == 12 and row["n_coherent_asc"] == 8 and row["n_coherent_desc"] == 4
    assert row["vertical_velocity_asc"] == pytest.approx(-7.0, abs=1e-6)
    assert math.isnan(row["vertical_velocity_desc"])  # 4 coherent points: under the minimum of 5
    assert row["velocity_sigma_asc"] == pytest.approx(0.1 / 0.8 * math.sqrt(8 / 7) / math.sqrt(8))


def test_two_tracks_that_agree_open_the_work_order_in_the_first_release() -> None:
    ev = _release(2018, 0.0, -7.0, BOTH)
    row = ev.segments.iloc[0]
    assert row["vertical_velocity_asc"] == pytest.approx(-7.0, abs=1e-6)
    assert row["vertical_velocity_desc"] == pytest.approx(-7.0, abs=1e-6)
    (velocity,) = deformation_findings(ev, RULES)
    assert dict(velocity.tracks) == pytest.approx({"asc": -7.0, "desc": -7.0}, abs=1e-6)
    d = _decide(ev)
    assert d.action == Action.OPEN and d.revision is not None and d.revision.level == 3
    assert d.revision.event_start == datetime(2018, 1, 3, tzinfo=UTC)
    # the work order's why: which persistence path was met, with each track's figure
    assert "seen on 2 tracks on their own in this release" in d.revision.summary
    assert "vertical_velocity asc -7, desc -7 mm yr-1" in d.revision.summary
    assert "of the last 3 releases" not in d.revision.summary
    persistence = d.revision.payload["persistence"]
    assert persistence["met_by"] == ["tracks"] and persistence["tracks"] == 2
    assert persistence["track_values"]["vertical_velocity"] == pytest.approx(
        {"asc": -7.0, "desc": -7.0}, abs=1e-6
    )
    details = d.revision.payload["details"]  # the work order's figures: each track's own
    assert details["vertical_velocity_asc"]["value"] == pytest.approx(-7.0, abs=1e-6)
    assert details["vertical_velocity_desc"]["note"].endswith("8 coherent points")


def test_tracks_that_disagree_wait_for_the_releases() -> None:
    """-6 mm/yr down with 2.5 mm/yr to the east: the decomposition gives the warning (-6), but the
    descending track alone sees only -4.1 mm/yr and the ascending -7.9: an east-west motion moves
    the two LOS projections apart, so one release does not confirm itself."""
    first = _release(2018, 2.5, -6.0, BOTH)
    row = first.segments.iloc[0]
    assert row["vertical_velocity"] == pytest.approx(-6.0, abs=1e-6)
    assert row["vertical_velocity_asc"] == pytest.approx(-6.0 - 2.5 * 0.6 / 0.8, abs=1e-6)
    assert row["vertical_velocity_desc"] == pytest.approx(-6.0 + 2.5 * 0.6 / 0.8, abs=1e-6)
    waiting = _decide(first)
    assert waiting.action == Action.NOTHING and "not persistent yet" in waiting.reason
    second = _decide(first, _release(2019, 2.5, -6.0, BOTH))
    assert second.action == Action.OPEN and second.revision is not None
    assert "persistent in 2 of the last 3 releases" in second.revision.summary
    assert "tracks on their own" not in second.revision.summary
    assert second.revision.payload["persistence"]["met_by"] == ["windows"]


def test_one_track_waits_for_the_releases() -> None:
    first = _release(2018, 0.0, -7.0, {"asc": 12})
    assert first.segments.iloc[0]["vertical_velocity"] == pytest.approx(-7.0, abs=1e-6)
    assert _decide(first).action == Action.NOTHING
    # the other track under the profile's minimum of coherent points is no track either
    thin = _release(2018, 0.0, -7.0, {"asc": 12, "desc": 4})
    (velocity,) = deformation_findings(thin, RULES)
    assert [t for t, _ in velocity.tracks] == ["asc"]
    assert _decide(thin).action == Action.NOTHING
    second = _decide(first, _release(2019, 0.0, -7.0, {"asc": 12}))
    assert second.action == Action.OPEN and second.revision is not None
    assert second.revision.payload["persistence"]["met_by"] == ["windows"]


def test_tracks_confirm_the_window_level_and_never_raise_it() -> None:
    """Both tracks at -11 mm/yr would be level 4, but the window's own figure (-6) is level 3: the
    tracks confirm level 3 and no more; a window the detector's gate (significance) keeps at 0 is
    not opened by its tracks."""
    policy = load_policy("deformation")
    finding = Finding(
        kind="vertical_velocity", subject_id="A", window_start=datetime(2018, 1, 3),
        window_end=datetime(2022, 12, 28), value=-6.0, units="mm yr-1", threshold=5.0,
        coverage=1.0, level=3, tracks=(("asc", -11.0), ("desc", -11.5)),
    )  # fmt: skip
    d = decide([finding], None, None, policy, NOW)
    assert d.action == Action.OPEN and d.revision is not None and d.revision.level == 3
    gated = decide([replace(finding, level=0)], None, None, policy, NOW)
    assert gated.action == Action.NOTHING


def test_tracks_agree_by_level_and_direction() -> None:
    policy = load_policy("deformation")
    assert tracks_agree((("asc", -5.0), ("desc", -5.2)), policy, 2) == 3  # on the limit reaches it
    assert tracks_agree((("asc", -10.5), ("desc", -6.0)), policy, 2) == 3
    assert tracks_agree((("asc", -7.0), ("desc", 7.0)), policy, 2) == 0  # opposite directions
    assert tracks_agree((("asc", -7.0),), policy, 2) == 0
    assert tracks_agree((("asc", -7.0), ("desc", math.nan)), policy, 2) == 0


def test_angular_distortion_seen_on_both_tracks_opens_in_one_release() -> None:
    """A 1/400 distortion (50 mm between two 20 m bins over the release) on each track alone."""
    segments = _segment()
    dates = pd.date_range("2018-01-03", "2022-12-28", freq="12D")
    years = (dates - dates[0]).days.to_numpy() / 365.25
    span = years[-1]
    rows, series = [], {}
    for key in ("asc", "desc"):
        rates = [-50.0 / span if i < 3 else 0.0 for i in range(6)]
        series[key] = (pd.DatetimeIndex(dates), np.outer(rates, years) * 0.8)
        for i in range(6):
            rows.append({"segment": 0, "geometry_key": key, "row": i, "temporal_coherence": 0.9,
                         "incidence_angle": INCIDENCE, "chainage_m": 5.0 + i if i < 3 else 25.0 + i,
                         "los_east": VECTOR[key][0], "los_north": VECTOR[key][1],
                         "los_up": VECTOR[key][2]})  # fmt: skip
    figures, plots = segment_figures(pd.DataFrame(rows), series, segments, RULES)
    ev = ReleaseEvaluation(
        "2018_2022", date(2018, 1, 3), date(2022, 12, 28),
        segments.merge(figures, on="segment_id"), plots, ("x.csv",), len(rows),
    )  # fmt: skip
    (distortion,) = distortion_findings(ev, RULES)
    assert distortion.level == 3
    assert dict(distortion.tracks) == pytest.approx({"asc": 1 / 400, "desc": 1 / 400}, rel=1e-6)
    d = _decide(ev)
    assert d.action == Action.OPEN and d.revision is not None
    assert "seen on 2 tracks on their own in this release (angular_distortion" in d.revision.summary


def test_policy_tracks_are_counted_and_checked() -> None:
    raw = {
        "version": "t-1", "hazard": "deformation", "finding_kind": "vertical_velocity",
        "units": "mm yr-1", "compare": "magnitude", "levels": {3: "5 mm yr-1"},
        "hysteresis": "0.5 mm yr-1", "new_evidence_delta": "1 mm yr-1", "valid_for": "400 d",
        "event": "E",
    }  # fmt: skip
    plain = parse_policy({**raw, "persistence": {"k": 2, "n": 3}})
    assert plain.persistence_tracks is None and plain.window_name == "window"
    with pytest.raises(InvalidInputError, match=r"persistence\.tracks"):
        parse_policy({**raw, "persistence": {"k": 2, "n": 3, "tracks": 1}})
    with pytest.raises(InvalidInputError, match="unknown key"):
        parse_policy({**raw, "persistence": {"k": 2, "n": 3, "track": 2}})
    # without persistence.tracks, agreeing tracks do not open anything in one window
    finding = Finding(
        kind="vertical_velocity", subject_id="A", window_start=datetime(2018, 1, 3),
        window_end=datetime(2022, 12, 28), value=-7.0, units="mm yr-1", threshold=5.0,
        coverage=1.0, level=3, tracks=(("asc", -7.0), ("desc", -7.0)),
    )  # fmt: skip
    assert decide([finding], None, None, plain, NOW).action == Action.NOTHING
    assert Finding.from_dict(finding.to_dict()).tracks == finding.tracks
