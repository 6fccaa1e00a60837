"""Heat detector: a forecast (and GeoSphere warnings) -> the heat outlook and the bulletin finding.

The finding is city-wide (one bulletin, its areas the hottest, most vulnerable districts): kind
``felt_tmax_forecast``, value = the forecast's **sustained felt maximum on warm nights** in degC:
the highest minimum, over any 3 consecutive forecast days, of the felt daily maximum, where a day
that fails the Vienna health criterion (felt Tmax > 35.0 degC, Tmin >= 20.0 degC) counts at most
34.99 degC, and a day under a GeoSphere heat warning of level 3 (orange) or 4 (red) counts at least
35.01 / 38.0 degC. The value exceeds 35 degC exactly when the Vienna criterion (or a warning) holds
on 3 consecutive days, so the rule's levels (alerts/policies/heat.yaml) read it directly.

Missing inputs are never a heatwave and never "no heatwave": without felt temperature (no perceived
temperature and no humidity/wind for the apparent temperature) the Vienna criterion is DATA_GAP; a
forecast with missing days has coverage below 1 and is DEGRADED, or DATA_GAP when no criterion day
can be judged. The Kyselý criterion on air temperature still runs and is reported.
Felt temperature from Steadman's apparent temperature makes the finding DEGRADED (certainty one step
lower) and the bulletin says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from alerts.model import Finding
from core.status import SubjectStatus
from eo.meteo import DailyWeather, HeatWarnings, felt_note
from indices.heatwave import (
    VIENNA_FELT_TMAX_C,
    VIENNA_MIN_DAYS,
    VIENNA_TMIN_C,
    kysely,
    vienna_health_warning,
)

FINDING_KIND = "felt_tmax_forecast"
NOT_MET_CAP_C = VIENNA_FELT_TMAX_C - 0.01
WARNING_FLOOR_C = {3: VIENNA_FELT_TMAX_C + 0.01, 4: 38.0}


@dataclass(frozen=True)
class HeatOutlook:
    """What a forecast says about heat for health services."""

    issued: datetime
    first_day: date
    last_day: date
    vienna_runs: tuple[tuple[date, date], ...] | None  # None: DATA_GAP (no felt temperature)
    kysely_runs: tuple[tuple[date, date], ...]
    warning_levels: dict[date, int] = field(default_factory=dict)
    felt_source: str = "none"
    sustained_felt_c: float = float("nan")
    peak_felt_c: float = float("nan")
    coverage: float = 0.0
    status: SubjectStatus = SubjectStatus.OK
    reasons: tuple[str, ...] = ()
    wave: tuple[date, date] | None = None
    daily: tuple[dict[str, object], ...] = ()

    @property
    def heatwave(self) -> bool:
        """True when the forecast meets the bulletin criterion (Vienna or a warning)."""
        return self.wave is not None

    @property
    def note(self) -> str:
        return felt_note(self.felt_source)  # type: ignore[arg-type]


def _runs(runs: list[tuple[pd.Timestamp, pd.Timestamp]]) -> tuple[tuple[date, date], ...]:
    return tuple((a.date(), b.date()) for a, b in runs)


def _warning_days(warnings: HeatWarnings | None, tz: str) -> dict[date, int]:
    days: dict[date, int] = {}
    if warnings is None:
        return days
    for w in warnings.warnings:
        first = w.onset.tz_convert(tz).date()
        last = (w.expires - pd.Timedelta(seconds=1)).tz_convert(tz).date()
        for d in pd.date_range(first, last, freq="D"):
            days[d.date()] = max(days.get(d.date(), 0), w.level)
    return days


def sustained_felt(
    table: pd.DataFrame, warning_levels: dict[date, int]
) -> tuple[float, tuple[date, date] | None]:
    """(sustained felt maximum on warm nights, the 3+ day run that reaches the criterion or None)."""
    days = pd.date_range(table.index.min(), table.index.max(), freq="D") if len(table) else []
    r = []
    for day in days:
        felt = table["felt_tmax_c"].get(day, np.nan)
        night = table["tmin_c"].get(day, np.nan)
        if not (np.isfinite(felt) and np.isfinite(night)):
            value = np.nan
        elif felt > VIENNA_FELT_TMAX_C and night >= VIENNA_TMIN_C:
            value = float(felt)
        else:
            value = min(float(felt), NOT_MET_CAP_C)
        floor = WARNING_FLOOR_C.get(warning_levels.get(day.date(), 0))
        if floor is not None:
            value = max(value, floor) if np.isfinite(value) else floor
        r.append(value)
    values = np.asarray(r, dtype=np.float64)
    best, wave = float("nan"), None
    for i in range(len(values) - VIENNA_MIN_DAYS + 1):
        window = values[i : i + VIENNA_MIN_DAYS]
        if np.isnan(window).any():
            continue
        best = float(window.min()) if math.isnan(best) else max(best, float(window.min()))
    met = np.where(np.isnan(values), False, values > VIENNA_FELT_TMAX_C)
    i = 0
    while i < len(met):  # the first run of >= 3 met days is the heatwave of this forecast
        if met[i]:
            j = i
            while j + 1 < len(met) and met[j + 1]:
                j += 1
            if j - i + 1 >= VIENNA_MIN_DAYS:
                wave = (days[i].date(), days[j].date())
                break
            i = j + 1
        else:
            i += 1
    return best, wave


def heat_outlook(
    forecast: DailyWeather,
    *,
    issued: datetime,
    warnings: HeatWarnings | None = None,
    timezone: str = "Europe/Vienna",
) -> HeatOutlook:
    """Evaluate a daily forecast: Vienna criterion (or DATA_GAP), Kyselý, warnings, the value."""
    table = forecast.table
    if table.empty:
        return HeatOutlook(issued, issued.date(), issued.date(), None, (), {},
                           forecast.felt_source, status=SubjectStatus.DATA_GAP,
                           reasons=("empty_forecast",))  # fmt: skip
    first, last = table.index.min().date(), table.index.max().date()
    n_days = (last - first).days + 1
    kysely_runs = _runs(kysely(forecast.series("tmax_c")))
    levels = _warning_days(warnings, timezone)
    reasons: list[str] = []
    if forecast.felt_source == "none" or forecast.series("felt_tmax_c").empty:
        vienna = None
        reasons.append("no_felt_temperature")
    else:
        vienna = _runs(
            vienna_health_warning(forecast.series("felt_tmax_c"), forecast.series("tmin_c"))
        )
    complete = table["tmin_c"].notna() & table["felt_tmax_c"].notna()
    coverage = float(complete.sum()) / n_days
    value, wave = sustained_felt(table, levels)
    if vienna is None and not levels:
        status = SubjectStatus.DATA_GAP
        value, wave = float("nan"), None
    elif math.isnan(value):
        status = SubjectStatus.DATA_GAP
        reasons.append("forecast_gaps")
    elif coverage < 1.0 or forecast.felt_source == "apparent":
        status = SubjectStatus.DEGRADED
        if coverage < 1.0:
            reasons.append("forecast_gaps")
        if forecast.felt_source == "apparent":
            reasons.append("apparent_temperature")
    else:
        status = SubjectStatus.OK
    daily = tuple(
        {
            "date": day.date().isoformat(),
            "tmax_c": _num(row["tmax_c"]),
            "tmin_c": _num(row["tmin_c"]),
            "felt_tmax_c": _num(row["felt_tmax_c"]),
            "warning_level": levels.get(day.date(), 0),
        }
        for day, row in table.iterrows()
    )
    peak = float(table["felt_tmax_c"].max()) if table["felt_tmax_c"].notna().any() else float("nan")
    return HeatOutlook(
        issued=issued, first_day=first, last_day=last, vienna_runs=vienna,
        kysely_runs=kysely_runs, warning_levels=levels, felt_source=forecast.felt_source,
        sustained_felt_c=value, peak_felt_c=peak, coverage=coverage, status=status,
        reasons=tuple(reasons), wave=wave, daily=daily,
    )  # fmt: skip


def _num(value: object) -> float | None:
    v = float(value)  # type: ignore[arg-type]
    return None if math.isnan(v) else round(v, 2)


def local_midnight_utc(day: date, timezone: str) -> datetime:
    """Midnight of ``day`` in ``timezone`` as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def bulletin_finding(
    outlook: HeatOutlook, subject_id: str, *, sources: tuple[str, ...], timezone: str
) -> Finding:
    """The city-wide finding of one forecast (level 3/4 only when the criterion holds)."""
    first, last = (
        outlook.wave if outlook.wave is not None else (outlook.first_day, outlook.last_day)
    )
    level = 0
    if outlook.wave is not None and not math.isnan(outlook.sustained_felt_c):
        level = 4 if outlook.sustained_felt_c >= WARNING_FLOOR_C[4] else 3
    return Finding(
        kind=FINDING_KIND,
        subject_id=subject_id,
        window_start=local_midnight_utc(first, timezone),
        window_end=local_midnight_utc(last + timedelta(days=1), timezone),
        value=outlook.sustained_felt_c,
        units="degC",
        threshold=VIENNA_FELT_TMAX_C,
        coverage=outlook.coverage,
        level=level,
        sources=sources,
        status=outlook.status,
        reasons=outlook.reasons,
    )
