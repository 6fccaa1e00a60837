"""Coverage-weighted zonal statistics of parks (exactextract): where data is materialised.

Every pixel counts with the fraction of it inside the polygon (DESIGN section 4: small parks and
narrow corridors are the norm in a city). Rasters are 2-D DataArrays ``(y, x)`` with pixel-centre
coordinates on a regular grid; polygons are a GeoDataFrame in the raster's CRS (checked where the
raster carries a ``spatial_ref`` coordinate with ``crs_wkt``). Lazy inputs are computed here, all
inputs of one call together with a single :func:`dask.compute`.

Definitions (exactextract, Baston 2022):

- coverage-weighted median: exactextract's weighted quantile (linear interpolation on the
  cumulative weights, type-7 like numpy's ``linear`` when weights are equal), NaN pixels ignored;
- coverage-weighted mean / share: sum(value * coverage) / sum(coverage) over valid pixels;
- clear fraction: sum(clear * coverage) / (polygon area / pixel area), so the part of a park
  outside the raster counts as not clear.

References
----------
Baston, D. (2022): exactextract, fast and accurate raster zonal statistics.
https://github.com/isciences/exactextract
"""

from __future__ import annotations

from collections.abc import Mapping

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from core.errors import InvalidInputError
from core.status import CoverageRule
from indices.extract import (
    RasterGrid,
    as_numpy_2d,
    check_polygons,
    cube_numpy,
    daily_clear_shares,
    extract,
    fraction,
    pixel_counts,
    raster_grid,
    summarise_clear_dates,
)
from indices.park_table import INDEX_NAMES, PARK_COLUMNS, Col, park_status
from indices.spec import check_same_grid

__all__ = [
    "PARK_COLUMNS",
    "clear_dates",
    "clear_fraction",
    "park_statistics",
    "park_status",
    "park_time_series",
    "zonal_medians",
    "zonal_share",
    "zonal_weighted_mean",
]


def _materialise(*das: xr.DataArray) -> tuple[xr.DataArray, ...]:
    return tuple(dask.compute(*das))


def _single(
    da: xr.DataArray, polygons: gpd.GeoDataFrame, id_field: str, op: str, name: str
) -> pd.Series:
    check_polygons(polygons, id_field, da)
    grid = raster_grid(da)
    (da,) = _materialise(da)
    series = extract({name: as_numpy_2d(da, grid)}, grid, polygons, id_field, op)[name]
    return series.rename(name)


def zonal_medians(da: xr.DataArray, polygons: gpd.GeoDataFrame, id_field: str) -> pd.Series:
    """Coverage-weighted median of ``da`` per polygon; NaN where no valid pixel.

    Parameters
    ----------
    da : DataArray (y, x)
        Any float raster (its units carry over); NaN pixels are ignored.
    polygons : GeoDataFrame
        Zones in ``da``'s CRS.
    id_field : str
        Column of unique zone ids (the result's index, as strings).
    """
    return _single(da, polygons, id_field, "median", str(da.name or "median"))


def zonal_weighted_mean(da: xr.DataArray, polygons: gpd.GeoDataFrame, id_field: str) -> pd.Series:
    """Coverage-weighted mean of ``da`` per polygon (NaN pixels ignored; NaN where none valid)."""
    return _single(da, polygons, id_field, "mean", str(da.name or "mean"))


def share_values(mask_da: xr.DataArray, valid_da: xr.DataArray | None = None) -> xr.DataArray:
    """1.0 where ``mask_da`` is True, 0.0 where False, NaN where not valid (lazy)."""
    valid = mask_da.notnull() if valid_da is None else (valid_da.astype(bool) & mask_da.notnull())
    return xr.where(valid, mask_da.astype(bool).astype(np.float64), np.nan)


