"""Weather inputs: CSV and GeoSphere data hub shapes, QC, apparent temperature, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.errors import DataReadError, InvalidInputError, SourceUnavailableError
from eo.http import HttpPolicy
from eo.meteo import (
    GeoSphereClient,
    apparent_temperature,
    felt_note,
    parse_warnings,
    read_daily_csv,
)
from tests.servers.faults import Fault
from tests.servers.http_base import FaultyHandler, ServerWithPlan

FAST = HttpPolicy(timeout_s=1.0, retries=2, backoff_factor_s=0.0, backoff_max_s=0.0)


def test_apparent_temperature_by_hand() -> None:
    # BoM: e = 0.5 * 6.105 * exp(17.27 * 30 / 267.7) = 21.13 hPa; AT = 30 + 6.97 - 0 - 4 = 32.97
    assert float(apparent_temperature(30.0, 50.0, 0.0)) == pytest.approx(32.977, abs=1e-3)
    # wind cools by 0.70 K per m/s
    assert float(apparent_temperature(30.0, 50.0, 0.0) - apparent_temperature(30.0, 50.0, 3.0)) == (
        pytest.approx(2.1)
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def test_csv_with_perceived_temperature(tmp_path: Path) -> None:
    weather = read_daily_csv(
        write(
            tmp_path / "f.csv",
            """
date,tmax_c,tmin_c,felt_tmax_c,issued
2022-07-02,33.0,21.0,36.0,2022-07-01T06:00
2022-07-01,31.0,20.0,34.0,2022-07-01T06:00
""",
        )
    )
    assert weather.felt_source == "perceived"
    assert list(weather.table.index.strftime("%Y-%m-%d")) == ["2022-07-01", "2022-07-02"]
    assert weather.table.loc["2022-07-02", "felt_tmax_c"] == 36.0
    assert weather.issued == pd.Timestamp("2022-07-01T06:00")
    assert "perceived" in felt_note(weather.felt_source)


def test_csv_without_perceived_uses_apparent_temperature(tmp_path: Path) -> None:
    weather = read_daily_csv(
        write(tmp_path / "f.csv", "date,tmax_c,tmin_c,rh_pct,wind_ms\n2022-07-01,30,20,50,0")
    )
    assert weather.felt_source == "apparent"
    assert weather.table["felt_tmax_c"].iloc[0] == pytest.approx(32.977, abs=1e-3)
    assert "one step lower" in felt_note("apparent")


def test_csv_without_felt_inputs_has_no_felt_temperature(tmp_path: Path) -> None:
    weather = read_daily_csv(write(tmp_path / "f.csv", "date,tmax_c,tmin_c\n2022-07-01,30,20"))
    assert weather.felt_source == "none"
    assert weather.table["felt_tmax_c"].isna().all()


def test_qc_drops_and_reports_corrupt_values(tmp_path: Path) -> None:
    weather = read_daily_csv(
        write(
            tmp_path / "s.csv",
            """
