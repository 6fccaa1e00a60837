"""Clear-sky composites, windows, reference baseline, anomaly, and laziness until the zonal step."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.errors import InvalidInputError
from indices.composite import (
    anomaly,
    any_clear,
    clear_count,
    clear_median,
    reference_median,
    reference_windows,
    window,
)
from indices.vegetation import ndvi
from tests.indices.factories import cube

END = dt.date(2024, 6, 14)


def _one_pixel(values: list[float], times: list[str]) -> xr.DataArray:
    return cube(np.asarray(values, dtype=float).reshape(-1, 1, 1) * np.ones((1, 2, 2)), times)


@pytest.mark.parametrize("backend", ["numpy", "dask"])
def test_clear_median_uses_only_clear_observations(backend: str) -> None:
    values = np.array([[0.1, 0.9], [0.2, 0.5], [0.3, 0.7], [0.8, 0.6]]).reshape(4, 1, 2)
    values = np.repeat(values, 2, axis=1)  # (time, y=2, x=2)
    c = cube(values, ["2024-06-01", "2024-06-03", "2024-06-05", "2024-06-07"])
    clear = xr.zeros_like(c, dtype=bool)
    clear[:3, :, 0] = True  # x=0: 0.1, 0.2, 0.3 clear, 0.8 cloudy -> 0.2
    clear[1, 0, 1] = True  # (y0, x1): only 0.5 clear -> 0.5
    if backend == "dask":
        c, clear = c.chunk({"time": 1}), clear.chunk({"time": 2})
    med = clear_median(c, clear)
    assert med.dims == ("y", "x")
    np.testing.assert_allclose(med.values, [[0.2, 0.5], [0.2, np.nan]])
    assert med.attrs["units"] == "1"
    np.testing.assert_array_equal(clear_count(clear).values, [[3, 1], [3, 0]])
    np.testing.assert_array_equal(any_clear(clear).values, [[True, True], [True, False]])


def test_window_is_trailing_and_end_inclusive() -> None:
    times = ["2024-05-31T10:00", "2024-06-01T10:00", "2024-06-14T10:05", "2024-06-15T09:00"]
    c = _one_pixel([1, 2, 3, 4], times)
    picked = window(c, END, days=14)
    assert picked["time"].dt.day.values.tolist() == [1, 14]
    assert window(c, END, days=1)["time"].dt.day.values.tolist() == [14]
    with pytest.raises(InvalidInputError, match="days"):
        window(c, END, days=0)


def test_reference_windows_pick_the_same_calendar_window_each_year() -> None:
    times = [
        "2021-05-31",  # outside
        "2021-06-01",
        "2022-06-14",
        "2022-06-15",  # outside
        "2023-06-10",
        "2024-06-10",  # current year: not a reference
    ]
    c = _one_pixel([1, 2, 3, 4, 5, 6], times)
    ref = reference_windows(c, END, 14, [2021, 2022, 2023])
    assert ref["reference_year"].values.tolist() == [2021, 2022, 2023]
    assert ref.isel(y=0, x=0).values.tolist() == [2.0, 3.0, 5.0]
    with pytest.raises(InvalidInputError, match="before 2024"):
        reference_windows(c, END, 14, [2022, 2024])


def test_reference_window_of_29_february_uses_28_february() -> None:
    c = _one_pixel([1.0, 2.0], ["2023-02-28", "2023-03-01"])
    ref = reference_windows(c, dt.date(2024, 2, 29), 3, [2023])
    assert ref["time"].dt.day.values.tolist() == [28]


def test_reference_median_pools_observations_and_needs_min_years() -> None:
    times = ["2021-06-05", "2021-06-06", "2022-06-05", "2023-06-05", "2023-06-07"]
    c = _one_pixel([0.1, 0.2, 0.9, 0.4, 0.5], times)
    clear = xr.ones_like(c, dtype=bool)
    clear[2, 0, 1] = False  # pixel (0, 1) loses 2022: only 2 years contribute
    clear[:, 1, 1] = False  # pixel (1, 1) never clear
    ref = reference_median(c, clear, END, 14, [2021, 2022, 2023])
    # pooled median of 0.1, 0.2, 0.9, 0.4, 0.5 is 0.4 (not the median of yearly medians, 0.45)
    np.testing.assert_allclose(ref.values, [[0.4, np.nan], [0.4, np.nan]])
    relaxed = reference_median(c, clear, END, 14, [2021, 2022, 2023], min_years=2)
    np.testing.assert_allclose(relaxed.values, [[0.4, 0.3], [0.4, np.nan]])
    assert ref.attrs["reference_years"] == "2021,2022,2023"


def test_no_reference_years_gives_an_all_nan_baseline() -> None:
    c = _one_pixel([0.5], ["2024-06-10"]).chunk({"time": 1})
    ref = reference_median(c, c.notnull(), END, 14, [])
    assert ref.shape == (2, 2)
    assert bool(ref.isnull().all())


def test_anomaly_is_now_minus_ref_with_declared_attrs() -> None:
    now = _one_pixel([0.5], ["2024-06-10"]).isel(time=0, drop=True)
    ref = (now * 0 + 0.7).assign_attrs(units="1", long_name="leak me not")
    out = anomaly(now, ref)
    np.testing.assert_allclose(out.values, -0.2)
    assert out.attrs == {
        "units": "1",
        "long_name": "anomaly: window composite minus reference composite",
    }
    with pytest.raises(InvalidInputError, match="different grids"):
        anomaly(now, ref.assign_coords(x=ref.x + 10))


def test_clear_mask_must_be_boolean_and_on_the_same_dates() -> None:
    c = _one_pixel([0.5, 0.6], ["2024-06-10", "2024-06-11"])
    with pytest.raises(InvalidInputError, match="boolean"):
        clear_median(c, c)
    with pytest.raises(InvalidInputError, match="time"):
        clear_median(c, c.notnull().isel(time=[0]))


def test_indices_and_composites_build_graphs_without_computing(no_compute: None) -> None:
    rng = np.random.default_rng(3)
    times = [f"{y}-06-{d:02d}" for y in (2021, 2022, 2023, 2024) for d in (2, 7, 12)]
    red = cube(rng.uniform(0.02, 0.1, (12, 4, 5)), times, name="red").chunk({"time": 2, "x": 3})
    nir = cube(rng.uniform(0.2, 0.5, (12, 4, 5)), times, name="nir").chunk({"time": 2, "x": 3})
    clear = (red < 0.08).rename("clear")
    index = ndvi(red, nir)
    now = clear_median(window(index, END), window(clear, END))
    ref = reference_median(index, clear, END, 14, [2021, 2022, 2023])
    anom = anomaly(now, ref)
    for lazy in (index, now, ref, anom, clear_count(clear), any_clear(window(clear, END))):
        assert lazy.chunks is not None


@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 6)),
        elements=st.one_of(st.floats(-1, 1, allow_nan=False), st.just(np.nan)),
    )
)
def test_clear_median_equals_numpy_nanmedian(values: np.ndarray) -> None:
    times = [f"2024-06-{d + 1:02d}" for d in range(values.shape[2])]
    c = cube(np.moveaxis(values, -1, 0), times)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on all-NaN slices
        expected = np.nanmedian(values, axis=-1)
    np.testing.assert_allclose(clear_median(c, c.notnull()).values, expected, rtol=1e-12)
