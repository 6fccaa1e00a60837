"""Operator functions and the ``geospace alerts`` / ``deliver`` commands on a real outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.model import Certainty, Revision, RevisionKind, RevisionStatus, alert_key, message_key
from alerts.outbox import commands as ops
from flows import cli_alerts
from tests.alerts.outbox_fixtures import make_revision

START = datetime(2022, 7, 1, tzinfo=UTC)


def _bulletin(subject: str, revision: int = 1) -> Revision:
    key = alert_key("heat", subject, START)
    return Revision(
        alert_key=key, message_key=message_key(key, revision), revision=revision, hazard="heat",
        subject_id=subject, kind=RevisionKind.NEW, level=3, certainty=Certainty.POSSIBLE,
        status=RevisionStatus.PENDING_APPROVAL, created_at=START - timedelta(days=2),
        onset=datetime(2099, 7, 1, tzinfo=UTC), expires=None, rule_version="heat-1",
        event_start=START,
    )  # fmt: skip


def test_model_revisions_roundtrip_through_the_outbox(tmp_path: Path) -> None:
    rev = _bulletin("district-7")
    assert ops.enqueue(tmp_path, [rev, rev], sinks=["files"]) == 1
    [listed] = ops.list_revisions(tmp_path)
    assert {k: listed[k] for k in ("alert_key", "message_key", "revision", "hazard", "subject",
                                   "level", "status")} == {
        "alert_key": rev.alert_key, "message_key": rev.message_key, "revision": 1,
        "hazard": "heat", "subject": "district-7", "level": 3, "status": "pending_approval",
    }  # fmt: skip
    shown = ops.show(tmp_path, listed["id"])
    assert Revision.from_dict(shown["payload"]) == rev
    assert ops.deliver(tmp_path)["sent"] == 0  # waits for a person
    assert ops.approve(tmp_path, listed["id"], by="Dr. Huber")["approved_by"] == "Dr. Huber"
    assert ops.deliver(tmp_path)["sent"] == 1
    line = json.loads((tmp_path / "alerts" / "outbound.jsonl").read_text())
    assert line["message_key"] == rev.message_key and line["payload"]["rule_version"] == "heat-1"


def _cli(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    cli_alerts.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_cli_json_carries_only_the_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops.enqueue(tmp_path, [make_revision("seg-1", 1), make_revision("seg-1", 2)])
    assert _cli(["alerts", "list", "--json", "--out", str(tmp_path)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["subject"], r["revision"], r["status"]) for r in listed] == [
        ("seg-1", 1, "queued"),
        ("seg-1", 2, "queued"),
    ]
    assert _cli(["deliver", "--json", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == 2
    assert _cli(["alerts", "health", "--json", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["queue_depth"] == 0


def test_cli_approve_of_a_queued_revision_is_invalid_input(tmp_path: Path) -> None:
    ops.enqueue(tmp_path, [make_revision("seg-1", 1)])
    from core.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as info:
        _cli(["alerts", "approve", "1", "--by", "x", "--out", str(tmp_path)])
    assert info.value.exit_code == 2


def test_delivery_flow_function_drains_the_outbox(tmp_path: Path) -> None:
    from flows.delivery import delivery_flow

    ops.enqueue(tmp_path, [make_revision("seg-2", 1)])
    report = delivery_flow.fn(out=str(tmp_path))
    assert report["sent"] == 1 and report["health"]["queue_depth"] == 0


def test_delivery_flow_with_a_profile_drains_every_sink_of_the_profile(tmp_path: Path) -> None:
    """A served city passes its profile: rows of all its sinks are delivered, not only 'files'."""
    import yaml

    from core.profile import PACKAGED_PROFILES
    from flows.delivery import delivery_flow

    doc = yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text(encoding="utf-8"))
    doc["data_root"] = str(tmp_path)
    doc["sinks"] = [
        {"kind": "files", "name": "operators", "path": str(tmp_path / "operators.jsonl")},
        {"kind": "files", "name": "orders", "path": str(tmp_path / "orders.jsonl")},
    ]
    profile = tmp_path / "city.yaml"
    profile.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = tmp_path / "out"
    ops.enqueue(out, [make_revision("seg-2", 1)], sinks=("orders",))
    ops.enqueue(out, [make_revision("seg-3", 1)], sinks=("operators",))

    without = delivery_flow.fn(out=str(out))  # the files sink only: nothing of these two
    assert without["sent"] == 0 and without["health"]["queue_depth"] == 2
    report = delivery_flow.fn(out=str(out), profile=str(profile))
    assert report["sent"] == 2 and report["health"]["queue_depth"] == 0
    for name, subject in (("orders", "seg-2"), ("operators", "seg-3")):
        lines = (tmp_path / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["subject_id"] for line in lines] == [subject]
