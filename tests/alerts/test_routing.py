"""Routing: each sink gets outbox rows only for the revisions its profile ``accepts`` names.

The acceptance case uses the packaged ``vienna`` profile's sinks: operator notices and digests
reach only the operators' sink (the files sink, which the served relay drains), irrigation work orders only the Open311 sink, and a heat bulletin
only the public-health sink (RabbitMQ).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.decide.notices import digest_revision
from alerts.decide.pipeline import apply_findings
from alerts.decide.policy import load_notice_policy, load_policy
from alerts.model import Finding, SubjectStatus
from alerts.outbox.dead_notices import queue_dead_notices
from alerts.outbox.store import OutboxStore, open_store
from alerts.sinks.routing import DeliveryKind, Routing, delivery_kind
from core.errors import InvalidInputError, ProfileError
from core.profile import load_profile, parse_profile
from core.status import CoverageRule
from tests.alerts.outbox_fixtures import make_revision

T0 = datetime(2022, 6, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
COVERAGE = CoverageRule(minimum=0.6, degraded_below=0.9, min_dates=2)


def _vienna() -> Routing:
    return Routing.from_profile(load_profile("vienna").sinks)


def _finding(subject: str, week: int, score: float, coverage: float = 1.0) -> Finding:
    gap = coverage < COVERAGE.minimum
    start = T0 + week * WEEK
    return Finding(
        "irrigation_priority", subject, start, start + 2 * WEEK - timedelta(seconds=1),
        float("nan") if gap else score, "1", 0.6, coverage, 0 if gap else (4 if score >= 0.6 else 1),
        ("S2A_x",), SubjectStatus.DATA_GAP if gap else SubjectStatus.OK,
        ("few_clear",) if gap else (),
    )  # fmt: skip


def _rows_by_sink(store: OutboxStore) -> dict[str, set[tuple[str, str]]]:
    """Per sink: the (hazard, kind) of every revision it has an outbox row for."""
    out: dict[str, set[tuple[str, str]]] = {}
    rows = store.db.query(
        "SELECT o.sink, r.hazard, r.payload FROM outbox o JOIN revisions r ON r.id = o.revision_id"
    )
    for row in rows:
        kind = delivery_kind(json.loads(str(row["payload"])))
        out.setdefault(str(row["sink"]), set()).add((str(row["hazard"]), str(kind)))
    return out


def test_vienna_routes_notices_and_digests_to_operators_and_work_orders_to_open311(
    tmp_path: Path,
) -> None:
    routing = _vienna()
    policy = load_policy("irrigation").with_coverage(COVERAGE)
    store = open_store(tmp_path)
    try:
        for week in range(3):  # "dry" is urgent every week (a work order), "hidden" never seen
            findings = [_finding("dry", week, 0.9), _finding("hidden", week, 0.0, coverage=0.1)]
            apply_findings(
                store, findings, policy, now=T0 + (week + 2) * WEEK, sinks=routing,
                notice_policy=load_notice_policy(),
            )  # fmt: skip
        digest = digest_revision(
            hazard="irrigation", scope="vienna", period=(T0, T0 + 3 * WEEK),
            changes={"opened": ["hidden"]}, work_orders=1, open_gaps=["hidden"], now=T0 + 5 * WEEK,
        )  # fmt: skip
        store.add_revision(digest, routing.sinks_for(digest))
        by_sink = _rows_by_sink(store)
    finally:
        store.close()
    assert by_sink["files"] == {("notice", "notice"), ("notice", "digest")}
    assert by_sink["open311"] == {("irrigation", "work_order")}
    assert "rabbitmq" not in by_sink  # no heat bulletin was produced


def test_each_kind_reaches_only_its_sinks_under_the_vienna_profile() -> None:
    routing = _vienna()
    heat = make_revision("district-7", hazard="heat")
    deformation = make_revision("seg-5", hazard="deformation")
    irrigation = make_revision("park-1", hazard="irrigation")
    assert delivery_kind(heat) == DeliveryKind.BULLETIN
    assert routing.sinks_for(heat) == ("rabbitmq",)
    assert routing.sinks_for(irrigation) == ("open311",)
    assert routing.sinks_for(deformation) == ("maintenance-open311",)
    # No product's message reaches nobody: each hazard's work orders or bulletins have a sink.
    assert all(routing.sinks_for(r) for r in (heat, deformation, irrigation))


def test_a_sink_without_accepts_takes_everything() -> None:
    routing = Routing.from_profile(load_profile("vienna-demo").sinks)
    for hazard in ("irrigation", "heat", "deformation"):
        assert routing.sinks_for(make_revision("x", hazard=hazard)) == ("files",)


def test_dead_row_notice_goes_to_the_sinks_that_accept_notices(tmp_path: Path) -> None:
    routing = _vienna()
    store = open_store(tmp_path)
    store.routing = routing
    try:
        store.add_revision(make_revision("park-1", hazard="irrigation"), ["open311"])
        store.db.execute("UPDATE outbox SET status = 'dead', last_error = 'refused (400)'")
        ids = [int(r["id"]) for r in store.db.query("SELECT id FROM outbox")]
        with store.db.transaction():
            assert queue_dead_notices(store, ids) == 1
            assert queue_dead_notices(store, ids) == 0  # one notice per dead-row event
        by_sink = _rows_by_sink(store)
    finally:
        store.close()
    assert by_sink["files"] == {("notice", "notice")}
    assert by_sink["open311"] == {("irrigation", "work_order")}  # never a ticket about a notice


def test_a_misspelt_hazard_or_kind_is_refused_with_the_known_names(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown hazard.*irigation.*known: irrigation"):
        Routing.from_config({"s": {"type": "files", "accepts": {"hazards": ["irigation"]}}})
    doc = {
        "name": "t", "title": "T", "aoi": {"path": "a.geojson"},
        "layers": {"parks": {"path": "p.geojson", "id_field": "id"}},
        "sources": {"sentinel2": {"provider": "earth-search", "collection": "c", "catalog": "x"}},
        "sinks": [{"kind": "files", "accepts": {"kinds": ["workorder"]}}],
    }  # fmt: skip
    with pytest.raises(ProfileError, match=r"sinks\.0\.accepts\.kinds"):
        parse_profile(doc, base_dir=tmp_path, source="t.yaml")
