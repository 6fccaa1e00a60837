"""indices.heat: clear-sky composite (clouds add nothing), unit checks, district table, SUHI,
hotspot polygons and the vulnerability ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from affine import Affine

from core.errors import InvalidInputError
from indices.heat import (
    check_plausible_kelvin,
    clear_median,
    district_heat_table,
    hotspot_polygons,
    lst_hotspots,
    vulnerability_ranking,
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
