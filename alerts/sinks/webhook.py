"""Webhook sink: HTTP POST of the message JSON with ``Idempotency-Key: message_key``.

2xx confirms; 408, 425, 429 and 5xx are transient; a refused connection means the target is
down; any other 4xx is permanent. An optional bearer token is read from an environment variable
at send time and never logged.
"""

from __future__ import annotations

import os

import requests

from alerts.sinks.base import (
    DeliveryReceipt,
    OutboundMessage,
    PermanentSinkError,
    SinkUnavailableError,
    TransientSinkError,
    redact,
)

_RETRYABLE = {408, 425, 429}


class WebhookSink:
    """POST each message to ``url``.

    Parameters
    ----------
    url : str
        Endpoint receiving the JSON envelope (``OutboundMessage.to_dict``).
    timeout_s : float
        Connect and read timeout in seconds.
    token_env : str, optional
        Name of an environment variable holding a bearer token (read at send time).
    name : str
        Sink name used in the outbox rows.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        token_env: str | None = None,
        name: str = "webhook",
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.token_env = token_env
        self.name = name
        self._session = session or requests.Session()

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """POST the message; return once the endpoint answered 2xx."""
        headers = {"Idempotency-Key": message.message_key, "Content-Type": "application/json"}
        token = os.environ.get(self.token_env, "") if self.token_env else ""
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = self._session.post(
                self.url, data=message.to_json(), headers=headers, timeout=self.timeout_s
            )
        except requests.ConnectionError as err:
            raise SinkUnavailableError(
                f"webhook {redact(self.url)} unreachable: {redact(str(err), (token,))}"
            ) from err
        except requests.RequestException as err:
            raise TransientSinkError(
                f"webhook {redact(self.url)} failed: {redact(str(err), (token,))}"
            ) from err
        if 200 <= resp.status_code < 300:
            return DeliveryReceipt(self.name, message.message_key, detail=str(resp.status_code))
        text = f"webhook {redact(self.url)} answered {resp.status_code}"
        if resp.status_code in _RETRYABLE or resp.status_code >= 500:
            raise TransientSinkError(text)
        raise PermanentSinkError(f"{text}: {redact(resp.text[:200], (token,))}")

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()
