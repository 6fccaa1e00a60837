"""Calendar arithmetic of the vegetation flow, in days: evaluation windows and reference windows.

Pure functions on :class:`datetime.date` (no I/O, no xarray). A window is ``days`` calendar days
ending on its (inclusive) last day. A date moves to another year by month and day, 29 February
becoming 28 February in a common year (:func:`same_day`); lengths are then counted in days from
that moved day, so every window keeps its configured length across 29 February and year ends.

Examples
--------
>>> from datetime import date
>>> evaluation_ends(date(2024, 2, 16), date(2024, 3, 1), 7)
[datetime.date(2024, 2, 16), datetime.date(2024, 2, 23), datetime.date(2024, 3, 1)]
>>> same_day(date(2024, 2, 29), 2023)
datetime.date(2023, 2, 28)
>>> window_span(date(2024, 3, 1), 14)
(datetime.date(2024, 2, 17), datetime.date(2024, 3, 1))
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from core.errors import InvalidInputError

# Dates geospace accepts: satellite archives start in 1972 (Landsat 1); far enough ahead for any
# schedule. Outside this range a window or a reference year would leave the calendar (year 1, 9999).
FIRST_SUPPORTED = date(1972, 1, 1)
LAST_SUPPORTED = date(2100, 12, 31)
MAX_WINDOW_DAYS = 366


def check_days(days: int, *, field: str = "days") -> int:
    """``days`` as an int in 1..366, else :class:`InvalidInputError` naming ``field``."""
    if isinstance(days, bool) or int(days) != days or not 1 <= int(days) <= MAX_WINDOW_DAYS:
        raise InvalidInputError(
            f"{field}: {days!r}: a window length must be a whole number of days from 1 to "
            f"{MAX_WINDOW_DAYS}; write e.g. '14 d'"
        )
    return int(days)


def check_supported(day: date, *, field: str = "date") -> date:
    """``day`` unchanged when inside the supported range, else :class:`InvalidInputError`."""
    if not FIRST_SUPPORTED <= day <= LAST_SUPPORTED:
        raise InvalidInputError(
            f"{field}: {day}: outside the supported dates {FIRST_SUPPORTED}..{LAST_SUPPORTED}; "
            "give a date in that range"
        )
    return day


def same_day(day: date, year: int) -> date:
    """``day`` moved to ``year`` (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def window_span(end: date, days: int) -> tuple[date, date]:
    """(first, last) day of the ``days``-day window ending on ``end`` (both inclusive)."""
    return end - timedelta(days=check_days(days) - 1), end


def evaluation_ends(start: date, end: date, cadence_days: int) -> list[date]:
    """Window end dates, ascending: ``end``, then every ``cadence_days`` back while >= ``start``.

    Raises
    ------
    InvalidInputError
        ``end`` before ``start``, or a cadence below one day (it would never advance).
    """
    cadence = check_days(cadence_days, field="vegetation.cadence")
    if end < start:
        raise InvalidInputError(
            f"--end: {end}: before --start {start}; give an end on or after the start"
        )
    count = (end - start).days // cadence + 1
    return [end - timedelta(days=cadence * k) for k in reversed(range(count))]


def reference_span(end: date, days: int, reference_days: int | None) -> tuple[int, date]:
    """(length, last day) of the reference window: ``reference_days`` centred on the window.

    The window is ``days`` long ending ``end``; the reference window (default the same length)
    is widened equally on both sides, the odd day going before the window.
    """
    days = check_days(days, field="vegetation.window")
    ref_days = (
        days
        if reference_days is None
        else check_days(reference_days, field="vegetation.reference_window")
    )
    return ref_days, end + timedelta(days=(ref_days - days) // 2)


def reference_periods(
    ends: Sequence[date], days: int, reference_days: int | None, years: Sequence[int]
) -> list[tuple[date, date]]:
    """The (first, last) day periods covering every reference window of the windows ``ends``:
    what to load once for a whole season, overlapping spans merged, in date order.

    A window's reference window in year ``y`` ends on :func:`same_day` of its
    :func:`reference_span` end moved to ``y`` (the year of the window's end is the one replaced),
    so a season crossing a year end maps to two pieces of each reference year.
    """
    spans = sorted(
        span
        for end in ends
        for span in reference_window_spans(end, days, reference_days, years).values()
    )
    merged: list[tuple[date, date]] = []
    for first, last in spans:
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def reference_window_spans(
    end: date, days: int, reference_days: int | None, years: Sequence[int]
) -> dict[int, tuple[date, date]]:
    """Per reference year, the (first, last) day of the reference window of the window ``end``."""
    ref_days, ref_end = reference_span(end, days, reference_days)
    return {int(y): window_span(same_day(ref_end, int(y)), ref_days) for y in years}


__all__ = [
    "FIRST_SUPPORTED",
    "LAST_SUPPORTED",
    "check_days",
    "check_supported",
    "evaluation_ends",
    "reference_periods",
    "reference_span",
    "reference_window_spans",
    "same_day",
    "window_span",
]
