"""The CAP archive: OUT/alerts/cap/<identifier>.xml, Draft until approved, Actual once approved,
valid against the OASIS CAP 1.2 XSD; expired bulletins stay Draft and are never sent."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from alerts.cap import parse_cap
from alerts.decide.pipeline import apply_findings
from alerts.decide.policy import load_policy
from alerts.decide.revisions import SubjectInfo
from alerts.model import Certainty, Finding, Revision, RevisionKind, RevisionStatus
from alerts.outbox import admin
from alerts.outbox import commands as ops
from alerts.outbox.relay import Backoff, run_relay
from alerts.outbox.store import open_store
from alerts.products.cap_archive import archive_path, archive_stored, is_bulletin
from core.errors import InvalidInputError
from tests.alerts.conftest import SQUARE
from tests.alerts.outbox_fixtures import FakeClock, RecordingSink, make_revision, reset_pg

FUTURE = datetime(2099, 7, 1, tzinfo=UTC)  # onset ahead of the real clock ops functions use


def _identifier(hazard: str, subject: str, start: datetime, revision: int) -> str:
    """DESIGN section 5, computed here independently of alerts.model."""
    text = json.dumps([hazard, subject, start.isoformat(timespec="seconds")], separators=(",", ":"))
    return f"geospace.{hashlib.sha256(text.encode()).hexdigest()[:20]}.{revision}"


def _heat(day: int, value: float, subject: str = "d18") -> Finding:
    start = FUTURE + timedelta(days=day)
    return Finding(
        "felt_tmax_forecast", subject, start, start + timedelta(days=1), value, "degC", 35.0, 1.0
    )


def _archive(out: Path) -> dict[str, bytes]:
    folder = out / "alerts" / "cap"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def _checked(schema: etree.XMLSchema, xml: bytes) -> dict[str, Any]:
    schema.assertValid(etree.fromstring(xml))
    return parse_cap(xml)


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The ops arguments: the output folder, plus a DSN when the outbox is PostgreSQL."""
    if request.param == "sqlite":
        return {"out": tmp_path / "out", "dsn": None}
    dsn = request.getfixturevalue("pg_dsn")
    reset_pg(dsn)
    return {"out": tmp_path / "out", "dsn": dsn}


def _apply(where: dict[str, Any], findings: list[Finding], now: datetime) -> None:
    store = open_store(where["out"], dsn=where["dsn"])
    try:
        info = {"d18": SubjectInfo(name="Währing", geometry=SQUARE, emma_id="AT901")}
        apply_findings(
            store, findings, load_policy("heat"), now=now, sinks=("files",), subjects=info,
            out_dir=where["out"],
        )  # fmt: skip
    finally:
        store.close()


def test_bulletin_is_archived_draft_then_actual_once_approved(
    where: dict[str, Any], schema: etree.XMLSchema
) -> None:
    out, dsn = where["out"], where["dsn"]
    now = FUTURE - timedelta(hours=6)
    _apply(where, [_heat(0, 36.0)], now)
    name = _identifier("heat", "d18", FUTURE, 1) + ".xml"
    files = _archive(out)
    assert list(files) == [name]
    draft = _checked(schema, files[name])
    assert draft["status"] == "Draft" and draft["identifier"] == name[:-4]
    assert draft["info"][0]["parameter"]["awareness_level"] == "3; orange; Severe"

    _apply(where, [_heat(0, 36.0)], now)  # a rerun: nothing new, nothing rewritten
    assert _archive(out) == files
    assert not [p for p in (out / "alerts" / "cap").iterdir() if p.suffix != ".xml"]

    [row] = ops.list_revisions(out, dsn=dsn)
    assert ops.deliver(out, dsn=dsn)["sent"] == 0  # waits for a person
    assert ops.approve(out, row["id"], by="Dr. Huber", dsn=dsn)["status"] == "queued"
    actual = _checked(schema, _archive(out)[name])
    assert actual["status"] == "Actual" and actual["identifier"] == draft["identifier"]
    assert actual["sent"] == draft["sent"]  # the same message, now approved

    _apply(where, [_heat(0, 36.0)], now)  # a rerun after approval never turns it back to Draft
    assert parse_cap(_archive(out)[name])["status"] == "Actual"
    assert ops.deliver(out, dsn=dsn)["sent"] == 1


