"""A ticket closed by the crew closes the event, and the park is not raised again next week.

DESIGN section 5: ``geospace deliver`` (``alerts.outbox.commands.deliver``, also the delivery flow)
reads back the status of the Open311 tickets after each pass (``sync_status``); against the local
GeoReport v2 test server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.decide.pipeline import apply_findings
from alerts.decide.policy import load_policy
from alerts.decide.revisions import SubjectInfo
from alerts.model import Finding, SubjectStatus
from alerts.outbox import commands
from alerts.outbox.store import open_store
from core.status import CoverageRule
from tests.alerts.outbox_fixtures import Open311Server

T0 = datetime(2022, 6, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
POLICY = load_policy("irrigation").with_coverage(CoverageRule(0.6, 0.9, 2))
PARK = SubjectInfo(
    name="Augarten",
    geometry={"type": "Polygon", "coordinates": [[[16.37, 48.22], [16.38, 48.22], [16.38, 48.23],
                                                  [16.37, 48.23], [16.37, 48.22]]]},
)  # fmt: skip


@pytest.fixture
def open311_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPEN311_API_KEY", "k-secret")
    monkeypatch.setenv("OPEN311_JURISDICTION_ID", "wien.gv.at")


def _week(out: Path, week: int, score: float) -> list[str]:
    """One weekly window of the park with ``score``; returns the actions decided."""
    start = T0 + week * WEEK
    finding = Finding(
        "irrigation_priority", "augarten", start, start + 2 * WEEK, score, "1", 0.6, 1.0,
        4 if score >= 0.6 else 1, ("S2A_x",), SubjectStatus.OK,
    )  # fmt: skip
    store = open_store(out)
    try:
        outcomes = apply_findings(
            store, [finding], POLICY, now=start + 2 * WEEK, sinks=("open311",),
            subjects={"augarten": PARK},
        )  # fmt: skip
    finally:
        store.close()
    return [o.action for o in outcomes]


def _deliver(out: Path, server: Open311Server) -> dict[str, object]:
    config = {"open311": {"type": "open311", "endpoint": server.url, "service_code": "irrigation"}}
    return commands.deliver(out, sink_config=config)


def test_a_ticket_closed_by_the_crew_closes_the_event_and_is_not_raised_again(
    tmp_path: Path, open311_server: Open311Server, open311_env: None
) -> None:
    assert _week(tmp_path, 0, 0.9) == ["nothing"]  # one urgent window: not persistent yet
    assert _week(tmp_path, 1, 0.9) == ["open"]
    first = _deliver(tmp_path, open311_server)
    assert first["sent"] == 1 and first["tickets_closed"] == []
    [(ticket_id, ticket)] = open311_server.tickets.items()
    ticket["status"] = "closed"  # the crew watered the park and closed the ticket
    report = _deliver(tmp_path, open311_server)
    store = open_store(tmp_path)
    try:
        assert report["tickets_closed"] == [ticket["attributes"]["alert_key"]]
        assert store.open_event("irrigation", "augarten") is None
    finally:
        store.close()
    assert _week(tmp_path, 2, 0.9) == ["nothing"]  # still dry by satellite: not raised again
    _deliver(tmp_path, open311_server)
    assert list(open311_server.tickets) == [ticket_id]
    assert _week(tmp_path, 3, 0.05) == ["nothing"]  # recovered: the hold ends
    assert _week(tmp_path, 4, 0.05) == ["nothing"]
    assert _week(tmp_path, 5, 0.9) == ["nothing"]  # 1 of the last 3 windows: not persistent
    assert _week(tmp_path, 6, 0.9) == ["open"]  # dry again, persistently: a new event
    _deliver(tmp_path, open311_server)
    assert len(open311_server.tickets) == 2


def test_a_status_read_failure_is_reported_and_the_delivery_stands(
    tmp_path: Path, open311_server: Open311Server, open311_env: None
) -> None:
    _week(tmp_path, 0, 0.9)
    _week(tmp_path, 1, 0.9)
    assert _deliver(tmp_path, open311_server)["sent"] == 1
    open311_server.close()  # the endpoint goes away before the next pass
    report = _deliver(tmp_path, open311_server)
    assert report["tickets_closed"] == []
    assert any("ticket status of sink open311 not read" in e for e in report["errors"])  # type: ignore[attr-defined]
