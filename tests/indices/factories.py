"""Factories for correctly attributed synthetic rasters, cubes and parks (tests/indices)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS
from shapely.geometry import box

CRS_UTM = "EPSG:32633"
RES = 10.0


def spatial_ref() -> xr.DataArray:
    """A CF grid-mapping coordinate as rioxarray/odc-stac write it."""
    return xr.DataArray(0, attrs={"crs_wkt": CRS(CRS_UTM).to_wkt()})


def grid_coords(ny: int, nx: int, x0: float = 0.0, ytop: float | None = None) -> dict[str, Any]:
    """Pixel-centre coordinates of a north-up 10 m grid whose lower-left edge is (x0, 0)."""
    top = ny * RES if ytop is None else ytop
    return {
        "y": top - RES * (np.arange(ny) + 0.5),
        "x": x0 + RES * (np.arange(nx) + 0.5),
        "spatial_ref": spatial_ref(),
    }


def raster(values: Any, name: str = "ndvi", units: str = "1") -> xr.DataArray:
    """2-D DataArray (y, x) on the 10 m test grid."""
    arr = np.asarray(values)
    return xr.DataArray(
        arr, dims=("y", "x"), coords=grid_coords(*arr.shape), name=name, attrs={"units": units}
    )


def cube(values: Any, times: Sequence[str], name: str = "ndvi") -> xr.DataArray:
    """3-D DataArray (time, y, x) on the 10 m test grid."""
    arr = np.asarray(values)
    coords = {"time": pd.DatetimeIndex(times), **grid_coords(*arr.shape[1:])}
    return xr.DataArray(
        arr, dims=("time", "y", "x"), coords=coords, name=name, attrs={"units": "1"}
    )


def parks(boxes: dict[str, tuple[float, float, float, float]]) -> gpd.GeoDataFrame:
    """Parks as boxes (minx, miny, maxx, maxy) in metres, with id and name fields."""
    return gpd.GeoDataFrame(
        {"park_id": list(boxes), "name": [f"Park {k}" for k in boxes]},
        geometry=[box(*b) for b in boxes.values()],
        crs=CRS_UTM,
    )
