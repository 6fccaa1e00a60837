"""Reading a static STAC catalogue on disk (catalog -> collections -> items) as plain dicts.

Links and asset hrefs relative to a JSON file are resolved against that file's directory; every file
followed and every asset href must pass the allowlist (local catalogues only under configured
directories, symlinks and ``..`` resolved).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import InvalidInputError
from eo.allowlist import Allowlist
from eo.stac_items import Item, matches

_FOLLOW = ("child", "item", "items")


def search_static(
    catalog: Path,
    *,
    allowlist: Allowlist,
    collection: str,
    bbox_wgs84: tuple[float, float, float, float],
    start: date,
    end: date,
    max_cloud_cover: float | None,
) -> list[Item]:
    """Items of ``collection`` in the static catalogue at ``catalog`` that match the filters.

    Parameters
    ----------
    catalog : Path
        The root ``catalog.json`` (or a ``collection.json``), already allowlist-checked.
    allowlist : Allowlist
        Checks every linked file and asset href.
    collection : str
        Collection id; items are matched by their ``collection`` field or, without one, by the
        collection they were reached through.
    bbox_wgs84, start, end, max_cloud_cover
        As :func:`eo.stac_items.matches`.
    """
    found: list[Item] = []
    for item, path, parent in _walk(catalog, allowlist, visited=set(), collection=None):
        if (item.get("collection") or parent) != collection:
            continue
        if matches(
            item, bbox_wgs84=bbox_wgs84, start=start, end=end, max_cloud_cover=max_cloud_cover
        ):
            found.append(_absolute_assets(item, path.parent, allowlist))
    return found


def _walk(
    path: Path, allowlist: Allowlist, *, visited: set[Path], collection: str | None
) -> Iterator[tuple[Item, Path, str | None]]:
    if path in visited:
        return
    visited.add(path)
    document = _read_json(path)
    kind = document.get("type")
    if kind == "Feature":
        yield document, path, collection
        return
    if kind == "FeatureCollection":
        for feature in document.get("features", []):
            yield feature, path, collection
        return
    if kind == "Collection":
        collection = document.get("id")
    for link in document.get("links", []):
        if link.get("rel") in _FOLLOW:
            child = _local_target(link["href"], path.parent, allowlist)
            yield from _walk(child, allowlist, visited=visited, collection=collection)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, json.JSONDecodeError) as err:
        raise InvalidInputError(
            f"static STAC catalogue file {str(path)!r} could not be read as JSON ({err}); "
            "check the catalogue path and that the file is valid STAC JSON"
        ) from err
    if not isinstance(document, dict):
        raise InvalidInputError(f"static STAC file {str(path)!r} is not a JSON object")
    return document


def _local_target(href: str, base: Path, allowlist: Allowlist) -> Path:
    if urlsplit(href).scheme not in ("", "file") or href.startswith("/vsi"):
        raise InvalidInputError(
            f"static catalogue link {href!r} (in {str(base)!r}) is not a local file; a local "
            "catalogue must be self-contained (use a STAC API URL for remote catalogues)"
        )
    resolved = _resolve(href, base)
    return Path(allowlist.check_asset(str(resolved), catalog_is_local=True))


def _resolve(href: str, base: Path) -> Path:
    path = Path(urlsplit(href).path) if href.startswith("file:") else Path(href)
    return path if path.is_absolute() else base / path


def _absolute_assets(item: Item, base: Path, allowlist: Allowlist) -> Item:
    """Copy of ``item`` with local asset hrefs absolute and checked; remote ones are checked
    when read (:func:`eo.stac.load_dn`), as items list assets that are never read."""
    item = copy.deepcopy(item)
    for asset in item.get("assets", {}).values():
        href = str(asset["href"])
        if href.startswith("/vsicurl/") or urlsplit(href).scheme not in ("", "file"):
            continue
        if not href.startswith("/vsi"):
            href = str(_resolve(href, base))
        asset["href"] = allowlist.check_asset(href, catalog_is_local=True)
    return item