def zonal_share(
    mask_da: xr.DataArray,
    polygons: gpd.GeoDataFrame,
    id_field: str,
    valid_da: xr.DataArray | None = None,
) -> pd.Series:
    """Coverage-weighted share (0..1) of True pixels among the valid pixels of each polygon.

    Parameters
    ----------
    mask_da : DataArray of bool (y, x)
        The condition (e.g. NDVI anomaly <= threshold); NaN in a float mask counts as not valid.
    valid_da : DataArray of bool (y, x), optional
        Pixels that count (e.g. clear with a baseline); all non-NaN pixels when omitted.
    """
    check_same_grid(mask_da, valid_da, names=("mask_da", "valid_da"))
    return _single(share_values(mask_da, valid_da), polygons, id_field, "mean", "share")


def clear_fraction(
    any_clear_2d: xr.DataArray, polygons: gpd.GeoDataFrame, id_field: str
) -> pd.Series:
    """Coverage-weighted share of each park's pixels with >= 1 strict-clear observation (0..1).

    The denominator is the park's area in pixels, so any part outside the raster is not clear.

    Parameters
    ----------
    any_clear_2d : DataArray of bool (y, x)
        True where the pixel had a strict-clear observation in the window
        (:func:`indices.composite.any_clear`).
    """
    check_polygons(polygons, id_field, any_clear_2d)
    grid = raster_grid(any_clear_2d)
    (computed,) = _materialise(any_clear_2d)
    values = np.nan_to_num(as_numpy_2d(computed, grid), nan=0.0)
    sums = extract({"clear": values}, grid, polygons, id_field, "sum")["clear"]
    return fraction(sums, pixel_counts(polygons, grid, id_field)).rename(Col.CLEAR_FRACTION.value)


def clear_dates(
    clear_cube: xr.DataArray,
    polygons: gpd.GeoDataFrame,
    id_field: str,
    min_share: float = 0.5,
) -> pd.DataFrame:
    """Per park: number of clear dates and the last one.

    A clear date is a solar day (a calendar date of ``time``) on which at least ``min_share`` of
    the park (coverage-weighted, by area) is clear.

    Parameters
    ----------
    clear_cube : DataArray of bool (time, y, x)
        True = clear (the strict mask), over the window.
    min_share : float
        Minimum clear share of the park, 0..1 (DESIGN section 4: 50 %).

    Returns
    -------
    DataFrame indexed by park id with ``clear_dates`` (int) and ``last_clear_date`` (ISO date
    string or None).
    """
    template = clear_cube.isel(time=0, drop=True) if clear_cube.sizes["time"] else None
    if template is None:
        return summarise_clear_dates(
            pd.DataFrame(index=pd.Index(polygons[id_field].astype(str), name=id_field)), min_share
        )
    check_polygons(polygons, id_field, template)
    grid = raster_grid(template)
    (computed,) = _materialise(clear_cube)
    days = np.asarray(computed["time"].values).astype("datetime64[D]")
    values = cube_numpy(computed.fillna(False).astype(bool), grid)
    return summarise_clear_dates(
        daily_clear_shares(values, days, grid, polygons, id_field), min_share
    )


