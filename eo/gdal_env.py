"""GDAL configuration for reading remote COGs: retries, timeouts, no directory listing.

GDAL's own HTTP client (curl) retries nothing and waits for a slow server by default. The options
here are passed to every open and read stackstac does (through its ``gdal_env``), never set
process-wide, so two loads with different settings do not interfere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from eo.http import RETRY_STATUSES


@dataclass(frozen=True)
class GdalHttpSettings:
    """GDAL HTTP behaviour of one load.

    Attributes
    ----------
    max_retry : int
        ``GDAL_HTTP_MAX_RETRY``: retries of one HTTP request on 429/5xx (and, since GDAL 3.10,
        on the codes of ``GDAL_HTTP_RETRY_CODES``).
    retry_delay_s : float
        ``GDAL_HTTP_RETRY_DELAY``: first retry delay, seconds (GDAL doubles it on each retry).
    timeout_s : float
        ``GDAL_HTTP_TIMEOUT`` (whole request) and ``GDAL_HTTP_CONNECTTIMEOUT``, seconds; GDAL takes
        whole seconds, so the value is rounded up.
    """

    max_retry: int = 5
    retry_delay_s: float = 1.0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retry < 0 or self.retry_delay_s < 0 or self.timeout_s <= 0:
            raise ValueError(
                f"GdalHttpSettings needs max_retry >= 0, retry_delay_s >= 0, timeout_s > 0: {self}"
            )


def gdal_http_options(settings: GdalHttpSettings) -> dict[str, str]:
    """GDAL config options (name -> value) of ``settings`` plus the fixed safe defaults."""
    timeout = str(max(1, math.ceil(settings.timeout_s)))
    return {
        "GDAL_HTTP_MAX_RETRY": str(settings.max_retry),
        "GDAL_HTTP_RETRY_DELAY": f"{settings.retry_delay_s:g}",
        "GDAL_HTTP_RETRY_CODES": ",".join(str(code) for code in sorted(RETRY_STATUSES)),
        "GDAL_HTTP_TIMEOUT": timeout,
        "GDAL_HTTP_CONNECTTIMEOUT": timeout,
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    }


def stackstac_gdal_env(settings: GdalHttpSettings) -> Any:
    """A ``stackstac.rio_env.LayeredEnv`` with :func:`gdal_http_options` on every open and read.

    Like stackstac's default, HTTP responses are cached while opening (each thread re-opens the
    same URL) and not while reading pixels.
    """
    from stackstac.rio_env import LayeredEnv

    return LayeredEnv(
        always=gdal_http_options(settings),
        open={"VSI_CACHE": True},
        read={"VSI_CACHE": False},
    )
