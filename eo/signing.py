"""Planetary Computer-style signing of asset hrefs, just before each read (DESIGN section 3).

Planetary Computer serves its blobs (``https://<account>.blob.core.windows.net/<container>/...``)
only with a short-lived SAS token appended as the query string. The token comes from a sign
endpoint (``https://planetarycomputer.microsoft.com/api/sas/v1``: ``GET /token/<account>/<container>``
answers ``{"token": "se=...&sig=...", "msft:expiry": "<ISO 8601>"}``), configurable per profile
(``sources.*.sign_endpoint``). Path-style blob URLs (``http://host/<account>/<container>/...``,
as Azurite and the local test server use) are understood too.

The hook is generic at the search/read seam: :func:`eo.stac.search_items` marks the item dicts of a
source that needs signing (:func:`mark_items`, unsigned hrefs, only the sign endpoint is recorded),
and :func:`eo.stac_load.load_dn` reads marked items through :class:`SignedRioReader`, which asks a
:class:`Signer` for a token when it opens an asset, re-opens with a fresh token once the one in use
is about to expire, and re-signs once on HTTP 403. Any loader built on ``load_dn`` (Sentinel-2
scenes, Landsat LST) is served without knowing about signing.

Signed query strings live only in memory: item dicts, manifests and errors carry the unsigned href
(errors pass through :func:`eo.http.redact_url`), and :func:`redact_library_logs` installs a filter
on the loggers of stackstac and rasterio, which log the URLs they open at DEBUG level.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.errors import DataReadError, InvalidInputError, SourceUnavailableError
from core.urls import redact_text, redact_url
from eo.http import HttpPolicy, make_session
from eo.stac_load import GeospaceRioReader

PLANETARY_COMPUTER_SIGN_ENDPOINT = "https://planetarycomputer.microsoft.com/api/sas/v1"
"""The public Planetary Computer SAS endpoint (anonymous; a subscription key raises rate limits)."""

SIGNING_KEY = "geospace:signing"
"""Key of the signing marker in an item dict (``{"endpoint": url}``); never a token."""

_FORBIDDEN_RE = re.compile(r"HTTP response code: 403|\b403\b.*(Forbidden|AuthenticationFailed)")
_LIBRARY_LOGGERS = (
    "stackstac",
    "stackstac.timer",
    "stackstac.rio_reader",
    "rasterio",
    "rasterio._env",
    "rasterio.env",
    "rasterio._base",
    "rasterio._io",
    "rasterio._filepath",
    "rasterio.session",
    "rasterio.vrt",
    "urllib3.connectionpool",
)


@dataclass(frozen=True)
class SasToken:
    """One container's token: the query string to append and its expiry (epoch seconds)."""

    query: str
    expires_at: float

    def __repr__(self) -> str:  # never print the token itself
        return f"SasToken(query=<redacted>, expires_at={self.expires_at})"


def blob_container(href: str) -> tuple[str, str]:
    """(storage account, container) of a blob href.

    ``https://<account>.blob.core.windows.net/<container>/<path>`` (virtual-host style) or
    ``http(s)://<host>/<account>/<container>/<path>`` (path style: Azurite, local servers).

    Raises
    ------
    InvalidInputError
        The href has no account and container.
    """
    parts = urlsplit(href)
    segments = [s for s in parts.path.split("/") if s]
    host = parts.hostname or ""
    if host.endswith(".blob.core.windows.net") and len(segments) >= 2:
        return host.split(".", 1)[0], segments[0]
    if len(segments) >= 3:
        return segments[0], segments[1]
    raise InvalidInputError(
        f"asset href {redact_url(href)!r} is not a blob URL (https://<account>.blob.core.windows.net/"
        "<container>/<path>); only such hrefs can be signed: check the source's provider"
    )


def _parse_expiry(value: object, endpoint: str) -> float:
    if not isinstance(value, str):
        raise DataReadError(
            f"sign endpoint {redact_url(endpoint)!r} answered without 'msft:expiry'; "
            "check sources.*.sign_endpoint points at a Planetary Computer SAS API"
        )
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise DataReadError(
            f"sign endpoint {redact_url(endpoint)!r} answered an unreadable expiry {value[:40]!r}"
        ) from None