def park_time_series(
    index_cube: xr.DataArray,
    clear: xr.DataArray,
    polygons: gpd.GeoDataFrame,
    id_field: str,
    min_share: float = 0.5,
) -> pd.DataFrame:
    """Per park and date, the coverage-weighted median of the clear pixels of an index.

    Parameters
    ----------
    index_cube : DataArray (time, y, x)
        Index values (e.g. NDVI), dimensionless.
    clear : DataArray of bool (time, y, x)
        True = clear.
    min_share : float
        The value is NaN on dates when less than this share of the park is clear.

    Returns
    -------
    Long DataFrame with columns ``park_id`` (str), ``date`` (Timestamp), ``value`` (float) and
    ``clear_share`` (0..1), one row per park and time step.
    """
    check_same_grid(index_cube, clear, names=("index_cube", "clear"))
    if index_cube.sizes["time"] == 0:
        return pd.DataFrame(columns=["park_id", "date", "value", "clear_share"])
    template = index_cube.isel(time=0, drop=True)
    check_polygons(polygons, id_field, template)
    grid = raster_grid(template)
    cube, mask = _materialise(index_cube, clear)
    times = pd.DatetimeIndex(cube["time"].values)
    mask_np = cube_numpy(mask.fillna(False).astype(bool), grid)
    values = np.where(mask_np, cube_numpy(cube, grid).astype(np.float64), np.nan)
    medians = extract(
        {str(i): values[i] for i in range(len(times))}, grid, polygons, id_field, "median"
    )
    sums = extract(
        {str(i): mask_np[i].astype(np.float64) for i in range(len(times))},
        grid,
        polygons,
        id_field,
        "sum",
    )
    shares = fraction(sums, pixel_counts(polygons, grid, id_field))
    medians = medians.where(shares.ge(min_share))
    medians.columns = shares.columns = times
    long = medians.stack(future_stack=True).rename("value").to_frame()
    long["clear_share"] = shares.stack(future_stack=True)
    long.index.names = ["park_id", "date"]
    return long.reset_index()


def _stacked_inputs(
    now: Mapping[str, xr.DataArray],
    ref: Mapping[str, xr.DataArray],
    clear_window: xr.DataArray,
    stress_threshold: float,
) -> dict[str, xr.DataArray]:
    for part, layers in (("now", now), ("ref", ref)):
        if "ndvi" not in layers:
            raise InvalidInputError(
                f"{part}: the 'ndvi' composite is required (got {list(layers)})"
            )
    rasters = {f"{k}_{p}": layers[k] for p, layers in (("now", now), ("ref", ref)) for k in layers}
    unknown = [k for k in now if k not in INDEX_NAMES] + [k for k in ref if k not in INDEX_NAMES]
    if unknown:
        raise InvalidInputError(f"composites: unknown layers {unknown}; expected {INDEX_NAMES}")
    check_same_grid(*rasters.values(), clear_window, names=(*rasters, "clear_window"))
    ndvi_anomaly = now["ndvi"] - ref["ndvi"]
    rasters["stressed"] = share_values(ndvi_anomaly <= stress_threshold, ndvi_anomaly.notnull())
    rasters["any_clear"] = clear_window.any("time")
    rasters["ref_valid"] = ref["ndvi"].notnull()
    rasters["clear_window"] = clear_window
    return rasters