date,tmax_c,tmin_c,qc_tmax,qc_tmin
2022-07-01,31.0,20.0,ok,ok
2022-07-02,999.0,20.0,ok,ok
2022-07-03,abc,20.0,ok,ok
2022-07-04,31.0,20.0,suspect,ok
2022-07-05,18.0,22.0,ok,ok
2022-07-07,31.0,20.0,ok,ok
""",
        )
    )
    tmax = weather.table["tmax_c"]
    assert tmax.notna().tolist() == [True, False, False, False, False, True]
    reasons = {(d.day.isoformat(), d.reason.split(" ")[0]) for d in weather.dropped}
    assert ("2022-07-02", "outside") in reasons
    assert ("2022-07-03", "not") in reasons
    assert ("2022-07-04", "quality") in reasons
    assert ("2022-07-05", "minimum") in reasons
    # the missing 2022-07-06 is a gap, reported by missing_days, not invented
    assert weather.missing_days(date(2022, 7, 1), date(2022, 7, 7), "tmax_c") == [
        date(2022, 7, d) for d in (2, 3, 4, 5, 6)
    ]


def test_csv_bad_inputs_name_the_file_and_fix(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_daily_csv(tmp_path / "missing.csv")
    with pytest.raises(InvalidInputError, match="needs columns date, tmax_c and tmin_c"):
        read_daily_csv(write(tmp_path / "a.csv", "day,temp\n2022-07-01,30"))
    with pytest.raises(InvalidInputError, match="two rows for 2022-07-01"):
        read_daily_csv(
            write(tmp_path / "b.csv", "date,tmax_c,tmin_c\n2022-07-01,30,20\n2022-07-01,31,20")
        )
    with pytest.raises(InvalidInputError, match="not a date"):
        read_daily_csv(write(tmp_path / "c.csv", "date,tmax_c,tmin_c\nyesterday,30,20"))


# --- GeoSphere data hub shapes on a local server -------------------------------------------------


def hub_station() -> dict[str, Any]:
    stamps = [f"2022-07-{d:02d}T00:00+00:00" for d in range(1, 5)]
    return {
        "type": "FeatureCollection",
        "timestamps": stamps,
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [16.356, 48.249]},
                "properties": {
                    "station": "5904",
                    "parameters": {
                        "tlmax": {
                            "name": "Lufttemperatur Maximum",
                            "unit": "°C",
                            "data": [31.2, 32.0, None, 30.5],
                        },
                        "tlmin": {
                            "name": "Lufttemperatur Minimum",
                            "unit": "°C",
                            "data": [19.0, 21.3, 20.0, 20.1],
                        },
                    },
                },
            }
        ],
    }


def hub_forecast(hot: bool) -> dict[str, Any]:
    stamps = pd.date_range("2022-07-01T22:00", periods=72, freq="h", tz="UTC")  # 3 local days
    hour = stamps.tz_convert("Europe/Vienna").hour.to_numpy()
    base = 36.0 if hot else 26.0
    t2m = base - 8.0 + 8.0 * np.sin(np.pi * np.clip(hour - 6, 0, 12) / 12)
    params = {
        "t2m": t2m.round(2).tolist(),
        "rh2m": [40.0] * 72,
        "u10m": [1.0] * 72,
        "v10m": [0.0] * 72,
    }
    return {
        "type": "FeatureCollection",
        "reference_time": "2022-07-01T00:00+00:00",
        "timestamps": [s.isoformat() for s in stamps],
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "parameters": {k: {"unit": "", "data": v} for k, v in params.items()}
                },
            }
        ],
    }


WARNINGS = {
    "type": "Feature",
    "properties": {
        "warnings": [
            {"type": "Feature", "properties": {"warnid": 77, "warntypid": 6, "warnstufeid": 2,
                                               "start": "1656885600", "end": "1657058400"}},
            {"type": "Feature", "properties": {"warnid": 78, "warntypid": 5, "warnstufeid": 3,
                                               "start": "1656885600", "end": "1657058400"}},
        ]
    },
}  # fmt: skip


class HubHandler(FaultyHandler):
    def serve(self, method: str, *, truncate: bool) -> int:
        path = self.path.split("?", 1)[0]
        routes = self.server.settings["routes"]
        if path not in routes:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 404
        body = (
            routes[path] if isinstance(routes[path], bytes) else json.dumps(routes[path]).encode()
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return 200


@pytest.fixture
def hub() -> Iterator[ServerWithPlan]:
    routes: dict[str, Any] = {
        "/v1/station/historical/klima-v2-1d": hub_station(),
        "/v1/timeseries/forecast/nwp-v1-1h-2500m": hub_forecast(hot=True),
        "/wsapp/api/getWarningsForCoords": WARNINGS,
    }
    server = ServerWithPlan(HubHandler, routes=routes).start()
    yield server
    server.stop()


def client(server: ServerWithPlan) -> GeoSphereClient:
    return GeoSphereClient(
        base_url=f"{server.base_url}/v1", warnings_url=f"{server.base_url}/wsapp/api", policy=FAST
    )


def test_station_endpoint_shape(hub: ServerWithPlan) -> None:
    weather = client(hub).station_daily("5904", date(2022, 7, 1), date(2022, 7, 4))
    assert weather.table["tmax_c"].tolist()[:2] == [31.2, 32.0]
    assert np.isnan(weather.table.loc["2022-07-03", "tmax_c"])
    assert weather.felt_source == "none"
    assert "station_ids=5904" in hub.plan.log[0][1] and "tlmax" in hub.plan.log[0][1]


def test_forecast_endpoint_gives_local_days_and_apparent_temperature(hub: ServerWithPlan) -> None:
    weather = client(hub).forecast_daily(48.21, 16.37)
    assert weather.felt_source == "apparent"
    assert list(weather.table.index.strftime("%Y-%m-%d")) == [
        "2022-07-02",
        "2022-07-03",
        "2022-07-04",
    ]
    assert weather.table["tmax_c"].iloc[0] == pytest.approx(36.0)
    expected = float(apparent_temperature(36.0, 40.0, 1.0))
    assert weather.table["felt_tmax_c"].iloc[0] == pytest.approx(expected)
    assert weather.issued == pd.Timestamp("2022-07-01T00:00+00:00")


def test_heat_warnings_keep_heat_only_and_map_levels(hub: ServerWithPlan) -> None:
    warnings = client(hub).heat_warnings(48.21, 16.37)
    assert [(w.level, w.warn_id) for w in warnings.warnings] == [(3, "77")]
    assert warnings.warnings[0].onset == pd.Timestamp("2022-07-03T22:00", tz="UTC")


def test_forecast_500_then_recovers_by_retry(hub: ServerWithPlan) -> None:
    hub.plan.add(Fault("/v1/timeseries/*", "status", count=1, status=500))
    weather = client(hub).forecast_daily(48.21, 16.37)
    assert len(weather.table) == 3
    assert [s for _, p, s in hub.plan.log if "forecast" in p] == [500, 200]


def test_forecast_500_for_good_is_source_unavailable(hub: ServerWithPlan) -> None:
    hub.plan.add(Fault("/v1/timeseries/*", "status", count=None, status=500))
    with pytest.raises(SourceUnavailableError, match=r"HTTP 500 .*CSV"):
        client(hub).forecast_daily(48.21, 16.37)


def test_forecast_timeout_is_source_unavailable(hub: ServerWithPlan) -> None:
    hub.plan.add(Fault("/v1/timeseries/*", "delay", count=None, delay_s=5.0))
    slow = GeoSphereClient(
        base_url=f"{hub.base_url}/v1", policy=HttpPolicy(timeout_s=0.3, retries=0)
    )
    with pytest.raises(SourceUnavailableError, match="did not answer"):
        slow.forecast_daily(48.21, 16.37)


def test_unexpected_answers_are_read_errors(hub: ServerWithPlan) -> None:
    hub.settings["routes"]["/v1/timeseries/forecast/nwp-v1-1h-2500m"] = b"<html>maintenance</html>"
    with pytest.raises(DataReadError, match="not JSON"):
        client(hub).forecast_daily(48.21, 16.37)
    hub.settings["routes"]["/v1/timeseries/forecast/nwp-v1-1h-2500m"] = {"timestamps": []}
    with pytest.raises(DataReadError, match="unexpected data hub answer"):
        client(hub).forecast_daily(48.21, 16.37)
    with pytest.raises(DataReadError, match="warnstufeid 9"):
        parse_warnings(
            {
                "properties": {
                    "warnings": [
                        {"properties": {"warntypid": 6, "warnstufeid": 9, "start": "1", "end": "2"}}
                    ]
                }
            },
            "test",
        )