class Signer:
    """Signs blob hrefs with per-container SAS tokens from a sign endpoint, cached until expiry.

    Parameters
    ----------
    endpoint : str
        Base URL of the SAS API (``.../api/sas/v1``).
    policy : HttpPolicy
        Timeout and retries (429/5xx, ``Retry-After`` capped) of token requests.
    clock : callable
        Epoch seconds now (``time.time``; tests pass a controlled clock).
    refresh_margin_s : float
        A token is renewed when fewer than this many seconds remain, capped at a quarter of the
        token's lifetime so that short-lived tokens are still used.
    subscription_key : str, optional
        Planetary Computer subscription key (``Ocp-Apim-Subscription-Key``), from the environment.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        policy: HttpPolicy | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin_s: float = 60.0,
        subscription_key: str | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.policy = policy or HttpPolicy()
        self.clock = clock
        self.refresh_margin_s = refresh_margin_s
        self._subscription_key = subscription_key
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], tuple[SasToken, float]] = {}
        self._session: Any = None
        self.requests_made = 0
        redact_library_logs()

    def __repr__(self) -> str:
        return f"Signer(endpoint={redact_url(self.endpoint)!r})"

    def __getstate__(self) -> dict[str, Any]:  # pickled into Dask graphs: no tokens, no session
        return {
            "endpoint": self.endpoint,
            "policy": self.policy,
            "clock": self.clock,
            "refresh_margin_s": self.refresh_margin_s,
            "subscription_key": self._subscription_key,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["endpoint"],
            policy=state["policy"],
            clock=state["clock"],
            refresh_margin_s=state["refresh_margin_s"],
            subscription_key=state["subscription_key"],
        )

    def _fresh(self, token: SasToken, issued_at: float) -> bool:
        margin = min(self.refresh_margin_s, (token.expires_at - issued_at) / 4.0)
        return self.clock() < token.expires_at - margin

    def is_fresh(self, token: SasToken | None) -> bool:
        """True while ``token`` (as returned by :meth:`sign_href`) may still be used."""
        if token is None:
            return False
        with self._lock:
            for cached, issued in self._tokens.values():
                if cached is token:
                    return self._fresh(cached, issued)
        return False

    def token(self, href: str) -> SasToken:
        """The cached token of ``href``'s container, fetched anew when missing or expiring."""
        key = blob_container(href)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and self._fresh(*cached):
                return cached[0]
            issued = self.clock()
            token = self._fetch(*key)
            self._tokens[key] = (token, issued)
            return token

    def invalidate(self, href: str, token: SasToken | None = None) -> None:
        """Forget the token of ``href``'s container (after a 403): any, or only ``token``."""
        key = blob_container(href)
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and (token is None or cached[0] is token):
                del self._tokens[key]

    def sign_href(self, href: str) -> tuple[str, SasToken]:
        """``href`` with the container's token as its query string, and the token used."""
        token = self.token(href)
        parts = urlsplit(href)
        query = f"{parts.query}&{token.query}" if parts.query else token.query
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")), token

    def _fetch(self, account: str, container: str) -> SasToken:
        import requests

        if self._session is None:
            self._session = make_session(self.policy)
        url = f"{self.endpoint}/token/{account}/{container}"
        headers = (
            {"Ocp-Apim-Subscription-Key": self._subscription_key} if self._subscription_key else {}
        )
        self.requests_made += 1
        try:
            response = self._session.get(url, headers=headers, timeout=self.policy.timeout_s)
        except requests.RequestException as err:
            raise SourceUnavailableError(
                f"sign endpoint {redact_url(url)!r} unreachable after {self.policy.retries} "
                f"retries ({type(err).__name__}); run again later or raise http.retries/timeout"
            ) from None
        if response.status_code in (401, 403):
            raise InvalidInputError(
                f"sign endpoint {redact_url(url)!r} refused the token request (HTTP "
                f"{response.status_code}); check the subscription key in the environment "
                "variable named by sources.*.sign_key_env"
            )
        if response.status_code != 200:
            raise SourceUnavailableError(
                f"sign endpoint {redact_url(url)!r} answered HTTP {response.status_code} after "
                f"{self.policy.retries} retries; the service may be down: run again later"
            )
        try:
            body = response.json()
            query = str(body["token"]).lstrip("?")
        except (ValueError, KeyError, TypeError):
            raise DataReadError(
                f"sign endpoint {redact_url(url)!r} answered without a token (body of "
                f"{len(response.content)} bytes, truncated or not JSON); run again later"
            ) from None
        return SasToken(query=query, expires_at=_parse_expiry(body.get("msft:expiry"), url))


