"""Synthetic, correctly attributed inputs of the irrigation priority tests (no real data).

Four or five rectangular parks in EPSG:32633 (Vienna's UTM zone) with statistics rows per the
per-park statistics contract, an NDVI anomaly DataArray on a 20 m grid with a ``spatial_ref``
coordinate, and per-park NDVI/NDMI time series.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS
from shapely.geometry import box

from core.status import CoverageRule

X0, Y0 = 600_000.0, 5_340_000.0  # south-west corner of the test area (EPSG:32633, metres)
RES = 20.0
NX, NY = 60, 50  # 1200 m x 1000 m
COVERAGE = CoverageRule(minimum=0.6, degraded_below=0.9, min_dates=2)  # the packaged profiles'


def stats_row(park_id: str, **values: Any) -> dict[str, Any]:
    """One healthy, fully seen park row; keyword arguments override fields."""
    row: dict[str, Any] = {
        "park_id": park_id, "name": f"Park {park_id}", "status": "OK",
        "ndvi_now": 0.70, "ndvi_ref": 0.70, "ndvi_anomaly": 0.0,
        "ndmi_now": 0.30, "ndmi_ref": 0.30, "ndmi_anomaly": 0.0,
        "evi_now": 0.45, "evi_ref": 0.45, "evi_anomaly": 0.0,
        "stressed_share": 0.0, "clear_fraction": 1.0, "clear_dates": 3,
        "last_clear_date": "2022-06-12", "heat_exposure": math.nan, "area_m2": 40_000.0,
    }  # fmt: skip
    row.update(values)
    return row


def park_stats() -> pd.DataFrame:
    """Five parks: urgent, high, unstressed, cloud-hidden (DATA_GAP), degraded (a little stress).

    Classes under the packaged rule irrigation-priority-2.0.0: 1, 2, 4, none, 3.
    """
    rows = [
        stats_row("p-dry", name="Dry Park", ndmi_anomaly=-0.12, ndvi_anomaly=-0.10,
                  evi_anomaly=-0.08, stressed_share=0.60),
        stats_row("p-mid", name="Mid Park", ndmi_anomaly=-0.09, ndvi_anomaly=-0.07,
                  evi_anomaly=-0.07, stressed_share=0.35),
        stats_row("p-ok", name="Green Park", ndmi_anomaly=0.02, ndvi_anomaly=0.01,
                  evi_anomaly=0.00, stressed_share=0.02),
        stats_row("p-gap", name="Cloudy Park", status="DATA_GAP", clear_fraction=0.42, clear_dates=1,
                  ndmi_anomaly=math.nan, ndvi_anomaly=math.nan, evi_anomaly=math.nan,
                  stressed_share=math.nan, last_clear_date=None),
        stats_row("p-deg", name="Straße Park", status="DEGRADED", clear_fraction=0.75,
                  ndmi_anomaly=-0.02, ndvi_anomaly=-0.09, evi_anomaly=-0.02, stressed_share=0.10),
    ]  # fmt: skip
    return pd.DataFrame(rows)


def park_geometries(ids: list[str]) -> list[Any]:
    """Rectangular parks 200 m x 200 m side by side inside the test raster."""
    return [
        box(
            X0 + 100 + 220 * i, Y0 + 300 + 80 * (i % 2), X0 + 300 + 220 * i, Y0 + 500 + 80 * (i % 2)
        )
        for i in range(len(ids))
    ]


def parks_gdf(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """``frame`` with park polygons in EPSG:32633 (attrs kept)."""
    gdf = gpd.GeoDataFrame(
        frame, geometry=park_geometries(list(frame["park_id"])), crs="EPSG:32633"
    )
    gdf.attrs.update(frame.attrs)
    return gdf


def anomaly_da(all_nan: bool = False) -> xr.DataArray:
    """NDVI anomaly on a 20 m grid (pixel centres), CRS in a ``spatial_ref`` coordinate."""
    x = X0 + RES * (np.arange(NX) + 0.5)
    y = Y0 + NY * RES - RES * (np.arange(NY) + 0.5)
    xx, yy = np.meshgrid(x, y)
    data = (-0.15 * np.exp(-(((xx - X0 - 200) / 300) ** 2)) + 0.02 * np.sin(yy / 150)).astype(
        "float32"
    )
    data[:4, :6] = np.nan
    if all_nan:
        data[:] = np.nan
    crs = CRS.from_epsg(32633)
    return xr.DataArray(
        data,
        dims=("y", "x"),
        coords={"x": x, "y": y, "spatial_ref": ((), 0, {"crs_wkt": crs.to_wkt()})},
        name="ndvi_anomaly",
        attrs={"units": "1", "long_name": "NDVI anomaly"},
    )


def time_series(park_ids: list[str]) -> pd.DataFrame:
    """NDVI and NDMI, five dates this season, declining below a flat reference median."""
    dates = pd.date_range("2022-06-01", periods=5, freq="5D")
    rows = []
    for pid in park_ids:
        for index, ref in (("ndvi", 0.7), ("ndmi", 0.3)):
            for i, date in enumerate(dates):
                rows.append({"park_id": pid, "date": date, "index": index,
                             "value": ref - 0.025 * i, "ref_value": ref})  # fmt: skip
    return pd.DataFrame(rows)


def manifest_info() -> dict[str, Any]:
    """Run facts as the flow would pass them."""
    return {
        "scene_ids": ["S2A_33UXP_20220601_0_L2A", "S2B_33UXP_20220606_0_L2A"],
        "processing_baselines": ["04.00"],
        "masks": {"scl_removed": [0, 1, 3, 8, 9, 10, 11]},
        "period": {"start": "2022-06-01", "end": "2022-06-14"},
        "profile": "demo-vienna",
        "reference": "2019-2021",
    }
