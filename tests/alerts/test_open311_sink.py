"""The Open311 sink posts the GeoReport v2 form of alerts.formats.georeport.service_request, with every
required field, credentials only at send time, and no second ticket after an ambiguous failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.model import Certainty, Revision, RevisionKind, RevisionStatus, alert_key, message_key
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import open_store
from alerts.sinks import build_sinks
from alerts.sinks.base import OutboundMessage, PermanentSinkError
from alerts.sinks.open311 import Open311Sink
from tests.alerts.outbox_fixtures import Open311Server, make_revision

START = datetime(2022, 6, 6, tzinfo=UTC)
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[16.30, 48.20], [16.40, 48.20], [16.40, 48.25], [16.30, 48.25], [16.30, 48.20]]
    ],
}
REQUIRED = ("service_code", "lat", "long", "description", "attribute[priority]",
            "attribute[alert_key]", "attribute[message_key]")  # fmt: skip


@pytest.fixture
def open311_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPEN311_API_KEY", "k-secret")
    monkeypatch.setenv("OPEN311_JURISDICTION_ID", "wien.gv.at")


def _work_order(subject: str = "park-7", level: int = 4) -> Revision:
    key = alert_key("irrigation", subject, START)
    return Revision(
        alert_key=key, message_key=message_key(key, 1), revision=1, hazard="irrigation",
        subject_id=subject, kind=RevisionKind.NEW, level=level, certainty=Certainty.LIKELY,
        status=RevisionStatus.QUEUED, created_at=START, onset=START,
        expires=START + timedelta(days=7), rule_version="irrigation-1",
        event_start=START, subject_name="Türkenschanzpark", summary="Water the lawn & beds",
        geometry=SQUARE,
    )  # fmt: skip


def test_relay_posts_the_full_georeport_form_of_a_revision(
    open311_server: Open311Server, open311_env: None, tmp_path: Path
) -> None:
    rev = _work_order()
    store = open_store(tmp_path)
    store.add_revision(rev, ["open311"])
    spec = {"open311": {"type": "open311", "endpoint": open311_server.url,
                        "service_code": "park-irrigation", "timeout_s": 5}}  # fmt: skip
    sinks = build_sinks(spec, tmp_path)
    stats = run_relay(store, sinks, once=True, backoff=Backoff(0.0, 0.0))
    assert stats.sent == 1
    [form] = open311_server.posts
    assert all(form.get(name, [""])[0] for name in REQUIRED), form
    assert form["service_code"] == ["park-irrigation"]
    lat, lon = float(form["lat"][0]), float(form["long"][0])
    assert 48.20 < lat < 48.25 and 16.30 < lon < 16.40  # a point of the park, lat/long not swapped
    assert form["attribute[priority]"] == ["4"]
    assert form["attribute[alert_key]"] == [rev.alert_key]
    assert form["attribute[message_key]"] == [rev.message_key]
    assert form["attribute[geometry_ref]"] == ["irrigation/park-7"]
    assert rev.message_key in form["description"][0]
    assert "Water the lawn & beds" in form["description"][0]
    assert form["api_key"] == ["k-secret"] and form["jurisdiction_id"] == ["wien.gv.at"]
    stored = store.db.query("SELECT payload FROM revisions")[0]["payload"]
    assert "k-secret" not in stored and "wien.gv.at" not in stored
    store.close()
    sinks["open311"].close()


def test_a_payload_without_geometry_still_names_a_location(
    open311_server: Open311Server, open311_env: None
) -> None:
    rev = make_revision("seg-9", level=2)
    msg = OutboundMessage(
        **{k: rev[k] for k in ("message_key", "alert_key", "revision", "hazard", "subject_id",
                               "level", "msg_type")}, payload=rev,
    )  # fmt: skip
    Open311Sink(open311_server.url, timeout_s=5).deliver(msg)
    [form] = open311_server.posts
    assert form["service_code"] == ["deformation"] and form["address_string"] == [
        "deformation/seg-9"
    ]
    assert form["attribute[priority]"] == ["2"] and rev["message_key"] in form["description"][0]


def test_missing_api_key_is_refused_before_posting(
    open311_server: Open311Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPEN311_API_KEY", raising=False)
    rev = _work_order()
    msg = OutboundMessage(
        rev.message_key, rev.alert_key, 1, rev.hazard, rev.subject_id, rev.level,
        payload=rev.to_dict(), sink="open311",
    )  # fmt: skip
    with pytest.raises(PermanentSinkError, match="OPEN311_API_KEY"):
        Open311Sink(open311_server.url, timeout_s=5).deliver(msg)
    assert open311_server.posts == []


def test_timeout_after_send_of_a_revision_creates_one_ticket(
    open311_server: Open311Server, open311_env: None, tmp_path: Path
) -> None:
    store = open_store(tmp_path)
    store.add_revision(_work_order("park-8"), ["open311"])
    open311_server.delay_s = 1.0  # the ticket is created, the answer comes too late
    sink = Open311Sink(open311_server.url, timeout_s=0.3, service_code="park-irrigation")
    stats = run_relay(store, {"open311": sink}, once=True, backoff=Backoff(0.0, 0.0), batch=1)
    assert stats.sent == 1 and len(open311_server.tickets) == 1
    receipt = json.loads(store.db.query("SELECT receipt FROM outbox")[0]["receipt"])
    assert receipt["external_id"] == "SR-1"
    store.close()
