"""CAP 1.2: OASIS XSD validity, MeteoAlarm parameters, references, hostile text, polygons."""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from alerts.cap import CAP_NS, build_cap, cap_time, parse_cap, to_xml
from alerts.decide.rules import Action, SubjectInfo, decide, load_policy
from alerts.formats.xmltext import ControlCharactersRemovedWarning
from alerts.model import Revision, RevisionStatus
from core.errors import InvalidInputError
from core.status import CoverageRule
from tests.conftest import shared_file

from .conftest import HOSTILE, HOSTILE_CLEAN, SQUARE, T0

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def _heat_series(info: SubjectInfo | None = None) -> list[Revision]:
    """Alert (level 3), Update (level 4) and Cancel of one district, via the rules."""
    from alerts.model import Finding

    policy = load_policy("heat")
    make = lambda i, v: Finding(  # noqa: E731
        "felt_tmax_forecast",
        "d18",
        T0 + timedelta(days=i),
        T0 + timedelta(days=i + 1),
        v,
        "degC",
        35.0,
        1.0,
    )
    info = info or SubjectInfo(name="Währing", geometry=SQUARE, emma_id="AT901")
    history, event, last, out = [], None, None, []
    for i, value in enumerate((36.0, 39.0, 24.0)):
        history.append(make(i, value))
        d = decide(history, event, last, policy, T0 + timedelta(days=i, hours=-6), subject=info)
        assert d.action in (Action.OPEN, Action.REVISE, Action.CLEAR)
        assert d.revision is not None
        event, last = d.event, d.revision
        out.append(d.revision)
    return out


@pytest.mark.parametrize("status", [RevisionStatus.PENDING_APPROVAL, RevisionStatus.QUEUED])
def test_alert_update_cancel_validate_against_the_oasis_xsd(
    schema: etree.XMLSchema, status: RevisionStatus
) -> None:
    for rev in _heat_series():
        xml = to_xml(replace(rev, status=status))
        doc = etree.fromstring(xml)
        schema.assertValid(doc)
        parsed = parse_cap(xml)
        assert parsed["status"] == (
            "Draft" if status == RevisionStatus.PENDING_APPROVAL else "Actual"
        )
        assert parsed["msgType"] == rev.msg_type


def test_notice_validates_and_is_restricted(schema: etree.XMLSchema) -> None:
    from alerts.model import Finding

    gap = Finding("irrigation_priority", "p1", T0, T0 + timedelta(days=14), 0.5, "1", 0.2, 0.1)
    policy = load_policy("irrigation").with_coverage(CoverageRule(0.6, 0.9, 2))  # the profile's
    d = decide([gap], None, None, policy, T0)
    assert d.action == Action.NOTICE and d.revision is not None
    xml = to_xml(d.revision)
    schema.assertValid(etree.fromstring(xml))
    assert parse_cap(xml)["scope"] == "Restricted"


def test_identity_times_references_and_meteoalarm_parameters() -> None:
    alert, update, cancel = _heat_series()
    a, u, c = (
        parse_cap(to_xml(r, sender="cap@wien.example", identifier_prefix="at.wien"))
        for r in (alert, update, cancel)
    )
    assert a["identifier"] == f"at.wien.{alert.alert_key[:20]}.1"
    assert u["identifier"] == f"at.wien.{alert.alert_key[:20]}.2"
    assert "references" not in a
    assert u["references"] == f"cap@wien.example,{a['identifier']},{a['sent']}"
    assert c["references"] == f"cap@wien.example,{u['identifier']},{u['sent']}"
    assert (a["msgType"], u["msgType"], c["msgType"]) == ("Alert", "Update", "Cancel")
    for doc in (a, u, c):
        info = doc["info"][0]
        for value in (doc["sent"], info["onset"], info["expires"], info["effective"]):
            assert TIME.match(value), value
            assert "Z" not in value and "." not in value
        assert info["category"] == ["Health"]
        assert info["parameter"]["awareness_type"] == "5; high-temperature"
        assert info["area"][0]["geocode"] == {"EMMA_ID": "AT901"}
    assert a["info"][0]["parameter"]["awareness_level"] == "3; orange; Severe"
    assert u["info"][0]["parameter"]["awareness_level"] == "4; red; Extreme"
    assert (a["info"][0]["severity"], u["info"][0]["severity"]) == ("Severe", "Extreme")
    assert c["info"][0]["responseType"] == ["AllClear"]


@pytest.mark.parametrize(
    ("level", "text"),
    [
        (1, "1; green; Minor"),
        (2, "2; yellow; Moderate"),
        (3, "3; orange; Severe"),
        (4, "4; red; Extreme"),
    ],
)
def test_level_colour_severity_table(level: int, text: str) -> None:
    rev = replace(_heat_series()[0], level=level)
    info = parse_cap(to_xml(rev))["info"][0]
    assert info["parameter"]["awareness_level"] == text
    assert info["severity"] == text.rsplit("; ", 1)[1]


def test_cap_time_formats() -> None:
    when = datetime(2022, 7, 1, 6, 5, 9, 123456, tzinfo=UTC)
    assert cap_time(when) == "2022-07-01T06:05:09-00:00"
    assert cap_time(when, "Europe/Vienna") == "2022-07-01T08:05:09+02:00"


