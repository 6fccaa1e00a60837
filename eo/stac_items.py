"""STAC item dicts: filtering, solar days and de-duplication of reprocessed items.

Items stay plain dicts (as the API returned them): pystac 1.15 rewrites ``proj:epsg`` to
``proj:code`` when it reads an item, and stackstac 0.5.1 only reads ``proj:epsg`` (DESIGN section 3,
"Pitfalls").
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.errors import DuplicateItemWarning

Item = dict[str, Any]
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_COUNTER_RE = re.compile(r"_(\d+)_[A-Za-z0-9]+$")


def parse_datetime(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def item_datetime(item: Mapping[str, Any]) -> datetime:
    """The item's ``datetime`` (or ``start_datetime`` for range items), UTC."""
    props = item.get("properties", {})
    text = props.get("datetime") or props.get("start_datetime")
    if not text:
        raise ValueError(f"STAC item {item.get('id')!r} has neither datetime nor start_datetime")
    return parse_datetime(text)


def item_bbox(item: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees from ``bbox`` or, failing that, the geometry."""
    bbox = item.get("bbox")
    if bbox:
        if len(bbox) == 6:
            return (bbox[0], bbox[1], bbox[3], bbox[4])
        return (bbox[0], bbox[1], bbox[2], bbox[3])
    from shapely.geometry import shape

    minx, miny, maxx, maxy = shape(item["geometry"]).bounds
    return (minx, miny, maxx, maxy)


def centre_longitude(item: Mapping[str, Any]) -> float:
    """Longitude of the item's centre, degrees east in [-180, 180).

    ``proj:centroid`` when present, else the centre of the bbox (an antimeridian-crossing bbox,
    west > east, is handled).
    """
    centroid = item.get("properties", {}).get("proj:centroid")
    if isinstance(centroid, Mapping) and "lon" in centroid:
        return float(centroid["lon"])
    west, _, east, _ = item_bbox(item)
    if west > east:
        east += 360.0
    return ((west + east) / 2.0 + 180.0) % 360.0 - 180.0


def solar_day(item: Mapping[str, Any]) -> date:
    """Local mean solar date of the acquisition.

    The local mean solar time is UTC shifted by the centre longitude at 15 degrees per hour,
    so an overpass of 23:30 UTC over 170 E belongs to the next local day.

    References
    ----------
    .. [1] Meeus, J. (1998). Astronomical Algorithms, 2nd ed., ch. 12 (local mean time).
    """
    offset = timedelta(hours=centre_longitude(item) / 15.0)
    return (item_datetime(item) + offset).date()


def group_by_solar_day(items: Iterable[Item]) -> dict[date, list[Item]]:
    """Items grouped by :func:`solar_day`, days ascending, each day's items by (datetime, id)."""
    groups: dict[date, list[Item]] = defaultdict(list)
    for item in items:
        groups[solar_day(item)].append(item)
    return {
        day: sorted(groups[day], key=lambda it: (item_datetime(it), str(it.get("id"))))
        for day in sorted(groups)
    }


def matches(
    item: Mapping[str, Any],
    *,
    bbox_wgs84: tuple[float, float, float, float],
    start: date,
    end: date,
    max_cloud_cover: float | None,
) -> bool:
    """True when the item intersects ``bbox_wgs84``, was taken on UTC days ``start..end``
    (inclusive) and its ``eo:cloud_cover`` (percent; missing counts as unknown, kept) is at most
    ``max_cloud_cover``."""
    west, south, east, north = item_bbox(item)
    qw, qs, qe, qn = bbox_wgs84
    if west > qe or east < qw or south > qn or north < qs:
        return False
    if not start <= item_datetime(item).date() <= end:
        return False
    cloud = item.get("properties", {}).get("eo:cloud_cover")
    return max_cloud_cover is None or cloud is None or float(cloud) <= max_cloud_cover


def tile_id(item: Mapping[str, Any]) -> str | None:
    """MGRS tile of a Sentinel-2 item (``"33UXP"``) from ``grid:code``, ``mgrs:*`` or
    ``s2:mgrs_tile``; None when the item says nothing about its tile."""
    props = item.get("properties", {})
    code = props.get("grid:code")
    if isinstance(code, str) and code:
        return code.split("-", 1)[-1].upper()
    if all(k in props for k in ("mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square")):
        zone = int(props["mgrs:utm_zone"])
        return f"{zone:02d}{props['mgrs:latitude_band']}{props['mgrs:grid_square']}".upper()
    tile = props.get("s2:mgrs_tile")
    return str(tile).upper().lstrip("T") if tile else None


def processing_rank(item: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key, larger = newer processing: baseline, then ``updated``, ``s2:generation_time``,
    ``created``, then the id's processing counter (``..._1_L2A`` > ``..._0_L2A``)."""
    props = item.get("properties", {})
    try:
        baseline = float(props.get("s2:processing_baseline", "-1"))
    except ValueError:
        baseline = -1.0
    stamps = [
        parse_datetime(props[key]) if props.get(key) else _EPOCH
        for key in ("updated", "s2:generation_time", "created")
    ]
    match = _COUNTER_RE.search(str(item.get("id", "")))
    counter = int(match.group(1)) if match else -1
    return (baseline, *stamps, counter)


def dedupe_items(items: Iterable[Item]) -> tuple[list[Item], list[Item]]:
    """Drop older processings of the same tile and solar day; return (kept, dropped).

    Items without a tile id are always kept. Kept items keep their input order. Each drop
    emits a :class:`~core.errors.DuplicateItemWarning` naming both ids.
    """
    items = list(items)
    best: dict[tuple[str, date], int] = {}
    dropped_idx: set[int] = set()
    for index, item in enumerate(items):
        tile = tile_id(item)
        if tile is None:
            continue
        key = (tile, solar_day(item))
        if key not in best:
            best[key] = index
            continue
        other = best[key]
        newer, older = (
            (index, other)
            if processing_rank(item) > processing_rank(items[other])
            else (other, index)
        )
        best[key] = newer
        dropped_idx.add(older)
        warnings.warn(
            f"items {items[older].get('id')!r} and {items[newer].get('id')!r} cover tile {tile} "
            f"on solar day {key[1]}: kept the newer processing {items[newer].get('id')!r}, "
            f"dropped {items[older].get('id')!r}",
            DuplicateItemWarning,
            stacklevel=2,
        )
    kept = [it for i, it in enumerate(items) if i not in dropped_idx]
    dropped = [it for i, it in enumerate(items) if i in dropped_idx]
    return kept, dropped
