"""Sink URLs checked before anything is sent (issue 15): alerts leave only over https, or plain
http to a loopback test server; with a profile, only to hosts on its ``allowlist.hosts``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from core.errors import InvalidInputError
from core.urls import LOOPBACK_HOSTS, redact_url

URL_KEYS = ("url", "endpoint")


def check_sink_urls(
    config: Mapping[str, Mapping[str, Any]], hosts: Iterable[str] | None = None
) -> None:
    """Refuse (exit 2) a sink URL that is not https (http only to 127.0.0.1, localhost, ::1) or,
    when ``hosts`` is given, whose host is not among them (loopback always allowed).

    Examples
    --------
    >>> check_sink_urls({"w": {"type": "webhook", "url": "https://hooks.example.org/a"}})
    >>> check_sink_urls({"w": {"type": "webhook", "url": "http://hooks.example.org/a"}})
    Traceback (most recent call last):
    ...
    core.errors.InvalidInputError: sinks.w.url: http://hooks.example.org/a: plain http to 'hooks.example.org' would send alerts unencrypted; use the https URL (http only for 127.0.0.1 test servers)
    """
    allowed = None if hosts is None else {h.lower() for h in hosts}
    for name, spec in config.items():
        for key in URL_KEYS:
            url = spec.get(key)
            if not isinstance(url, str):
                continue
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            if parts.scheme not in ("http", "https"):
                raise InvalidInputError(
                    f"sinks.{name}.{key}: {redact_url(url)}: not an http(s) URL; give the https URL"
                )
            if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
                raise InvalidInputError(
                    f"sinks.{name}.{key}: {redact_url(url)}: plain http to {host!r} would send "
                    "alerts unencrypted; use the https URL (http only for 127.0.0.1 test servers)"
                )
            if allowed is not None and host not in allowed and host not in LOOPBACK_HOSTS:
                raise InvalidInputError(
                    f"sinks.{name}.{key}: {redact_url(url)}: host {host!r} is not on the "
                    "profile's allowlist.hosts; add it there if you trust it"
                )
