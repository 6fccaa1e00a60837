"""Sink URLs checked before anything is sent (issue 15): alerts leave only over https, or plain
http to a loopback test server; with a profile, only to hosts on its ``allowlist.hosts``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.errors import InvalidInputError
from core.urls import redact_url, sink_url_problem

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
    hosts = None if hosts is None else tuple(hosts)
    for name, spec in config.items():
        for key in URL_KEYS:
            url = spec.get(key)
            if not isinstance(url, str):
                continue
            problem = sink_url_problem(url, hosts)
            if problem is not None:
                raise InvalidInputError(f"sinks.{name}.{key}: {redact_url(url)}: {problem}")
