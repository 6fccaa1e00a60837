"""Window arithmetic in days (indices.calendar): 29 February, year ends, arbitrary periods."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInputError
from indices.calendar import (
    FIRST_SUPPORTED,
    LAST_SUPPORTED,
    check_supported,
    evaluation_ends,
    reference_periods,
    reference_span,
    reference_window_spans,
    same_day,
    window_span,
)
from indices.composite import reference_windows

# Periods late enough that reference years exist before them, early enough to stay in range.
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))
LENGTH = st.integers(min_value=1, max_value=366)


@given(day=st.dates(), year=st.integers(min_value=1, max_value=9999))
def test_same_day_never_raises_and_keeps_month_and_day(day: date, year: int) -> None:
    moved = same_day(day, year)
    assert moved.year == year and moved.month == day.month
    assert moved.day == day.day or (day.month, day.day, moved.day) == (2, 29, 28)


@given(end=DAYS, days=LENGTH)
def test_every_window_has_its_length(end: date, days: int) -> None:
    first, last = window_span(end, days)
    assert last == end and (last - first).days + 1 == days


@given(start=DAYS, span=st.integers(min_value=0, max_value=400), cadence=st.integers(1, 60))
def test_evaluation_ends_step_by_the_cadence_inside_the_period(
    start: date, span: int, cadence: int
) -> None:
    end = min(start + timedelta(days=span), LAST_SUPPORTED)
    ends = evaluation_ends(start, end, cadence)
    assert ends[-1] == end and ends[0] >= start
    assert ends[0] - timedelta(days=cadence) < start
    assert all((b - a).days == cadence for a, b in pairwise(ends))


@pytest.mark.parametrize("cadence", [0, -7, 0.5, 367])
def test_a_cadence_that_never_advances_is_refused(cadence: float) -> None:
    with pytest.raises(InvalidInputError, match=r"vegetation\.cadence: .*whole number of days"):
        evaluation_ends(date(2022, 6, 1), date(2022, 6, 30), cadence)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(
    first_end=DAYS,
    windows=st.integers(min_value=1, max_value=30),
    cadence=st.integers(min_value=1, max_value=14),
    days=st.integers(min_value=1, max_value=60),
    extra=st.integers(min_value=0, max_value=60),
    years=st.sets(st.integers(min_value=1976, max_value=1989), min_size=1, max_size=4),
)
def test_reference_windows_have_their_length_and_lie_in_the_loaded_periods(
    first_end: date, windows: int, cadence: int, days: int, extra: int, years: set[int]
) -> None:
    ends = [first_end + timedelta(days=cadence * k) for k in range(windows)]
    ref_days = days + extra
    periods = reference_periods(ends, days, ref_days, sorted(years))
    assert all(b[0] - a[1] > timedelta(days=1) for a, b in pairwise(periods))
    for end in ends:
        for year, (first, last) in reference_window_spans(end, days, ref_days, years).items():
            assert (last - first).days + 1 == ref_days
            assert any(a <= first and last <= b for a, b in periods)
            # the reference window sits on the same calendar days as the centred window
            length, ref_end = reference_span(end, days, ref_days)
            assert last == same_day(ref_end, year) and length == ref_days


def test_reference_window_crossing_29_february_is_whole() -> None:
    # The reported crash: --start 2024-02-16 --end 2024-02-22 with a 28-day reference window.
    periods = reference_periods([date(2024, 2, 22)], 14, 28, [2019, 2020, 2021])
    assert [(b - a).days + 1 for a, b in periods] == [28, 28, 28]
    assert periods[1] == (date(2020, 2, 2), date(2020, 2, 29))


@given(end=st.dates(min_value=date(2001, 1, 1), max_value=date(2030, 12, 31)), days=LENGTH)
@settings(max_examples=60, deadline=None)
def test_reference_windows_select_exactly_the_window_days_of_a_daily_cube(
    end: date, days: int
) -> None:
    year = end.year - 1
    times = pd.date_range(date(year - 1, 1, 1), date(year + 1, 12, 31), freq="D")
    cube = xr.DataArray(
        np.zeros((times.size, 1, 1)),
        dims=("time", "y", "x"),
        coords={"time": times, "y": [0.5], "x": [0.5]},
    )
    picked = reference_windows(cube, end, days, [year])
    assert picked.sizes["time"] == days
    assert pd.Timestamp(picked["time"].values[-1]).date() == same_day(end, year)


@pytest.mark.parametrize(
    "day", [date(1, 1, 1), date(1900, 6, 1), date(9999, 12, 31), FIRST_SUPPORTED - timedelta(1)]
)
def test_dates_outside_the_supported_range_are_refused_with_the_range(day: date) -> None:
    with pytest.raises(InvalidInputError, match=rf"--start: {day}: outside the supported dates"):
        check_supported(day, field="--start")
