"""Local copies of a profile's remote vector layers (WFS), for runs without the network.

``geospace layers fetch --profile P`` calls :func:`fetch_profile_layers`: every layer whose path is a
URL (Vienna's open-data WFS: ``PARKANLAGEOGD``, ``BEZIRKSGRENZEOGD``, ``UBAHNOGD``) is downloaded
over the profile's HTTP policy (timeout, retries on 429/5xx) and allowlist, checked exactly as a run
reads it (:func:`eo.layers.read_layer`'s rules: id and name fields, valid geometries, a CRS that fits
the coordinates), and written atomically as a GeoPackage in the CRS the service answered in
(EPSG:31256 when the WFS is asked for its native CRS, EPSG:4326 with ``srsName=EPSG:4326``), under
``OUT/layers/<profile>/``, with ``sources.json`` (redacted URL, fields, count, CRS, time, licence).
Point ``layers.*.path`` of a copied profile at these files to run offline.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd

from core.errors import DataReadError, InvalidInputError, SourceUnavailableError
from core.profile import CityProfile, LayerConfig
from core.urls import redact_url
from eo.allowlist import Allowlist
from eo.http import HttpPolicy, make_session
from eo.layers import _checked

LAYER_NAMES = ("parks", "districts", "corridors")
_WFS_EXCEPTION = re.compile(rb"<(\w+:)?(ExceptionReport|ServiceExceptionReport)\b")
_EXCEPTION_TEXT = re.compile(rb"<(?:\w+:)?(?:ExceptionText|ServiceException)[^>]*>(.*?)</", re.S)


@dataclass(frozen=True)
class CachedLayer:
    """One layer written by :func:`fetch_layer`."""

    layer: str
    path: str
    source: str
    features: int
    crs: str
    id_field: str
    name_field: str | None
    fetched_at: str


def _download(url: str, *, layer: str, allowlist: Allowlist, policy: HttpPolicy) -> bytes:
    import requests

    allowlist.check_catalog(url)
    shown = redact_url(url)
    try:
        response = make_session(policy).get(url, timeout=policy.timeout_s)
        body = response.content
    except requests.exceptions.ChunkedEncodingError:
        raise DataReadError(
            f"layer {layer!r}: the answer of {shown} was cut off; run `geospace layers fetch` again"
        ) from None
    except requests.RequestException as err:
        raise SourceUnavailableError(
            f"layer {layer!r}: {shown} unreachable after {policy.retries} retries "
            f"({type(err).__name__}); no network? run `geospace layers fetch` when online"
        ) from None
    if response.status_code != 200:
        kind = SourceUnavailableError if response.status_code >= 429 else InvalidInputError
        raise kind(
            f"layer {layer!r}: {shown} answered HTTP {response.status_code}; check "
            f"layers.{layer}.path (typeName, service URL) or run again later"
        )
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) != len(body):
        raise DataReadError(
            f"layer {layer!r}: the answer of {shown} was cut off ({len(body)} of {length} bytes); "
            "run `geospace layers fetch` again"
        )
    if _WFS_EXCEPTION.search(body[:2000]):
        found = _EXCEPTION_TEXT.search(body)
        reason = found.group(1).decode("utf-8", "replace").strip()[:200] if found else "no text"
        raise InvalidInputError(
            f"layer {layer!r}: the WFS at {shown} refused the request ({reason}); check the "
            f"typeName and srsName in layers.{layer}.path"
        )
    return body


def fetch_layer(
    url: str,
    config: LayerConfig,
    *,
    layer: str,
    dest_dir: Path,
    check_crs: str,
    allowlist: Allowlist,
    policy: HttpPolicy,
) -> CachedLayer:
    """Download ``url``, check it as a run would (in ``check_crs``) and write ``dest_dir/<layer>.gpkg``."""
    body = _download(url, layer=layer, allowlist=allowlist, policy=policy)
    try:
        frame = gpd.read_file(io.BytesIO(body))
    except Exception as err:  # pyogrio/GDAL errors have no common base
        raise DataReadError(
            f"layer {layer!r}: the answer of {redact_url(url)} is not a vector layer "
            f"({type(err).__name__}); ask the WFS for outputFormat=json"
        ) from None
    _checked(
        frame, id_field=config.id_field, name_field=config.name_field, crs=check_crs, layer=layer
    )
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"{layer}.gpkg"
    tmp = dest_dir / f".{layer}.{os.getpid()}.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    frame.to_file(tmp, driver="GPKG", layer=layer)
    os.replace(tmp, path)
    return CachedLayer(
        layer=layer,
        path=str(path),
        source=redact_url(url),
        features=len(frame),
        crs=str(frame.crs.to_string()),
        id_field=config.id_field,
        name_field=config.name_field,
        fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def fetch_profile_layers(
    profile: CityProfile,
    out_dir: Path,
    *,
    allowlist: Allowlist | None = None,
    policy: HttpPolicy | None = None,
) -> list[CachedLayer]:
    """Cache every URL layer of ``profile`` under ``out_dir/layers/<profile.name>/``.

    Layers with a local path are left alone. ``sources.json`` beside the files records what was
    fetched (URLs redacted). Raises the first layer's error (nothing half-written: each file is
    renamed into place only when complete and checked).
    """
    allowlist = allowlist or Allowlist(
        hosts=frozenset(profile.allowlist.hosts), local_dirs=profile.local_dirs()
    )
    policy = policy or HttpPolicy(
        timeout_s=profile.http.timeout,
        retries=profile.http.retries,
        retry_after_max_s=profile.http.backoff_max,
    )
    dest = out_dir / "layers" / profile.name
    cached: list[CachedLayer] = []
    for name in LAYER_NAMES:
        config = getattr(profile.layers, name)
        if config is None or "://" not in config.path:
            continue
        cached.append(
            fetch_layer(
                config.path,
                config,
                layer=name,
                dest_dir=dest,
                check_crs=profile.grid.crs,
                allowlist=allowlist,
                policy=policy,
            )
        )
    if cached:
        record: dict[str, Any] = {
            "profile": profile.name,
            "layers": [asdict(c) for c in cached],
            "attribution": "Datenquelle: Stadt Wien - data.wien.gv.at (CC BY 4.0)"
            if any("data.wien.gv.at" in c.source for c in cached)
            else "",
        }
        tmp = dest / ".sources.json.tmp"
        tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, dest / "sources.json")
    return cached
