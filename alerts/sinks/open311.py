"""Open311 GeoReport v2 sink: form-encoded POST of a service request per work order.

The form is the GeoReport v2 form of :func:`alerts.formats.georeport.service_request` (see
:func:`default_form`). POST is not idempotent, so: the form carries ``attribute[message_key]`` and
the description names the message key; when a previous attempt may have reached the server (any attempt after the first:
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

from alerts.formats.georeport import service_request, with_credentials
from alerts.model import Revision
from alerts.outbox.store import OutboxStore
from alerts.sinks.base import (
    DeliveryReceipt,
    OutboundMessage,
    PermanentSinkError,
    SinkUnavailableError,
    TransientSinkError,
    redact,
)
from core.errors import InvalidInputError

FormBuilder = Callable[[OutboundMessage], Mapping[str, str]]

_LOCATION = ("lat", "long", "address_string", "address_id")


def _revision(payload: Mapping[str, Any]) -> Revision | None:
    """The payload as an ``alerts.model.Revision``, or None when it is not a complete one."""
    try:
        return Revision.from_dict(payload)
    except (TypeError, ValueError, KeyError, InvalidInputError):
        return None


def _place(message: OutboundMessage) -> str:
    """A location text when there is no point: the subject's name, else ``<hazard>/<subject_id>``."""
    p = message.payload
    return str(p.get("area_name") or p.get("subject_name") or "").strip() or (
        f"{message.hazard}/{message.subject_id}"
    )


def default_form(message: OutboundMessage, service_code: str | None = None) -> dict[str, str]:
    """The GeoReport v2 service request form of a message (without credentials).

    A message whose payload is a complete revision goes through
    :func:`alerts.formats.georeport.service_request` (lat/long of the geometry's representative point,
    description, ``attribute[priority|alert_key|message_key|revision|msg_type|geometry_ref]``); a
    ready form in ``payload["open311"]`` is taken as it is; any other payload contributes its
    standard fields. Then every form is completed: ``service_code`` (argument, payload, else the
    hazard), a location (``address_string`` naming the subject when there is no lat/long or
    address), ``description`` naming the message key, and the ``priority``, ``alert_key`` and
    ``message_key`` attributes.

    Raises
    ------
    PermanentSinkError
        The revision cannot be expressed as a service request (e.g. an invalid geometry).
    """
    payload = message.payload
    code = str(service_code or payload.get("service_code") or message.hazard)
    given = payload.get("open311")
    revision = None if given else _revision(payload)
    if given:
        form = {str(k): str(v) for k, v in given.items()}
    elif revision is not None:
        try:
            form = service_request(
                revision,
                service_code=code,
                address_string=None if revision.geometry is not None else _place(message),
            )
        except InvalidInputError as err:
            raise PermanentSinkError(f"revision {message.message_key[:12]}: {err}") from err
    else:
        form = {k: str(payload[k]) for k in (*_LOCATION, "description") if payload.get(k)}
    return _complete(form, message, code)


def _complete(form: dict[str, str], message: OutboundMessage, code: str) -> dict[str, str]:
    form.setdefault("service_code", code)
    if not ((form.get("lat") and form.get("long")) or form.get("address_string")
            or form.get("address_id")):  # fmt: skip
        form["address_string"] = _place(message)
    form.setdefault(
        "description", f"{message.hazard} level {message.level} at {message.subject_id}"
    )
    if message.message_key not in form["description"]:
        form["description"] += f" (ref {message.message_key})"
    form.setdefault("attribute[priority]", str(message.level))
    form["attribute[alert_key]"] = message.alert_key
    form["attribute[message_key]"] = message.message_key
    return form


class Open311Sink:
    """Create GeoReport v2 service requests.

    Parameters
    ----------
    endpoint : str
        Base URL (``.../open311/v2``); requests go to ``<endpoint>/requests.json``.
    api_key_env, jurisdiction_env : str
        Environment variables holding the API key and jurisdiction id (read at send time).
    service_code : str, optional
        The jurisdiction's service code for these work orders (from its GET Service List);
        default: the payload's ``service_code``, else the hazard name.
    form : callable, optional
        Builds the form fields of a message (default :func:`default_form` with ``service_code``).
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
        service_code: str | None = None,
        form: FormBuilder | None = None,
        timeout_s: float = 10.0,
        name: str = "open311",
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.api_key_env = api_key_env
        self.jurisdiction_env = jurisdiction_env
        self.service_code = service_code
        self.form: FormBuilder = form or (lambda message: default_form(message, service_code))
        self.timeout_s = timeout_s
        self.name = name
        self._session = session or requests.Session()

    def _credentials(self) -> dict[str, str]:
        creds = {"api_key": os.environ.get(self.api_key_env, "")}
        jurisdiction = os.environ.get(self.jurisdiction_env, "")
        if jurisdiction:
            creds["jurisdiction_id"] = jurisdiction
        return creds

    def _with_credentials(self, form: Mapping[str, str]) -> dict[str, str]:
        creds = self._credentials()
        if not creds["api_key"]:
            raise PermanentSinkError(
                f"Open311 sink {self.name}: ${self.api_key_env} is empty; export the API key"
            )
        return with_credentials(form, creds["api_key"], creds.get("jurisdiction_id"))

    def _secrets(self) -> tuple[str, ...]:
        return (os.environ.get(self.api_key_env, ""),)

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        """Post the request, unless an earlier attempt already created it."""
        form = dict(self.form(message))
        if message.attempt > 1:
            found = self.lookup(message.message_key, form.get("service_code"))
            if found:
                return DeliveryReceipt(self.name, message.message_key, found, "found", True)
        body = self._with_credentials(form)
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
