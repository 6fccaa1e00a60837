"""InSAR fits and geometry against hand-checked cases (DESIGN section 4), corridors and segments."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiLineString, Point

from core.errors import InvalidInputError
from indices.deformation import (
    BJERRUM_DAMAGE,
    BJERRUM_SAFE,
    angular_distortion,
    decompose,
    fit_velocity,
    join_points,
    los_to_vertical,
    max_angular_distortion,
    segment_corridors,
)

DATES = pd.date_range("2019-01-01", periods=122, freq="12D")  # about 4 years, Sentinel-1 revisit
T = (DATES - DATES[0]).days.to_numpy() / 365.25


def test_linear_plus_annual_sinusoid_is_recovered_exactly() -> None:
    y = 3.0 - 4.0 * T + 2.0 * np.sin(2 * np.pi * T + 0.3)
    fit = fit_velocity(DATES, y)
    assert fit.velocity == pytest.approx(-4.0, abs=1e-9)
    assert fit.seasonal_amplitude == pytest.approx(2.0, abs=1e-9)
    assert math.isnan(fit.acceleration) and fit.steps == () and fit.flags == ()


def test_omitting_the_sinusoid_biases_the_velocity() -> None:
    """Over 1.25 years a 4 mm sinusoid tilts a plain straight-line fit; the model does not."""
    dates = pd.date_range("2019-01-01", periods=458, freq="D")  # 1.25 years, daily
    t = (dates - dates[0]).days.to_numpy() / 365.25
    y = -4.0 * t + 4.0 * np.sin(2 * np.pi * t)
    plain = np.polyfit(t, y, 1)[0]
    # Near-continuous sampling on [0, 1.25]: cov(t, sin 2 pi t) = 0.02026 - 0.625 * 0.12732 = -0.05933,
    # var(t) = 1.25^2 / 12 = 0.13021, so the slope gains 4 * -0.4556 = -1.82 mm/yr.
    assert plain == pytest.approx(-4.0 - 1.82, abs=0.15)
    assert fit_velocity(dates, y).velocity == pytest.approx(-4.0, abs=1e-9)


def test_step_with_and_without_the_step_term() -> None:
    step_day = DATES[61]
    y = -2.0 * T + 10.0 * (step_day <= DATES) + 1.5 * np.cos(2 * np.pi * T)
    with_step = fit_velocity(DATES, y, steps=[step_day])
    assert with_step.velocity == pytest.approx(-2.0, abs=1e-9)
    assert with_step.steps == pytest.approx((10.0,), abs=1e-9)
    # Without it: the OLS slope of a mid-series step of size s over T years is 1.5 s / T (continuous
    # sampling): 10 mm over 4 years adds 3.75 mm/yr.
    without = fit_velocity(DATES, y)
    assert without.velocity == pytest.approx(-2.0 + 3.75, abs=0.3)


def test_quadratic_acceleration_and_velocity_at_the_first_epoch() -> None:
    y = 1.0 + 3.0 * T + 0.5 * T**2 + 0.8 * np.sin(2 * np.pi * T)
    fit = fit_velocity(DATES, y, quadratic=True)
    assert fit.acceleration == pytest.approx(1.0, abs=1e-9)
    assert fit.velocity == pytest.approx(3.0, abs=1e-9)


def test_short_series_has_no_seasonal_term_and_a_flag() -> None:
    dates = DATES[:20]  # 228 days
    t = T[:20]
    fit = fit_velocity(dates, 5.0 * t)
    assert fit.velocity == pytest.approx(5.0) and math.isnan(fit.seasonal_amplitude)
    assert "short_series" in fit.flags


def test_nan_epochs_are_dropped_and_a_step_outside_is_flagged() -> None:
    y = -3.0 * T
    y[[4, 50]] = np.nan
    fit = fit_velocity(DATES, y, steps=["2030-01-01"])
    assert fit.velocity == pytest.approx(-3.0) and fit.n == len(DATES) - 2
    assert math.isnan(fit.steps[0]) and "step_outside" in fit.flags


def test_dates_must_increase() -> None:
    with pytest.raises(InvalidInputError, match="increasing"):
        fit_velocity(DATES[::-1], T)


def test_los_to_vertical_at_a_given_incidence() -> None:
    assert los_to_vertical(-5.0, 60.0) == pytest.approx(-10.0)
    got = los_to_vertical(np.array([2.0, -4.0]), np.array([0.0, 60.0]))
    np.testing.assert_allclose(got, [2.0, -8.0])
    with pytest.raises(InvalidInputError, match="incidence"):
        los_to_vertical(1.0, 95.0)


def test_ascending_descending_pair_gives_east_and_up() -> None:
    # asc (e, n, u) = (-0.6, -0.1, 0.8), desc (0.6, -0.1, 0.8); truth east 2, up -3 (north ignored):
    # asc LOS = -0.6*2 + 0.8*-3 = -3.6, desc LOS = 0.6*2 + 0.8*-3 = -1.2
    east, up = decompose(-3.6, (-0.6, -0.1, 0.8), -1.2, (0.6, -0.1, 0.8))
    assert east == pytest.approx(2.0) and up == pytest.approx(-3.0)
    e, u = decompose(
        np.array([-3.6, 0.8]), np.array([[-0.6, 0, 0.8]] * 2), np.array([-1.2, 0.8]),
        np.array([[0.6, 0, 0.8]] * 2),
    )  # fmt: skip
    np.testing.assert_allclose(e, [2.0, 0.0])
    np.testing.assert_allclose(u, [-3.0, 1.0])
    with pytest.raises(InvalidInputError, match="parallel"):
        decompose(1.0, (0.6, 0, 0.8), 1.0, (0.6, 0, 0.8))


def test_angular_distortion_ratios() -> None:
    assert angular_distortion(10.0, 0.0, 5.0) == pytest.approx(1 / 500)  # 10 mm over 5 m
    assert angular_distortion(-20.0, 0.0, 3.0) == pytest.approx(1 / 150)
    assert angular_distortion(4.0, 6.0, 20.0) == pytest.approx(1e-4)
    assert BJERRUM_SAFE == 1 / 500 and BJERRUM_DAMAGE == 1 / 150
    with pytest.raises(InvalidInputError, match="distance"):
        angular_distortion(1.0, 2.0, 0.0)


def test_max_angular_distortion_compares_bins_at_most_50_m_apart() -> None:
    chain = np.array([5.0, 6.0, 25.0, 26.0, 105.0])
    settle = np.array([0.0, 0.0, -40.0, -40.0, 500.0])  # the far bin is 80 m away: not compared
    assert max_angular_distortion(chain, settle) == pytest.approx(40.0 / 20_000)


def test_segments_of_a_line_and_a_multiline() -> None:
    lines = gpd.GeoDataFrame(
        {"cid": ["A", "B"], "name": ["Line A", "Line B"]},
        geometry=[
            LineString([(0, 0), (250, 0)]),
            MultiLineString([[(0, 1000), (120, 1000)], [(0, 2000), (80, 2000)]]),
        ],
        crs="EPSG:3035",
    )
    seg = segment_corridors(lines, id_field="cid", name_field="name", length_m=100)
    assert seg["segment_id"].tolist() == [
        "A-001",
        "A-002",
        "A-003",
        "B-1-001",
        "B-1-002",
        "B-2-001",
    ]
    np.testing.assert_allclose(seg.length, [100, 100, 50, 100, 20, 80])
    assert seg.loc[2, "chainage_from_m"] == 200 and seg.loc[0, "line_name"] == "Line A"


def test_corridors_are_reprojected_and_a_layer_without_crs_is_refused() -> None:
    wgs = gpd.GeoDataFrame(
        {"cid": ["A"]}, geometry=[LineString([(16.36, 48.20), (16.37, 48.20)])], crs="EPSG:4326"
    )
    seg = segment_corridors(wgs, id_field="cid")
    assert seg.crs == "EPSG:3035" and len(seg) == 8  # about 742 m of line
    with pytest.raises(InvalidInputError, match="no CRS"):
        segment_corridors(wgs.set_crs(None, allow_override=True), id_field="cid")
    with pytest.raises(InvalidInputError, match="id field"):
        segment_corridors(wgs, id_field="nope")


def test_points_join_the_nearest_segment_within_the_buffer() -> None:
    seg = segment_corridors(
        gpd.GeoDataFrame(
            {"cid": ["A"]}, geometry=[LineString([(0, 0), (200, 0)])], crs="EPSG:3035"
        ),
        id_field="cid",
    )
    pts = gpd.GeoDataFrame(
        geometry=[Point(10, 5), Point(150, -29), Point(150, 31), Point(99, 1)], crs="EPSG:3035"
    )
    assert join_points(pts, seg, buffer_m=30).tolist() == [0, 1, -1, 0]
    with pytest.raises(InvalidInputError, match="share a CRS"):
        join_points(pts.to_crs("EPSG:4326"), seg)


def _segment_case() -> tuple[pd.DataFrame, dict, gpd.GeoDataFrame]:
    """Three 100 m segments: A-001 sinks at 6 mm/yr (asc + desc), A-002 has 4 coherent points,
    A-003 has a 50 mm settlement step between two 20 m bins 20 m apart (1/400)."""
    seg = segment_corridors(
        gpd.GeoDataFrame(
            {"cid": ["A"]}, geometry=[LineString([(0, 0), (300, 0)])], crs="EPSG:3035"
        ),
        id_field="cid",
    )
    vec = {"asc": (-0.6, -0.1, 0.8), "desc": (0.6, -0.1, 0.8)}
    rows, series = [], {}
    years = T
    for key in ("asc", "desc"):
        up_rates, chain, segs, coh = [], [], [], []
        for i in range(6):  # A-001: -6 mm/yr +- 0.1
            up_rates.append(-6.0 + (0.1 if i % 2 else -0.1))
            chain.append(10.0 + 15 * i)
            segs.append(0)
            coh.append(0.9)
        for i in range(7):  # 2 of 7 per geometry coherent -> 4 in all
            up_rates.append(0.0)
            chain.append(5.0 + 10 * i)
            segs.append(1)
            coh.append(0.9 if i < 2 else 0.5)
        for i in range(6):  # bin 0-20 m settles 50 mm more over the series than bin 20-40 m
            span = years[-1]
            up_rates.append(-50.0 / span if i < 3 else 0.0)
            chain.append(5.0 + i if i < 3 else 25.0 + i)
            segs.append(2)
            coh.append(0.9)
        up = np.outer(up_rates, years)
        series[key] = (DATES, up * vec[key][2])
        for r, (c, s, q) in enumerate(zip(chain, segs, coh, strict=True)):
            rows.append({"segment": s, "geometry_key": key, "row": r, "temporal_coherence": q,
                         "incidence_angle": math.degrees(math.acos(0.8)), "chainage_m": c,
                         "los_east": vec[key][0], "los_north": vec[key][1], "los_up": vec[key][2]})  # fmt: skip
    return pd.DataFrame(rows), series, seg


def test_segment_figures_gates_gaps_and_distortion() -> None:
    from indices.deformation import SegmentRules, segment_figures

    points, series, seg = _segment_case()
    fig, plots = segment_figures(points, series, seg, SegmentRules())
    fig = fig.set_index("segment_id")
    a = fig.loc["A-001"]
    assert a["vertical_velocity"] == pytest.approx(-6.0, abs=1e-6)
    assert a["east_velocity"] == pytest.approx(0.0, abs=1e-6)
    assert a["vertical_method"] == "asc+desc decomposition" and a["n_coherent"] == 12
    # spatial standard error of the 12 point velocities (+-0.1): 0.1 * sqrt(12/11) / sqrt(12)
    assert a["velocity_sigma"] == pytest.approx(0.1 * math.sqrt(12 / 11) / math.sqrt(12), rel=1e-6)
    assert a["gate"] == "warning" and a["status"] == "OK"
    for track in ("asc", "desc"):  # each track on its own: 6 coherent points, LOS / cos(incidence)
        assert a[f"n_coherent_{track}"] == 6
        assert a[f"vertical_velocity_{track}"] == pytest.approx(-6.0, abs=1e-6)
        assert a[f"velocity_sigma_{track}"] == pytest.approx(0.1 * math.sqrt(6 / 5) / math.sqrt(6))
    b = fig.loc["A-002"]
    assert b["status"] == "DATA_GAP" and b["n_points"] == 14 and b["n_coherent"] == 4
    assert math.isnan(b["vertical_velocity"]) and "4 coherent point(s)" in b["reason"]
    assert math.isnan(b["vertical_velocity_asc"]) and math.isnan(b["angular_distortion_desc"])
    c = fig.loc["A-003"]
    assert c["angular_distortion"] == pytest.approx(50.0 / 20_000, rel=1e-6)  # 1/400 >= 1/500
    assert c["distortion_class"] == "exceeds"
    assert c["angular_distortion_asc"] == pytest.approx(50.0 / 20_000, rel=1e-6)  # each track alone
    assert c["angular_distortion_desc"] == pytest.approx(50.0 / 20_000, rel=1e-6)
    assert set(plots) == {"A-001", "A-003"}
    assert plots["A-001"].iloc[-1] == pytest.approx(-6.0 * T[-1], abs=0.2)


def test_known_event_step_is_fitted_for_the_segment_it_reaches() -> None:
    from indices.deformation import SegmentRules, segment_figures

    points, series, seg = _segment_case()
    step_day = DATES[60]
    stepped = {k: (d, m + 8.0 * np.asarray(step_day <= d)[None, :]) for k, (d, m) in series.items()}
    plain, _ = segment_figures(points, stepped, seg, SegmentRules())
    known, _ = segment_figures(points, stepped, seg, SegmentRules(), {"A-001": (step_day.date(),)})
    assert known.loc[0, "vertical_velocity"] == pytest.approx(-6.0, abs=1e-6)
    assert known.loc[0, "known_event_step_mm"] == pytest.approx(8.0 / 0.8, abs=1e-6)
    assert abs(plain.loc[0, "vertical_velocity"] - -6.0) > 1.0  # unexplained, the step biases it


def test_distortion_of_every_segment_at_once_matches_one_by_one() -> None:
    from indices.deformation import distortion_by_segment

    rng = np.random.default_rng(3)
    seg = rng.integers(0, 6, 400)
    chain = rng.uniform(0, 100, 400)
    settle = rng.normal(0, 20, 400)
    seg[seg == 5] = 4  # segment 5 has no points
    got = distortion_by_segment(seg, chain, settle, 6)
    for k in range(5):
        mine = seg == k
        assert got[k] == pytest.approx(max_angular_distortion(chain[mine], settle[mine]))
    assert math.isnan(got[5])
