"""Weather at the edge: daily station series, forecasts and heat warnings (DESIGN sections 3 and 4).

Sources
-------
- CSV (the demo's and any station export): one row per day with ``date``, ``tmax_c``, ``tmin_c`` and
  optionally ``felt_tmax_c`` (the source's perceived temperature), ``rh_pct`` and ``wind_ms`` (for
  the apparent temperature), ``qc_tmax`` / ``qc_tmin`` flags and, for forecasts, ``issued``.
- The GeoSphere Austria data hub API (``https://dataset.api.hub.geosphere.at/v1``): daily station
  data (``station/historical/klima-v2-1d``, parameters ``tlmax``, ``tlmin``) and the hourly NWP
  forecast (``timeseries/forecast/nwp-v1-1h-2500m``, ``t2m``, ``rh2m``, ``u10m``, ``v10m``), both
  GeoJSON FeatureCollections with a ``timestamps`` list and per-parameter ``data`` arrays.
- GeoSphere's warnings for a point (``warnungen.zamg.at/wsapp/api/getWarningsForCoords``): heat is
  ``warntypid`` 6; warning levels 1 / 2 / 3 (yellow / orange / red; erhöhte / starke / extreme
  Belastung) map to alert levels 2 / 3 / 4.

Felt temperature is the source's perceived temperature where it has one; otherwise Steadman's (1994)
apparent temperature as the Australian Bureau of Meteorology computes it (air temperature, water
vapour pressure from humidity, 10 m wind; no radiation term). Which one was used travels with the
data (``felt_source``), so a bulletin can say so and lower its certainty one step. Without either,
``felt_tmax_c`` stays NaN and the Vienna criterion is DATA_GAP (the caller decides; Kyselý on air
temperature still runs).

Quality control: implausible values (outside -40..50 degC, Tmin above Tmax, a QC flag other than
ok) are dropped, never guessed, and each drop is reported in :attr:`DailyWeather.dropped`.

References
----------
.. [1] Steadman, R. G. (1994). Norms of apparent temperature in Australia. Aust. Met. Mag. 43, 1-16.
.. [2] Bureau of Meteorology, "Thermal comfort observations": AT = Ta + 0.33 e - 0.70 ws - 4.00,
   e = rh / 100 * 6.105 * exp(17.27 Ta / (237.7 + Ta)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import requests

from core.errors import DataReadError, InvalidInputError, SourceUnavailableError
from core.urls import redact_url
from eo.http import HttpPolicy, make_session

FeltSource = Literal["perceived", "apparent", "none"]
PLAUSIBLE_C = (-40.0, 50.0)
QC_OK = frozenset({"ok", "good", "valid", "0", "1", ""})
HEAT_WARNTYP = 6
WARN_LEVEL_TO_ALERT_LEVEL = {1: 2, 2: 3, 3: 4}
DATA_HUB = "https://dataset.api.hub.geosphere.at/v1"
WARNINGS_API = "https://warnungen.zamg.at/wsapp/api"
STATION_RESOURCE = "station/historical/klima-v2-1d"
FORECAST_RESOURCE = "timeseries/forecast/nwp-v1-1h-2500m"

_ALIASES = {
    "date": ("date", "day", "time", "datum"),
    "tmax_c": ("tmax_c", "tmax", "tlmax", "tx"),
    "tmin_c": ("tmin_c", "tmin", "tlmin", "tn"),
    "felt_tmax_c": ("felt_tmax_c", "perceived_tmax_c", "felt_tmax"),
    "rh_pct": ("rh_pct", "rh", "humidity_pct", "rh2m"),
    "wind_ms": ("wind_ms", "wind", "ff", "wind_speed_ms"),
}


@dataclass(frozen=True)
class QcDrop:
    """One value removed by quality control."""

    day: date
    column: str
    value: float | str
    reason: str


@dataclass(frozen=True)
class DailyWeather:
    """Daily weather for one place: observed or forecast.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by date (midnight, naive, local day), float columns ``tmax_c``, ``tmin_c``,
        ``felt_tmax_c`` (degC; NaN where missing or dropped).
    felt_source : {"perceived", "apparent", "none"}
        Where ``felt_tmax_c`` comes from: the source's perceived temperature, Steadman's apparent
        temperature computed here, or nothing.
    source : str
        A readable, redacted description (file name or URL without query).
    dropped : tuple of QcDrop
        Values removed by quality control.
    issued : pandas.Timestamp or None
        Forecast issue time (None for observations).
    """

    table: pd.DataFrame
    felt_source: FeltSource
    source: str
    dropped: tuple[QcDrop, ...] = ()
    issued: pd.Timestamp | None = None

    def series(self, column: str) -> pd.Series:
        """One column as a Series by date, NaN days removed (gaps are what they are)."""
        return self.table[column].dropna()

    def window(self, start: date, end: date) -> DailyWeather:
        """The days from ``start`` to ``end`` inclusive."""
        sel = self.table.loc[pd.Timestamp(start) : pd.Timestamp(end)]
        return DailyWeather(sel, self.felt_source, self.source, self.dropped, self.issued)

    def missing_days(self, start: date, end: date, column: str) -> list[date]:
        """Days of ``[start, end]`` with no valid value in ``column``."""
        wanted = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D")
        have = self.table[column].dropna().index
        return [d.date() for d in wanted.difference(have)]


@dataclass(frozen=True)
class HeatWarning:
    """A GeoSphere heat warning for a point: alert level 2-4 and its validity."""

    level: int
    onset: pd.Timestamp
    expires: pd.Timestamp
    warn_id: str
    text: str = ""


@dataclass(frozen=True)
class HeatWarnings:
    warnings: tuple[HeatWarning, ...] = field(default_factory=tuple)
    source: str = ""


def apparent_temperature(ta_c: Any, rh_pct: Any, wind_ms: Any) -> Any:
    """Steadman's apparent temperature (degC) as the Bureau of Meteorology computes it.

    Parameters
    ----------
    ta_c : float or array
        Dry-bulb air temperature, degC.
    rh_pct : float or array
        Relative humidity, percent (0-100).
    wind_ms : float or array
        Wind speed at 10 m, m/s.

    Returns
    -------
    AT = Ta + 0.33 e - 0.70 ws - 4.00 with e = rh/100 * 6.105 * exp(17.27 Ta / (237.7 + Ta)) hPa.

    Examples
    --------
    >>> round(float(apparent_temperature(35.0, 40.0, 2.0)), 2)
    36.99
    """
    ta = np.asarray(ta_c, dtype=np.float64)
    rh = np.asarray(rh_pct, dtype=np.float64)
    ws = np.asarray(wind_ms, dtype=np.float64)
    vapour_hpa = rh / 100.0 * 6.105 * np.exp(17.27 * ta / (237.7 + ta))
    return ta + 0.33 * vapour_hpa - 0.70 * ws - 4.00


def _column(frame: pd.DataFrame, key: str) -> str | None:
    lower = {c.lower().strip(): c for c in frame.columns}
    for alias in _ALIASES[key]:
        if alias in lower:
            return lower[alias]
    return None


def _qc(frame: pd.DataFrame, flags: dict[str, pd.Series]) -> tuple[pd.DataFrame, list[QcDrop]]:
    """Drop implausible values and values flagged bad; report each drop."""
    drops: list[QcDrop] = []
    out = frame.copy()
    lo, hi = PLAUSIBLE_C
    for column in ("tmax_c", "tmin_c", "felt_tmax_c"):
        values = out[column]
        bad = values.notna() & ((values < lo) | (values > hi))
        for day, value in values[bad].items():
            drops.append(QcDrop(day.date(), column, float(value), f"outside {lo:g}..{hi:g} degC"))
        out.loc[bad, column] = np.nan
    for column, flag in flags.items():
        text = flag.astype(str).str.strip().str.lower().replace("nan", "")
        bad = ~text.isin(QC_OK) & out[column].notna()
        for day in out.index[bad]:
            drops.append(QcDrop(day.date(), column, str(flag.loc[day]), "quality flag not ok"))
        out.loc[bad, column] = np.nan
    inverted = out["tmin_c"] > out["tmax_c"]
    for day in out.index[inverted]:
        value = f"tmin {out.at[day, 'tmin_c']:g} > tmax {out.at[day, 'tmax_c']:g}"
        drops.append(QcDrop(day.date(), "tmax_c,tmin_c", value, "minimum above maximum"))
    out.loc[inverted, ["tmax_c", "tmin_c"]] = np.nan
    return out, drops


def _numeric(raw: pd.Series, name: str, source: str) -> tuple[pd.Series, list[QcDrop]]:
    """Numbers from a column; unreadable cells become NaN and are reported."""
    values = pd.to_numeric(raw, errors="coerce")
    drops = [
        QcDrop(day.date(), name, str(raw.loc[day]), f"not a number in {source}")
        for day in raw.index[values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")]
    ]
    return values.astype(np.float64), drops


def daily_from_frame(frame: pd.DataFrame, source: str, issued: Any = None) -> DailyWeather:
    """A :class:`DailyWeather` from a table with the CSV columns (aliases accepted), QC applied."""
    date_col = _column(frame, "date")
    tmax_col, tmin_col = _column(frame, "tmax_c"), _column(frame, "tmin_c")
    if date_col is None or tmax_col is None or tmin_col is None:
        raise InvalidInputError(
            f"weather table {source} needs columns date, tmax_c and tmin_c (degC); it has "
            f"{list(frame.columns)}. Rename the columns or export daily Tmax/Tmin"
        )
    try:
        days = pd.DatetimeIndex(pd.to_datetime(frame[date_col], errors="raise")).normalize()
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"weather table {source}: column {date_col!r} has a value that is not a date ({exc}); "
            "write dates as YYYY-MM-DD"
        ) from exc
    if days.has_duplicates:
        dup = days[days.duplicated()][0].date()
        raise InvalidInputError(
            f"weather table {source} has two rows for {dup}; keep one row per day"
        )
    indexed = frame.set_axis(days)
    drops: list[QcDrop] = []
    table = pd.DataFrame(index=days)
    table.index.name = "date"
    for key, col in (("tmax_c", tmax_col), ("tmin_c", tmin_col)):
        table[key], bad = _numeric(indexed[col], key, source)
        drops += bad
    felt_col = _column(frame, "felt_tmax_c")
    rh_col, wind_col = _column(frame, "rh_pct"), _column(frame, "wind_ms")
    felt_source: FeltSource = "none"
    table["felt_tmax_c"] = np.nan
    if felt_col is not None:
        table["felt_tmax_c"], bad = _numeric(indexed[felt_col], "felt_tmax_c", source)
        drops += bad
        felt_source = "perceived"
    elif rh_col is not None and wind_col is not None:
        rh, bad_rh = _numeric(indexed[rh_col], "rh_pct", source)
        wind, bad_wind = _numeric(indexed[wind_col], "wind_ms", source)
        drops += bad_rh + bad_wind
        rh = rh.where((rh >= 0) & (rh <= 100))
        wind = wind.where(wind >= 0)
        table["felt_tmax_c"] = apparent_temperature(table["tmax_c"], rh, wind)
        felt_source = "apparent"
    flags = {}
    for key, name in (("tmax_c", "qc_tmax"), ("tmin_c", "qc_tmin")):
        lower = {c.lower(): c for c in frame.columns}
        if name in lower:
            flags[key] = indexed[lower[name]]
    table, qc_drops = _qc(table.sort_index(), {k: v.sort_index() for k, v in flags.items()})
    if felt_source == "apparent":  # a dropped Tmax leaves no apparent temperature either
        table.loc[table["tmax_c"].isna(), "felt_tmax_c"] = np.nan
    stamp = None if issued is None else pd.Timestamp(issued)
    return DailyWeather(table, felt_source, source, tuple(drops + qc_drops), stamp)


def read_daily_csv(path: str | Path) -> DailyWeather:
    """Daily station series or forecast from a CSV (see the module docstring for its columns).

    A forecast CSV carries an ``issued`` column (one value). Unreadable or implausible values are
    dropped and reported, never guessed; a missing file or missing columns raise
    :class:`~core.errors.InvalidInputError` naming the file and the fix.
    """
    file = Path(path)
    if not file.is_file():
        raise InvalidInputError(
            f"weather file {file} does not exist; check the profile's heat.weather paths "
            "(build the demo with `geospace demo` first)"
        )
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"weather file {file} is not a readable CSV: {exc}") from exc
    if "station_id" in frame.columns and frame["station_id"].nunique() > 1:
        raise InvalidInputError(
            f"weather file {file} holds {frame['station_id'].nunique()} stations; "
            "give one station per file (or filter it first)"
        )
    issued = None
    if "issued" in frame.columns:
        values = frame["issued"].dropna().unique()
        issued = values[0] if len(values) else None
    return daily_from_frame(frame, file.name, issued)


# --- GeoSphere Austria data hub ------------------------------------------------------------------


def _get_json(session: requests.Session, url: str, params: dict[str, Any], what: str) -> Any:
    try:
        response = session.get(url, params=params)
    except requests.RequestException as exc:
        raise SourceUnavailableError(
            f"{what} at {redact_url(url)} did not answer after retries ({type(exc).__name__}); "
            "try again later or point the profile at a CSV"
        ) from None
    if response.status_code != 200:
        raise SourceUnavailableError(
            f"{what} at {redact_url(url)} answered HTTP {response.status_code} after retries; "
            "try again later or point the profile at a CSV"
        )
    try:
        return response.json()
    except ValueError:
        raise DataReadError(
            f"{what} at {redact_url(url)} returned a body that is not JSON; the service may be "
            "down or the URL wrong"
        ) from None


def _hub_frame(document: Any, names: tuple[str, ...], what: str) -> pd.DataFrame:
    """Timestamps x parameters from a data hub GeoJSON answer (first feature)."""
    try:
        stamps = pd.to_datetime(document["timestamps"], utc=True)
        params = document["features"][0]["properties"]["parameters"]
        columns = {}
        for name in names:
            data = params[name]["data"]
            if len(data) != len(stamps):
                raise ValueError(f"{name} has {len(data)} values for {len(stamps)} timestamps")
            columns[name] = pd.to_numeric(pd.Series(data, dtype=object), errors="coerce").to_numpy()
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise DataReadError(
            f"{what}: unexpected data hub answer ({type(exc).__name__}: {exc}); expected a "
            f"FeatureCollection with timestamps and parameters {list(names)}"
        ) from None
    return pd.DataFrame(columns, index=stamps)


@dataclass(frozen=True)
class GeoSphereClient:
    """Client of the GeoSphere Austria data hub and warnings APIs (timeouts and retries built in)."""

    base_url: str = DATA_HUB
    warnings_url: str = WARNINGS_API
    timezone: str = "Europe/Vienna"
    policy: HttpPolicy = field(default_factory=HttpPolicy)

    def _session(self) -> requests.Session:
        return make_session(self.policy)

    def station_daily(self, station_id: str, start: date, end: date) -> DailyWeather:
        """Daily Tmax/Tmin of a station (``klima-v2-1d``: ``tlmax``, ``tlmin``), QC applied."""
        url = f"{self.base_url.rstrip('/')}/{STATION_RESOURCE}"
        params = {
            "parameters": "tlmax,tlmin",
            "station_ids": station_id,
            "start": f"{start.isoformat()}T00:00",
            "end": f"{end.isoformat()}T00:00",
        }
        with self._session() as session:
            doc = _get_json(session, url, params, f"GeoSphere station {station_id}")
        frame = _hub_frame(doc, ("tlmax", "tlmin"), f"GeoSphere station {station_id}")
        days = frame.index.tz_convert(None).normalize()
        table = pd.DataFrame(
            {"date": days.strftime("%Y-%m-%d"), "tmax_c": frame["tlmax"], "tmin_c": frame["tlmin"]}
        ).reset_index(drop=True)
        return daily_from_frame(table, f"{redact_url(url)} station {station_id}")

    def forecast_daily(self, lat: float, lon: float) -> DailyWeather:
        """Daily forecast from the hourly NWP run: Tmax, Tmin and max apparent temperature.

        Local days in the client's timezone; a day needs all 24 hours, else it is left out (a
        partial day would understate its maximum). The data hub NWP has no perceived
        temperature, so felt temperature is Steadman's apparent temperature.
        """
        url = f"{self.base_url.rstrip('/')}/{FORECAST_RESOURCE}"
        params = {"parameters": "t2m,rh2m,u10m,v10m", "lat_lon": f"{lat:.4f},{lon:.4f}"}
        with self._session() as session:
            doc = _get_json(session, url, params, "GeoSphere forecast")
        frame = _hub_frame(doc, ("t2m", "rh2m", "u10m", "v10m"), "GeoSphere forecast")
        issued = doc.get("reference_time") if isinstance(doc, dict) else None
        local = frame.tz_convert(self.timezone)
        wind = np.hypot(local["u10m"], local["v10m"])
        local = local.assign(at=apparent_temperature(local["t2m"], local["rh2m"], wind))
        day = local.index.tz_localize(None).normalize()
        grouped = local.groupby(day)
        complete = grouped["t2m"].count() == 24
        daily = pd.DataFrame(
            {
                "date": grouped["t2m"].max().index.strftime("%Y-%m-%d"),
                "tmax_c": grouped["t2m"].max().to_numpy(),
                "tmin_c": grouped["t2m"].min().to_numpy(),
                "felt_tmax_c": grouped["at"].max().to_numpy(),
            }
        )[complete.to_numpy()]
        weather = daily_from_frame(daily.reset_index(drop=True), redact_url(url), issued)
        return DailyWeather(
            weather.table, "apparent", weather.source, weather.dropped, weather.issued
        )

    def heat_warnings(self, lat: float, lon: float) -> HeatWarnings:
        """GeoSphere's current heat warnings for a point (``warntypid`` 6), levels 2-4."""
        url = f"{self.warnings_url.rstrip('/')}/getWarningsForCoords"
        with self._session() as session:
            doc = _get_json(
                session, url, {"lon": lon, "lat": lat, "lang": "de"}, "GeoSphere warnings"
            )
        return parse_warnings(doc, redact_url(url))


