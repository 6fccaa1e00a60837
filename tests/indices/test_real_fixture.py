"""Vegetation statistics on a real Sentinel-2 L2A scene (../shared/data, skipped where absent).

S2A_29RKH_20200219 (Western Sahara, baseline 02.14: reflectance = DN / 10000), decimated to
B02/B04/B08 at 100 m and B11/SCL at 200 m, both grids starting at (199980, 2800020) in
EPSG:32629. There is no B8A, so B08 stands in as NDMI's NIR. Squares of a few km on 200 m pixel
edges are summarised with the product's zonal statistics; every expectation is recomputed here
with plain numpy from the files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from shapely.geometry import box

from core.status import CoverageRule
from eo.sentinel2 import to_reflectance, upsample_nearest
from indices.season import clear_sky, window_composites
from indices.zonal import park_statistics
from tests.conftest import shared_file

FOLDER = "sentinel2_l2a_29RKH_20200219"
ITEM = "S2A_29RKH_20200219_0_L2A.json"
DAY = date(2020, 2, 19)
X0, Y0 = 199980.0, 2800020.0  # top-left edge of every band
RES, SCL_RES = 100.0, 200.0
FILES = {"blue": "B02", "red": "B04", "nir": "B08", "swir16": "B11", "scl": "SCL"}
# Squares (first SCL row, first SCL column, size in SCL pixels), chosen from the SCL file:
SQUARES = {
    "bare-a": (200, 100, 15),  # 3 km, all "not vegetated" (5)
    "bare-b": (400, 300, 10),  # 2 km, all 5
    "cloud": (60, 490, 10),  # 2 km, all cloud medium/high probability and cirrus (8, 9, 10)
    "edge": (5, 500, 12),  # 2.4 km, partly under cirrus
}
# Strict SCL removal (DESIGN section 3) and the cloud classes dilated by 2 pixels, written out.
STRICT_REMOVED = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11]
DILATED = [3, 8, 9, 10]
DILATE_PX = 2


@dataclass(frozen=True)
class Scene:
    """Raw DN at 100 m (SCL repeated 2 x 2), the item properties and the reflectance cube."""

    dn: dict[str, np.ndarray]
    properties: dict[str, Any]
    cube: xr.Dataset


def _read(name: str) -> tuple[np.ndarray, Any]:
    with rasterio.open(shared_file(FOLDER, f"{name}.tif")) as src:
        assert src.crs.to_epsg() == 32629
        return src.read(1), src.transform


@pytest.fixture(scope="module")
def scene() -> Scene:
    item = json.loads(shared_file(FOLDER, ITEM).read_text(encoding="utf-8"))
    properties = item["properties"]
    dn: dict[str, np.ndarray] = {}
    for key, name in FILES.items():
        values, transform = _read(name)
        assert (transform.c, transform.f) == (X0, Y0)
        assert transform.a in (RES, SCL_RES)
        dn[key] = upsample_nearest(values, 2) if transform.a == SCL_RES else values
    layers = {
        key: to_reflectance(dn[key], "earth-search", "sentinel-2-l2a", properties)
        for key in ("blue", "red", "nir", "swir16")
    }
    layers["nir08"] = layers["nir"]  # no B8A in the fixture: B08 is NDMI's NIR here
    rows, cols = dn["red"].shape
    coords = {
        "time": [np.datetime64(DAY, "ns")],
        "y": Y0 - RES * (np.arange(rows) + 0.5),
        "x": X0 + RES * (np.arange(cols) + 0.5),
    }
    dims = ("time", "y", "x")
    cube = xr.Dataset(
        {
            **{b: (dims, layers[b][None], {"units": "1"}) for b in layers},
            "scl": (dims, dn["scl"].astype(np.uint8)[None], {"units": "1", "nodata": 0}),
        },
        coords=coords,
    ).rio.write_crs("EPSG:32629")
    return Scene(dn=dn, properties=properties, cube=cube)


def _squares() -> gpd.GeoDataFrame:
    geoms = []
    for row, col, size in SQUARES.values():
        west, north = X0 + col * SCL_RES, Y0 - row * SCL_RES
        geoms.append(box(west, north - size * SCL_RES, west + size * SCL_RES, north))
    return gpd.GeoDataFrame(
        {"park_id": list(SQUARES), "name": list(SQUARES)}, geometry=geoms, crs="EPSG:32629"
    )


def _window(row: int, col: int, size: int) -> tuple[slice, slice]:
    """The 100 m pixels of a square given in SCL pixels."""
    return slice(2 * row, 2 * (row + size)), slice(2 * col, 2 * (col + size))


def _independent_clear(dn: dict[str, np.ndarray]) -> np.ndarray:
    """Strict-clear pixels from the SCL codes and DN with numpy only (disk dilation by shifts)."""
    scl = dn["scl"]
    cloud = np.isin(scl, DILATED)
    dilated = np.zeros_like(cloud)
    rows, cols = cloud.shape
    for dy in range(-DILATE_PX, DILATE_PX + 1):
        for dx in range(-DILATE_PX, DILATE_PX + 1):
            if dy * dy + dx * dx > DILATE_PX * DILATE_PX:
                continue
            shifted = np.zeros_like(cloud)
            shifted[max(dy, 0) : rows + min(dy, 0), max(dx, 0) : cols + min(dx, 0)] = cloud[
                max(-dy, 0) : rows + min(-dy, 0), max(-dx, 0) : cols + min(-dx, 0)
            ]
            dilated |= shifted
    valid = np.all([dn[k] != 0 for k in ("blue", "red", "nir", "swir16")], axis=0)
    return valid & ~np.isin(scl, STRICT_REMOVED) & ~dilated


@pytest.fixture(scope="module")
def table(scene: Scene) -> gpd.GeoDataFrame:
    composites = window_composites(scene.cube, None, end=DAY, days=14, years=(), min_years=3)
    assert composites.days == (DAY,)
    return park_statistics(
        composites.now,
        composites.ref,
        composites.clear_window,
        _squares(),
        "park_id",
        coverage=CoverageRule(minimum=0.6, degraded_below=0.9, min_dates=2),
    ).set_index("park_id")


def test_reflectance_is_dn_over_10000_for_baseline_02_14(scene: Scene) -> None:
    assert scene.properties["s2:processing_baseline"] == "02.14"
    red = scene.cube["red"].isel(time=0).values
    np.testing.assert_allclose(red, scene.dn["red"] / 10000.0, rtol=1e-6)
    assert 0.1 < float(np.median(red)) < 0.6  # bare desert soil, not DN or percent


def test_strict_clear_mask_matches_an_independent_numpy_mask(scene: Scene) -> None:
    clear = clear_sky(scene.cube).isel(time=0).values
    expected = _independent_clear(scene.dn)
    assert 0 < (~expected).sum() < expected.size  # the scene has clouds and clear ground
    np.testing.assert_array_equal(clear, expected)


def test_clear_fractions_match_an_independent_count(scene: Scene, table: gpd.GeoDataFrame) -> None:
    clear = _independent_clear(scene.dn)
    expected = {name: float(clear[_window(*sq)].mean()) for name, sq in SQUARES.items()}
    for name, fraction in expected.items():
        assert table.loc[name, "clear_fraction"] == pytest.approx(fraction, abs=1e-9), name
    assert expected["bare-a"] == expected["bare-b"] == 1.0
    assert expected["cloud"] == 0.0
    assert 0.05 < expected["edge"] < 0.5


def test_current_window_medians_of_clear_squares(scene: Scene, table: gpd.GeoDataFrame) -> None:
    clear = _independent_clear(scene.dn)
    dn = {k: scene.dn[k].astype(np.float64) / 10000.0 for k in ("red", "nir", "swir16")}
    for name, square in SQUARES.items():
        window = _window(*square)
        ok = clear[window]
        red, nir, swir = (dn[k][window][ok] for k in ("red", "nir", "swir16"))
        if not ok.any():
            assert np.isnan(
                table.loc[name, ["ndvi_now", "ndmi_now", "evi_now"]].astype(float)
            ).all()
            continue
        ndvi = np.median((nir - red) / (nir + red))
        ndmi = np.median((nir - swir) / (nir + swir))
        assert table.loc[name, "ndvi_now"] == pytest.approx(ndvi, rel=1e-4), name
        assert table.loc[name, "ndmi_now"] == pytest.approx(ndmi, rel=1e-4), name
        assert np.isfinite(table.loc[name, "evi_now"]), name
        assert 0.0 < ndvi < 0.2  # bare soil: low NDVI, a sanity check of the band order
    assert np.isnan(table.loc["cloud", "ndvi_now"])


def test_single_date_without_reference_is_a_data_gap_everywhere(table: gpd.GeoDataFrame) -> None:
    assert (table["status"] == "DATA_GAP").all()
    anomalies = table[["ndvi_anomaly", "ndmi_anomaly", "evi_anomaly"]].astype(float)
    references = table[["ndvi_ref", "ndmi_ref", "evi_ref"]].astype(float)
    assert anomalies.isna().all().all() and references.isna().all().all()
    assert table["stressed_share"].isna().all()
    assert table.loc[["bare-a", "bare-b"], "clear_dates"].tolist() == [1, 1]
    assert table.loc[["cloud", "edge"], "clear_dates"].tolist() == [0, 0]  # < 50 % clear
    assert table.loc["bare-a", "last_clear_date"] == DAY.isoformat()
