"""Open311 GeoReport v2 sink: form-encoded POST of a service request per work order.

POST is not idempotent, so: the form carries ``attribute[message_key]`` and the description names
the message key; when a previous attempt may have reached the server (any attempt after the first:
a timeout after send, or a relay that died), the sink first looks the request up by that key and
returns the existing ``service_request_id`` instead of posting again. ``api_key`` and
``jurisdiction_id`` are read from the environment at send time and never logged.
:func:`sync_status` reads ticket status back and closes the event of a closed ticket.

References
----------
Open311 GeoReport v2, https://wiki.open311.org/GeoReport_v2
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import requests

from alerts.outbox.store import OutboxStore
from alerts.sinks.base import (
    DeliveryReceipt,
    OutboundMessage,
    PermanentSinkError,
    SinkUnavailableError,
    TransientSinkError,
    redact,
)

FormBuilder = Callable[[OutboundMessage], Mapping[str, str]]


def default_form(message: OutboundMessage) -> dict[str, str]:
    """The service request form of a message: ``payload["open311"]`` (from alerts.open311) if
    present, else the standard fields found in the payload; always with the identity attributes.
    """
    given = message.payload.get("open311")
    form = {str(k): str(v) for k, v in (given or {}).items()}
    if not given:
        for key in ("service_code", "lat", "long", "description", "address_string"):
            if message.payload.get(key) is not None:
                form[key] = str(message.payload[key])
    form.setdefault(
        "description", f"{message.hazard} level {message.level} at {message.subject_id}"
    )
    form["attribute[alert_key]"] = message.alert_key
    form["attribute[message_key]"] = message.message_key
    if message.message_key not in form["description"]:
        form["description"] += f" (ref {message.message_key})"
    return form


class Open311Sink:
    """Create GeoReport v2 service requests.

    Parameters
    ----------
    endpoint : str
        Base URL (``.../open311/v2``); requests go to ``<endpoint>/requests.json``.
    api_key_env, jurisdiction_env : str
        Environment variables holding the API key and jurisdiction id (read at send time).
    form : callable
        Builds the form fields of a message (default :func:`default_form`).
    timeout_s : float
        Connect and read timeout in seconds.
    name : str
        Sink name used in the outbox rows.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        api_key_env: str = "OPEN311_API_KEY",
        jurisdiction_env: str = "OPEN311_JURISDICTION_ID",
        form: FormBuilder = default_form,
        timeout_s: float = 10.0,
        name: str = "open311",
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api_key_env = api_key_env
        self.jurisdiction_env = jurisdiction_env
        self.form = form
        self.timeout_s = timeout_s
        self.name = name
        self._session = session or requests.Session()

    def _credentials(self) -> dict[str, str]:
        creds = {"api_key": os.environ.get(self.api_key_env, "")}
        jurisdiction = os.environ.get(self.jurisdiction_env, "")
        if jurisdiction:
            creds["jurisdiction_id"] = jurisdiction
        return creds

    def _secrets(self) -> tuple[str, ...]:
        return (os.environ.get(self.api_key_env, ""),)

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """Post the request, unless an earlier attempt already created it."""
        if message.attempt > 1:
            found = self.lookup(message.message_key, message.payload.get("service_code"))
            if found:
                return DeliveryReceipt(self.name, message.message_key, found, "found", True)
        body = {**self.form(message), **self._credentials()}
        data = self._call("post", f"{self.endpoint}/requests.json", data=body)
        first = data[0] if isinstance(data, list) and data else data
        if not isinstance(first, dict):
            raise TransientSinkError(f"Open311 {self.endpoint} answered without a request id")
        request_id = first.get("service_request_id") or (
            f"token:{first['token']}" if first.get("token") else None
        )
        if not request_id:
            raise TransientSinkError(f"Open311 {self.endpoint} answered without a request id")
        return DeliveryReceipt(self.name, message.message_key, str(request_id), "created")

    def lookup(self, message_key: str, service_code: Any = None) -> str | None:
        """The id of a request carrying ``message_key`` (attribute or description), or None."""
        params = {"attribute[message_key]": message_key, **self._credentials()}
        if service_code:
            params["service_code"] = str(service_code)
        data = self._call("get", f"{self.endpoint}/requests.json", params=params)
        for req in data if isinstance(data, list) else []:
            attrs = req.get("attributes") or {}
            if message_key in (attrs.get("message_key"), req.get("message_key")) or (
                message_key in str(req.get("description", ""))
            ):
                return str(req["service_request_id"])
        return None

    def status(self, service_request_id: str) -> str:
        """The ticket's status as the server reports it ("open" or "closed")."""
        data = self._call(
            "get", f"{self.endpoint}/requests/{service_request_id}.json", params=self._credentials()
        )
        first = data[0] if isinstance(data, list) and data else data
        return str(first.get("status", "open")) if isinstance(first, dict) else "open"

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        secrets = self._secrets()
        try:
            resp = self._session.request(method, url, timeout=self.timeout_s, **kwargs)
        except requests.ConnectTimeout as err:
            raise SinkUnavailableError(
                f"Open311 {redact(url)} unreachable (connect timeout)"
            ) from err
        except requests.ConnectionError as err:
            raise TransientSinkError(
                f"Open311 {redact(url)} connection failed: {redact(str(err), secrets)}"
            ) from err
        except requests.RequestException as err:  # timeout after send: ambiguous
            raise TransientSinkError(
                f"Open311 {redact(url)} did not answer in {self.timeout_s} s; "
                "the request may exist and is looked up before the next post"
            ) from err
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientSinkError(f"Open311 {redact(url)} answered {resp.status_code}")
        if resp.status_code >= 400:
            raise PermanentSinkError(
                f"Open311 {redact(url)} refused the request ({resp.status_code}): "
                f"{redact(resp.text[:300], secrets)}"
            )
        return resp.json()

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()


def sync_status(store: OutboxStore, sink: Open311Sink) -> list[str]:
    """Read back the status of open tickets; close the event of every closed ticket.

    Returns the alert keys whose events were closed, so a ticket closed by the crew closes the
    event instead of being raised again.
    """
    closed: list[str] = []
    tickets = store.db.query(
        "SELECT message_key, sink, alert_key, service_request_id FROM tickets"
        " WHERE sink = ? AND status = 'open'",
        (sink.name,),
    )
    for ticket in tickets:
        if sink.status(str(ticket["service_request_id"])) != "closed":
            continue
        with store.db.transaction():
            store.db.execute(
                "UPDATE tickets SET status = 'closed', updated_at = ? WHERE message_key = ?"
                " AND sink = ?",
                (store.clock(), ticket["message_key"], ticket["sink"]),
            )
            if store.close_event(ticket["alert_key"], "ticket closed"):
                closed.append(ticket["alert_key"])
    return closed
