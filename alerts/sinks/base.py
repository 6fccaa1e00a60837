"""The sink seam: one Protocol every delivery target implements, and the values crossing it.

A sink receives an :class:`OutboundMessage` (one revision of one alert, for one sink) and either
returns a :class:`DeliveryReceipt` once the target confirmed it, or raises
:class:`TransientSinkError` (retry later: timeout, connection refused, 5xx, broker nack) or
:class:`PermanentSinkError` (retrying cannot help: 4xx, a payload the target refuses). Delivery is
at least once; targets de-duplicate by ``message_key``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from core.errors import GeospaceError


class SinkError(GeospaceError):
    """A sink could not deliver a message (exit code 1)."""

    exit_code = 1


class TransientSinkError(SinkError):
    """The delivery failed in a way that a later attempt may fix (timeout, refused, 5xx, nack)."""


class SinkUnavailableError(TransientSinkError):
    """The target cannot be reached at all (connection refused, broker down).

    The relay gives such claims back without spending an attempt and pauses that sink with
    backoff: an unreachable target says nothing about the message.
    """


class PermanentSinkError(SinkError):
    """The target refused the message; retrying the same message cannot succeed."""


@dataclass(frozen=True)
class OutboundMessage:
    """One revision of one alert on its way to one sink.

    Attributes
    ----------
    message_key : str
        sha256(alert_key, revision): idempotency key and consumer de-duplication key.
    alert_key, revision, hazard, subject_id, level, msg_type
        The revision's identity and headline (``msg_type`` is CAP's Alert/Update/Cancel).
    payload : Mapping
        The revision's full JSON document as produced by ``alerts.model``.
    sink : str
        Name of the sink this copy is for.
    attempt : int
        1 for the first delivery attempt; above 1 the previous attempt may have reached the target
        (relay crash or timeout after send), so non-idempotent sinks look the effect up first.
    """

    message_key: str
    alert_key: str
    revision: int
    hazard: str
    subject_id: str
    level: int
    msg_type: str = "Alert"
    payload: Mapping[str, Any] = field(default_factory=dict)
    sink: str = ""
    attempt: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready envelope (without the delivery attempt, which is not part of the message)."""
        return {
            "message_key": self.message_key,
            "alert_key": self.alert_key,
            "revision": self.revision,
            "hazard": self.hazard,
            "subject_id": self.subject_id,
            "level": self.level,
            "msg_type": self.msg_type,
            "payload": dict(self.payload),
        }

    def to_json(self) -> str:
        """Compact, key-sorted JSON of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a sink confirms: which message, where, and the target's own id when it returns one."""

    sink: str
    message_key: str
    external_id: str | None = None
    detail: str = ""
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form stored on the outbox row."""
        return {
            "sink": self.sink,
            "message_key": self.message_key,
            "external_id": self.external_id,
            "detail": self.detail,
            "duplicate": self.duplicate,
        }


@runtime_checkable
class Sink(Protocol):
    """A delivery target. ``name`` matches the ``sink`` column of the outbox rows it serves."""

    name: str

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """Deliver one message and return once the target confirmed it, or raise a SinkError."""
        ...

    def close(self) -> None:
        """Release connections; the sink may be used again afterwards (it reconnects)."""
        ...


_SECRET_QUERY = re.compile(r"(?i)((?:api_key|apikey|token|password|secret)=)[^&\s]+")
_URL_PASSWORD = re.compile(r"(?i)(\w+://[^:/@\s]+:)[^@\s]+@")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove credentials from a message before it is logged or stored.

    Parameters
    ----------
    text : str
        An error message, URL or log line.
    secrets : tuple of str
        Literal secret values to mask wherever they occur (empty strings are ignored).
    """
    out = _URL_PASSWORD.sub(r"\1***@", text)
    out = _SECRET_QUERY.sub(r"\1***", out)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out
