"""Open311 GeoReport v2 work orders: the service request form of a revision, and responses.

A POST service request (GeoReport v2, "POST Service Request") needs ``service_code``, a location
(``lat`` & ``long``, or ``address_string``, or ``address_id``) and the attributes of the service
definition; ``jurisdiction_id`` and ``api_key`` are added only at send time
(:func:`with_credentials`), so stored payloads never hold a secret. The body is
``application/x-www-form-urlencoded; charset=utf-8`` (:func:`encode_form`). Responses come as XML
(required by the spec; parsed with defusedxml) or JSON; the spec's own JSON examples carry numbers
with leading zeros (``"service_code":006``), which are read as strings.

References
----------
Open311 GeoReport v2, https://wiki.open311.org/GeoReport_v2 (open311.github.io, GeoReport/v2).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from alerts.formats.areas import representative_point
from alerts.model import Revision
from core.errors import DataReadError, InvalidInputError

__all__ = [
    "FORM_CONTENT_TYPE",
    "Open311ErrorResponse",
    "ServiceRequestReceipt",
    "ServiceRequestStatus",
    "detail_lines",
    "encode_form",
    "parse_service_request_response",
    "parse_service_requests",
    "service_request",
    "with_credentials",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
MAX_DESCRIPTION = 4000
"""GeoReport v2 limits ``description`` to 4,000 characters."""


class Open311ErrorResponse(DataReadError):
    """The server answered with GeoReport ``errors`` (or a body that is not a GeoReport response)."""


@dataclass(frozen=True)
class ServiceRequestReceipt:
    """What a POST returned: the request id, or a token to look it up later."""

    service_request_id: str | None
    token: str | None = None
    service_notice: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class ServiceRequestStatus:
    """One request of a GET service requests answer (status ``open`` or ``closed``)."""

    service_request_id: str
    status: str
    status_notes: str | None = None
    service_code: str | None = None
    description: str | None = None
    updated_datetime: str | None = None


def _number(value: Any) -> str:
    """A figure for people: up to 3 significant digits (whole numbers from 100 up)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    number = float(value)
    if not math.isfinite(number):
        return "n/a"
    return f"{number:.0f}" if abs(number) >= 100 else f"{number:.3g}"


def detail_lines(payload: Mapping[str, Any]) -> list[str]:
    """``label: value ± sigma units (note)`` for each figure of ``payload["details"]``, in order."""
    details = payload.get("details")
    if not isinstance(details, Mapping):
        return []
    lines = []
    for item in details.values():
        if not isinstance(item, Mapping):
            continue
        value = item.get("value")
        text = "not measured" if value is None else _number(value)
        if value is not None and item.get("sigma") is not None:
            text += f" ± {_number(item['sigma'])}"
        if value is not None and item.get("units") and item.get("units") != "1":
            text += f" {item['units']}"
        if item.get("note"):
            text += f" ({item['note']})"
        lines.append(f"- {item.get('label', '')}: {text}")
    return lines


def _links(payload: Mapping[str, Any]) -> dict[str, str]:
    links = payload.get("links")
    return {str(k): str(v) for k, v in links.items()} if isinstance(links, Mapping) else {}


def _description(revision: Revision) -> str:
    figures = detail_lines(revision.payload)
    links = [f"{role}: {url}" for role, url in _links(revision.payload).items()]
    parts = [
        revision.summary,
        "\n".join(["Figures:", *figures]) if figures else "",
        "\n".join(links),
        revision.instruction,
        f"message_key {revision.message_key}",
    ]
    text = "\n\n".join(p for p in parts if p)
    if len(text) > MAX_DESCRIPTION:
        tail = f"\n\nmessage_key {revision.message_key}"
        text = text[: MAX_DESCRIPTION - len(tail) - 1] + "…" + tail
    return text


def service_request(
    revision: Revision,
    *,
    service_code: str,
    address_string: str | None = None,
    geometry_ref: str | None = None,
) -> dict[str, str]:
    """The GeoReport v2 service request form of ``revision`` (without credentials).

    Parameters
    ----------
    revision : Revision
        A revision with a WGS84 ``geometry`` (its representative point gives ``lat``/``long``) or,
        failing that, an ``address_string``.
    service_code : str
        The jurisdiction's service code (from its GET Service List).
    address_string : str, optional
        Human-readable location, most specific first.
    geometry_ref : str, optional
        Reference of the subject's geometry in the city's data (default ``<hazard>/<subject_id>``).

    Returns
    -------
    dict of str to str
        ``service_code``, ``lat``, ``long`` (degrees WGS84), ``description`` (<= 4000 characters),
        ``attribute[priority]`` (the alert level 1-4, 4 the most urgent), ``attribute[alert_key]``,
        ``attribute[message_key]``, ``attribute[revision]``, ``attribute[msg_type]``,
        ``attribute[geometry_ref]`` and ``address_string`` when given. A revision whose payload
        carries ``details`` (:class:`alerts.decide.revisions.Detail`: the figures an engineer
        needs) lists them in the description and sends each measured one as ``attribute[<key>]``
        (number in its units; ``attribute[<key>_sigma]`` its uncertainty); an http(s) ``plot``
        link becomes ``media_url``, other links (``file://``) are named in the description.
    """
    if not service_code or not str(service_code).strip():
        raise InvalidInputError("Open311 service_code is empty; take it from the GET Service List")
    form: dict[str, str] = {"service_code": str(service_code)}
    if revision.geometry is not None:
        lat, lon = representative_point(revision.geometry)
        form["lat"], form["long"] = f"{lat:.7f}", f"{lon:.7f}"
    elif not address_string:
        raise InvalidInputError(
            f"revision {revision.message_key} has no geometry and no address_string was given: "
            "GeoReport v2 needs lat/long or an address; pass address_string="
        )
    if address_string:
        form["address_string"] = address_string
    form["description"] = _description(revision)
    form["attribute[priority]"] = str(revision.level)
    form["attribute[alert_key]"] = revision.alert_key
    form["attribute[message_key]"] = revision.message_key
    form["attribute[revision]"] = str(revision.revision)
    form["attribute[msg_type]"] = revision.msg_type
    form["attribute[geometry_ref]"] = geometry_ref or f"{revision.hazard}/{revision.subject_id}"
    details = revision.payload.get("details")
    for key, item in (details if isinstance(details, Mapping) else {}).items():
        if not isinstance(item, Mapping) or item.get("value") is None:
            continue
        value = item["value"]
        form[f"attribute[{key}]"] = f"{value:.6g}" if isinstance(value, float) else str(value)
        if item.get("sigma") is not None:
            form[f"attribute[{key}_sigma]"] = f"{float(item['sigma']):.6g}"
    plot = _links(revision.payload).get("plot", "")
    if plot.startswith(("https://", "http://")):
        form["media_url"] = plot
    return form


