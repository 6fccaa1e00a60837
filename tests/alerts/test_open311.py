"""Open311 GeoReport v2: request form, credentials at send time, hostile text, responses."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, parse_qsl

import pytest

from alerts.decide.rules import Action, SubjectInfo, decide, load_policy
from alerts.formats.georeport import (
    FORM_CONTENT_TYPE,
    Open311ErrorResponse,
    encode_form,
    parse_service_request_response,
    parse_service_requests,
    service_request,
    with_credentials,
)
from alerts.model import Finding, Revision
from core.errors import InvalidInputError
from tests.conftest import shared_file

from .conftest import HOSTILE, T0

SEGMENT = {"type": "LineString", "coordinates": [[16.3600, 48.2000], [16.3612, 48.2004]]}


def _work_order(geometry: dict | None = SEGMENT) -> Revision:
    policy = load_policy("deformation")
    history = [
        Finding(
            "vertical_velocity",
            "U6-017",
            T0 + timedelta(days=30 * i),
            T0 + timedelta(days=30 * i + 30),
            -6.2,
            "mm yr-1",
            2.0,
            0.95,
            3,
        )
        for i in range(2)
    ]
    info = SubjectInfo(name="U6 segment 17", geometry=geometry)
    d = decide(history, None, None, policy, datetime(2022, 9, 1, tzinfo=UTC), subject=info)
    assert d.action == Action.OPEN and d.revision is not None
    return d.revision


def test_request_carries_every_field_georeport_requires() -> None:
    rev = _work_order()
    form = service_request(rev, service_code="deform-01")
    assert form["service_code"] == "deform-01"
    # location parameter: lat & long (WGS84) of a point on the segment
    lat, lon = float(form["lat"]), float(form["long"])
    assert 48.2000 <= lat <= 48.2004 and 16.3600 <= lon <= 16.3612
    assert form["attribute[priority]"] == "3"
    assert form["attribute[alert_key]"] == rev.alert_key
    assert form["attribute[message_key]"] == rev.message_key
    assert form["attribute[geometry_ref]"] == "deformation/U6-017"
    assert rev.summary in form["description"] and len(form["description"]) <= 4000
    assert "api_key" not in form and "jurisdiction_id" not in form
    assert all(isinstance(v, str) for v in form.values())


def test_address_string_replaces_a_missing_geometry() -> None:
    rev = _work_order(geometry=None)
    with pytest.raises(InvalidInputError, match="address_string"):
        service_request(rev, service_code="x")
    form = service_request(rev, service_code="x", address_string="Gumpendorfer Gürtel, 1060 Wien")
    assert form["address_string"] == "Gumpendorfer Gürtel, 1060 Wien"
    assert "lat" not in form


def test_credentials_are_added_only_at_send_time() -> None:
    form = service_request(_work_order(), service_code="x")
    sent = with_credentials(form, "s3cret", "wien.gv.at")
    assert sent["api_key"] == "s3cret" and sent["jurisdiction_id"] == "wien.gv.at"
    assert "api_key" not in form  # the stored payload is untouched
    assert "jurisdiction_id" not in with_credentials(form, "k")
    with pytest.raises(InvalidInputError):
        with_credentials(form, "")


def test_hostile_text_round_trips_through_form_encoding_and_json() -> None:
    rev = replace(_work_order(), summary=HOSTILE, instruction=HOSTILE)
    form = service_request(rev, service_code=HOSTILE, address_string=HOSTILE, geometry_ref=HOSTILE)
    body = encode_form(with_credentials(form, "k&y=1", "j"))
    assert body.isascii()
    decoded = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True))
    assert decoded == {**form, "api_key": "k&y=1", "jurisdiction_id": "j"}
    assert decoded["description"].startswith(HOSTILE + "\n\n" + HOSTILE)
    assert json.loads(json.dumps(form)) == form
    assert all(len(v) == 1 for v in parse_qs(body.decode("ascii")).values())
    assert "charset=utf-8" in FORM_CONTENT_TYPE


def test_description_is_capped_at_4000_characters_and_keeps_the_key() -> None:
    rev = replace(_work_order(), summary="x" * 5000)
    description = service_request(rev, service_code="x")["description"]
    assert len(description) == 4000
    assert description.endswith(f"message_key {rev.message_key}")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("example_json-service-request-post.json", "application/json; charset=utf-8"),
        ("example_xml-service-request-post.xml", "text/xml; charset=utf-8"),
        ("example_xml-service-request-post.xml", None),
    ],
)
def test_post_responses_of_the_spec(name: str, content_type: str | None) -> None:
    body = shared_file("protocols", "cap_open311", "open311", name).read_bytes()
    receipt = parse_service_request_response(body, content_type)
    assert receipt.service_request_id == "293944"
    assert receipt.service_notice is not None and receipt.service_notice.startswith("The City")
    assert receipt.account_id is None


@pytest.mark.parametrize(
    "name", ["example_json-request-from-token.json", "example_xml-request-from-token.xml"]
)
def test_token_responses_of_the_spec(name: str) -> None:
    body = shared_file("protocols", "cap_open311", "open311", name).read_bytes()
    receipt = parse_service_request_response(body)
    assert (receipt.service_request_id, receipt.token) == ("638344", "12345")


def test_token_only_and_inline_responses() -> None:
    receipt = parse_service_request_response('[{"token": "abc-1"}]', "application/json")
    assert (receipt.service_request_id, receipt.token) == (None, "abc-1")
    with pytest.raises(Open311ErrorResponse, match="neither"):
        parse_service_request_response('[{"service_notice": "x"}]', "application/json")


@pytest.mark.parametrize("name", ["example_json-errors.http.txt", "example_xml-errors.http.txt"])
def test_error_responses_of_the_spec_raise(name: str) -> None:
    text = shared_file("protocols", "cap_open311", "open311", name).read_text()
    body = text.split("\n\n", 1)[1]  # drop the HTTP status line
    with pytest.raises(Open311ErrorResponse, match="403: Invalid api_key"):
        parse_service_request_response(body)


@pytest.mark.parametrize(
    "name", ["example_json-service-requests.json", "example_xml-service-requests.xml"]
)
def test_status_lookup_of_the_spec(name: str) -> None:
    body = shared_file("protocols", "cap_open311", "open311", name).read_bytes()
    statuses = parse_service_requests(body)
    assert [(s.service_request_id, s.status) for s in statuses][:2] == [
        ("638344", "closed"),
        ("638349", "open"),
    ]
    assert statuses[0].status_notes == "Duplicate request."
    assert statuses[0].service_code == "006"


def test_hostile_xml_responses_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "xx"><!ENTITY y "&x;&x;">]>'
        b"<service_requests><request><service_request_id>&y;</service_request_id>"
        b"</request></service_requests>"
    )
    with pytest.raises(Open311ErrorResponse):
        parse_service_request_response(bomb, "text/xml")
    with pytest.raises(Open311ErrorResponse, match="root"):
        parse_service_request_response(b"<html/>", "text/xml")
    with pytest.raises(Open311ErrorResponse, match="open/closed"):
        parse_service_requests('[{"service_request_id": "1", "status": "pending"}]')
