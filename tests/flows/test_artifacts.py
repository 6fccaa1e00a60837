"""Prefect artifacts (issue 12) are views of the products on disk: built here from small product
folders written by the test, so the ordering and the columns are checked without a flow run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.artifacts import (
    PARK_COLUMNS,
    artifact_key,
    heat_markdown,
    links_markdown,
    ordered_segments,
    ranked_parks,
    table_rows,
)


def _geojson(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    features = [{"type": "Feature", "geometry": None, "properties": r} for r in rows]
    (folder / name).write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def test_parks_are_ranked_first_and_data_gaps_last(tmp_path: Path) -> None:
    rows = [
        {"park_id": "c", "rank": None, "status": "DATA_GAP", "extra": 1},
        {"park_id": "b", "rank": 2, "status": "OK", "ndvi_anomaly": -0.123456},
        {"park_id": "a", "rank": 1, "status": "OK"},
    ]
    _geojson(tmp_path, "irrigation_priority.geojson", rows)
    table = table_rows(ranked_parks(tmp_path), PARK_COLUMNS)
    assert [r["park_id"] for r in table] == ["a", "b", "c"]
    assert table[1]["ndvi_anomaly"] == -0.1235  # rounded for the UI
    assert all("extra" not in r for r in table)  # only the declared columns


def test_segments_warning_then_watch_then_fastest(tmp_path: Path) -> None:
    rows = [
        {"segment_id": "s1", "alert": "none", "vertical_velocity": -9.0},
        {"segment_id": "s2", "alert": "watch", "vertical_velocity": -1.0},
        {"segment_id": "s3", "alert": "warning", "vertical_velocity": -2.0},
        {"segment_id": "s4", "alert": "none", "vertical_velocity": None},
    ]
    _geojson(tmp_path, "corridor_segments.geojson", rows)
    assert [s["segment_id"] for s in ordered_segments(tmp_path)] == ["s3", "s2", "s1", "s4"]


def test_table_is_capped() -> None:
    assert len(table_rows(({"rank": i} for i in range(500)), ("rank",), limit=7)) == 7


def test_links_name_only_existing_products(tmp_path: Path) -> None:
    (tmp_path / "map.png").write_bytes(b"png")
    text = links_markdown("Release", tmp_path, ["map.png", "absent.html"])
    assert (tmp_path / "map.png").resolve().as_uri() in text
    assert "absent.html" not in text


def test_heat_summary_states_each_forecast_and_a_gap() -> None:
    summary = {
        "lst_status": "OK", "hotspots": 3, "ranking": ["d9", "d2"],
        "forecasts": [{"issued": "2022-07-18", "heatwave": True, "status": "OK",
                       "action": "bulletin", "revision_id": 7, "revision_status": "pending_approval"}],
    }  # fmt: skip
    text = heat_markdown(summary)
    assert "| 2022-07-18 | yes | OK | bulletin | 7 | pending_approval |" in text
    assert "d9, d2" in text
    assert "DATA_GAP" in heat_markdown({"lst_status": "DATA_GAP", "forecasts": []})


def test_keys_are_what_prefect_accepts() -> None:
    assert artifact_key("vegetation", "Vienna_Demo 2") == "vegetation-vienna-demo-2"
