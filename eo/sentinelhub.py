"""Sentinel Hub / Copernicus Data Space: Process API scenes and Statistical API zone statistics.

The same scenes as the STAC path (:func:`eo.scenes.load_period`): one time step per solar day on
the profile grid, float32 reflectance bands under the canonical aliases and ``scl`` as uint8 codes,
so the products do not care which source fed them. How (DESIGN section 3):

- Acquisitions come from the Catalog API (``/api/v1/catalog/1.0.0/search``, STAC items whose ids
  are the product names, e.g. ``S2A_MSIL2A_20220810T100041_N0400_R122_T33UXP_...``): they give the
  solar days, the cloud filter and each product's processing baseline.
- One Process API request (``/api/v1/process``) per solar day, on the grid's CRS, bounds and size,
  with the evalscript ``eo/evalscripts/s2l2a_bands_dn.js``: digital numbers (``units: "DN"``,
  UINT16 GeoTIFF), ``"harmonizeValues": false``. With ``true`` the service subtracts the BOA offset
  and clamps negative reflectance to 0, which the STAC path keeps; with ``false`` the DN still
  carry the offset and geospace scales them by the products' baseline with the rule of
  :mod:`eo.sentinel2` (``(DN - 1000) / 10000`` from 04.00): the cube equals the STAC path's.
  ``mosaickingOrder`` ``leastRecent`` takes the day's earlier tile first, as the STAC path's mosaic
  does.
- The Statistical API (``/api/v1/statistics``) gives per-zone (park, district) NDVI statistics
  per acquisition day without downloading pixels (``eo/evalscripts/s2l2a_ndvi_statistics.js``).
  It counts whole pixels whose centre is inside the zone, while the STAC path weights partial
  pixels by coverage (exactextract): for small parks (a few dozen pixels) prefer the STAC path.

OAuth client credentials come from the environment variables the profile names (never from a
file; never logged, saved or put in an error). Every request has a timeout; 429 waits the
server's ``Retry-After`` (capped), 5xx, timeouts and truncated bodies back off and retry; a 401
refreshes the token once and then fails with one message; nothing is ever turned into nodata.
Each request logs its estimated processing units (PU).
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from core.errors import DataReadError, InvalidInputError, SourceUnavailableError
from core.urls import redact_text, redact_url
from eo.grid import OutputGrid
from eo.harmonise import HarmonisationReport, ItemHarmonisation
from eo.http import TimeoutSession
from eo.scenes import VEGETATION_BANDS, SceneStack
from eo.sentinel2 import SCL_REMOVED_STRICT, decide_offset, dn_to_reflectance
from eo.stac import StacSource
from eo.stac_items import solar_day

logger = logging.getLogger(__name__)

PROVIDER = "sentinelhub"
COLLECTION = "sentinel-2-l2a"
EVALSCRIPTS = Path(__file__).parent / "evalscripts"
BANDS_EVALSCRIPT = "s2l2a_bands_dn.js"
STATS_EVALSCRIPT = "s2l2a_ndvi_statistics.js"
CDSE_BASE_URL = "https://sh.dataspace.copernicus.eu"
CDSE_TOKEN_URL = (
    "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
)
SENTINEL_HUB_BASE_URL = "https://services.sentinel-hub.com"
SENTINEL_HUB_TOKEN_URL = (
    "https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token"
)
_BASELINE_IN_ID = re.compile(r"_N(\d{2})(\d{2})_")
_EVALSCRIPT_BANDS = re.compile(r"bands:\s*\[([^\]]*)\]")
_MAX_PX = 2500  # Process API output limit per side


class CredentialsError(InvalidInputError):
    """The OAuth client was refused (bad, revoked or missing credentials): exit 2, no retry."""


@dataclass(frozen=True)
class SentinelHubSource(StacSource):
    """A Sentinel Hub / CDSE source: ``catalog`` is the service base URL.

    Attributes (beyond :class:`eo.stac.StacSource`)
    ----------
    token_url : str
        OAuth 2 client-credentials token URL.
    client_id_env, client_secret_env : str
        Names of the environment variables holding the client id and secret.
    mosaicking_order : str
        ``leastRecent`` (as the STAC path's mosaic) or ``mostRecent``.
    """

    token_url: str = CDSE_TOKEN_URL
    client_id_env: str = "SH_CLIENT_ID"
    client_secret_env: str = "SH_CLIENT_SECRET"
    mosaicking_order: str = "leastRecent"

    @property
    def base_url(self) -> str:
        """The service root without a trailing slash."""
        return self.catalog.rstrip("/")


@dataclass(frozen=True)
class Credentials:
    """An OAuth client id and secret (the secret never printed)."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id[:4]}..., client_secret=<redacted>)"

    @classmethod
    def from_env(
        cls, id_env: str, secret_env: str, environ: Mapping[str, str] | None = None
    ) -> Credentials:
        """Read the client from ``environ`` (``os.environ``).

        Raises
        ------
        CredentialsError
            A variable is unset or empty (the message names the variables, never a value).
        """
        env = os.environ if environ is None else environ
        missing = [name for name in (id_env, secret_env) if not env.get(name)]
        if missing:
            raise CredentialsError(
                f"Sentinel Hub credentials missing: set the environment variable(s) "
                f"{', '.join(missing)} to the OAuth client id and secret of your Copernicus Data "
                "Space / Sentinel Hub account (Dashboard > User settings > OAuth clients); "
                "they are read from the environment only"
            )
        return cls(env[id_env], env[secret_env])


def evalscript(name: str, **constants: object) -> str:
    """The evalscript file ``name`` with ``var NAME = ...;`` lines set from ``constants``."""
    text = (EVALSCRIPTS / name).read_text(encoding="utf-8")
    for key, value in constants.items():
        pattern = re.compile(rf"^var {key} = .*;$", re.MULTILINE)
        if not pattern.search(text):
            raise InvalidInputError(f"evalscript {name} has no 'var {key} = ...;' line")
        text = pattern.sub(f"var {key} = {value};", text)
    return text


def evalscript_bands(text: str) -> list[str]:
    """Input bands of an evalscript's ``setup()`` in order, without ``dataMask``."""
    match = _EVALSCRIPT_BANDS.search(text)
    if match is None:
        raise InvalidInputError("evalscript declares no input bands in setup()")
    names = [b.strip().strip("'\"") for b in match.group(1).split(",")]
    return [b for b in names if b and b != "dataMask"]


def estimate_processing_units(
    width: int, height: int, n_bands: int, *, n_dates: int = 1, float32: bool = False
) -> float:
    """Sentinel Hub processing units of one request (its published rule, an estimate).

    PU = max(width * height / 512**2, 0.01) * max(bands / 3, 1/3) * dates * (2 for FLOAT32
    output), at least 0.005 per request; ``dataMask`` is not counted as a band.
    """
    area = max(width * height / 512.0**2, 0.01)
    bands = max(n_bands / 3.0, 1.0 / 3.0)
    return max(area * bands * max(n_dates, 1) * (2.0 if float32 else 1.0), 0.005)


def product_baseline(item: Mapping[str, Any]) -> str:
    """Processing baseline (``"05.10"``) of a catalog item, from its properties or product id."""
    props = item.get("properties", {})
    value = props.get("s2:processing_baseline") or props.get("processing:version")
    if value:
        return str(value)
    match = _BASELINE_IN_ID.search(str(item.get("id", "")))
    if match is None:
        raise DataReadError(
            f"catalog item {item.get('id')!r} states no processing baseline (no "
            "s2:processing_baseline and no _Nxxyy_ in its id); cannot scale its DN"
        )
    return f"{match.group(1)}.{match.group(2)}"


class SentinelHubClient:
    """Authenticated POSTs to one Sentinel Hub deployment with bounded, honest retries.

    Parameters
    ----------
    source : SentinelHubSource
        Base URL, token URL, timeout, retries, backoff and the ``Retry-After`` cap.
    credentials : Credentials
        The OAuth client (see :meth:`Credentials.from_env`).
    sleep : callable
        Waits between attempts (``time.sleep``; tests record the waits instead).
    """

    def __init__(
        self,
        source: SentinelHubSource,
        credentials: Credentials,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._credentials = credentials
        self._sleep = sleep
        self._clock = clock
        self._session = TimeoutSession(source.timeout_s)
        self._lock = threading.Lock()
        self._token: tuple[str, float] | None = None
        self.processing_units = 0.0
        self.requests = 0

    def __repr__(self) -> str:
        return f"SentinelHubClient({redact_url(self.source.base_url)!r})"

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        if retry_after is not None:
            try:
                wait = float(retry_after)
            except ValueError:
                wait = self.source.backoff_factor_s * 2**attempt
            wait = min(max(wait, 0.0), self.source.retry_after_max_s)
        else:
            wait = min(self.source.backoff_factor_s * 2**attempt, 30.0)
        self._sleep(wait)

    def access_token(self) -> str:
        """A bearer token, fetched with the client credentials and reused until near expiry."""
        with self._lock:
            if self._token is not None and self._clock() < self._token[1]:
                return self._token[0]
            token, lifetime = self._fetch_token()
            self._token = (token, self._clock() + max(lifetime - 60.0, lifetime / 2.0))
            return token

    def drop_token(self) -> None:
        """Forget the cached token (after a 401 on a request)."""
        with self._lock:
            self._token = None

    def _fetch_token(self) -> tuple[str, float]:
        import requests

        url = self.source.token_url
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
        }
        why = "no answer"
        for attempt in range(self.source.retries + 1):
            try:
                response = self._session.post(url, data=form, timeout=self.source.timeout_s)
                body = response.content
            except requests.RequestException as err:
                why = type(err).__name__
                self._wait(attempt, None)
                continue
            if response.status_code in (400, 401, 403):
                raise CredentialsError(
                    f"Sentinel Hub token URL {redact_url(url)!r} refused the client credentials "
                    f"(HTTP {response.status_code}{_oauth_error(body)}); check that the "
                    f"environment variables {self.source.client_id_env} and "
                    f"{self.source.client_secret_env} hold a valid OAuth client of this "
                    "deployment (Copernicus Data Space and Sentinel Hub clients differ)"
                )
            if response.status_code == 429 or response.status_code >= 500:
                why = f"HTTP {response.status_code}"
                self._wait(attempt, response.headers.get("Retry-After"))
                continue
            try:
                data = response.json()
                return str(data["access_token"]), float(data.get("expires_in", 300))
            except (ValueError, KeyError, TypeError):
                why = "a truncated or non-JSON token answer"
                self._wait(attempt, None)
        raise SourceUnavailableError(
            f"Sentinel Hub token URL {redact_url(url)!r} gave no token after "
            f"{self.source.retries} retries ({why}); run again later or raise http.retries"
        )

    def post(self, path: str, payload: Mapping[str, Any], *, what: str, pu: float) -> bytes:
        """POST ``payload`` (JSON) to ``base_url + path``; the full body of a 200 answer.

        Raises
        ------
        CredentialsError
            401 again after a fresh token.
        InvalidInputError
            400/403/404/422: the request or the account is wrong (the service's message quoted).
        SourceUnavailableError
            429/5xx/timeouts/connection errors still failing after the retries.
        DataReadError
            Truncated answers still truncated after the retries.
        """
        import requests

        url = f"{self.source.base_url}{path}"
        logger.info("Sentinel Hub %s (%s): estimated %.3f processing units", what, path, pu)
        refreshed = False
        why = "no answer"
        truncated = False
        # attempts = 1 + retries; the one token refresh after a 401 is not counted as a retry
        for attempt in range(self.source.retries + 2):
            if attempt > self.source.retries + int(refreshed):
                break
            headers = {"Authorization": f"Bearer {self.access_token()}"}
            self.requests += 1
            try:
                response = self._session.post(
                    url, json=payload, headers=headers, timeout=self.source.timeout_s
                )
                body = response.content
            except requests.exceptions.ChunkedEncodingError:
                truncated, why = True, "truncated answer"
                self._wait(attempt, None)
                continue
            except requests.RequestException as err:
                truncated, why = False, type(err).__name__
                self._wait(attempt, None)
                continue
            status = response.status_code
            if status == 200:
                expected = response.headers.get("Content-Length")
                if expected is not None and expected.isdigit() and int(expected) != len(body):
                    truncated, why = True, "truncated answer"
                    self._wait(attempt, None)
                    continue
                self.processing_units += pu
                return body
            if status == 401 and not refreshed:
                refreshed = True
                self.drop_token()
                continue
            if status == 401:
                raise CredentialsError(
                    f"Sentinel Hub {what} at {redact_url(url)!r} refused a fresh token (HTTP "
                    f"401); the OAuth client in {self.source.client_id_env}/"
                    f"{self.source.client_secret_env} has no access to this deployment"
                )
            if status == 429 or status >= 500:
                truncated, why = False, f"HTTP {status}"
                self._wait(attempt, response.headers.get("Retry-After"))
                continue
            raise InvalidInputError(
                f"Sentinel Hub {what} at {redact_url(url)!r} was refused (HTTP {status}"
                f"{_service_error(body)}); check the source settings (base URL, collection) "
                "and the account's processing-unit quota"
            )
        error = DataReadError if truncated else SourceUnavailableError
        raise error(
            f"Sentinel Hub {what} at {redact_url(url)!r} failed after {self.source.retries} "
            f"retries ({why}); the service is down, rate-limiting or slow: run again later or "
            "raise http.retries/timeout"
        )


def _oauth_error(body: bytes) -> str:
    try:
        import json

        data = json.loads(body)
        return f": {redact_text(str(data.get('error', '')))[:80]}" if data.get("error") else ""
    except (ValueError, AttributeError):
        return ""


def _service_error(body: bytes) -> str:
    try:
        import json

        data = json.loads(body)
        message = data.get("error", {}).get("message") or data.get("error", {}).get("reason")
        return f": {redact_text(str(message))[:200]}" if message else ""
    except (ValueError, AttributeError):
        return ""


def client_for(
    source: SentinelHubSource, environ: Mapping[str, str] | None = None, **kwargs: Any
) -> SentinelHubClient:
    """A client of ``source`` with credentials from the environment variables it names."""
    credentials = Credentials.from_env(source.client_id_env, source.client_secret_env, environ)
    return SentinelHubClient(source, credentials, **kwargs)


def _data_collection(source: SentinelHubSource) -> Any:
    from sentinelhub import DataCollection

    name = "geospace-" + re.sub(r"[^a-z0-9]+", "-", source.base_url.lower()).strip("-")
    try:
        return DataCollection[name]
    except (KeyError, AttributeError, ValueError):
        return DataCollection.SENTINEL2_L2A.define_from(name, service_url=source.base_url)


def _config(source: SentinelHubSource) -> Any:
    from sentinelhub import SHConfig

    # No credentials here: the payload is built offline, the request is sent by SentinelHubClient.
    return SHConfig(sh_base_url=source.base_url, sh_token_url=source.token_url)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def process_payload(
    source: SentinelHubSource, grid: OutputGrid, start: datetime, end: datetime, script: str
) -> dict[str, Any]:
    """The Process API request body for ``grid`` and ``start..end`` (built with ``sentinelhub``)."""
    from sentinelhub import CRS, BBox, MimeType, MosaickingOrder, SentinelHubRequest

    rows, cols = grid.shape
    if rows > _MAX_PX or cols > _MAX_PX:
        raise InvalidInputError(
            f"grid of {cols} x {rows} px exceeds the Process API's {_MAX_PX} px per side; "
            "cut it with grid_tiles() first (load_period does)"
        )
    request = SentinelHubRequest(
        evalscript=script,
        input_data=[
            SentinelHubRequest.input_data(
                data_collection=_data_collection(source),
                time_interval=(_iso(start), _iso(end)),
                mosaicking_order=MosaickingOrder(source.mosaicking_order),
                other_args={"processing": {"harmonizeValues": False}},
            )
        ],
        responses=[SentinelHubRequest.output_response("default", MimeType.TIFF)],
        bbox=BBox(grid.bounds, crs=CRS(grid.epsg)),
        size=(cols, rows),
        config=_config(source),
    )
    payload = request.download_list[0].post_values
    if payload is None:  # pragma: no cover - sentinelhub always builds a POST body here
        raise InvalidInputError("sentinelhub built no request body")
    return payload


def search_catalog(
    client: SentinelHubClient,
    *,
    bbox_wgs84: tuple[float, float, float, float],
    start: date,
    end: date,
) -> list[dict[str, Any]]:
    """Catalog items of ``start..end`` (UTC days) over ``bbox_wgs84`` with cloud cover <= the cap."""
    import json

    source = client.source
    items: list[dict[str, Any]] = []
    body: dict[str, Any] = {
        "collections": [COLLECTION],
        "bbox": list(bbox_wgs84),
        "datetime": f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T23:59:59Z",
        "limit": 100,
    }
    for _ in range(1000):
        raw = client.post("/api/v1/catalog/1.0.0/search", body, what="catalog search", pu=0.0)
        try:
            page = json.loads(raw)
            features = list(page["features"])
        except (ValueError, KeyError, TypeError):
            raise DataReadError(
                "Sentinel Hub catalog answered something that is not a STAC FeatureCollection; "
                "check the source's base URL"
            ) from None
        items += [
            f
            for f in features
            if float(f.get("properties", {}).get("eo:cloud_cover", 0.0)) <= source.max_cloud_cover
        ]
        following = (page.get("context") or {}).get("next")
        if following is None:
            break
        body = {**body, "next": following}
    return sorted(items, key=lambda f: (str(f["properties"]["datetime"]), str(f["id"])))


def _read_tiff(raw: bytes, grid: OutputGrid, n_bands: int, what: str) -> np.ndarray:
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.io import MemoryFile

    try:
        with MemoryFile(raw) as memfile, memfile.open() as dataset:
            if (dataset.height, dataset.width) != grid.shape or dataset.count != n_bands:
                raise DataReadError(
                    f"Sentinel Hub {what}: got {dataset.count} band(s) of {dataset.width} x "
                    f"{dataset.height} px, asked for {n_bands} of {grid.shape[1]} x "
                    f"{grid.shape[0]}; check the evalscript"
                )
            if dataset.crs is not None and dataset.crs.to_epsg() != grid.epsg:
                raise DataReadError(
                    f"Sentinel Hub {what}: answered in {dataset.crs}, asked for {grid.crs}"
                )
            if not dataset.transform.almost_equals(grid.transform):
                raise DataReadError(
                    f"Sentinel Hub {what}: answered on {tuple(dataset.transform)[:6]}, asked for "
                    f"{tuple(grid.transform)[:6]}"
                )
            data: np.ndarray = dataset.read()
            return data
    except (RasterioError, rasterio.errors.RasterioIOError) as err:
        raise DataReadError(
            f"Sentinel Hub {what}: the answer is not a readable GeoTIFF ({type(err).__name__}); "
            "run again later"
        ) from None


def grid_tiles(grid: OutputGrid, max_px: int) -> list[tuple[slice, slice, OutputGrid]]:
    """``grid`` cut into tiles of at most ``max_px`` a side: (rows, cols, sub-grid), row-major."""
    if not 1 <= max_px <= _MAX_PX:
        raise InvalidInputError(f"max_px {max_px} must be 1..{_MAX_PX} (the Process API limit)")
    rows, cols = grid.shape
    res = grid.resolution
    minx, _, _, maxy = grid.bounds

    def cuts(n: int) -> list[tuple[int, int]]:
        parts = math.ceil(n / max_px)
        edges = [round(i * n / parts) for i in range(parts + 1)]
        return list(itertools.pairwise(edges))

    tiles = []
    for r0, r1 in cuts(rows):
        for c0, c1 in cuts(cols):
            bounds = (minx + c0 * res, maxy - r1 * res, minx + c1 * res, maxy - r0 * res)
            tiles.append((slice(r0, r1), slice(c0, c1), OutputGrid(grid.crs, res, bounds)))
    return tiles


def _fetch_day(
    client: SentinelHubClient, grid: OutputGrid, day: _Day, script: str, n_bands: int, max_px: int
) -> np.ndarray:
    """DN (bands, y, x) of one solar day on ``grid``, one Process API request per tile."""
    first, last = day.window
    out = np.zeros((n_bands, *grid.shape), np.uint16)
    tiles = grid_tiles(grid, max_px)
    for index, (rows, cols, sub) in enumerate(tiles, start=1):
        what = f"process {day.day} tile {index}/{len(tiles)}"
        payload = process_payload(client.source, sub, first, last, script)
        pu = estimate_processing_units(sub.shape[1], sub.shape[0], n_bands)
        raw = client.post("/api/v1/process", payload, what=what, pu=pu)
        out[:, rows, cols] = _read_tiff(raw, sub, n_bands, what)
    return out


@dataclass(frozen=True)
class _Day:
    day: date
    items: tuple[dict[str, Any], ...]

    @property
    def window(self) -> tuple[datetime, datetime]:
        stamps = [
            datetime.fromisoformat(str(i["properties"]["datetime"]).replace("Z", "+00:00"))
            for i in self.items
        ]
        return min(stamps) - timedelta(minutes=1), max(stamps) + timedelta(minutes=1)

    def offset_dn(self) -> tuple[int, dict[str, str]]:
        baselines = {str(i["id"]): product_baseline(i) for i in self.items}
        offsets = {
            decide_offset(PROVIDER, COLLECTION, {"s2:processing_baseline": b}).offset_dn
            for b in baselines.values()
        }
        if len(offsets) != 1:
            raise DataReadError(
                f"products of {self.day} mix processing baselines with and without the BOA "
                f"offset ({baselines}); one Process API mosaic cannot be scaled: drop the day"
            )
        return offsets.pop(), baselines


def _group_days(items: Sequence[dict[str, Any]]) -> list[_Day]:
    days: dict[date, list[dict[str, Any]]] = {}
    for item in items:
        days.setdefault(solar_day(item), []).append(item)
    return [_Day(day, tuple(days[day])) for day in sorted(days)]


def _day_dataset(
    dn: np.ndarray, bands: Sequence[str], offset: int, grid: OutputGrid, day: date
) -> xr.Dataset:
    coords = {
        "time": [np.datetime64(day, "ns")],
        "y": grid.y_centres(),
        "x": grid.x_centres(),
    }
    variables: dict[str, xr.DataArray] = {}
    for alias, layer in zip(bands, dn, strict=True):
        if alias == "scl":
            values = layer.astype(np.uint8)[None]
            attrs = {"units": "1", "long_name": "scene classification (SCL)", "nodata": 0}
        else:
            values = dn_to_reflectance(layer, offset)[None].astype(np.float32)
            attrs = {"units": "1", "long_name": f"surface reflectance ({alias})"}
        variables[alias] = xr.DataArray(values, dims=("time", "y", "x"), coords=coords, attrs=attrs)
    out = xr.Dataset(variables)
    out = out.rio.write_crs(grid.crs)
    out.attrs = {"provider": PROVIDER, "collection": COLLECTION}
    return out


def load_period(
    source: SentinelHubSource,
    grid: OutputGrid,
    *,
    bbox_wgs84: tuple[float, float, float, float],
    start: date,
    end: date,
    client: SentinelHubClient | None = None,
    bands: Sequence[str] = VEGETATION_BANDS,
    max_px: int = 2048,
) -> SceneStack:
    """Scenes of ``start..end`` from the Process API, as :func:`eo.scenes.load_period` gives them.

    One request per solar day and grid tile of at most ``max_px`` pixels a side (the service
    answers up to 2500; the full Vienna grid, 2284 x 2938 px, is two tiles). The pixels are
    fetched now, once (each request costs processing units, so the cube is not a lazy graph that
    would fetch again on every compute): about 140 MB per day for the full Vienna grid. An empty
    period is ``SceneStack(cube=None)``. ``bands`` must be those of the evalscript
    (``blue, red, nir, nir08, swir16, scl``).
    """
    import rioxarray  # noqa: F401  (registers .rio)

    from eo.collections import collection_spec

    client = client or client_for(source)
    spec = collection_spec(PROVIDER, COLLECTION)
    script = evalscript(BANDS_EVALSCRIPT)
    script_keys = evalscript_bands(script)
    if script_keys != spec.keys(tuple(bands)):
        raise InvalidInputError(
            f"evalscript {BANDS_EVALSCRIPT} returns {script_keys}, the loader wants "
            f"{spec.keys(tuple(bands))}; keep them in the same order"
        )
    items = search_catalog(client, bbox_wgs84=bbox_wgs84, start=start, end=end)
    if not items:
        return SceneStack(cube=None)
    cubes, records, baselines = [], [], {}
    for day in _group_days(items):
        offset, day_baselines = day.offset_dn()
        dn = _fetch_day(client, grid, day, script, len(script_keys), max_px)
        cubes.append(_day_dataset(dn, bands, offset, grid, day.day))
        baselines.update(day_baselines)
        records += [
            ItemHarmonisation(
                id=item_id,
                baseline=baseline,
                offset_dn=offset,
                decided_by="metadata",
                verified=False,
                pixel_verdict="not_needed",
                n_reference=0,
            )
            for item_id, baseline in day_baselines.items()
        ]
    logger.info(
        "Sentinel Hub: %d days, %.3f processing units estimated in total",
        len(cubes),
        client.processing_units,
    )
    cube = xr.concat(cubes, dim="time")
    cube.attrs = {"provider": PROVIDER, "collection": COLLECTION}
    return SceneStack(
        cube=cube,
        items=tuple(str(i["id"]) for i in items),
        day_items={d.day: tuple(str(i["id"]) for i in d.items) for d in _group_days(items)},
        baselines=baselines,
        harmonisation=HarmonisationReport(PROVIDER, COLLECTION, tuple(records)),
    )


STAT_COLUMNS = ("zone", "date", "mean", "stdev", "min", "max", "sample_count", "nodata_count")


def _stats_payload(
    source: SentinelHubSource,
    geometry: Any,
    epsg: int,
    start: datetime,
    end: datetime,
    script: str,
    resolution: float,
) -> dict[str, Any]:
    from sentinelhub import CRS, Geometry, MosaickingOrder, SentinelHubStatistical

    request = SentinelHubStatistical(
        aggregation=SentinelHubStatistical.aggregation(
            evalscript=script,
            time_interval=(_iso(start), _iso(end)),
            aggregation_interval="P1D",
            resolution=(resolution, resolution),
        ),
        input_data=[
            SentinelHubStatistical.input_data(
                _data_collection(source),
                mosaicking_order=MosaickingOrder(source.mosaicking_order),
                other_args={"processing": {"harmonizeValues": False}},
            )
        ],
        geometry=Geometry(geometry, CRS(epsg)),
        config=_config(source),
    )
    payload = request.download_list[0].post_values
    if payload is None:  # pragma: no cover - sentinelhub always builds a POST body here
        raise InvalidInputError("sentinelhub built no request body")
    return payload


def _stat_value(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]  # "NaN" strings included
    except (TypeError, ValueError):
        return math.nan


def zone_statistics(
    source: SentinelHubSource,
    zones: Any,
    *,
    start: date,
    end: date,
    bbox_wgs84: tuple[float, float, float, float],
    resolution: float = 10.0,
    masked_scl: Sequence[int] = tuple(sorted(SCL_REMOVED_STRICT)),
    client: SentinelHubClient | None = None,
) -> pd.DataFrame:
    """Per-zone NDVI statistics per acquisition day from the Statistical API (no pixels fetched).

    Parameters
    ----------
    zones : GeoDataFrame
        Columns ``id`` and ``geometry`` in a projected CRS (the output grid's), e.g. parks or
        districts from :func:`eo.layers.read_layer`.
    masked_scl : sequence of int
        SCL classes not counted (default: the strict vegetation mask of :mod:`eo.sentinel2`,
        without its dilation, which a per-pixel evalscript cannot do).

    Returns
    -------
    DataFrame with :data:`STAT_COLUMNS`: ``mean`` etc. of NDVI over the zone's clear pixels
    (pixel centre inside the zone, whole pixels), ``sample_count`` pixels in the zone and
    ``nodata_count`` of them not clear. A day with no clear pixel has NaN statistics and
    ``nodata_count == sample_count`` (explicitly no data, never a value).
    """
    import json

    client = client or client_for(source)
    if zones.crs is None or zones.crs.is_geographic:
        raise InvalidInputError(
            "zone statistics need zones in a projected CRS (the output grid's); reproject them"
        )
    epsg = int(zones.crs.to_epsg())
    items = search_catalog(client, bbox_wgs84=bbox_wgs84, start=start, end=end)
    rows: list[dict[str, Any]] = []
    groups: dict[int, list[_Day]] = {}
    for day in _group_days(items):
        groups.setdefault(day.offset_dn()[0], []).append(day)
    for offset, days in sorted(groups.items()):
        script = evalscript(STATS_EVALSCRIPT, BOA_OFFSET_DN=offset, MASKED_SCL=list(masked_scl))
        # whole UTC days, so that the service's P1D intervals are the acquisition days
        first = datetime.combine(min(d.day for d in days), datetime.min.time(), UTC)
        last = datetime.combine(max(d.day for d in days), datetime.max.time(), UTC).replace(
            microsecond=0
        )
        wanted = {d.day for d in days}
        for zone_id, geometry in zip(zones["id"].astype(str), zones.geometry, strict=True):
            minx, miny, maxx, maxy = geometry.bounds
            pixels = math.ceil((maxx - minx) / resolution) * math.ceil((maxy - miny) / resolution)
            pu = estimate_processing_units(max(pixels, 1), 1, 3, n_dates=len(days), float32=True)
            payload = _stats_payload(source, geometry, epsg, first, last, script, resolution)
            raw = client.post("/api/v1/statistics", payload, what=f"statistics {zone_id}", pu=pu)
            try:
                answer = json.loads(raw)
                intervals = list(answer["data"])
            except (ValueError, KeyError, TypeError):
                raise DataReadError(
                    f"Sentinel Hub statistics of zone {zone_id!r}: the answer is not the "
                    "Statistical API's JSON ({'data': [...]}); run again later"
                ) from None
            for interval in intervals:
                when = date.fromisoformat(str(interval["interval"]["from"])[:10])
                if "error" in interval:
                    raise DataReadError(
                        f"Sentinel Hub statistics of zone {zone_id!r} on {when} failed "
                        f"({redact_text(str(interval['error']))[:200]}); nothing is assumed for "
                        "that day: run again later"
                    )
                if when not in wanted:
                    continue
                stats = interval["outputs"]["ndvi"]["bands"]["B0"]["stats"]
                rows.append(
                    {
                        "zone": zone_id,
                        "date": when,
                        "mean": _stat_value(stats.get("mean")),
                        "stdev": _stat_value(stats.get("stDev")),
                        "min": _stat_value(stats.get("min")),
                        "max": _stat_value(stats.get("max")),
                        "sample_count": int(stats.get("sampleCount", 0)),
                        "nodata_count": int(stats.get("noDataCount", 0)),
                    }
                )
    return pd.DataFrame(rows, columns=list(STAT_COLUMNS))
