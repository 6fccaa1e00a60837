"""Heatwave criteria on daily station or forecast series (DESIGN section 4).

Two criteria, each on pandas Series indexed by date (gaps allowed) and returning the runs as a list of
``(first_day, last_day)`` timestamps (midnight, timezone-naive, inclusive):

- :func:`kysely`: the Kyselý (2000) heatwave read day by day as GeoSphere Austria (ZAMG) applies it.
  A wave starts on the first of at least 3 consecutive days with Tmax >= 30.0 degC and goes on, day by
  day, while the mean Tmax of the whole period stays >= 30.0 degC and no day falls below 25.0 degC; it
  never reaches back before its start. The papers' "longest continuous period" reading can join two
  hot spells across a cooler stretch; the day-by-day reading ends the wave on the first day that
  breaks a condition (a project convention; tests pin the difference).
- :func:`vienna_health_warning`: the City of Vienna's heat warning for health services: felt daily
  maximum > 35.0 degC and Tmin >= 20.0 degC (same date) on at least 3 consecutive days.

A missing day (absent from the index, or NaN) ends a run and runs never bridge it; gaps never raise.
Satellite LST says where it is hot, never whether there is a heatwave.

References
----------
.. [1] Kyselý, J., Kalvová, J., Květoň, V. (2000). Heat waves in the south Moravian region during the
   period 1961-1995. Studia Geophysica et Geodaetica 44, 57-72.
.. [2] Stadt Wien, Hitzewarnung (wien.gv.at): "gefühlte Tageshöchsttemperatur im Mittel über 35 Grad
   an mindestens drei aufeinanderfolgenden Tagen, Nächte nicht unter 20 Grad".
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from core.errors import InvalidInputError

KYSELY_HOT_DAY_C = 30.0
KYSELY_FLOOR_C = 25.0
KYSELY_MEAN_C = 30.0
KYSELY_MIN_DAYS = 3
VIENNA_FELT_TMAX_C = 35.0
VIENNA_TMIN_C = 20.0
VIENNA_MIN_DAYS = 3

Run = tuple[pd.Timestamp, pd.Timestamp]


def _daily(series: pd.Series, name: str) -> pd.Series:
    """The series as float64 by calendar day (sorted); NaN days dropped; duplicate days refused."""
    if not isinstance(series, pd.Series):
        raise InvalidInputError(
            f"{name} must be a pandas Series indexed by date, got {type(series).__name__}; "
            "build it with pd.Series(values, index=pd.to_datetime(dates))"
        )
    try:
        index = pd.DatetimeIndex(pd.to_datetime(series.index))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{name} has an index that is not made of dates ({exc}); index the series by date"
        ) from exc
    if index.tz is not None:
        index = index.tz_localize(None)
    days = index.normalize()
    values = pd.to_numeric(pd.Series(np.asarray(series), index=days), errors="coerce")
    if days.has_duplicates:
        dup = days[days.duplicated()][0].date()
        raise InvalidInputError(
            f"{name} has more than one value for {dup}; give one daily value per date "
            "(aggregate sub-daily data to the daily maximum or minimum first)"
        )
    return values.astype(np.float64).dropna().sort_index()


def _segments(days: pd.Series) -> list[pd.Series]:
    """Split a daily series into runs of consecutive calendar days (a missing day breaks a run)."""
    if days.empty:
        return []
    breaks = np.flatnonzero(np.diff(days.index.values).astype("timedelta64[D]").astype(int) != 1)
    edges = [0, *(breaks + 1).tolist(), len(days)]
    return [days.iloc[a:b] for a, b in itertools.pairwise(edges)]


def kysely(tmax: pd.Series) -> list[Run]:
    """Heatwaves by the Kyselý criterion read day by day (DESIGN section 4).

    Parameters
    ----------
    tmax : pandas.Series
        Daily maximum air temperature in degC, indexed by date. Missing days and NaN end a wave.

    Returns
    -------
    list of (pandas.Timestamp, pandas.Timestamp)
        First and last day of each wave, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Series([29.0, 31.0, 32.0, 31.0, 27.0, 24.0],
    ...               index=pd.date_range("2022-07-01", periods=6))
    >>> [(a.date().isoformat(), b.date().isoformat()) for a, b in kysely(t)]
    [('2022-07-02', '2022-07-05')]
    """
    runs: list[Run] = []
    for segment in _segments(_daily(tmax, "tmax")):
        values = segment.to_numpy()
        n = len(values)
        i = 0
        while i + KYSELY_MIN_DAYS <= n:
            if not np.all(values[i : i + KYSELY_MIN_DAYS] >= KYSELY_HOT_DAY_C):
                i += 1
                continue
            total = float(values[i : i + KYSELY_MIN_DAYS].sum())
            j = i + KYSELY_MIN_DAYS
            while (
                j < n
                and values[j] >= KYSELY_FLOOR_C
                and (total + values[j]) / (j - i + 1) >= KYSELY_MEAN_C
            ):
                total += float(values[j])
                j += 1
            runs.append((segment.index[i], segment.index[j - 1]))
            i = j
    return runs


def _runs_of(condition: pd.Series, min_days: int) -> list[Run]:
    """Runs of at least ``min_days`` consecutive calendar days where ``condition`` is True."""
    runs: list[Run] = []
    for segment in _segments(condition[condition]):
        if len(segment) >= min_days:
            runs.append((segment.index[0], segment.index[-1]))
    return runs


def vienna_health_warning(felt_tmax: pd.Series, tmin: pd.Series) -> list[Run]:
    """Runs of the Vienna health heat warning (DESIGN section 4).

    Parameters
    ----------
    felt_tmax : pandas.Series
        Daily maximum felt (perceived or apparent) temperature in degC, indexed by date.
    tmin : pandas.Series
        Daily minimum air temperature in degC, indexed by date (the same date's night is used).

    Returns
    -------
    list of (pandas.Timestamp, pandas.Timestamp)
        Runs of at least 3 consecutive days with felt Tmax > 35.0 degC and Tmin >= 20.0 degC; a date
        missing from either series ends a run.

    Examples
    --------
    >>> import pandas as pd
    >>> days = pd.date_range("2022-07-01", periods=4)
    >>> felt = pd.Series([36.0, 35.5, 35.1, 35.0], index=days)
    >>> night = pd.Series([20.0, 21.0, 22.0, 22.0], index=days)
    >>> [(a.date().isoformat(), b.date().isoformat()) for a, b in vienna_health_warning(felt, night)]
    [('2022-07-01', '2022-07-03')]
    """
    felt = _daily(felt_tmax, "felt_tmax")
    night = _daily(tmin, "tmin")
    both = pd.concat([felt.rename("felt"), night.rename("tmin")], axis=1, join="inner")
    condition = (both["felt"] > VIENNA_FELT_TMAX_C) & (both["tmin"] >= VIENNA_TMIN_C)
    return _runs_of(condition, VIENNA_MIN_DAYS)
