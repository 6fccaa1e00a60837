"""STAC search and loading: the public entry points of the STAC source.

``search_items`` finds item dicts in a STAC API (pystac-client with retries and timeouts) or in a
static catalogue on disk; ``dedupe_items`` keeps the newest processing per tile and solar day;
``load_dn`` stacks the items' DN lazily on the output grid and ``mosaic_by_solar_day`` merges the
tiles of one solar day (DESIGN section 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError, SourceUnavailableError
from core.urls import redact_text, redact_url
from eo.allowlist import Allowlist
from eo.collections import CollectionSpec, collection_spec
from eo.http import HttpPolicy, make_stac_api_io, safe_cause
from eo.stac_items import (
    Item,
    dedupe_items,
    group_by_solar_day,
    matches,
    solar_day,
)
from eo.stac_load import items_by_solar_day, load_dn, mosaic_by_solar_day
from eo.stac_static import search_static

__all__ = [
    "StacSource",
    "dedupe_items",
    "group_by_solar_day",
    "items_by_solar_day",
    "load_dn",
    "mosaic_by_solar_day",
    "search_items",
    "solar_day",
]


@dataclass(frozen=True)
class StacSource:
    """One STAC source of a profile.

    Attributes
    ----------
    catalog : str
        https URL of a STAC API, or the path of a static ``catalog.json`` on disk.
    provider : str
        A provider of :data:`eo.collections.COLLECTIONS` (``"earth-search"``,
        ``"planetary-computer"``).
    collection : str
        Collection id as the provider names it (``"sentinel-2-c1-l2a"``); the pair decides asset
        keys and the DN -> reflectance rule downstream (:attr:`spec`).
    allowlist : Allowlist
        Hosts and local directories the catalogue and its assets may use.
    max_cloud_cover : float
        Loose scene filter on ``eo:cloud_cover``, percent (clouds are judged per pixel later).
    timeout_s : float
        Timeout of every HTTP request, seconds.
    retries : int
        Retries of a failed request (429, 5xx, connection and read errors).
    backoff_factor_s : float
        Exponential backoff base, seconds.
    retry_after_max_s : float
        Cap of a server's ``Retry-After``, seconds.
    sign_endpoint : str, optional
        SAS API whose tokens every asset href of this source needs (Planetary Computer); the items
        found are marked (:func:`eo.signing.mark_items`) and signed just before each read.
    sign_key_env : str, optional
        Environment variable holding a subscription key for the sign endpoint (name only).
    """

    catalog: str
    provider: str
    collection: str
    allowlist: Allowlist = field(default_factory=lambda: Allowlist(frozenset()))
    max_cloud_cover: float = 80.0
    timeout_s: float = 30.0
    retries: int = 5
    backoff_factor_s: float = 0.5
    retry_after_max_s: float = 60.0
    sign_endpoint: str | None = None
    sign_key_env: str | None = None

    def __post_init__(self) -> None:
        collection_spec(self.provider, self.collection)  # unknown pair: InvalidInputError
        if not 0.0 <= self.max_cloud_cover <= 100.0:
            raise InvalidInputError(
                f"max_cloud_cover {self.max_cloud_cover} is not a percentage in [0, 100]"
            )

    @property
    def spec(self) -> CollectionSpec:
        """The provider/collection table entry of this source (assets, hosts, DN rule)."""
        return collection_spec(self.provider, self.collection)

    @property
    def is_local(self) -> bool:
        """True when ``catalog`` is a static catalogue on disk (no URL scheme, or ``file:``)."""
        scheme = self.catalog.split("://", 1)[0].lower() if "://" in self.catalog else ""
        return scheme in ("", "file")

    @property
    def http_policy(self) -> HttpPolicy:
        """Timeouts and retries of this source's HTTP calls."""
        return HttpPolicy(
            timeout_s=self.timeout_s,
            retries=self.retries,
            backoff_factor_s=self.backoff_factor_s,
            retry_after_max_s=self.retry_after_max_s,
        )


