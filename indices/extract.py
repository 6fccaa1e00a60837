"""exactextract plumbing: grid of a DataArray, CRS/id checks, one extraction over many rasters.

Numpy in, pandas out; no Dask here (the callers in :mod:`indices.zonal` materialise first).
exactextract weights every pixel by the fraction of it inside the polygon.

References
----------
Baston, D. (2022): exactextract, fast and accurate raster zonal statistics.
https://github.com/isciences/exactextract
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import xarray as xr
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from core.errors import InvalidInputError
from indices.park_table import Col


@dataclass(frozen=True)
class RasterGrid:
    """Pixel-edge extent of a north-up raster as exactextract needs it.

    Attributes
    ----------
    xmin, ymin, xmax, ymax : float
        Outer pixel edges in CRS units.
    flip_y : bool
        True when the DataArray's y runs south to north (rows are flipped before extraction).
    pixel_area : float
        Area of one pixel in CRS units squared.
    """

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    flip_y: bool
    pixel_area: float


def _step(coord: np.ndarray, dim: str) -> float:
    if coord.size < 2:
        raise InvalidInputError(
            f"raster: need at least 2 pixels along {dim} to infer the pixel size, got {coord.size}; "
            "zonal statistics need the full output grid, not a single row or column"
        )
    steps = np.diff(coord.astype(float))
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        raise InvalidInputError(f"raster: {dim} coordinates are not regularly spaced; regrid first")
    return float(steps[0])


def raster_grid(da: xr.DataArray) -> RasterGrid:
    """The :class:`RasterGrid` of a 2-D DataArray with pixel-centre ``x``/``y`` coordinates."""
    if set(da.dims) != {"y", "x"} or "x" not in da.coords or "y" not in da.coords:
        raise InvalidInputError(
            f"raster: expected a 2-D DataArray with dims (y, x) and x/y coordinates, got {da.dims}; "
            "reduce the time dimension first (e.g. indices.composite.clear_median)"
        )
    x, y = np.asarray(da["x"].values), np.asarray(da["y"].values)
    dx, dy = _step(x, "x"), _step(y, "y")
    if dx <= 0:
        raise InvalidInputError("raster: x coordinates must increase west to east")
    half_x, half_y = dx / 2, abs(dy) / 2
    return RasterGrid(
        xmin=float(x.min()) - half_x,
        ymin=float(y.min()) - half_y,
        xmax=float(x.max()) + half_x,
        ymax=float(y.max()) + half_y,
        flip_y=dy > 0,
        pixel_area=dx * abs(dy),
    )


def _raster_crs(da: xr.DataArray) -> pyproj.CRS | None:
    if "spatial_ref" not in da.coords:
        return None
    attrs = da.coords["spatial_ref"].attrs
    wkt = attrs.get("crs_wkt") or attrs.get("spatial_ref")
    return pyproj.CRS.from_user_input(wkt) if wkt else None


def check_polygons(polygons: gpd.GeoDataFrame, id_field: str, da: xr.DataArray) -> None:
    """Raise :class:`InvalidInputError` unless ``polygons`` can be summarised on ``da``'s grid."""
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise InvalidInputError(f"polygons: expected a GeoDataFrame, got {type(polygons).__name__}")
    if id_field not in polygons.columns:
        raise InvalidInputError(
            f"polygons: no id field {id_field!r} (columns: {', '.join(map(str, polygons.columns))}); "
            "pass the layer's declared id field"
        )
    if polygons[id_field].astype(str).duplicated().any():
        dup = polygons[id_field][polygons[id_field].astype(str).duplicated()].iloc[0]
        raise InvalidInputError(f"polygons: id {dup!r} in field {id_field!r} is not unique")
    if polygons.crs is None:
        raise InvalidInputError("polygons: no CRS; set it with GeoDataFrame.set_crs(...)")
    raster_crs = _raster_crs(da)
    if raster_crs is not None and not raster_crs.equals(polygons.crs, ignore_axis_order=True):
        raise InvalidInputError(
            f"polygons are in {polygons.crs.to_string()} but the raster in {raster_crs.to_string()}; "
            "reproject them with polygons.to_crs(...) to the raster's CRS"
        )


