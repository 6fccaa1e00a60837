"""Item dicts: solar days, grouping, de-duplication of reprocessed items."""

from __future__ import annotations

import json
import warnings
from datetime import date
from typing import Any

import pytest

from core.errors import DuplicateItemWarning
from eo.stac import dedupe_items, group_by_solar_day, solar_day
from eo.stac_items import tile_id
from tests.conftest import shared_file


def _item(item_id: str, when: str, lon: float, **props: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "bbox": [lon - 0.5, 48.0, lon + 0.5, 49.0],
        "properties": {"datetime": when, **props},
    }


def test_solar_day_shifts_by_longitude() -> None:
    # 23:30 UTC at 170 E is 10:50 local mean time on the next day; at 10 W it stays the same day.
    assert solar_day(_item("a", "2024-06-10T23:30:00Z", 170.0)) == date(2024, 6, 11)
    assert solar_day(_item("b", "2024-06-10T23:30:00Z", -10.0)) == date(2024, 6, 10)
    # 00:30 UTC at 120 W is 16:30 of the previous day
    assert solar_day(_item("c", "2024-06-11T00:30:00Z", -120.0)) == date(2024, 6, 10)


def test_solar_day_prefers_proj_centroid_and_handles_antimeridian() -> None:
    item = _item("a", "2024-06-10T23:30:00Z", 0.0, **{"proj:centroid": {"lat": 0, "lon": 170.0}})
    assert solar_day(item) == date(2024, 6, 11)
    # bbox across the antimeridian: centre 179 W (not 1 E), 11:00 UTC is 23:04 of the day before
    crossing = {
        "id": "x",
        "bbox": [178.0, 0.0, -176.0, 1.0],
        "properties": {"datetime": "2024-06-10T11:00:00Z"},
    }
    assert solar_day(crossing) == date(2024, 6, 9)


def test_solar_day_of_real_earth_search_item() -> None:
    path = shared_file(
        "protocols", "stac", "earth-search-v1", "item_sentinel-2-l2a_S2B_20EPT_20250731_0_L2A.json"
    )
    item = json.loads(path.read_text())
    # 13:19 UTC at 59.4 W: about 09:21 local mean time, same day
    assert solar_day(item) == date(2025, 7, 31)
    assert tile_id(item) == "20EPT"


def test_group_by_solar_day_orders_days_and_items() -> None:
    a = _item("b-tile", "2024-06-10T10:00:05Z", 16.0)
    b = _item("a-tile", "2024-06-10T10:00:00Z", 15.0)
    c = _item("c", "2024-06-12T10:00:00Z", 16.0)
    groups = group_by_solar_day([c, a, b])
    assert list(groups) == [date(2024, 6, 10), date(2024, 6, 12)]
    assert [it["id"] for it in groups[date(2024, 6, 10)]] == ["a-tile", "b-tile"]


def test_tile_id_from_each_convention() -> None:
    assert tile_id({"properties": {"grid:code": "MGRS-33UXP"}}) == "33UXP"
    mgrs = {"mgrs:utm_zone": 3, "mgrs:latitude_band": "U", "mgrs:grid_square": "XP"}
    assert tile_id({"properties": mgrs}) == "03UXP"
    assert tile_id({"properties": {"s2:mgrs_tile": "33UWP"}}) == "33UWP"
    assert tile_id({"properties": {}}) is None


def _s2(item_id: str, **props: Any) -> dict[str, Any]:
    return _item(item_id, "2024-06-10T10:00:00Z", 16.4, **{"grid:code": "MGRS-33UXP", **props})


def test_dedupe_keeps_higher_baseline_and_warns_naming_both() -> None:
    old = _s2("S2A_33UXP_20240610_0_L2A", **{"s2:processing_baseline": "05.10"})
    new = _s2("S2A_33UXP_20240610_1_L2A", **{"s2:processing_baseline": "05.11"})
    other_tile = _item(
        "S2A_33UWP_20240610_0_L2A", "2024-06-10T10:00:00Z", 15.0, **{"grid:code": "MGRS-33UWP"}
    )
    with pytest.warns(
        DuplicateItemWarning, match=r"S2A_33UXP_20240610_0_L2A.*S2A_33UXP_20240610_1_L2A"
    ):
        kept, dropped = dedupe_items([new, other_tile, old])
    assert [it["id"] for it in kept] == [new["id"], other_tile["id"]]
    assert [it["id"] for it in dropped] == [old["id"]]


def test_dedupe_same_baseline_uses_updated_then_counter() -> None:
    early = _s2("X_0_L2A", **{"s2:processing_baseline": "05.10", "updated": "2024-06-11T00:00:00Z"})
    late = _s2("X_1_L2A", **{"s2:processing_baseline": "05.10", "updated": "2024-07-01T00:00:00Z"})
    with pytest.warns(DuplicateItemWarning):
        kept, _ = dedupe_items([late, early])
    assert [it["id"] for it in kept] == ["X_1_L2A"]
    # no timestamps at all: the id counter decides
    with pytest.warns(DuplicateItemWarning):
        kept, _ = dedupe_items([_s2("Y_1_L2A"), _s2("Y_0_L2A")])
    assert [it["id"] for it in kept] == ["Y_1_L2A"]


def test_dedupe_uses_generation_time_when_updated_is_equal() -> None:
    a = _s2("A_0_L2A", **{"s2:generation_time": "2024-06-10T12:00:00Z"})
    b = _s2("A_1_L2A", **{"s2:generation_time": "2024-06-10T11:00:00Z"})
    with pytest.warns(DuplicateItemWarning):
        kept, dropped = dedupe_items([b, a])
    assert [it["id"] for it in kept] == ["A_0_L2A"] and [it["id"] for it in dropped] == ["A_1_L2A"]


def test_dedupe_leaves_distinct_days_and_untiled_items_alone() -> None:
    items = [
        _s2("a"),
        _item("b", "2024-06-11T10:00:00Z", 16.4, **{"grid:code": "MGRS-33UXP"}),
        _item("c", "2024-06-10T10:00:00Z", 16.4),
        _item("d", "2024-06-10T10:00:00Z", 16.4),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept, dropped = dedupe_items(items)
    assert kept == items and dropped == []