def test_update_is_archived_under_its_own_identifier(
    tmp_path: Path, schema: etree.XMLSchema
) -> None:
    where = {"out": tmp_path, "dsn": None}
    _apply(where, [_heat(0, 36.0)], FUTURE - timedelta(hours=6))
    _apply(where, [_heat(1, 39.0)], FUTURE + timedelta(hours=18))
    files = _archive(tmp_path)
    first, second = (_identifier("heat", "d18", FUTURE, n) for n in (1, 2))
    assert sorted(files) == sorted([first + ".xml", second + ".xml"])
    update = _checked(schema, files[second + ".xml"])
    assert update["msgType"] == "Update" and update["status"] == "Draft"
    assert update["references"].split(",")[1] == first


def _bulletin(subject: str, onset: datetime, hazard: str = "heat") -> Revision:
    from alerts.model import alert_key, message_key

    key = alert_key(hazard, subject, onset)
    return Revision(
        alert_key=key, message_key=message_key(key, 1), revision=1, hazard=hazard,
        subject_id=subject, kind=RevisionKind.NEW, level=3, certainty=Certainty.LIKELY,
        status=RevisionStatus.PENDING_APPROVAL, created_at=onset - timedelta(hours=6),
        onset=onset, expires=onset + timedelta(days=1), rule_version="heat-1.0.0",
        event_start=onset, area_name="Favoriten",
    )  # fmt: skip


def test_enqueue_archives_bulletins_only_and_reruns_change_nothing(tmp_path: Path) -> None:
    bulletin = _bulletin("d10", FUTURE)
    assert ops.enqueue(tmp_path, [bulletin, make_revision("seg-1")]) == 2
    first = _archive(tmp_path)
    assert list(first) == [_identifier("heat", "d10", FUTURE, 1) + ".xml"]
    assert ops.enqueue(tmp_path, [bulletin, make_revision("seg-1")]) == 0
    assert _archive(tmp_path) == first
    assert is_bulletin(bulletin) and not is_bulletin(make_revision("seg-1"))


def test_expired_bulletin_stays_draft_and_is_never_sent(tmp_path: Path) -> None:
    clock = FakeClock(FUTURE.timestamp() - 3600)
    store = open_store(tmp_path, clock=clock)
    rev = _bulletin("d11", FUTURE)
    store.add_revision(rev, ["files"])
    [path] = archive_stored(store, tmp_path, [rev.message_key])
    sink = RecordingSink()
    relay = {"once": True, "backoff": Backoff(0.0, 0.0)}
    assert run_relay(store, {"files": sink}, **relay).sent == 0  # type: ignore[arg-type]
    clock.advance(3601)  # the onset passes unapproved: the relay pass expires it
    assert run_relay(store, {"files": sink}, **relay).sent == 0  # type: ignore[arg-type]
    assert store.db.query("SELECT status FROM revisions")[0]["status"] == "expired"
    assert [r["status"] for r in store.db.query("SELECT status FROM outbox")] == ["expired"]
    with pytest.raises(InvalidInputError, match="expired"):
        admin.approve(store, 1, by="too late")
    archive_stored(store, tmp_path, [rev.message_key])
    assert parse_cap(path.read_bytes())["status"] == "Draft"
    assert sink.raw == []
    store.close()


def test_listing_expires_due_bulletins(tmp_path: Path) -> None:
    clock = FakeClock(FUTURE.timestamp() + 1)
    store = open_store(tmp_path, clock=clock)
    store.add_revision(_bulletin("d12", FUTURE), ["files"])
    assert [r["status"] for r in admin.list_revisions(store)] == ["expired"]
    store.close()


def test_identifier_must_be_a_safe_file_name(tmp_path: Path) -> None:
    for bad in ("../x.abc.1", "a/b.abc.1", ".hidden.abc.1", ""):
        with pytest.raises(InvalidInputError, match="archive file name"):
            archive_path(tmp_path, bad)
    ok = archive_path(tmp_path, "at.wien@cap.0123456789abcdef0123.2")
    assert ok == tmp_path / "alerts" / "cap" / "at.wien@cap.0123456789abcdef0123.2.xml"
