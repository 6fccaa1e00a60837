"""HTTP at the edge: sessions that always time out and retry transient failures, redacted causes.

pystac-client retries nothing and waits forever by default (DESIGN section 3). Every session made
here mounts an explicit urllib3 :class:`~urllib3.util.Retry` (429 and 5xx, POST included, capped
exponential backoff, ``Retry-After`` honoured but capped) and refuses to send a request without a
timeout. Anything that may end up in a log, an exception or a manifest passes through
:func:`core.urls.redact_url` / :func:`core.urls.redact_text` first: signed query strings (SAS
tokens, AWS signatures) and credentials in the authority never leave this process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.urls import redact_text

RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpPolicy:
    """How patient an HTTP client is.

    Attributes
    ----------
    timeout_s : float
        Connect and read timeout of every request, seconds.
    retries : int
        Retries after the first attempt, for connection errors, read errors and the statuses of
        :data:`RETRY_STATUSES`.
    backoff_factor_s : float
        Exponential backoff base, seconds: the first retry is immediate, the n-th (n >= 2)
        waits ``backoff_factor_s * 2**(n-1)`` (urllib3 2 rule).
    backoff_max_s : float
        Cap of one backoff wait, seconds.
    retry_after_max_s : float
        Cap of a server's ``Retry-After``, seconds (60 s by default: a server asking for an hour
        is treated as unavailable after the retries instead of blocking the run).
    """

    timeout_s: float = 30.0
    retries: int = 5
    backoff_factor_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 60.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.retries < 0 or self.backoff_factor_s < 0:
            raise ValueError(
                f"HttpPolicy needs timeout_s > 0, retries >= 0 and backoff_factor_s >= 0; got {self}"
            )


class CappedRetry(Retry):
    """urllib3 ``Retry`` whose ``Retry-After`` wait is capped at ``retry_after_cap_s`` seconds.

    (urllib3 >= 2.6 has its own ``retry_after_max``, an int defaulting to 6 hours; this cap works
    with every urllib3 2 and accepts fractions of a second.)
    """

    def __init__(self, *args: Any, retry_after_cap_s: float = 60.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_cap_s = retry_after_cap_s

    def new(self, **kw: Any) -> CappedRetry:
        """Copy with updated counters, keeping the ``Retry-After`` cap."""
        retry = super().new(**kw)
        retry.retry_after_cap_s = self.retry_after_cap_s
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        """The server's ``Retry-After`` in seconds, capped at ``retry_after_cap_s``."""
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.retry_after_cap_s)


class TimeoutSession(requests.Session):
    """A ``requests.Session`` that never sends a request without a timeout."""

    def __init__(self, default_timeout_s: float) -> None:
        super().__init__()
        self.default_timeout_s = default_timeout_s

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send ``request``; a missing or ``None`` timeout becomes the session's default."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout_s
        return super().send(request, **kwargs)


def make_retry(policy: HttpPolicy) -> CappedRetry:
    """The urllib3 retry rule of ``policy`` (statuses 429/500/502/503/504, GET/HEAD/POST...)."""
    return CappedRetry(
        total=policy.retries,
        connect=policy.retries,
        read=policy.retries,
        status=policy.retries,
        other=0,
        status_forcelist=sorted(RETRY_STATUSES),
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "POST"}),
        backoff_factor=policy.backoff_factor_s,
        backoff_max=policy.backoff_max_s,
        respect_retry_after_header=True,
        raise_on_status=False,
        retry_after_cap_s=policy.retry_after_max_s,
    )


def make_session(policy: HttpPolicy) -> TimeoutSession:
    """A session with ``policy``'s retries mounted for http and https and its timeout enforced."""
    session = TimeoutSession(policy.timeout_s)
    adapter = HTTPAdapter(max_retries=make_retry(policy))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def make_stac_api_io(policy: HttpPolicy) -> Any:
    """A pystac-client ``StacApiIO`` whose every request uses :func:`make_session`'s session."""
    from pystac_client.stac_api_io import StacApiIO

    stac_io = StacApiIO(timeout=policy.timeout_s, max_retries=None)
    stac_io.session = make_session(policy)
    return stac_io


class RedactedError(Exception):
    """Stand-in cause for an exception whose text carried a secret (its text redacted)."""


def safe_cause(err: BaseException) -> BaseException:
    """``err`` itself when its text holds no secret, else a :class:`RedactedError` copy of it.

    Use as ``raise GeospaceError(...) from safe_cause(err)`` so that a traceback printed by the
    CLI does not leak a signed URL through the chained exception.
    """
    text = str(err)
    clean = redact_text(text)
    if clean == text:
        return err
    return RedactedError(f"{type(err).__name__}: {clean}")
