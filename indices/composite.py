"""Clear-sky composites of a (time, y, x) cube, their reference baseline and the anomaly (lazy).

A cube is a reflectance or index DataArray with dims ``(time, y, x)``; ``clear`` is a boolean
DataArray on the same time/y/x coordinates, True where the observation is clear (DESIGN section 4:
the strict mask for the vegetation ranking). Nothing here computes: every function returns a Dask
graph when its inputs are Dask-backed; data is materialised in :mod:`indices.zonal`.

Dates are compared as calendar days of the ``time`` coordinate (UTC); the loader labels each
solar day once (DESIGN section 3), so a day is a date here.

Examples
--------
>>> import datetime as dt
>>> import numpy as np, pandas as pd, xarray as xr
>>> t = pd.to_datetime(["2024-06-01", "2024-06-05", "2024-06-20"])
>>> cube = xr.DataArray(np.array([0.2, 0.4, 0.9]).reshape(3, 1, 1), dims=("time", "y", "x"),
...                     coords={"time": t, "y": [0.5], "x": [0.5]})
>>> clear = cube > 0
>>> median = clear_median(window(cube, dt.date(2024, 6, 14)), window(clear, dt.date(2024, 6, 14)))
>>> round(median.item(), 6)
0.3
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeVar

import dask
import numpy as np
import xarray as xr

from core.errors import InvalidInputError
from indices.calendar import same_day
from indices.spec import check_same_grid

Timed = TypeVar("Timed", xr.DataArray, xr.Dataset)
"""A DataArray or Dataset with a ``time`` dimension (window selection keeps the kind)."""

__all__ = [
    "anomaly",
    "any_clear",
    "clear_count",
    "clear_median",
    "reference_median",
    "reference_windows",
    "window",
]


def _check_cube(cube: xr.DataArray, name: str) -> None:
    if not isinstance(cube, xr.DataArray) or "time" not in cube.dims:
        dims = getattr(cube, "dims", type(cube).__name__)
        raise InvalidInputError(
            f"{name}: expected a DataArray with a 'time' dimension (time, y, x), got {dims}; "
            "stack the observations along 'time' first"
        )


def _check_timed(cube: xr.DataArray | xr.Dataset, name: str) -> None:
    if not isinstance(cube, xr.DataArray | xr.Dataset) or "time" not in cube.dims:
        dims = getattr(cube, "dims", type(cube).__name__)
        raise InvalidInputError(
            f"{name}: expected a DataArray or Dataset with a 'time' dimension, got {dims}; "
            "stack the observations along 'time' first"
        )


def _check_clear(cube: xr.DataArray, clear: xr.DataArray) -> None:
    _check_cube(clear, "clear")
    if clear.dtype != bool:
        raise InvalidInputError(
            f"clear: expected a boolean mask (True = clear), got dtype {clear.dtype}; "
            "build it with a comparison or eo's mask functions (True = removed there: invert it)"
        )
    check_same_grid(cube, clear, names=("cube", "clear"))
    if clear.sizes["time"] != cube.sizes["time"] or not np.array_equal(
        clear["time"].values, cube["time"].values
    ):
        raise InvalidInputError(
            f"cube and clear have different time coordinates ({cube.sizes['time']} vs "
            f"{clear.sizes['time']} steps); select the same dates from both"
        )


def _nanmedian_last(values: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN; NaN where no value (no RuntimeWarning).

    Sorting puts NaN last, so the median of the ``n`` valid values sits at positions
    ``(n - 1) // 2`` and ``n // 2``; a vectorised take is much faster than ``np.nanmedian`` on
    short time axes.
    """
    dtype = np.result_type(values.dtype, np.float32)
    if values.shape[-1] == 0:
        return np.full(values.shape[:-1], np.nan, dtype=dtype)
    ordered = np.sort(values.astype(dtype, copy=False), axis=-1)
    n = np.count_nonzero(~np.isnan(values), axis=-1)[..., None]
    low = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0), axis=-1)
    high = np.take_along_axis(ordered, n // 2 - (n == 0), axis=-1)
    return ((low + high) / 2)[..., 0].astype(dtype, copy=False)


def clear_median(cube: xr.DataArray, clear: xr.DataArray) -> xr.DataArray:
    """Per-pixel median over time of the clear observations; NaN where none is clear.

    Parameters
    ----------
    cube : DataArray (time, y, x)
        Reflectance or index, any float units (kept in ``attrs["units"]``).
    clear : DataArray of bool (time, y, x)
        True where the observation is clear.

    Returns
    -------
    DataArray (y, x), lazy when the inputs are Dask-backed.
    """
    _check_cube(cube, "cube")
    _check_clear(cube, clear)
    values = cube.astype(np.result_type(cube.dtype, np.float32)).where(clear)
    if values.sizes["time"] == 0:
        out = xr.full_like(values.sum("time"), np.nan)
    else:
        out = _median_over_time(values)
    out.attrs = {
        "units": str(cube.attrs.get("units", "1")),
        "long_name": f"clear-sky median of {cube.name or 'the cube'}",
        "cell_methods": "time: median (clear observations only)",
    }
    return out


def _median_over_time(values: xr.DataArray) -> xr.DataArray:
    if dask.is_dask_collection(values):
        values = values.chunk({"time": -1})
    return xr.apply_ufunc(
        _nanmedian_last,
        values,
        input_core_dims=[["time"]],
        dask="parallelized",
        output_dtypes=[values.dtype],
        keep_attrs=False,
    )


def clear_count(clear: xr.DataArray) -> xr.DataArray:
    """Number of clear observations per pixel (int, lazy)."""
    _check_cube(clear, "clear")
    out = clear.sum("time", dtype=np.int64)
    out.attrs = {"units": "1", "long_name": "number of clear observations"}
    return out


def any_clear(clear: xr.DataArray) -> xr.DataArray:
    """True where a pixel has at least one clear observation (bool, lazy)."""
    _check_cube(clear, "clear")
    out = clear.any("time")
    out.attrs = {"units": "1", "long_name": "at least one clear observation"}
    return out


def _days(cube: xr.DataArray | xr.Dataset) -> np.ndarray:
    return np.asarray(cube["time"].values).astype("datetime64[D]")


def _window_mask(days_of: np.ndarray, end: dt.date, days: int) -> np.ndarray:
    last = np.datetime64(end, "D")
    return (days_of > last - np.timedelta64(days, "D")) & (days_of <= last)


def _check_days(days: int) -> None:
    if not 1 <= int(days) <= 366:
        raise InvalidInputError(f"days: window length must be 1..366 days, got {days}")


def window(cube: Timed, end: dt.date, days: int = 14) -> Timed:
    """The trailing window of ``days`` calendar days ending on ``end`` (inclusive).

    Parameters
    ----------
    cube : DataArray or Dataset with a ``time`` dimension
    end : datetime.date
        Last day of the window (UTC date), included.
    days : int
        Window length in days (14: a fortnight of Sentinel-2 revisits).
    """
    _check_timed(cube, "cube")
    _check_days(days)
    return cube.isel(time=np.flatnonzero(_window_mask(_days(cube), end, days)))


def _same_day(end: dt.date, year: int) -> dt.date:
    """``end`` moved to ``year`` (29 February becomes 28 February in common years)."""
    return same_day(end, year)


def reference_windows(cube: Timed, end: dt.date, days: int, years: Sequence[int]) -> Timed:
    """The same calendar window in each reference year, stacked along ``time``.

    The result carries a ``reference_year`` coordinate on ``time`` (a window ending early in
    January belongs to the year of its end).

    Parameters
    ----------
    cube : DataArray or Dataset with a ``time`` dimension
    end : datetime.date
        Last day of the current window; moved to each reference year.
    days : int
        Window length in days.
    years : sequence of int
        Reference years, each before ``end.year``. An empty sequence gives an empty cube.
    """
    _check_timed(cube, "cube")
    _check_days(days)
    years = [int(y) for y in years]
    late = [y for y in years if y >= end.year]
    if late or len(set(years)) != len(years):
        raise InvalidInputError(
            f"years: reference years must be distinct and before {end.year}, got {years}; "
            "the baseline is the same season of earlier years"
        )
    days_of = _days(cube)
    labels = np.full(days_of.shape, -1, dtype=np.int64)
    for year in years:
        labels[_window_mask(days_of, _same_day(end, year), days)] = year
    index = np.flatnonzero(labels >= 0)
    return cube.isel(time=index).assign_coords(reference_year=("time", labels[index]))


def reference_median(
    cube: xr.DataArray,
    clear: xr.DataArray,
    end: dt.date,
    days: int,
    years: Sequence[int],
    min_years: int = 3,
) -> xr.DataArray:
    """Median of all clear observations in the reference years' windows (the baseline).

    Parameters
    ----------
    cube, clear : DataArray (time, y, x)
        Values and clear mask (True = clear) covering the reference years.
    end, days, years
        As in :func:`reference_windows`.
    min_years : int
        Minimum number of reference years with at least one clear observation of the pixel;
        NaN below it (DESIGN section 4: at least 3).

    Returns
    -------
    DataArray (y, x), lazy when the inputs are Dask-backed.
    """
    _check_clear(cube, clear)
    ref_cube = reference_windows(cube, end, days, years)
    ref_clear = reference_windows(clear, end, days, years)
    median = clear_median(ref_cube, ref_clear)
    labels = ref_clear["reference_year"].values
    contributing = xr.zeros_like(median, dtype=np.int64)
    for year in years:
        idx = np.flatnonzero(labels == int(year))
        if idx.size:
            contributing = contributing + ref_clear.isel(time=idx).any("time").astype(np.int64)
    out = median.where(contributing >= int(min_years))
    out.attrs = {
        **median.attrs,
        "long_name": f"reference clear-sky median of {cube.name or 'the cube'}",
        "reference_years": ",".join(str(int(y)) for y in years),
        "window_days": int(days),
        "min_years": int(min_years),
    }
    return out


def anomaly(now: xr.DataArray, ref: xr.DataArray) -> xr.DataArray:
    """``now - ref`` on one grid (lazy); units from the inputs, which must agree.

    Parameters
    ----------
    now : DataArray (y, x)
        Composite of the current window.
    ref : DataArray (y, x)
        Reference composite, same units and grid.
    """
    check_same_grid(now, ref, names=("now", "ref"))
    units_now, units_ref = now.attrs.get("units", "1"), ref.attrs.get("units", "1")
    if units_now != units_ref:
        raise InvalidInputError(
            f"anomaly: now is in {units_now!r} but ref in {units_ref!r}; convert one first"
        )
    out = now - ref
    out.attrs = {
        "units": str(units_now),
        "long_name": "anomaly: window composite minus reference composite",
    }
    return out