def with_credentials(
    payload: Mapping[str, str], api_key: str, jurisdiction_id: str | None = None
) -> dict[str, str]:
    """A copy of ``payload`` with ``api_key`` (and ``jurisdiction_id`` when given) first."""
    if not api_key:
        raise InvalidInputError("Open311 api_key is empty; set it in the sink's secret settings")
    head = {"api_key": api_key}
    if jurisdiction_id:
        head["jurisdiction_id"] = jurisdiction_id
    return {**head, **{k: v for k, v in payload.items() if k not in head}}


def encode_form(payload: Mapping[str, str]) -> bytes:
    """The form-encoded UTF-8 body of a POST (``application/x-www-form-urlencoded``)."""
    return urlencode(list(payload.items()), encoding="utf-8").encode("ascii")


_LEADING_ZERO = re.compile(r"(?<=[:\[,])(\s*)(-?0\d+)(?=\s*[,}\]])")


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        try:  # the spec's examples write codes as 006; real servers send strings
            return json.loads(_LEADING_ZERO.sub(r'\1"\2"', text))
        except json.JSONDecodeError as err:
            raise Open311ErrorResponse(f"Open311 response is not JSON: {err}") from err


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _records(body: bytes | str, content_type: str | None) -> list[dict[str, Any]]:
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if content_type is None:  # sniff: JSON bodies start with [ or {
        content_type = "json" if text.lstrip()[:1] in ("[", "{") else "xml"
    if "json" in content_type.lower():
        data = _load_json(text)
        records = data if isinstance(data, list) else [data]
        if not all(isinstance(r, dict) for r in records):
            raise Open311ErrorResponse(
                f"Open311 JSON response is not a list of objects: {text[:200]}"
            )
    else:
        records = _xml_records(text.encode("utf-8"))
    if records and all("code" in r and "description" in r for r in records):
        errors = "; ".join(f"{r['code']}: {r['description']}" for r in records)
        raise Open311ErrorResponse(f"Open311 server returned errors: {errors}")
    return records


def _xml_records(body: bytes) -> list[dict[str, Any]]:
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(body)
    except Exception as err:  # ParseError or a defusedxml refusal (entities, DTD)
        raise Open311ErrorResponse(
            f"Open311 XML response is not well-formed and safe: {err}"
        ) from err
    if root.tag not in ("service_requests", "errors"):
        raise Open311ErrorResponse(f"Open311 XML root is {root.tag!r}, not service_requests/errors")
    return [{child.tag: child.text for child in item} for item in root]


def parse_service_request_response(
    body: bytes | str, content_type: str | None = None
) -> ServiceRequestReceipt:
    """Read a POST service request response (XML or JSON; sniffed when no content type) into a receipt.

    Raises
    ------
    Open311ErrorResponse
        The body holds GeoReport errors, is malformed, or names neither id nor token.
    """
    records = _records(body, content_type)
    if not records:
        raise Open311ErrorResponse("Open311 POST response holds no request")
    first = records[0]
    receipt = ServiceRequestReceipt(
        service_request_id=_text(first.get("service_request_id")),
        token=_text(first.get("token")),
        service_notice=_text(first.get("service_notice")),
        account_id=_text(first.get("account_id")),
    )
    if receipt.service_request_id is None and receipt.token is None:
        raise Open311ErrorResponse("Open311 POST response has neither service_request_id nor token")
    return receipt


def parse_service_requests(
    body: bytes | str, content_type: str | None = None
) -> list[ServiceRequestStatus]:
    """Read a GET service request(s) response (XML or JSON): id and open/closed status per request."""
    out = []
    for record in _records(body, content_type):
        request_id, status = _text(record.get("service_request_id")), _text(record.get("status"))
        if request_id is None or status not in ("open", "closed"):
            raise Open311ErrorResponse(
                f"Open311 request record lacks service_request_id or an open/closed status: {record}"
            )
        out.append(
            ServiceRequestStatus(
                service_request_id=request_id,
                status=status,
                status_notes=_text(record.get("status_notes")),
                service_code=_text(record.get("service_code")),
                description=_text(record.get("description")),
                updated_datetime=_text(record.get("updated_datetime")),
            )
        )
    return out
