"""HTTP sessions: explicit retries, enforced timeouts, capped Retry-After, redaction."""

from __future__ import annotations

import pytest
import requests
from urllib3.exceptions import ConnectTimeoutError

from core.urls import redact_text, redact_url
from eo.http import (
    HttpPolicy,
    RedactedError,
    make_retry,
    make_session,
    make_stac_api_io,
    safe_cause,
)
from tests.servers.faults import Fault
from tests.servers.http_base import ServerWithPlan

FAST = HttpPolicy(timeout_s=2.0, retries=3, backoff_factor_s=0.001, retry_after_max_s=0.01)


def test_retry_rule_covers_429_5xx_and_post() -> None:
    retry = make_retry(HttpPolicy())
    assert set(retry.status_forcelist or ()) == {429, 500, 502, 503, 504}
    assert "POST" in (retry.allowed_methods or ())
    assert retry.total == retry.connect == retry.read == retry.status == 5
    assert retry.respect_retry_after_header
    assert retry.backoff_max == 30.0


def test_backoff_is_exponential_and_capped() -> None:
    retry = make_retry(HttpPolicy(backoff_factor_s=1.0, backoff_max_s=5.0, retries=10))
    waits = []
    for _ in range(6):
        retry = retry.increment(method="GET", url="/x", error=ConnectTimeoutError("boom"))
        waits.append(retry.get_backoff_time())
    # urllib3 2: no wait before the first retry, then factor * 2**(n-1), capped at backoff_max
    assert waits == [0.0, 2.0, 4.0, 5.0, 5.0, 5.0]


class _Response:
    def __init__(self, retry_after: str) -> None:
        self.headers = {"Retry-After": retry_after}


def test_retry_after_is_capped_and_cap_survives_increment() -> None:
    retry = make_retry(HttpPolicy(retry_after_max_s=60.0))
    assert retry.get_retry_after(_Response("3600")) == 60.0  # type: ignore[arg-type]
    assert retry.get_retry_after(_Response("7")) == 7.0  # type: ignore[arg-type]
    later = retry.increment(method="GET", url="/x", error=ConnectTimeoutError("boom"))
    assert later.get_retry_after(_Response("3600")) == 60.0  # type: ignore[arg-type]


def test_session_adds_a_timeout_to_every_call(range_server: ServerWithPlan) -> None:
    range_server.plan.add(Fault("/slow", "delay", count=None, delay_s=5.0))
    session = make_session(HttpPolicy(timeout_s=0.2, retries=0))
    with pytest.raises((requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        session.get(f"{range_server.base_url}/slow")  # no timeout given by the caller


def test_session_retries_429_with_retry_after_then_succeeds(range_server: ServerWithPlan) -> None:
    root = range_server.settings["root"]
    (root / "hello.txt").write_text("hello")
    range_server.plan.add(Fault("/hello.txt", "status", count=2, status=429, retry_after=120))
    response = make_session(FAST).get(f"{range_server.base_url}/hello.txt")
    assert response.status_code == 200 and response.text == "hello"
    assert range_server.plan.statuses("/hello.txt") == [429, 429, 200]


def test_session_gives_up_after_the_cap(range_server: ServerWithPlan) -> None:
    range_server.plan.add(Fault("/down", "status", count=None, status=503))
    response = make_session(FAST).post(f"{range_server.base_url}/down", json={"a": 1})
    assert response.status_code == 503
    assert range_server.plan.statuses("/down") == [503] * 4  # 1 + 3 retries


def test_stac_api_io_uses_the_retrying_session() -> None:
    stac_io = make_stac_api_io(FAST)
    assert stac_io.timeout == FAST.timeout_s
    adapter = stac_io.session.get_adapter("https://example.org")
    assert adapter.max_retries.status_forcelist == [429, 500, 502, 503, 504]


def test_redact_url_removes_credentials_and_query_values() -> None:
    url = "https://alice:pw@x.blob.core.windows.net/c/B04.tif?st=2024&se=2025&sig=abc%2Fdef"
    redacted = redact_url(url)
    assert "alice" not in redacted and "pw" not in redacted and "abc" not in redacted
    assert redacted == (
        "https://REDACTED@x.blob.core.windows.net/c/B04.tif?st=REDACTED&se=REDACTED&sig=REDACTED"
    )
    assert redact_url("https://host/a.tif") == "https://host/a.tif"


def test_redact_text_finds_urls_and_bare_queries() -> None:
    text = "GET https://h/x.tif?X-Amz-Signature=s3cr3t failed; retry /search?token=t0k"
    clean = redact_text(text)
    assert "s3cr3t" not in clean and "t0k" not in clean
    assert "https://h/x.tif?X-Amz-Signature=REDACTED" in clean
    assert redact_text(clean) == clean


def test_safe_cause_replaces_only_leaky_exceptions() -> None:
    plain = ValueError("no secret here")
    assert safe_cause(plain) is plain
    leaky = safe_cause(OSError("GET https://h/a?sig=zzz"))
    assert isinstance(leaky, RedactedError) and "zzz" not in str(leaky)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        HttpPolicy(timeout_s=0)


def test_docstring_examples_run() -> None:
    import doctest

    import eo.http

    assert doctest.testmod(eo.http).failed == 0
