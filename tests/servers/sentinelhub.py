"""A local Sentinel Hub / Copernicus Data Space: OAuth token, Catalog, Process and Statistical APIs.

The server checks requests the way the service does (bearer token, evalscript, CRS as an OGC URL,
bbox, size, time range, data type, ``processing.harmonizeValues``) and answers in the service's
shapes: a GeoTIFF for ``/api/v1/process``, the Statistical API's ``{"data": [{"interval", "outputs":
{"ndvi": {"bands": {"B0": {"stats": ...}}}}}], "status": "OK"}`` JSON, STAC FeatureCollections with
``context.next`` paging for the catalog, and OAuth errors as ``{"error": "invalid_client"}``.

Pixels come from COG files per product and band id (``B02``...``SCL``), resampled with nearest
neighbour onto the requested grid and mosaicked per pixel over the products of the time range
(``leastRecent`` or ``mostRecent``: the first product with data wins, all bands together, as the
service's ``dataMask``). ``harmonizeValues: true`` subtracts the offset of baseline >= 04.00 and
clamps at 0, as the service documents; the evalscripts of ``eo/evalscripts`` are interpreted by
their declared input bands and ``var`` constants (no JavaScript engine).
"""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.features import geometry_mask
from rasterio.io import MemoryFile
from rasterio.vrt import WarpedVRT
from shapely.geometry import shape

from tests.servers.http_base import FaultyHandler, ServerWithPlan

CRS_URL = re.compile(r"^http://www\.opengis\.net/def/crs/EPSG/0/(\d+)$")


@dataclass
class Product:
    """One Sentinel-2 L2A product: id (with ``_Nxxyy_``), acquisition time, band files."""

    id: str
    when: datetime
    files: dict[str, Path]
    bbox_wgs84: list[float]
    cloud: float = 10.0

    @property
    def offset(self) -> int:
        match = re.search(r"_N(\d{2})(\d{2})_", self.id)
        assert match is not None
        return 1000 if (int(match.group(1)), int(match.group(2))) >= (4, 0) else 0

    def feature(self) -> dict[str, Any]:
        w, s, e, n = self.bbox_wgs84
        return {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": self.id,
            "bbox": self.bbox_wgs84,
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
            },
            "properties": {
                "datetime": self.when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "platform": "sentinel-2a",
                "instruments": ["msi"],
                "constellation": "sentinel-2",
                "eo:cloud_cover": self.cloud,
                "proj:epsg": 32633,
            },
            "assets": {},
            "links": [],
        }


@dataclass
class ShState:
    client_id: str
    client_secret: str
    products: list[Product]
    token_lifetime_s: int = 300
    page_size: int = 2
    tokens: set[str] = field(default_factory=set)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    token_requests: int = 0
    revoke_next: int = 0  # answer this many authorised requests with 401 (token revoked)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def render(
    products: list[Product],
    bands: list[str],
    epsg: int,
    transform: Affine,
    width: int,
    height: int,
    harmonize: bool,
) -> np.ndarray:
    """Mosaic of ``bands`` (uint16, 0 = no data) of ``products`` in order on the given grid."""
    out = np.zeros((len(bands), height, width), np.uint16)
    filled = np.zeros((height, width), bool)
    for product in products:
        layers = []
        for band in bands:
            with (
                rasterio.open(product.files[band]) as src,
                WarpedVRT(
                    src,
                    crs=f"EPSG:{epsg}",
                    transform=transform,
                    width=width,
                    height=height,
                    resampling=Resampling.nearest,
                    nodata=0,
                ) as vrt,
            ):
                layers.append(vrt.read(1).astype(np.uint16))
        stack = np.stack(layers)
        has_data = (stack != 0).all(axis=0) & ~filled
        if harmonize and product.offset:
            for index, band in enumerate(bands):
                if band != "SCL":
                    stack[index] = np.where(
                        stack[index] > product.offset, stack[index] - product.offset, 1
                    )
        out[:, has_data] = stack[:, has_data]
        filled |= has_data
    return out


