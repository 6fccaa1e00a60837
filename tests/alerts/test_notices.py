"""Operator notices about dead rows: one per dead revision, across reruns, never about a notice."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest

from alerts.outbox import admin
from alerts.outbox import commands as ops
from alerts.outbox.queue import claim, health
from alerts.outbox.relay import Backoff, RelayStats, run_relay
from alerts.outbox.store import OutboxStore
from alerts.sinks.base import DeliveryReceipt, OutboundMessage, PermanentSinkError
from flows import cli_alerts
from tests.alerts.outbox_fixtures import FakeClock, RecordingSink, make_revision


class Refuses(RecordingSink):
    """Refuses every message whose subject contains ``bad`` (notices about it included when
    ``notices_too``)."""

    def __init__(self, name: str = "files", notices_too: bool = False) -> None:
        super().__init__(name)
        self.notices_too = notices_too

    def deliver(self, message: OutboundMessage) -> DeliveryReceipt:
        if "bad" in message.subject_id and (self.notices_too or message.hazard != "notice"):
            raise PermanentSinkError("schema violation")
        return super().deliver(message)


def _drain(store: OutboxStore, *sinks: RecordingSink) -> RelayStats:
    return run_relay(
        store, {s.name: s for s in sinks}, once=True, backoff=Backoff(0.0, 0.0),
        max_attempts=3, dead_notices=True,
    )  # fmt: skip


def _notices(store: OutboxStore) -> list[dict[str, object]]:
    return store.db.query(
        "SELECT id, subject_id, status, payload FROM revisions WHERE hazard = 'notice' ORDER BY id"
    )


def _expected_key(hazard: str, subject: str, dead_key: str) -> str:
    items = ["notice", f"{hazard}/{subject}", f"dead:{dead_key}"]
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()


def test_a_dead_row_yields_one_notice_across_reruns_and_retries(store: OutboxStore) -> None:
    bad, good = make_revision("bad"), make_revision("good")
    store.add_revisions([bad, good])
    sink = Refuses()
    stats = _drain(store, sink)
    assert (stats.dead, stats.sent) == (1, 2)  # good, then the notice in the same pass
    [notice] = _notices(store)
    payload = json.loads(str(notice["payload"]))
    assert notice["subject_id"] == "deformation/bad" and notice["status"] == "sent"
    assert payload["alert_key"] == _expected_key("deformation", "bad", bad["message_key"])
    assert payload["payload"]["dead_message_key"] == bad["message_key"]
    assert "schema violation" in payload["summary"]
    assert [(m.hazard, m.subject_id) for m in sink.raw] == [
        ("deformation", "good"),
        ("notice", "deformation/bad"),
    ]
    for _ in range(2):  # relay restarts, and an operator retry that dies again
        _drain(store, Refuses())
        admin.retry(store, 1)
    _drain(store, sink)
    assert len(_notices(store)) == 1 and len(sink.raw) == 2
    assert health(store).dead == 1


def test_a_dead_notice_gets_no_notice_and_blocks_nothing_else(store: OutboxStore) -> None:
    store.add_revisions([make_revision("bad", 1), make_revision("bad", 2), make_revision("ok")])
    sink = Refuses(notices_too=True)
    stats = _drain(store, sink)
    assert stats.dead == 2  # the revision and its notice; no notice about the notice
    [notice] = _notices(store)
    assert notice["status"] == "dead"
    _drain(store, sink)
    assert len(_notices(store)) == 1
    assert [m.subject_id for m in sink.raw] == ["ok"]
    blocked = {b["subject_key"]: b["waiting"] for b in health(store).blocked}
    assert blocked == {"deformation/bad": 1}  # revision 2 waits behind the dead revision 1


def test_two_dead_sinks_of_one_revision_give_one_notice_to_both(store: OutboxStore) -> None:
    store.add_revision(make_revision("bad"), ["files", "webhook"])
    files, hook = Refuses("files"), Refuses("webhook")
    assert _drain(store, files, hook).dead == 2
    [notice] = _notices(store)
    assert [m.hazard for m in files.raw] == ["notice"] and [m.hazard for m in hook.raw] == [
        "notice"
    ]
    assert json.loads(str(notice["payload"]))["payload"]["sinks"] == ["files", "webhook"]


def test_a_crash_looping_row_yields_one_notice(store: OutboxStore, clock: FakeClock) -> None:
    store.add_revision(make_revision("a"))
    for _ in range(4):  # the relay dies while delivering, every time
        claim(store, "r", ["files"], lease_s=1.0, batch=5, max_attempts=3, dead_notices=True)
        clock.advance(2)
    [notice] = _notices(store)
    assert notice["subject_id"] == "deformation/a"
    assert "lease expired" in json.loads(str(notice["payload"]))["payload"]["error"]


def test_without_the_option_no_notice_is_made(store: OutboxStore) -> None:
    store.add_revision(make_revision("bad"))
    run_relay(store, {"files": Refuses()}, once=True, max_attempts=1)
    assert _notices(store) == []


def test_deliver_queues_the_notice_and_alerts_list_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops.enqueue(tmp_path, [make_revision("bad"), make_revision("good")])
    report = ops.deliver(tmp_path, {"files": Refuses()}, backoff=Backoff(0.0, 0.0))
    assert (report["dead"], report["sent"]) == (1, 2)
    ops.deliver(tmp_path, {"files": Refuses()})
    parser = argparse.ArgumentParser()
    cli_alerts.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["alerts", "list", "--json", "--out", str(tmp_path)])
    assert args.handler(args) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["hazard"], r["subject"], r["status"]) for r in listed] == [
        ("deformation", "bad", "dead"),
        ("deformation", "good", "sent"),
        ("notice", "deformation/bad", "sent"),
    ]


def test_a_dead_row_notice_is_cleared_once_its_revision_is_delivered_after_a_retry(
    tmp_path: Path,
) -> None:
    """The dead-row notice is an event: opened when the row dies, cleared (Cancel) by the first
    ``deliver`` after the retried revision went out; later passes add nothing."""
    ops.enqueue(tmp_path, [make_revision("bad")])
    refusing, fixed = Refuses(), RecordingSink()
    first = ops.deliver(tmp_path, {"files": refusing}, backoff=Backoff(0.0, 0.0), max_attempts=1)
    assert first["dead"] == 1 and first["dead_notices_cleared"] == 0
    (rev_id,) = [r["id"] for r in ops.list_revisions(tmp_path) if r["hazard"] == "deformation"]
    ops.retry(tmp_path, rev_id)  # the operator fixed the sink and retries
    second = ops.deliver(tmp_path, {"files": fixed}, backoff=Backoff(0.0, 0.0))
    assert second["dead_notices_cleared"] == 1
    for _ in range(2):
        assert ops.deliver(tmp_path, {"files": fixed})["dead_notices_cleared"] == 0
    notices = [r for r in ops.list_revisions(tmp_path) if r["hazard"] == "notice"]
    assert [(n["revision"], n["msg_type"]) for n in notices] == [(1, "Alert"), (2, "Cancel")]
    assert len({n["alert_key"] for n in notices}) == 1
    assert [m.msg_type for m in fixed.raw if m.hazard == "notice"] == ["Cancel"]