def mark_items(
    items: Iterable[dict[str, Any]], endpoint: str, key_env: str | None = None
) -> list[dict[str, Any]]:
    """Copies of ``items`` marked to be signed through ``endpoint`` at read time (hrefs unchanged).

    ``key_env`` names the environment variable of a subscription key (the name, never the key).
    """
    mark = {"endpoint": endpoint, **({"key_env": key_env} if key_env else {})}
    return [{**item, SIGNING_KEY: mark} for item in items]


def signer_for_items(
    items: Sequence[dict[str, Any]], policy: HttpPolicy | None = None
) -> Signer | None:
    """One :class:`Signer` for marked ``items`` (None when none is marked).

    Raises
    ------
    InvalidInputError
        Items are marked with different endpoints, or only some are marked.
    """
    marks = {
        (str(item[SIGNING_KEY]["endpoint"]), item[SIGNING_KEY].get("key_env"))
        for item in items
        if SIGNING_KEY in item
    }
    if not marks:
        return None
    if len(marks) > 1 or any(SIGNING_KEY not in item for item in items):
        raise InvalidInputError(
            "items to load mix signing endpoints (or signed and unsigned items); load each "
            "source's items separately"
        )
    endpoint, key_env = marks.pop()
    key = os.environ.get(str(key_env)) if key_env else None
    return Signer(endpoint, policy=policy, subscription_key=key or None)


def strip_marks(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` without the signing marker (stackstac reads only STAC fields)."""
    return {k: v for k, v in item.items() if k != SIGNING_KEY}


class SignedRioReader(GeospaceRioReader):
    """stackstac reader that signs its href just before opening, and again when the token expires.

    ``self.url`` stays the unsigned href (stackstac and geospace errors print it); the signed URL
    is given to GDAL only while opening. On HTTP 403 the token is dropped, the asset re-signed and
    the read tried once more; a second 403 is raised (never turned into nodata).
    """

    def __init__(self, *, signer: Signer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._signer = signer
        self._token: SasToken | None = None

    def _open(self) -> Any:
        plain: str = str(self.url)  # type: ignore[has-type]
        signed, token = self._signer.sign_href(plain)
        self.url = signed  # under stackstac's dataset lock; restored before anyone else reads it
        try:
            return super()._open()
        finally:
            self.url = plain
            self._token = token

    def read(self, window: Any, **kwargs: Any) -> Any:
        """Read ``window`` with a fresh token; re-sign once when the read is refused.

        GDAL does not always keep the HTTP status of a failed block read ("Read failed"), so any
        :class:`~core.errors.DataReadError` (403, an expired token, a broken body) gets one
        re-signed retry; the second failure is raised. The token is dropped only if it is still
        the cached one, so readers failing together fetch one new token, not one each.
        """
        if self._token is not None and not self._signer.is_fresh(self._token):
            self.close()
        try:
            return super().read(window, **kwargs)
        except DataReadError:
            pass
        self._signer.invalidate(str(self.url), self._token)
        self.close()
        try:
            return super().read(window, **kwargs)
        except DataReadError as err:
            if _FORBIDDEN_RE.search(str(err)):
                raise DataReadError(
                    f"asset {redact_url(str(self.url))!r} refused a freshly signed request "
                    "(HTTP 403); the sign endpoint and the storage account disagree: check "
                    "sources.*.sign_endpoint"
                ) from None
            raise


def reader_for(signer: Signer) -> Callable[..., SignedRioReader]:
    """A stackstac ``reader`` factory whose readers sign through ``signer``."""

    def make(**kwargs: Any) -> SignedRioReader:
        return SignedRioReader(signer=signer, **kwargs)

    return make


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with every URL redacted (query values, credentials)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg = clean
            record.args = ()
        return True


def redact_library_logs(names: Sequence[str] = _LIBRARY_LOGGERS) -> None:
    """Attach :class:`RedactingFilter` to third-party loggers that print opened URLs (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