def search_items(
    source: StacSource,
    *,
    bbox_wgs84: tuple[float, float, float, float],
    start: date,
    end: date,
) -> list[Item]:
    """Item dicts of ``source.collection`` over ``bbox_wgs84`` taken on UTC days ``start..end``.

    The cloud filter (``eo:cloud_cover <= source.max_cloud_cover``) is sent to APIs that declare
    the filter or query extension and always re-applied here, as are collection, bbox and dates
    (some servers ignore property filters). Local asset hrefs of a static catalogue are resolved
    and checked here; every href actually read is checked by :func:`load_dn` (items carry assets
    that are never read, e.g. Earth Search's ``s3://`` JPEG 2000 copies). No matching item is a
    result: ``[]``.

    Parameters
    ----------
    source : StacSource
        Where to search.
    bbox_wgs84 : tuple of float
        (west, south, east, north), degrees.
    start, end : date
        First and last UTC day, inclusive.

    Raises
    ------
    InvalidInputError
        ``end`` before ``start`` or a malformed bbox.
    AllowlistError
        The catalogue or an asset href is off the allowlist.
    SourceUnavailableError
        The API stayed unreachable (or kept failing) after the retries.
    """
    _check_query(bbox_wgs84, start, end)
    root = source.allowlist.check_catalog(source.catalog)
    if source.is_local:
        return search_static(
            Path(root),
            allowlist=source.allowlist,
            collection=source.collection,
            bbox_wgs84=bbox_wgs84,
            start=start,
            end=end,
            max_cloud_cover=source.max_cloud_cover,
        )
    items = _search_api(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    kept = [
        item
        for item in items
        if item.get("collection", source.collection) == source.collection
        and matches(
            item,
            bbox_wgs84=bbox_wgs84,
            start=start,
            end=end,
            max_cloud_cover=source.max_cloud_cover,
        )
    ]
    if source.sign_endpoint:
        from eo.signing import mark_items

        return mark_items(kept, source.sign_endpoint, source.sign_key_env)
    return kept


def _check_query(bbox: tuple[float, float, float, float], start: date, end: date) -> None:
    if end < start:
        raise InvalidInputError(
            f"search period ends ({end}) before it starts ({start}); swap --start and --end"
        )
    if len(bbox) != 4 or not (bbox[0] <= bbox[2] and bbox[1] <= bbox[3]):
        raise InvalidInputError(
            f"bbox {bbox!r} is not (west, south, east, north) in degrees with west <= east "
            "and south <= north"
        )


def _search_api(
    source: StacSource, *, bbox_wgs84: tuple[float, float, float, float], start: date, end: date
) -> list[Item]:
    from pystac_client import Client
    from pystac_client.exceptions import APIError

    try:
        client = Client.open(source.catalog, stac_io=make_stac_api_io(source.http_policy))
        search = client.search(
            collections=[source.collection],
            bbox=list(bbox_wgs84),
            datetime=f"{start.isoformat()}/{end.isoformat()}",
            **_cloud_filter_args(client, source.max_cloud_cover),
        )
        return list(search.items_as_dicts())
    except (APIError, OSError) as err:
        status = getattr(err, "status_code", None)
        why = f"HTTP {status}" if status else redact_text(str(err))[:300]
        raise SourceUnavailableError(
            f"STAC API {redact_url(source.catalog)!r} did not answer the search for "
            f"{source.collection!r} after {source.retries} retries ({why}); the service may be "
            "down or rate-limiting: run again later or raise sources.retries/timeout_s"
        ) from safe_cause(err)


def _cloud_filter_args(client: Any, max_cloud_cover: float) -> dict[str, Any]:
    """Server-side cloud filter for APIs declaring CQL2 filter or query (else nothing)."""
    from pystac_client.conformance import ConformanceClasses

    if client.conforms_to(ConformanceClasses.FILTER):
        return {
            "filter": {"op": "<=", "args": [{"property": "eo:cloud_cover"}, max_cloud_cover]},
            "filter_lang": "cql2-json",
        }
    if client.conforms_to(ConformanceClasses.QUERY):
        return {"query": {"eo:cloud_cover": {"lte": max_cloud_cover}}}
    return {}