def test_polygon_is_lat_lon_closed_and_capped() -> None:
    n = 500
    circle = [
        [16.37 + 0.05 * math.cos(2 * math.pi * k / n), 48.21 + 0.03 * math.sin(2 * math.pi * k / n)]
        for k in range(n)
    ]
    circle.append(circle[0])
    rev = replace(_heat_series()[0], geometry={"type": "Polygon", "coordinates": [circle]})
    (polygon,) = parse_cap(to_xml(rev))["info"][0]["area"][0]["polygon"]
    pairs = [tuple(map(float, p.split(","))) for p in polygon.split()]
    assert 4 <= len(pairs) <= 100
    assert pairs[0] == pairs[-1]
    assert all(48.17 < lat < 48.25 and 16.31 < lon < 16.43 for lat, lon in pairs)


def test_square_polygon_keeps_its_vertices() -> None:
    (polygon,) = parse_cap(to_xml(_heat_series()[0]))["info"][0]["area"][0]["polygon"]
    assert polygon.split() == [
        "48.200000,16.300000",
        "48.200000,16.400000",
        "48.250000,16.400000",
        "48.250000,16.300000",
        "48.200000,16.300000",
    ]


def test_hostile_text_in_every_text_field_round_trips(schema: etree.XMLSchema) -> None:
    info = SubjectInfo(name=HOSTILE, geometry=SQUARE, area_name=HOSTILE, emma_id=HOSTILE)
    alert = _heat_series(info)[0]
    rev = replace(
        alert,
        summary=HOSTILE,
        instruction=HOSTILE,
        rule_version=HOSTILE,
        payload={**alert.payload, "event": HOSTILE},
    )
    doc = build_cap(rev)
    fields = {r.field for r in doc.removed}
    assert {"event", "description", "instruction", "areaDesc", "value"} <= fields
    assert all(set(r.code_points) == {"U+0007", "U+0000"} for r in doc.removed)
    with pytest.warns(ControlCharactersRemovedWarning, match="U\\+0007"):
        xml = to_xml(rev)
    assert xml == doc.xml
    schema.assertValid(etree.fromstring(xml))
    parsed = parse_cap(xml)
    info_out = parsed["info"][0]
    assert info_out["event"] == HOSTILE_CLEAN
    assert info_out["description"] == HOSTILE_CLEAN
    assert info_out["instruction"] == HOSTILE_CLEAN
    assert HOSTILE_CLEAN in info_out["headline"]
    assert info_out["parameter"]["rule_version"] == HOSTILE_CLEAN
    assert info_out["area"][0]["areaDesc"] == HOSTILE_CLEAN
    assert info_out["area"][0]["geocode"]["EMMA_ID"] == HOSTILE_CLEAN


def test_clean_text_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_xml(_heat_series()[0])


@pytest.mark.parametrize("sender", ["a b", "a,b", "a<b", "a&b", ""])
def test_sender_with_forbidden_characters_is_refused(sender: str) -> None:
    with pytest.raises(InvalidInputError, match="sender"):
        to_xml(_heat_series()[0], sender=sender)


def test_parse_cap_refuses_entity_expansion_and_foreign_roots() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&y;</identifier></alert>'
    )
    with pytest.raises(InvalidInputError):
        parse_cap(bomb)
    with pytest.raises(InvalidInputError, match="not a CAP"):
        parse_cap(b"<alert/>")


def test_structure_matches_geosphere_heat_alert() -> None:
    path = shared_file("protocols", "cap_open311", "cap", "cap_villach_heat.xml")
    real = etree.parse(str(path)).getroot()
    ours = etree.fromstring(to_xml(replace(_heat_series()[0], status=RevisionStatus.QUEUED)))
    ns = {"c": CAP_NS}
    for xpath in (
        "c:identifier",
        "c:sender",
        "c:sent",
        "c:status",
        "c:msgType",
        "c:scope",
        "c:info/c:language",
        "c:info/c:category",
        "c:info/c:event",
        "c:info/c:urgency",
        "c:info/c:severity",
        "c:info/c:certainty",
        "c:info/c:onset",
        "c:info/c:expires",
        "c:info/c:headline",
        "c:info/c:description",
        "c:info/c:instruction",
        "c:info/c:area/c:areaDesc",
    ):
        assert real.find(xpath, ns) is not None, xpath
        assert ours.find(xpath, ns) is not None, xpath
    for name in ("awareness_level", "awareness_type"):
        real_value = real.xpath(
            f"c:info[1]/c:parameter[c:valueName='{name}']/c:value/text()", namespaces=ns
        )
        our_value = ours.xpath(
            f"c:info/c:parameter[c:valueName='{name}']/c:value/text()", namespaces=ns
        )
        assert real_value and our_value
        pattern = r"^\d; [a-z]+; [A-Z][a-z]+$" if name == "awareness_level" else r"^\d+; [a-z-]+$"
        assert re.match(pattern, real_value[0]) and re.match(pattern, our_value[0])
    assert real.xpath(
        "c:info[1]/c:parameter[c:valueName='awareness_type']/c:value/text()", namespaces=ns
    ) == ["5; high-temperature"]
    real_geocode = real.xpath("c:info[1]/c:area/c:geocode/c:valueName/text()", namespaces=ns)
    assert real_geocode == ["EMMA_ID"]
    for xpath in ("c:sent", "c:info[1]/c:onset", "c:info[1]/c:expires"):
        assert TIME.match(real.find(xpath, ns).text)
        assert TIME.match(ours.find(xpath.replace("[1]", ""), ns).text)
