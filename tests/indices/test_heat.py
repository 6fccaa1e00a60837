"""indices.heat: clear-sky composite (clouds add nothing), unit checks, district table, SUHI,
hotspot polygons and the vulnerability ranking."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from affine import Affine
from shapely.geometry import box

from core.errors import InvalidInputError
from indices.heat import (
    check_plausible_kelvin,
    clear_median,
    district_heat_table,
    district_index,
    hotspot_areas,
    hotspot_polygons,
    lst_hotspots,
    rank_by_heat,
    reference_lst,
    vulnerability_ranking,
    weighted_quantile,
    zone_coverage,
)


def cube(values: np.ndarray, units: str = "K") -> xr.DataArray:
    t, rows, cols = values.shape
    return xr.DataArray(
        values, dims=("time", "y", "x"),
        coords={"time": np.arange(t), "y": 1000.0 - 30 * np.arange(rows), "x": 30.0 * np.arange(cols)},
        attrs={"units": units},
    )  # fmt: skip


def test_clear_median_ignores_removed_observations() -> None:
    values = np.full((3, 2, 2), 300.0)
    values[1] = 310.0
    values[2] = 265.0  # a cold cloud top
    removed = np.zeros(values.shape, bool)
    removed[2] = True
    removed[:, 1, 1] = True  # never seen clear
    lst = clear_median(cube(values), cube(removed, "1").astype(bool))
    assert lst.values[0, 0] == pytest.approx(305.0)  # median of 300 and 310, not of 265 too
    assert np.isnan(lst.values[1, 1])
    assert lst.attrs["units"] == "K"


def test_lst_in_the_wrong_units_is_refused_with_the_fix() -> None:
    with pytest.raises(InvalidInputError, match="expected 'K'"):
        clear_median(cube(np.full((1, 2, 2), 27.0), "degC"), cube(np.zeros((1, 2, 2), bool), "1"))
    with pytest.raises(InvalidInputError, match="looks like degC"):
        check_plausible_kelvin(np.full((3, 3), 31.5), "LST")
    with pytest.raises(InvalidInputError, match="raw digital numbers"):
        check_plausible_kelvin(np.full((3, 3), 44000.0), "LST")
    grid = xr.DataArray(np.full((4, 4), 31.0), dims=("y", "x"),
                        coords={"y": [90.0, 60, 30, 0], "x": [0.0, 30, 60, 90]})  # fmt: skip
    with pytest.raises(InvalidInputError, match="kelvin"):
        lst_hotspots(grid, 60.0, fdr=False)


def test_district_table_suhi_hot_share_and_status() -> None:
    lst = np.full((10, 10), 300.0)
    lst[:, 5:] = 304.0
    lst[0, 0:5] = np.nan  # 10 % of district 1 cloudy
    classes = np.zeros((10, 10), np.int8)
    classes[:, 8:] = 2
    zones = np.zeros((10, 10), np.int32)
    zones[:, :5] = 1
    zones[:, 5:] = 2
    zones[0, 9] = 3  # a district that only touches the grid
    table = district_heat_table(lst, classes, zones, ["a", "b", "c"], reference_k=299.0,
                                min_clear_fraction=0.5, ok_clear_fraction=0.95, min_pixels=5)  # fmt: skip
    a, b, c = (table.iloc[i] for i in range(3))
    assert a["clear_fraction"] == pytest.approx(0.9) and a["status"] == "DEGRADED"
    assert a["suhi_k"] == pytest.approx(1.0) and a["lst_median_c"] == pytest.approx(26.85)
    assert b["hot_share"] == pytest.approx(19 / 49, abs=1e-4) and b["status"] == "OK"
    assert c["status"] == "DATA_GAP"


def test_vulnerability_ranking_is_a_density_weighted_by_the_heat_island() -> None:
    heat = pd.DataFrame({
        "zone_id": ["1", "2", "3", "4"], "hot_share": [0.5, 0.5, 1.0, 0.9],
        "suhi_k": [4.0, 4.0, -1.0, 6.0], "status": ["OK", "OK", "DEGRADED", "DATA_GAP"],
    })  # fmt: skip
    population = pd.DataFrame({
        "zone_id": [1, 2, 3, 4], "age_65_plus": [20000, 8000, 4000, 90000],
        "age_75_plus": [9000, 4000, 2000, 40000], "area_km2": [30.0, 2.0, 1.0, 40.0],
    })  # fmt: skip
    ranked = vulnerability_ranking(heat, population)
    # 2: 12000/2 km2 * 0.5 * 4 K = 12000; 1: 29000/30 * 0.5 * 4 = 1933.3; 3: cooler than the
    # reference (SUHI < 0 counts 0): score 0; 4: DATA_GAP, unranked, last
    assert list(ranked["zone_id"]) == ["2", "1", "3", "4"]
    assert ranked.iloc[0]["score"] == pytest.approx(12000.0)
    assert ranked.iloc[1]["score"] == pytest.approx(1933.3, abs=0.2)
    assert ranked.iloc[0]["exposed_65_plus"] == 4000  # the count is reported beside the score
    assert list(ranked["rank"][:3]) == [1, 2, 3] and pd.isna(ranked.iloc[3]["rank"])
    # areas from the polygons where the table has none
    no_area = population.drop(columns="area_km2")
    areas = pd.Series({"1": 30.0, "2": 2.0, "3": 1.0, "4": 40.0})
    again = vulnerability_ranking(heat, no_area, areas_km2=areas)
    assert list(again["score"][:2]) == list(ranked["score"][:2])
    with pytest.raises(InvalidInputError, match="age_75_plus"):
        vulnerability_ranking(heat, population.drop(columns="age_75_plus"))


def test_hotspot_polygons_are_connected_significant_cells() -> None:
    classes = np.zeros((20, 20), np.int8)
    classes[2:6, 2:6] = 2
    classes[3, 3] = 3
    classes[10:12, 10:13] = 2  # 6 cells
    classes[18, 18] = 3  # a lone cell: noise, dropped
    classes[15:17, 0:3] = -3  # a cold spot is not a hot spot
    polygons = hotspot_polygons(classes, Affine(30, 0, 0, 0, -30, 600), "EPSG:32633")
    assert list(polygons["pixels"]) == [16, 6]
    assert list(polygons["max_class"]) == [3, 2]
    assert polygons.iloc[0].geometry.area == pytest.approx(16 * 900)
    empty = hotspot_polygons(np.zeros((5, 5), np.int8), Affine(30, 0, 0, 0, -30, 150), "EPSG:32633")
    assert empty.empty and "hotspot_id" in empty.columns


def test_weighted_quantile_hand_values() -> None:
    # equal weights: numpy's median; half the weight at or below 20 and half at 30: 25; 10 counts
    # 0.25 of 1.25 so the median is 20; splitting a weight (30 as 1 + 1) changes nothing
    assert weighted_quantile(np.array([4.0, 1.0, 3.0, 2.0]), np.ones(4), 0.5) == 2.5
    assert weighted_quantile(np.array([10.0, 20.0, 30.0]), np.array([1.0, 1.0, 2.0]), 0.5) == 25.0
    assert weighted_quantile(np.array([10.0, 20.0, 30, 30]), np.ones(4), 0.5) == 25.0
    assert weighted_quantile(np.array([10.0, 20.0]), np.array([0.25, 1.0]), 0.5) == 20.0
    assert weighted_quantile(np.arange(1.0, 11.0), np.ones(10), 0.9) == 9.5  # 90 % reached at 9
    assert np.isnan(weighted_quantile(np.array([]), np.array([]), 0.5))


def test_coverage_weighted_district_statistics_hand_case() -> None:
    # 4 x 4 grid of 30 m pixels, origin (0, 120); a district covering x 15..60, y 60..120: column 0
    # half (15..30 of 0..30), column 1 fully, rows 0-1 fully -> 2 half pixels + 2 full = 3 pixels
    transform = Affine(30, 0, 0, 0, -30, 120)
    district = gpd.GeoDataFrame({"id": ["d"]}, geometry=[box(15, 60, 60, 120)], crs="EPSG:32633")
    cover = zone_coverage(district, "id", transform, (4, 4))
    assert sorted(cover.cells[0].tolist()) == [0, 1, 4, 5]
    by_cell = dict(zip(cover.cells[0].tolist(), cover.weights[0].tolist(), strict=True))
    assert by_cell == pytest.approx({0: 0.5, 1: 1.0, 4: 0.5, 5: 1.0})
    lst = np.full((4, 4), 290.0)
    lst[0, 0], lst[0, 1], lst[1, 0], lst[1, 1] = 310.0, 300.0, 310.0, np.nan  # cell 5 cloudy
    classes = np.zeros((4, 4), np.int8)
    classes[0, 0] = classes[1, 0] = 3  # the two half pixels are hot
    row = district_heat_table(lst, classes, cover, reference_k=295.0, min_pixels=1).iloc[0]
    assert row["pixels"] == pytest.approx(3.0)
    assert row["clear_fraction"] == pytest.approx(2.0 / 3.0, abs=1e-4)  # 2 of 3 pixel areas clear
    assert row["hot_share"] == pytest.approx(0.5)  # 1.0 hot of 2.0 clear pixel areas
    # values 300 (area 1) and 310 (0.5 + 0.5): half the clear area each -> median 305 K
    assert row["lst_median_c"] == pytest.approx(305.0 - 273.15, abs=0.01)
    assert row["suhi_k"] == pytest.approx(10.0)
    assert row["status"] == "DEGRADED"
    # by pixel centre the half pixels (centres on the edge, x = 15) are not in the district at all:
    # the hot half of its area would count nothing
    centre = district_index(district, "id", transform, (4, 4))
    assert district_heat_table(lst, classes, *centre, reference_k=295.0,
                               min_pixels=1).iloc[0]["hot_share"] == 0.0  # fmt: skip
    # the reference pooled over its polygons, area-weighted
    ref = zone_coverage(district, "id", transform, (4, 4))
    assert reference_lst(lst, ref, "ref") == pytest.approx(305.0)


def test_hotspot_areas_merge_nearby_groups_and_drop_fragments() -> None:
    transform = Affine(30, 0, 0, 0, -30, 900)
    classes = np.zeros((30, 30), np.int8)
    classes[2:8, 2:8] = 2  # 36 cells = 3.24 ha
    classes[2:8, 9:12] = 3  # 18 cells one 30 m column away: same hot spot with a 30 m gap
    classes[20, 20] = classes[21, 21] = 2  # diagonal pair: one group (8-connected), 0.18 ha
    classes[25:27, 2:4] = 2  # 4 cells = 0.36 ha, far from everything
    classes[15:17, 15:18] = -3  # cold spot
    areas = hotspot_areas(classes, transform, "EPSG:32633", merge_gap_m=30.0, min_area_m2=3000.0)
    polys = areas.polygons
    assert list(polys["pixels"]) == [54, 4] and list(polys["parts"]) == [2, 1]
    assert list(polys["max_class"]) == [3, 2]
    assert polys.iloc[0].geometry.area == pytest.approx(54 * 900)
    assert areas.dropped == 1 and areas.dropped_area_m2 == pytest.approx(1800.0)
    assert areas.significant_cells == 60
    # two cooler columns between groups are more than a 30 m gap; a 60 m gap merges them
    two = np.zeros((10, 12), np.int8)
    two[2:6, 1:4] = two[2:6, 6:9] = 2
    assert len(hotspot_areas(two, transform, "EPSG:32633", merge_gap_m=30.0).polygons) == 2
    assert len(hotspot_areas(two, transform, "EPSG:32633", merge_gap_m=60.0).polygons) == 1
    assert len(hotspot_areas(two, transform, "EPSG:32633", merge_gap_m=89.0).polygons) == 1
    # no merge gap: the two blocks stay apart; 4-connectivity splits the diagonal pair
    apart = hotspot_areas(classes, transform, "EPSG:32633", min_area_m2=0.0, connectivity=4)
    assert sorted(apart.polygons["pixels"]) == [1, 1, 4, 18, 36]
    with pytest.raises(InvalidInputError, match="connectivity"):
        hotspot_areas(classes, transform, "EPSG:32633", connectivity=6)


def test_street_segments_ranked_by_hot_share_then_lst() -> None:
    table = pd.DataFrame({
        "zone_id": ["a", "b", "c", "d"], "hot_share": [0.2, 0.8, 0.8, 1.0],
        "lst_median_c": [40.0, 35.0, 38.0, 45.0], "status": ["OK", "OK", "DEGRADED", "DATA_GAP"],
    })  # fmt: skip
    ranked = rank_by_heat(table)
    assert list(ranked["zone_id"]) == ["c", "b", "a", "d"]
    assert list(ranked["rank"][:3]) == [1, 2, 3] and pd.isna(ranked.iloc[3]["rank"])


def test_park_heat_exposure_is_the_share_of_clear_park_area_in_a_hot_spot() -> None:
    """A hand-built 30 m LST grid: a 6 x 6 cell block 10 K hotter than a gently varying background,
    and a cloudy corner. A park inside the block is wholly hot, one far from it not at all, one
    half under cloud is judged on its clear half, one wholly under cloud is NaN (not available)."""
    from indices.heat import park_heat_exposure

    rows = cols = 20
    lst = 300.0 + 0.05 * np.add.outer(np.arange(rows), np.arange(cols) % 3)
    lst[2:8, 2:8] += 10.0  # the hot cluster
    lst[14:, :6] = np.nan  # no clear LST under the cloud
    grid = xr.DataArray(
        lst, dims=("y", "x"),
        coords={"y": 600.0 - 15 - 30 * np.arange(rows), "x": 15.0 + 30 * np.arange(cols)},
        attrs={"units": "K"},
    )  # fmt: skip
    transform = Affine(30, 0, 0, 0, -30, 600)
    parks = gpd.GeoDataFrame(
        {"park_id": [1, 2, 3, 4]},
        geometry=[
            box(90, 390, 210, 510),  # rows 3-6, cols 3-6: inside the block
            box(420, 30, 570, 180),  # rows 14-18, cols 14-18: far from it
            box(0, 120, 120, 240),  # rows 12-15, cols 0-3: rows 14-15 under cloud
            box(0, 0, 150, 150),  # rows 15-19, cols 0-4: all under cloud
        ],
        crs="EPSG:32633",
    )
    share = park_heat_exposure(
        grid, parks, "park_id", transform, distance_m=90, fdr=True, hot_class=2
    )
    assert list(share.index) == ["1", "2", "3", "4"]
    assert share["1"] == 1.0
    assert share["2"] == 0.0
    assert share["3"] == 0.0  # its clear half is cool: known, not hot (never NaN)
    assert np.isnan(share["4"])
    # no clear cell anywhere: every park NaN, no Gi* on an empty grid
    empty = park_heat_exposure(
        grid * np.nan, parks, "park_id", transform, distance_m=90, fdr=True, hot_class=2
    )
    assert empty.isna().all()


def test_zone_hot_share_weights_cells_by_the_area_inside_the_zone() -> None:
    from indices.heat import ZoneCoverage, zone_hot_share

    lst = np.array([300.0, 301.0, np.nan, 302.0])
    classes = np.array([2, 0, 3, 1])
    cover = ZoneCoverage(
        ids=["a", "b"],
        cells=[np.array([0, 1, 2]), np.array([2])],
        weights=[np.array([0.5, 1.0, 1.0]), np.array([1.0])],
    )
    share = zone_hot_share(lst, classes, cover, hot_class=2)
    # a: clear area 0.5 + 1.0 (the NaN cell left out), hot 0.5 -> 1/3; b: no clear cell -> NaN
    assert share["a"] == pytest.approx(1 / 3)
    assert np.isnan(share["b"])
    # a 90 % hot spot (class 1) counts only when the rule says so
    assert zone_hot_share(lst, np.array([1, 0, 0, 0]), cover, hot_class=1)["a"] == pytest.approx(
        1 / 3
    )