def park_statistics(
    now: Mapping[str, xr.DataArray],
    ref: Mapping[str, xr.DataArray],
    clear_window: xr.DataArray,
    polygons: gpd.GeoDataFrame,
    id_field: str = "park_id",
    *,
    name_field: str = "name",
    coverage: CoverageRule,
    stress_threshold: float = -0.10,
    min_share: float = 0.5,
    heat_exposure: pd.Series | None = None,
) -> gpd.GeoDataFrame:
    """The per-park statistics table, computed in one Dask pass.

    Parameters
    ----------
    now, ref : mapping of str to DataArray (y, x)
        Window and reference composites keyed ``"ndvi"`` (required), ``"ndmi"``, ``"evi"``
        (missing ones give NaN columns); dimensionless; one grid.
    clear_window : DataArray of bool (time, y, x)
        Strict clear mask of the window (True = clear), same grid.
    polygons : GeoDataFrame
        Parks in the raster's (projected, metre) CRS with ``id_field`` and ``name_field``.
    stress_threshold : float
        A pixel is stressed when its NDVI anomaly (dimensionless) is <= this value.
    coverage : CoverageRule
        The coverage rule (the profile's ``vegetation.coverage_rule()``): decides the status
        (:func:`indices.park_table.park_status`) and which baselines are too thin to report.
    min_share : float
        Clear share (0..1) of a park that makes a day a clear date.
    heat_exposure : Series, optional
        Heat exposure per park id (float); NaN where absent.

    Returns
    -------
    GeoDataFrame, one row per park in input order, the columns of ``PARK_COLUMNS`` + geometry.
    """
    if "ndvi" not in now:
        raise InvalidInputError("now: the 'ndvi' composite is required")
    check_polygons(polygons, id_field, now["ndvi"])
    if not polygons.crs.is_projected:
        raise InvalidInputError("polygons: need a projected CRS in metres for area_m2 and coverage")
    grid = raster_grid(now["ndvi"])
    lazy = _stacked_inputs(now, ref, clear_window, stress_threshold)
    computed = dict(zip(lazy, dask.compute(*lazy.values()), strict=True))
    table = _index_columns(computed, grid, polygons, id_field)
    table = table.join(_coverage_columns(computed, grid, polygons, id_field, min_share))
    names = polygons[name_field] if name_field in polygons.columns else polygons[id_field]
    table[Col.PARK_ID] = table.index.astype(str)
    table[Col.NAME] = names.astype(str).to_numpy()
    heat = heat_exposure if heat_exposure is not None else pd.Series(dtype=float)
    table[Col.HEAT_EXPOSURE] = heat.rename(index=str).reindex(table.index).astype(float)
    table[Col.AREA_M2] = polygons.geometry.area.to_numpy()
    table[Col.STATUS] = park_status(table, coverage)
    thin = ~(table[Col.REFERENCE_FRACTION].astype(float) >= coverage.minimum)
    derived = [c for c in table.columns if c.endswith(("_ref", "_anomaly"))] + [Col.STRESSED_SHARE]
    table.loc[thin, derived] = np.nan  # never report an anomaly against a partial baseline
    return gpd.GeoDataFrame(
        table[PARK_COLUMNS].reset_index(drop=True),
        geometry=polygons.geometry.to_numpy(),
        crs=polygons.crs,
    )


def _index_columns(
    computed: Mapping[str, xr.DataArray],
    grid: RasterGrid,
    polygons: gpd.GeoDataFrame,
    id_field: str,
) -> pd.DataFrame:
    """Medians now/ref, anomalies and the stressed share per park."""
    rasters = {k: as_numpy_2d(v, grid) for k, v in computed.items() if k.endswith(("_now", "_ref"))}
    medians = extract(rasters, grid, polygons, id_field, "median")
    table = pd.DataFrame(index=medians.index)
    for index in INDEX_NAMES:
        for part in ("now", "ref"):
            key = f"{index}_{part}"
            table[key] = medians[key] if key in medians.columns else np.nan
        table[f"{index}_anomaly"] = table[f"{index}_now"] - table[f"{index}_ref"]
    stressed = as_numpy_2d(computed["stressed"], grid)
    table[Col.STRESSED_SHARE] = extract({"s": stressed}, grid, polygons, id_field, "mean")["s"]
    return table


def _coverage_columns(
    computed: Mapping[str, xr.DataArray],
    grid: RasterGrid,
    polygons: gpd.GeoDataFrame,
    id_field: str,
    min_share: float,
) -> pd.DataFrame:
    """Clear fraction, clear dates and last clear date per park."""
    clear_2d = np.nan_to_num(as_numpy_2d(computed["any_clear"], grid), nan=0.0)
    sums = extract({"c": clear_2d}, grid, polygons, id_field, "sum")["c"]
    window = computed["clear_window"]
    days = np.asarray(window["time"].values).astype("datetime64[D]")
    shares = daily_clear_shares(
        cube_numpy(window.astype(bool), grid), days, grid, polygons, id_field
    )
    table = summarise_clear_dates(shares, min_share)
    pixels = pixel_counts(polygons, grid, id_field)
    table[Col.CLEAR_FRACTION] = fraction(sums, pixels)
    ref_2d = np.nan_to_num(as_numpy_2d(computed["ref_valid"], grid), nan=0.0)
    table[Col.REFERENCE_FRACTION] = fraction(
        extract({"r": ref_2d}, grid, polygons, id_field, "sum")["r"], pixels
    )
    return table
