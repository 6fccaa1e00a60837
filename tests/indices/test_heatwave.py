"""Heatwave criteria (DESIGN section 4): hand-checked series, edges, gaps, the real Vienna series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInputError
from indices.heatwave import kysely, vienna_health_warning

SYNOP = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "vienna"
    / "synop_daily_JJA_2015_2019.csv"
)


def series(values: list[float], start: str = "2022-07-01") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), dtype=float)


def days(runs: list[tuple[pd.Timestamp, pd.Timestamp]]) -> list[tuple[str, str]]:
    return [(a.date().isoformat(), b.date().isoformat()) for a, b in runs]


def test_kysely_exactly_30_counts_as_a_hot_day() -> None:
    assert days(kysely(series([30.0, 30.0, 30.0]))) == [("2022-07-01", "2022-07-03")]
    assert kysely(series([30.0, 29.99, 30.0, 30.0])) == []


def test_kysely_continues_while_mean_holds_and_no_day_below_25() -> None:
    # 33,33,33 then 27 (mean 31.5), 27 (30.6), 27 (30.0 exactly: still in), 27 (29.57: ends).
    t = series([33, 33, 33, 27, 27, 27, 27])
    assert days(kysely(t)) == [("2022-07-01", "2022-07-06")]
    # A day below 25 ends the wave even though the mean would stay above 30.
    t = series([40, 40, 40, 24.9, 40, 40])
    assert days(kysely(t)) == [("2022-07-01", "2022-07-03")]
    # Exactly 25.0 is not below 25: the wave goes on (mean (120+25)/4 = 36.25).
    assert days(kysely(series([40, 40, 40, 25.0]))) == [("2022-07-01", "2022-07-04")]


def test_kysely_never_reaches_back_before_its_start() -> None:
    # 29 before the hot days would keep the mean >= 30 but the wave starts on the first hot day.
    t = series([29, 35, 35, 35, 20])
    assert days(kysely(t)) == [("2022-07-02", "2022-07-04")]


def test_kysely_day_by_day_differs_from_the_longest_period_reading() -> None:
    # Whole 9 days: mean 32.4, no day < 25, 3 hot days at start -> one "longest period" wave.
    # Day by day the mean drops below 30 on day 6 (179/6 = 29.83), so the first wave ends on day 5,
    # and the 35s start a second wave.
    t = series([33, 33, 33, 26, 26, 26, 35, 35, 35])
    whole = t.to_numpy()
    assert whole.mean() >= 30 and whole.min() >= 25  # the longest-period reading joins them
    assert days(kysely(t)) == [("2022-07-01", "2022-07-05"), ("2022-07-07", "2022-07-09")]


def test_kysely_missing_day_ends_a_wave_and_runs_never_bridge_it() -> None:
    t = series([33, 33, 33, 33, 33, 33])
    gap = t.drop(pd.Timestamp("2022-07-04"))
    assert days(kysely(gap)) == [("2022-07-01", "2022-07-03")]  # 05-06 are only 2 days
    nan = t.copy()
    nan.iloc[1] = np.nan
    assert days(kysely(nan)) == [("2022-07-03", "2022-07-06")]
    assert kysely(series([])) == []


def test_kysely_unsorted_and_timestamped_input() -> None:
    t = series([31, 32, 33, 20]).iloc[::-1]
    t.index = t.index + pd.Timedelta(hours=12)
    assert days(kysely(t)) == [("2022-07-01", "2022-07-03")]


def test_duplicate_dates_and_non_series_are_refused_with_the_fix() -> None:
    t = pd.concat([series([31, 32, 33]), series([30], start="2022-07-02")])
    with pytest.raises(InvalidInputError, match=r"2022-07-02.*one daily value"):
        kysely(t)
    with pytest.raises(InvalidInputError, match="pandas Series"):
        kysely([31.0, 32.0, 33.0])  # type: ignore[arg-type]


def test_vienna_needs_felt_above_35_and_nights_at_least_20() -> None:
    felt = series([36, 36, 36, 36])
    night = series([20.0, 20.0, 20.0, 19.9])
    assert days(vienna_health_warning(felt, night)) == [("2022-07-01", "2022-07-03")]
    # Exactly 35.0 felt is not "über 35".
    assert vienna_health_warning(series([35.0, 36, 36]), series([22, 22, 22])) == []
    # A warm night alone or a hot day alone is not enough.
    assert vienna_health_warning(series([36, 36, 36]), series([19, 22, 22])) == []


def test_vienna_day_by_day_vs_period_mean() -> None:
    # The period's mean felt maximum is above 35 (36.3) but one day is not: the day-by-day
    # reading (the project's) gives no 3-day run.
    felt = series([38, 34, 37, 36])
    night = series([22, 22, 22, 22])
    assert felt.mean() > 35
    assert vienna_health_warning(felt, night) == []


def test_vienna_missing_date_in_either_series_ends_a_run() -> None:
    felt = series([36, 36, 36, 36, 36, 36])
    night = series([22, 22, 22, 22, 22, 22]).drop(pd.Timestamp("2022-07-03"))
    assert days(vienna_health_warning(felt, night)) == [("2022-07-04", "2022-07-06")]


@pytest.mark.skipif(not SYNOP.exists(), reason=f"{SYNOP} not present")
def test_known_vienna_heatwaves_in_the_synop_series() -> None:
    """Hohe Warte (11035): the heatwaves of early July and August 2015 and late June 2019."""
    data = pd.read_csv(SYNOP, parse_dates=["date"])
    station = data[data["station_id"] == 11035].set_index("date")
    runs = kysely(station["tmax_c"])

    def covered(day: str) -> bool:
        return any(a <= pd.Timestamp(day) <= b for a, b in runs)

    for day in ("2015-07-07", "2015-08-08", "2015-08-13", "2019-06-26", "2019-07-01"):
        assert covered(day), f"known heatwave day {day} not detected: {days(runs)}"
    # Every reported wave honours the criterion it claims.
    tmax = station["tmax_c"]
    for a, b in runs:
        wave = tmax[a:b]
        assert len(wave) >= 3 and (wave.iloc[:3] >= 30).all()
        assert wave.min() >= 25 and wave.mean() >= 30