class ShHandler(FaultyHandler):
    def serve(self, method: str, *, truncate: bool) -> int:
        state: ShState = self.server.settings["state"]
        raw = self._drain_body(method)
        path = self.path.split("?", 1)[0]
        if method != "POST":
            return self._json(405, {"error": {"status": 405, "message": "POST only"}}, truncate)
        if path == "/oauth/token":
            return self._token(state, raw, truncate)
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        with state.lock:
            known = token in state.tokens
            if known and state.revoke_next > 0:
                state.revoke_next -= 1
                known = False
        if not known:
            return self._json(
                401,
                {
                    "error": {
                        "status": 401,
                        "reason": "Unauthorized",
                        "message": "You are not authorized! Please provide a valid access "
                        "token within the header [Authorization: Bearer <accessToken>] "
                        "of your request.",
                        "code": "COMMON_UNAUTHORIZED",
                    }
                },
                truncate,
            )
        try:
            body = json.loads(raw)
        except ValueError:
            return self._bad("request body is not JSON", truncate)
        with state.lock:
            state.requests.append((path, body))
        if path == "/api/v1/catalog/1.0.0/search":
            return self._catalog(state, body, truncate)
        if path == "/api/v1/process":
            return self._process(state, body, truncate)
        if path == "/api/v1/statistics":
            return self._statistics(state, body, truncate)
        return self._json(404, {"error": {"status": 404, "message": "not found"}}, truncate)

    # -- answers -----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, kind: str, truncate: bool) -> int:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body[: len(body) // 3] if truncate else body)
        return status

    def _json(self, status: int, data: Any, truncate: bool) -> int:
        return self._send(status, json.dumps(data).encode(), "application/json", truncate)

    def _bad(self, message: str, truncate: bool) -> int:
        return self._json(
            400,
            {
                "error": {
                    "status": 400,
                    "reason": "Bad Request",
                    "message": message,
                    "code": "COMMON_BAD_PAYLOAD",
                }
            },
            truncate,
        )

    def _token(self, state: ShState, raw: bytes, truncate: bool) -> int:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        with state.lock:
            state.token_requests += 1
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != state.client_id
            or form.get("client_secret") != state.client_secret
        ):
            return self._json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Invalid client or Invalid client credentials",
                },
                truncate,
            )
        token = secrets.token_urlsafe(32)
        with state.lock:
            state.tokens.add(token)
        return self._json(
            200,
            {
                "access_token": token,
                "expires_in": state.token_lifetime_s,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "email profile",
            },
            truncate,
        )

    def _catalog(self, state: ShState, body: dict[str, Any], truncate: bool) -> int:
        if body.get("collections") != ["sentinel-2-l2a"] or len(body.get("bbox", [])) != 4:
            return self._bad("collections and bbox are required", truncate)
        first, last = (_parse_time(t) for t in str(body["datetime"]).split("/"))
        found = [p for p in state.products if first <= p.when <= last]
        found.sort(key=lambda p: (p.when, p.id))
        start = int(body.get("next", 0))
        limit = min(int(body.get("limit", 10)), state.page_size)
        page = found[start : start + limit]
        context: dict[str, Any] = {"limit": limit, "returned": len(page)}
        if start + limit < len(found):
            context["next"] = start + limit
        return self._json(
            200,
            {
                "type": "FeatureCollection",
                "features": [p.feature() for p in page],
                "links": [],
                "context": context,
            },
            truncate,
        )

    def _inputs(self, body: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
        """Common checks of Process and Statistical requests: (error, parsed)."""
        script = body.get("evalscript") or body.get("aggregation", {}).get("evalscript") or ""
        if not script.startswith("//VERSION=3"):
            return "evalscript missing or not version 3", {}
        bounds = body.get("input", {}).get("bounds", {})
        crs = CRS_URL.match(str(bounds.get("properties", {}).get("crs", "")))
        if crs is None:
            return "bounds.properties.crs must be an OGC EPSG URL", {}
        data = body["input"].get("data") or [{}]
        if data[0].get("type") != "sentinel-2-l2a":
            return f"unknown data type {data[0].get('type')!r}", {}
        harmonize = data[0].get("processing", {}).get("harmonizeValues", True)
        if not isinstance(harmonize, bool):
            return "processing.harmonizeValues must be a boolean", {}
        order = data[0].get("dataFilter", {}).get("mosaickingOrder", "mostRecent")
        match = re.search(r"bands:\s*\[([^\]]*)\]", script)
        bands = [b.strip().strip("'\"") for b in (match.group(1) if match else "").split(",")]
        if 'units: "DN"' not in script:
            return "evalscript must request units DN", {}
        return None, {
            "script": script,
            "epsg": int(crs.group(1)),
            "bounds": bounds,
            "harmonize": harmonize,
            "order": order,
            "bands": [b for b in bands if b and b != "dataMask"],
            "data": data[0],
        }

    def _products(
        self, state: ShState, first: datetime, last: datetime, order: str
    ) -> list[Product]:
        found = [p for p in state.products if first <= p.when <= last]
        return sorted(found, key=lambda p: (p.when, p.id), reverse=order == "mostRecent")

    def _process(self, state: ShState, body: dict[str, Any], truncate: bool) -> int:
        error, req = self._inputs(body)
        if error:
            return self._bad(error, truncate)
        bbox = req["bounds"].get("bbox")
        output = body.get("output", {})
        width, height = output.get("width"), output.get("height")
        if not (isinstance(bbox, list) and len(bbox) == 4):
            return self._bad("bounds.bbox must be [minx, miny, maxx, maxy]", truncate)
        if not all(isinstance(v, int) and 1 <= v <= 2500 for v in (width, height)):
            return self._bad("output width and height must be 1..2500", truncate)
        fmt = output.get("responses", [{}])[0].get("format", {}).get("type")
        if fmt != "image/tiff":
            return self._bad("responses[0].format.type must be image/tiff", truncate)
        time_range = req["data"].get("dataFilter", {}).get("timeRange", {})
        if "from" not in time_range or "to" not in time_range:
            return self._bad("dataFilter.timeRange from/to required", truncate)
        products = self._products(
            state, _parse_time(time_range["from"]), _parse_time(time_range["to"]), req["order"]
        )
        minx, miny, maxx, maxy = bbox
        transform = Affine((maxx - minx) / width, 0.0, minx, 0.0, -(maxy - miny) / height, maxy)
        data = render(
            products, req["bands"], req["epsg"], transform, width, height, req["harmonize"]
        )
        with MemoryFile() as memfile:
            with memfile.open(
                driver="GTiff",
                width=width,
                height=height,
                count=len(req["bands"]),
                dtype="uint16",
                crs=f"EPSG:{req['epsg']}",
                transform=transform,
            ) as dst:
                dst.write(data)
            tiff = memfile.read()
        return self._send(200, tiff, "image/tiff", truncate)

    def _statistics(self, state: ShState, body: dict[str, Any], truncate: bool) -> int:
        error, req = self._inputs(body)
        if error:
            return self._bad(error, truncate)
        geometry = req["bounds"].get("geometry")
        aggregation = body.get("aggregation", {})
        if geometry is None or aggregation.get("aggregationInterval", {}).get("of") != "P1D":
            return self._bad("a geometry and aggregationInterval P1D are required", truncate)
        res = float(aggregation.get("resx", 0))
        if res <= 0 or float(aggregation.get("resy", 0)) != res:
            return self._bad("resx and resy must be equal and positive", truncate)
        consts = dict(re.findall(r"^var (\w+) = (.*);$", req["script"], re.MULTILINE))
        offset = int(consts["BOA_OFFSET_DN"])
        masked = set(json.loads(consts["MASKED_SCL"]))
        shp = shape(geometry)
        gx0, gy0, gx1, gy1 = shp.bounds
        minx, maxy = math.floor(gx0 / res) * res, math.ceil(gy1 / res) * res
        width = max(1, math.ceil((gx1 - minx) / res))
        height = max(1, math.ceil((maxy - gy0) / res))
        transform = Affine(res, 0.0, minx, 0.0, -res, maxy)
        inside = geometry_mask([geometry], (height, width), transform, invert=True)
        first = _parse_time(aggregation["timeRange"]["from"])
        last = _parse_time(aggregation["timeRange"]["to"])
        out = []
        day = first
        while day < last:
            nxt = day + timedelta(days=1)
            products = self._products(state, day, nxt - timedelta(microseconds=1), req["order"])
            if products:
                dn = render(
                    products, req["bands"], req["epsg"], transform, width, height, req["harmonize"]
                ).astype(np.float64)
                values = dict(zip(req["bands"], dn, strict=True))
                red = (values["B04"] - offset) / 10000
                nir = (values["B08"] - offset) / 10000
                data_mask = (values["B04"] != 0) & (values["B08"] != 0) & (values["SCL"] != 0)
                clear = data_mask & ~np.isin(values["SCL"], list(masked)) & ((nir + red) != 0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ndvi = (nir - red) / (nir + red)
                sample = ndvi[inside & clear]
                count = int(inside.sum())
                stats: dict[str, Any] = {
                    "min": float(sample.min()) if sample.size else "NaN",
                    "max": float(sample.max()) if sample.size else "NaN",
                    "mean": float(sample.mean()) if sample.size else "NaN",
                    "stDev": float(sample.std(ddof=1)) if sample.size > 1 else "NaN",
                    "sampleCount": count,
                    "noDataCount": count - int(sample.size),
                }
                out.append(
                    {
                        "interval": {
                            "from": day.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            "to": nxt.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        },
                        "outputs": {"ndvi": {"bands": {"B0": {"stats": stats}}}},
                    }
                )
            day = nxt
        return self._json(200, {"data": out, "status": "OK"}, truncate)


def start_sentinelhub(state: ShState) -> ServerWithPlan:
    """Start the local Sentinel Hub on 127.0.0.1 (free port); token URL ``/oauth/token``."""
    return ServerWithPlan(ShHandler, state=state).start()


def utc(year: int, month: int, day: int, hour: int = 10, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, 0, second, tzinfo=UTC)
