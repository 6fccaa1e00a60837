"""URLs people may see: redaction of secrets and the loopback hosts (shared by sources and sinks).

Anything that may end up in a log, an exception or a manifest passes through :func:`redact_url` /
:func:`redact_text` first: signed query strings (SAS tokens, AWS signatures) and credentials in the
authority never leave the process. Plain http is allowed only to :data:`LOOPBACK_HOSTS` (local
test servers), for catalogues (``eo.allowlist``) and sinks (``alerts.sinks.urls``) alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["LOOPBACK_HOSTS", "REDACTED", "redact_text", "redact_url", "sink_url_problem"]

LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})
REDACTED = "REDACTED"
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>()\]]+")
_QUERY_RE = re.compile(r"\?([^\s'\"<>()#\]]+)")


def sink_url_problem(url: str, hosts: Iterable[str] | None = None) -> str | None:
    """Why alerts may not leave for ``url``, or None: it must be https (plain http only to
    :data:`LOOPBACK_HOSTS`) and, when ``hosts`` is given, on one of them (loopback always is).
    One rule for ``deliver --sinks`` (``alerts.sinks.urls``) and a profile's sinks
    (``core.profile``), so a run never queues alerts for a sink delivery would refuse.

    >>> sink_url_problem("https://hooks.example.org/a", hosts=["hooks.example.org"]) is None
    True
    >>> sink_url_problem("https://hooks.example.org/a", hosts=[])
    "host 'hooks.example.org' is not on the profile's allowlist.hosts; add it there if you trust it"
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https"):
        return "not an http(s) URL; give the https URL"
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        return (
            f"plain http to {host!r} would send alerts unencrypted; use the https URL (http only "
            "for 127.0.0.1 test servers)"
        )
    allowed = None if hosts is None else {h.lower() for h in hosts}
    if allowed is not None and host not in allowed and host not in LOOPBACK_HOSTS:
        return (
            f"host {host!r} is not on the profile's allowlist.hosts; add it there if you trust it"
        )
    return None


def redact_url(url: str) -> str:
    """``url`` without credentials and with every query value replaced by ``REDACTED``.

    >>> redact_url("https://user:pw@host.net/a.tif?se=2026&sig=abc")
    'https://REDACTED@host.net/a.tif?se=REDACTED&sig=REDACTED'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = _redact_query(parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_text(text: str) -> str:
    """``text`` with every URL passed through :func:`redact_url` and any bare query string redacted.

    >>> redact_text("failed: GET /search?token=abc (timeout)")
    'failed: GET /search?token=REDACTED (timeout)'
    """
    text = _URL_RE.sub(lambda m: redact_url(m.group(0)), text)
    return _QUERY_RE.sub(lambda m: "?" + _redact_query(m.group(1)), text)


def _redact_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return REDACTED
    return urlencode([(key, REDACTED) for key, _ in pairs], safe=REDACTED)
