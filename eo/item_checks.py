"""Consistency checks of STAC items before loading: an item that cannot be placed is left out
with its reason (listed in the manifest), never dropped silently (issue 15).

A Sentinel-2 item names its MGRS tile (``mgrs:utm_zone`` + ``mgrs:latitude_band``, or
``s2:mgrs_tile``, or the tile in its id such as ``S2A_33UWP_...``); its ``proj:epsg`` (or
``proj:code``) must be that tile's UTM zone (EPSG:326zz north, 327zz south). An item whose CRS
disagrees would be placed in the wrong projection: its pixels would silently miss the grid.

Examples
--------
>>> item = {"id": "S2A_33UWP_20220601_0_L2A", "properties": {"proj:epsg": 32634}}
>>> epsg_problem(item)
'proj:epsg 32634 disagrees with its tile 33U (UTM zone 33 north is EPSG:32633); fix the item'
>>> epsg_problem({"id": "S2A_33UWP_20220601_0_L2A", "properties": {"proj:epsg": 32633}}) is None
True
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import Any

from core.errors import GeospaceWarning

_TILE_IN_ID = re.compile(r"(?:^|_)(\d{2})([C-HJ-NP-X])[A-Z]{2}(?:_|$)")


class RejectedItemWarning(GeospaceWarning):
    """An item was left out because its metadata cannot be trusted (listed in the manifest)."""


def _tile_zone(item: dict[str, Any]) -> tuple[int, str] | None:
    props = item.get("properties", {})
    zone, band = props.get("mgrs:utm_zone"), props.get("mgrs:latitude_band")
    if isinstance(zone, int) and isinstance(band, str) and band:
        return zone, band.upper()
    tile = props.get("s2:mgrs_tile") or props.get("s2:tile_id")
    match = _TILE_IN_ID.search(f"_{tile}_" if isinstance(tile, str) else str(item.get("id", "")))
    if match is None:
        return None
    return int(match.group(1)), match.group(2)


def _item_epsg(item: dict[str, Any]) -> int | None:
    props = item.get("properties", {})
    epsg = props.get("proj:epsg")
    if isinstance(epsg, int):
        return epsg
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:") and code[5:].isdigit():
        return int(code[5:])
    return None


def epsg_problem(item: dict[str, Any]) -> str | None:
    """Why ``item``'s CRS disagrees with its MGRS tile, or None (agrees, or nothing to compare)."""
    tile, epsg = _tile_zone(item), _item_epsg(item)
    if tile is None or epsg is None:
        return None
    zone, band = tile
    north = band >= "N"
    expected = (32600 if north else 32700) + zone
    if epsg == expected:
        return None
    return (
        f"proj:epsg {epsg} disagrees with its tile {zone:02d}{band} (UTM zone {zone} "
        f"{'north' if north else 'south'} is EPSG:{expected}); fix the item"
    )


def split_consistent(
    items: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """(items to load, [(id, reason), ...] left out); a warning names every item left out."""
    kept: list[dict[str, Any]] = []
    rejected: list[tuple[str, str]] = []
    for item in items:
        reason = epsg_problem(item)
        if reason is None:
            kept.append(item)
            continue
        rejected.append((str(item.get("id")), reason))
        warnings.warn(
            RejectedItemWarning(f"item {item.get('id')} left out: {reason}"), stacklevel=2
        )
    return kept, rejected
