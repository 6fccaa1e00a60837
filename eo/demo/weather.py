"""Demo weather and population by age for the heat product (synthetic, fixed 2022 season).

Files under the demo city folder::

    weather/station_daily.csv               JJA 2022 daily Tmax/Tmin of a synthetic inner-city
                                            station, with QC flags and two Kyselý heatwaves
    weather/forecasts/forecast_<day>.csv    daily forecasts issued on <day> 06:00 UTC (date,
                                            tmax_c, tmin_c, felt_tmax_c, issued)
    heat/population_by_age.csv              district_id, total, age_65_plus, age_75_plus, area_km2

Forecasts: 2022-06-20 (hot days but no heatwave: nights below 20 degC), 2022-07-18 (a Vienna health
heatwave 07-20..07-23, felt maximum about 36-37 degC), 2022-07-19 (the same heatwave, longer and
hotter: 07-20..07-24, felt up to 38.9 degC) and 2022-07-25 (the heatwave is over). The demo run
covers the first three; the fourth lets tests see the Cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eo.demo.layout import DEMO_SEED

STATION_ID = "DEMO-WIEN-CENTRE"
SEASON = (date(2022, 6, 1), date(2022, 8, 31))
STATION_WAVES = ((date(2022, 6, 29), date(2022, 7, 2)), (date(2022, 7, 19), date(2022, 7, 24)))
# Forecast issue day -> list of (day, tmax, tmin, felt_tmax)
FORECASTS: dict[date, list[tuple[date, float, float, float]]] = {}
AGE_75_SHARE_OF_65 = 0.47  # Vienna 2022: about 7.6 % aged 75+ of 16 % aged 65+ (rounded)


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _rows(
    start: date, values: list[tuple[float, float, float]]
) -> list[tuple[date, float, float, float]]:
    return [(start + timedelta(days=i), *v) for i, v in enumerate(values)]


FORECASTS[date(2022, 6, 20)] = _rows(
    date(2022, 6, 21),
    [(31.0, 18.5, 33.0), (33.5, 19.0, 36.2), (34.0, 19.5, 36.8), (32.0, 18.0, 34.0),
     (29.0, 17.0, 30.5)],
)  # fmt: skip
FORECASTS[date(2022, 7, 18)] = _rows(
    date(2022, 7, 19),
    [(31.5, 19.0, 33.5), (34.0, 21.0, 36.4), (35.0, 21.5, 37.1), (34.5, 22.0, 36.8),
     (33.5, 21.0, 35.6)],
)  # fmt: skip
FORECASTS[date(2022, 7, 19)] = _rows(
    date(2022, 7, 20),
    [(35.0, 21.5, 37.5), (36.5, 22.5, 38.9), (36.0, 23.0, 38.6), (35.5, 22.5, 38.2),
     (33.0, 20.5, 36.0)],
)  # fmt: skip
FORECASTS[date(2022, 7, 25)] = _rows(
    date(2022, 7, 26),
    [(28.0, 17.5, 28.9), (27.0, 16.0, 27.5), (29.0, 17.0, 30.1), (30.0, 18.0, 31.2),
     (28.5, 17.0, 29.4)],
)  # fmt: skip
DEMO_RUN_FORECASTS = (date(2022, 6, 20), date(2022, 7, 18), date(2022, 7, 19))
DEFAULT_FORECAST_WAVES = {
    date(2022, 7, 18): (date(2022, 7, 20), date(2022, 7, 23)),
    date(2022, 7, 19): (date(2022, 7, 20), date(2022, 7, 24)),
}
WAVE_ISSUES = (date(2022, 7, 18), date(2022, 7, 19))  # the forecasts that carry the heatwave


@dataclass(frozen=True)
class WeatherPlan:
    """The planted weather of one seed: station heatwaves and forecasts by issue day."""

    station_waves: tuple[tuple[date, date], ...]
    forecasts: dict[date, list[tuple[date, float, float, float]]]
    forecast_waves: dict[date, tuple[date, date]]


def weather_plan(seed: int) -> WeatherPlan:
    """The default seed keeps the hand-set season; every other seed draws its heatwave days.

    Drawn: the forecast heatwave starts 19-21 July and lasts 3-4 days in the forecast issued on
    18 July (felt maximum 35.6-37.5 degC, nights 20.5-23 degC: the orange level of the heat rule;
    the other days felt <= 34 degC or nights below 20 degC), and the forecast of 19 July sees it
    one day longer (within its five days) and hotter, felt 38.2-39.5 degC (the red level: an
    Update, as in the default story); the station's second heatwave spans the forecast one plus
    a day before, the first starts 22 June-5 July and lasts 3-5 days. The forecasts of 20 June
    (hot days, no health heatwave) and 25 July (over) stay as they are: they test the
    no-heatwave path.
    """
    if seed == DEMO_SEED:
        return WeatherPlan(STATION_WAVES, dict(FORECASTS), dict(DEFAULT_FORECAST_WAVES))
    rng = np.random.default_rng([seed, 62])
    start = date(2022, 7, 19) + timedelta(days=int(rng.integers(0, 3)))
    length = int(rng.integers(3, 5))
    forecasts = dict(FORECASTS)
    waves: dict[date, tuple[date, date]] = {}
    for k, issued in enumerate(WAVE_ISSUES):
        first_day = issued + timedelta(days=1)
        days = [first_day + timedelta(days=i) for i in range(5)]
        lo = max(start, first_day)
        hi = min(start + timedelta(days=length - 1 + k), days[-1])
        waves[issued] = (lo, hi)
        rows = []
        for day in days:
            if lo <= day <= hi:
                felt = float(rng.uniform(38.2, 39.5) if k else rng.uniform(35.6, 37.5))
                tmin = float(rng.uniform(20.5, 23.0))
            else:
                felt = float(rng.uniform(29.0, 34.0))
                tmin = float(rng.uniform(16.5, 19.5))
            tmax = felt - float(rng.uniform(1.5, 2.5))
            rows.append((day, round(tmax, 1), round(tmin, 1), round(felt, 1)))
        forecasts[issued] = rows
    first = date(2022, 6, 22) + timedelta(days=int(rng.integers(0, 14)))
    station = (
        (first, first + timedelta(days=int(rng.integers(2, 5)))),
        (start - timedelta(days=1), waves[WAVE_ISSUES[-1]][1]),
    )
    return WeatherPlan(station, forecasts, waves)


def station_series(seed: int) -> pd.DataFrame:
    """JJA 2022 daily Tmax/Tmin with the planted heatwaves and ordinary summer days."""
    station_waves = weather_plan(seed).station_waves
    rng = np.random.default_rng([seed, 61])
    days = pd.date_range(SEASON[0], SEASON[1], freq="D")
    doy = days.dayofyear.to_numpy()
    tmax = 26.5 + 2.0 * np.sin((doy - 160) / 92 * np.pi) + rng.normal(0, 2.0, len(days))
    tmax = np.minimum(tmax, 29.4)  # outside the planted waves no day reaches 30 degC
    tmin = tmax - 9.0 + rng.normal(0, 1.0, len(days))
    for first, last in station_waves:
        span = (days >= pd.Timestamp(first)) & (days <= pd.Timestamp(last))
        n = int(span.sum())
        tmax[span] = 31.0 + 3.0 * np.sin(np.linspace(0.3, np.pi - 0.3, n))
        tmin[span] = 19.5 + 1.5 * np.sin(np.linspace(0.3, np.pi - 0.3, n))
        for edge in (
            pd.Timestamp(first) - pd.Timedelta(days=1),
            pd.Timestamp(last) + pd.Timedelta(days=1),
        ):
            tmax[days == edge] = 24.5  # a cool day (< 25 degC) ends the wave exactly here
    frame = pd.DataFrame(
        {
            "station_id": STATION_ID,
            "date": days.strftime("%Y-%m-%d"),
            "tmax_c": tmax.round(1),
            "tmin_c": tmin.round(1),
            "qc_tmax": "ok",
            "qc_tmin": "ok",
        }
    )
    bad = frame.index[frame["date"] == "2022-08-10"]
    frame.loc[bad, ["tmax_c", "qc_tmax"]] = [99.9, "suspect"]  # a corrupt value QC must drop
    return frame


def forecast_frame(issued: date, seed: int = DEMO_SEED) -> pd.DataFrame:
    rows = weather_plan(seed).forecasts[issued]
    return pd.DataFrame(
        {
            "date": [d.isoformat() for d, *_ in rows],
            "tmax_c": [r[1] for r in rows],
            "tmin_c": [r[2] for r in rows],
            "felt_tmax_c": [r[3] for r in rows],
            "issued": f"{issued.isoformat()}T06:00:00+00:00",
        }
    )


def population_by_age(population: pd.DataFrame) -> pd.DataFrame:
    """Persons 65+ and 75+ by district from the demo population table (75+ share rounded)."""
    return pd.DataFrame(
        {
            "district_id": population["district_id"],
            "total": population["total"],
            "age_65_plus": population["age_65_plus"],
            "age_75_plus": (population["age_65_plus"] * AGE_75_SHARE_OF_65).round(-1).astype(int),
            **({"area_km2": population["area_km2"]} if "area_km2" in population.columns else {}),
        }
    )


def write_demo_weather(root: Path, population: pd.DataFrame | None, seed: int) -> dict[str, Any]:
    """Write the weather and population-by-age files under ``root``; return the truth entry."""
    weather = root / "weather"
    (weather / "forecasts").mkdir(parents=True, exist_ok=True)
    plan = weather_plan(seed)
    station_series(seed).to_csv(weather / "station_daily.csv", index=False)
    for issued in plan.forecasts:
        forecast_frame(issued, seed).to_csv(
            weather / "forecasts" / f"forecast_{issued.isoformat()}.csv", index=False
        )
    if population is not None:
        (root / "heat").mkdir(parents=True, exist_ok=True)
        population_by_age(population).to_csv(root / "heat" / "population_by_age.csv", index=False)
    return {
        "station_heatwaves": [[a.isoformat(), b.isoformat()] for a, b in plan.station_waves],
        "station_corrupt_day": "2022-08-10",
        "forecasts_with_heatwave": {
            k.isoformat(): [a.isoformat(), b.isoformat()]
            for k, (a, b) in plan.forecast_waves.items()
        },
        "heatwave_days": _days(*plan.forecast_waves[WAVE_ISSUES[-1]]),
        "forecasts_without_heatwave": ["2022-06-20", "2022-07-25"],
        "demo_run_forecasts": [d.isoformat() for d in DEMO_RUN_FORECASTS],
        "felt_source": "perceived",
    }
