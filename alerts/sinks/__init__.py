"""Delivery targets behind one Protocol (:class:`alerts.sinks.base.Sink`).

:func:`build_sinks` turns plain configuration (a profile's ``sinks`` section, or the relay's
``--sinks`` JSON) into sink objects, importing each client library only when it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alerts.sinks.base import (
    DeliveryReceipt,
    OutboundMessage,
    PermanentSinkError,
    Sink,
    SinkError,
    SinkUnavailableError,
    TransientSinkError,
)
from core.errors import InvalidInputError
from core.profile import CityProfile

KINDS = ("files", "webhook", "rabbitmq", "redis", "open311")


def build_sink(name: str, spec: Mapping[str, Any], out_dir: str | Path | None = None) -> Sink:
    """One sink from ``{"type": KIND, ...options}``; ``files`` defaults to OUT/alerts/outbound.jsonl.

    ``accepts`` (which revisions the sink takes) is routing, read by
    :class:`alerts.sinks.routing.Routing`, not a sink option.

    Secrets are never part of the spec: URLs with credentials, API keys and tokens are read from
    the environment variables the spec names (``url_env``, ``token_env``, ``api_key_env``).
    """
    options = {k: v for k, v in spec.items() if k not in ("type", "accepts")}  # accepts: routing
    kind = str(spec.get("type", name))
    if kind == "files":
        from alerts.sinks.files import FileSink

        default = Path(out_dir or ".") / "alerts" / "outbound.jsonl"
        return FileSink(options.pop("path", default), name=name)
    if kind == "webhook":
        from alerts.sinks.webhook import WebhookSink

        return WebhookSink(name=name, **options)
    if kind == "rabbitmq":
        from alerts.sinks.rabbitmq import RabbitMQSink

        return RabbitMQSink(name=name, **options)
    if kind == "redis":
        from alerts.sinks.redis_streams import RedisStreamSink

        return RedisStreamSink(name=name, **options)
    if kind == "open311":
        from alerts.sinks.open311 import Open311Sink

        return Open311Sink(name=name, **options)
    raise InvalidInputError(
        f"sink {name!r} has unknown type {kind!r}; use one of {', '.join(KINDS)}"
    )


def build_sinks(
    config: Mapping[str, Mapping[str, Any]] | None, out_dir: str | Path | None = None
) -> dict[str, Sink]:
    """Sinks by name from ``{name: spec}``; without configuration, one ``files`` sink."""
    config = config or {"files": {"type": "files"}}
    try:
        return {name: build_sink(name, spec, out_dir) for name, spec in config.items()}
    except TypeError as err:
        raise InvalidInputError(f"bad sink configuration: {err}") from err


__all__ = [
    "KINDS",
    "DeliveryReceipt",
    "OutboundMessage",
    "PermanentSinkError",
    "Sink",
    "SinkError",
    "SinkUnavailableError",
    "TransientSinkError",
    "build_sink",
    "build_sinks",
]


def profile_sinks(profile: CityProfile) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
    """A profile's sinks as relay configuration (``{name: spec}``) and the hosts they may reach.

    ``geospace deliver --profile`` and the scheduled delivery flow both drain with this, so a
    served city delivers to every sink of its profile (Open311, RabbitMQ, ...), not only files.
    """
    config = {sink.key: sink.spec() for sink in profile.sinks}
    return config, frozenset(h.lower() for h in profile.allowlist.hosts)