def as_numpy_2d(da: xr.DataArray, grid: RasterGrid) -> np.ndarray:
    """Computed float values, row 0 at the north edge (bool -> 0/1).

    float64 stays float64; anything else becomes float32 (half the memory on city-sized grids;
    exactextract accumulates in double either way).
    """
    dtype = np.float64 if da.dtype == np.float64 else np.float32
    values = np.asarray(da.transpose("y", "x").values, dtype=dtype)
    return values[::-1] if grid.flip_y else values


def extract(
    rasters: Mapping[str, np.ndarray],
    grid: RasterGrid,
    polygons: gpd.GeoDataFrame,
    id_field: str,
    op: str,
) -> pd.DataFrame:
    """One exactextract run of ``op`` over named 2-D rasters; rows indexed by park id (str).

    Rows whose geometry is missing or empty are NaN (exactextract cannot parse them).
    """
    ids = pd.Index(polygons[id_field].astype(str), name=id_field)
    geometry = polygons.geometry
    present = ~(geometry.isna().to_numpy() | geometry.is_empty.to_numpy())
    if not rasters or not present.any():
        return pd.DataFrame(index=ids, columns=list(rasters), dtype=float)
    wkt = polygons.crs.to_wkt()
    names = list(rasters)
    sources = [
        NumPyRasterSource(
            rasters[n], grid.xmin, grid.ymin, grid.xmax, grid.ymax, name=f"r{i}", srs_wkt=wkt
        )
        for i, n in enumerate(names)
    ]
    vec = polygons.loc[present, [id_field, polygons.geometry.name]].copy()
    vec[id_field] = vec[id_field].astype(str)
    table = exact_extract(sources, vec, [op], include_cols=[id_field], output="pandas")
    columns = [op] if len(sources) == 1 else [f"r{i}_{op}" for i in range(len(sources))]
    out = pd.DataFrame(table[columns].to_numpy(dtype=float), index=ids[present], columns=names)
    return out.reindex(ids)


def pixel_counts(polygons: gpd.GeoDataFrame, grid: RasterGrid, id_field: str) -> pd.Series:
    """Polygon area in pixels (the denominator of clear fractions)."""
    ids = pd.Index(polygons[id_field].astype(str), name=id_field)
    area = polygons.geometry.area.fillna(0.0).to_numpy()
    return pd.Series(area / grid.pixel_area, index=ids)


def fraction(sums: pd.Series | pd.DataFrame, pixels: pd.Series) -> pd.Series | pd.DataFrame:
    frac = sums.div(pixels.where(pixels > 0), axis=0)
    return frac.clip(upper=1.0)


def daily_clear_shares(
    clear_cube: np.ndarray,
    days: np.ndarray,
    grid: RasterGrid,
    polygons: gpd.GeoDataFrame,
    id_field: str,
) -> pd.DataFrame:
    """Per park (rows) and solar day (columns) the coverage-weighted clear share (numpy in).

    Observations of the same day are combined (clear if any is clear).
    """
    unique_days = np.unique(days)
    rasters = {
        str(day): clear_cube[days == day].any(axis=0).astype(np.float64) for day in unique_days
    }
    sums = extract(rasters, grid, polygons, id_field, "sum")
    shares = fraction(sums, pixel_counts(polygons, grid, id_field))
    shares.columns = pd.DatetimeIndex(unique_days, name="date")
    return shares


def cube_numpy(cube: xr.DataArray, grid: RasterGrid) -> np.ndarray:
    values = np.asarray(cube.transpose("time", "y", "x").values)
    return values[:, ::-1] if grid.flip_y else values


def summarise_clear_dates(shares: pd.DataFrame, min_share: float = 0.5) -> pd.DataFrame:
    """``clear_dates`` (int) and ``last_clear_date`` (ISO str or None) from daily clear shares."""
    is_clear = shares.ge(min_share)
    last = [
        (row.index[row.to_numpy()].max().date().isoformat() if row.any() else None)
        for _, row in is_clear.iterrows()
    ]
    return pd.DataFrame(
        {
            Col.CLEAR_DATES.value: is_clear.sum(axis=1).astype(np.int64),
            Col.LAST_CLEAR_DATE.value: last,
        },
        index=shares.index,
    )
