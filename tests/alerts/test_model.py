"""Keys, levels and the JSON round trip of the alert model."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from alerts.model import (
    Certainty,
    Event,
    Finding,
    Revision,
    RevisionKind,
    RevisionStatus,
    SubjectStatus,
    alert_key,
    cap_identifier,
    irrigation_level,
    message_key,
)
from core.errors import InvalidInputError


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_alert_key_follows_the_documented_formula() -> None:
    start = datetime(2022, 7, 1, 6, 0, tzinfo=UTC)
    expected = _sha('["heat","AT-901/Währing","2022-07-01T06:00:00+00:00"]')
    assert alert_key("heat", "AT-901/Währing", start) == expected


def test_alert_key_is_the_same_instant_in_any_zone_and_for_naive_utc() -> None:
    vienna = timezone(timedelta(hours=2))
    a = alert_key("heat", "d1", datetime(2022, 7, 1, 8, 0, tzinfo=vienna))
    b = alert_key("heat", "d1", datetime(2022, 7, 1, 6, 0))
    assert a == b
    assert alert_key("heat", "d1", date(2022, 7, 1)) == alert_key(
        "heat", "d1", datetime(2022, 7, 1, tzinfo=UTC)
    )


def test_keys_separate_fields_unambiguously() -> None:
    t = datetime(2022, 7, 1, tzinfo=UTC)
    assert alert_key("heat", "a,b", t) != alert_key("heat,a", "b", t)


def test_message_key_follows_the_documented_formula_and_differs_per_revision() -> None:
    key = "ab" * 32
    assert message_key(key, 3) == _sha(f'["{key}",3]')
    assert len({message_key(key, r) for r in range(1, 6)}) == 5
    with pytest.raises(InvalidInputError):
        message_key(key, 0)


def test_cap_identifier() -> None:
    key = "0123456789abcdef0123456789"
    assert cap_identifier("at.wien.geospace", key, 2) == "at.wien.geospace.0123456789abcdef0123.2"


@pytest.mark.parametrize(("priority", "level"), [(1, 4), (2, 3), (3, 2), (4, 1)])
def test_irrigation_level(priority: int, level: int) -> None:
    assert irrigation_level(priority) == level


@pytest.mark.parametrize("bad", [0, 5, -1])
def test_irrigation_level_refuses_unknown_classes(bad: int) -> None:
    with pytest.raises(InvalidInputError, match="1 \\(urgent\\)"):
        irrigation_level(bad)


def test_certainty_lowers_one_step_and_stops_at_possible() -> None:
    assert Certainty.OBSERVED.lower() is Certainty.LIKELY
    assert Certainty.LIKELY.lower() is Certainty.POSSIBLE
    assert Certainty.POSSIBLE.lower() is Certainty.POSSIBLE


def _revision(**changes: object) -> Revision:
    start = datetime(2022, 7, 1, tzinfo=UTC)
    event = Event.start("heat", "d1", start)
    fields: dict[str, object] = {
        "alert_key": event.alert_key,
        "message_key": message_key(event.alert_key, 2),
        "revision": 2,
        "hazard": "heat",
        "subject_id": "d1",
        "kind": RevisionKind.LEVEL_CHANGE,
        "level": 3,
        "certainty": Certainty.LIKELY,
        "status": RevisionStatus.PENDING_APPROVAL,
        "created_at": datetime(2022, 7, 2, 5, 30, 12, 999, tzinfo=UTC),
        "onset": datetime(2022, 7, 3, tzinfo=UTC),
        "expires": datetime(2022, 7, 6, tzinfo=UTC),
        "rule_version": "heat-1.0.0",
        "event_start": start,
        "subject_name": "Währing",
        "summary": "hot <&>",
        "previous_message_key": message_key(event.alert_key, 1),
        "previous_sent": datetime(2022, 7, 1, 5, tzinfo=UTC),
        "payload": {"value": 36.5, "sources": ("LC09_1",), "nested": {"a": [1, 2]}},
        "geometry": {"type": "Point", "coordinates": (16.33, 48.23)},
        "area_name": "Währing",
        "emma_id": "AT901",
    }
    fields.update(changes)
    return Revision(**fields)  # type: ignore[arg-type]


def test_revision_round_trips_through_json() -> None:
    rev = _revision()
    text = json.dumps(rev.to_dict())
    back = Revision.from_dict(json.loads(text))
    assert back == rev
    assert back.to_dict() == rev.to_dict()
    assert rev.to_dict()["msg_type"] == "Update"
    assert rev.to_dict()["status"] == "pending_approval"


def test_revision_times_are_utc_whole_seconds() -> None:
    rev = _revision()
    assert rev.created_at == datetime(2022, 7, 2, 5, 30, 12, tzinfo=UTC)
    assert rev.to_dict()["created_at"] == "2022-07-02T05:30:12+00:00"


def test_revision_refuses_bad_level_and_non_json_payload() -> None:
    with pytest.raises(InvalidInputError, match="level"):
        _revision(level=0)
    with pytest.raises(InvalidInputError, match="JSON"):
        _revision(payload={"value": float("nan")})
    with pytest.raises(InvalidInputError, match="JSON"):
        _revision(payload={"when": object()})


@pytest.mark.parametrize(
    ("kind", "number", "msg_type"),
    [("new", 1, "Alert"), ("level_change", 2, "Update"), ("clear", 3, "Cancel")],
)
def test_msg_type(kind: str, number: int, msg_type: str) -> None:
    key = alert_key("heat", "d1", datetime(2022, 7, 1, tzinfo=UTC))
    rev = _revision(kind=kind, revision=number, message_key=message_key(key, number))
    assert rev.msg_type == msg_type


def test_finding_round_trip_and_level_bounds() -> None:
    f = Finding(
        "lst",
        "b1",
        datetime(2022, 7, 1),
        datetime(2022, 7, 2),
        31.5,
        "degC",
        30.0,
        0.7,
        2,
        ("LC09",),
        SubjectStatus.DEGRADED,
    )
    assert Finding.from_dict(json.loads(json.dumps(f.to_dict()))) == f
    with pytest.raises(InvalidInputError):
        Finding("lst", "b1", datetime(2022, 7, 1), datetime(2022, 7, 2), 1.0, "1", 0.0, 1.0, 5)