def _stamp(value: Any) -> pd.Timestamp:
    text = str(value).strip()
    if text.isdigit():
        return pd.Timestamp(int(text), unit="s", tz="UTC")
    stamp = pd.Timestamp(text)
    return stamp if stamp.tzinfo is not None else stamp.tz_localize("Europe/Vienna")


def parse_warnings(document: Any, source: str) -> HeatWarnings:
    """Heat warnings from a GeoSphere ``getWarningsForCoords`` answer (other hazards ignored)."""
    try:
        entries = document["properties"]["warnings"]
        found = []
        for entry in entries:
            props = entry["properties"]
            if int(props["warntypid"]) != HEAT_WARNTYP:
                continue
            stufe = int(props["warnstufeid"])
            if stufe not in WARN_LEVEL_TO_ALERT_LEVEL:
                raise ValueError(f"warnstufeid {stufe} is not 1, 2 or 3")
            found.append(
                HeatWarning(
                    level=WARN_LEVEL_TO_ALERT_LEVEL[stufe],
                    onset=_stamp(props["start"]),
                    expires=_stamp(props["end"]),
                    warn_id=str(props.get("warnid", "")),
                    text=str(props.get("text", "")),
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataReadError(
            f"GeoSphere warnings at {source}: unexpected answer ({type(exc).__name__}: {exc}); "
            "expected properties.warnings[].properties with warntypid, warnstufeid, start, end"
        ) from None
    return HeatWarnings(tuple(sorted(found, key=lambda w: w.onset)), source)


def felt_note(felt_source: FeltSource) -> str:
    """One sentence for the bulletin's data note on how felt temperature was obtained."""
    if felt_source == "perceived":
        return "Felt temperature: the forecast's perceived temperature."
    if felt_source == "apparent":
        return (
            "Felt temperature: Steadman's apparent temperature (Bureau of Meteorology formula, "
            "air temperature, humidity and wind, no radiation); certainty one step lower."
        )
    return "Felt temperature: not available; the Vienna health criterion could not be evaluated."


def as_of(issued: pd.Timestamp | None, fallback: datetime) -> datetime:
    """The forecast's issue time as a naive UTC datetime, or ``fallback``."""
    if issued is None or (isinstance(issued, float) and math.isnan(issued)):
        return fallback
    stamp = pd.Timestamp(issued)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()
