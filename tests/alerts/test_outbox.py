"""The outbox store on SQLite and PostgreSQL: one transaction, idempotent production, statuses."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from alerts.outbox import admin, migrations
from alerts.outbox.db import connect_sqlite, migrate
from alerts.outbox.store import OutboxStore, default_path, open_store, revision_fields
from core.errors import InvalidInputError
from tests.alerts.outbox_fixtures import FakeClock, make_revision


def _rows(store: OutboxStore, sql: str) -> list[dict[str, Any]]:
    return store.db.query(sql)


def test_revision_and_one_row_per_sink(store: OutboxStore) -> None:
    rev_id = store.add_revision(make_revision("seg-1"), sinks=["files", "rabbitmq"])
    assert rev_id is not None
    rows = _rows(store, "SELECT sink, status, message_key FROM outbox ORDER BY sink")
    key = make_revision("seg-1")["message_key"]
    assert [(r["sink"], r["status"], r["message_key"]) for r in rows] == [
        ("files", "queued", key),
        ("rabbitmq", "queued", key),
    ]
    listed = admin.list_revisions(store)
    assert len(listed) == 1 and listed[0]["status"] == "queued"


def test_same_message_key_twice_adds_nothing(store: OutboxStore) -> None:
    assert store.add_revision(make_revision("seg-1"), sinks=["files"]) is not None
    assert store.add_revision(make_revision("seg-1"), sinks=["files"]) is None
    assert _rows(store, "SELECT COUNT(*) AS n FROM outbox")[0]["n"] == 1


def test_failed_transaction_leaves_no_revision(store: OutboxStore) -> None:
    with pytest.raises(RuntimeError), store.db.transaction():
        store._insert_revision(revision_fields(make_revision("a")), ("files",))
        raise RuntimeError("crash between revision and commit")
    assert _rows(store, "SELECT COUNT(*) AS n FROM revisions")[0]["n"] == 0
    assert _rows(store, "SELECT COUNT(*) AS n FROM outbox")[0]["n"] == 0


def test_event_start_is_persisted_once(store: OutboxStore) -> None:
    store.add_revision(make_revision("seg-1", 1))
    store.add_revision(make_revision("seg-1", 2, event_start="2022-07-01"))
    event = store.event(make_revision("seg-1")["alert_key"])
    assert event is not None and event["event_start"] == "2022-06-01"
    assert store.open_event("deformation", "seg-1") is not None


def test_findings_insert_or_ignore(store: OutboxStore) -> None:
    findings = [
        {"subject_id": "park-1", "kind": "ndvi_anomaly", "window": ("2022-06-01", "2022-06-14"),
         "value": -0.12, "units": "1", "coverage": 0.8, "status": "DEGRADED"},
        {"subject_id": "park-1", "kind": "ndvi_anomaly", "window": ("2022-06-08", "2022-06-21"),
         "value": -0.2, "units": "1", "coverage": 0.95, "status": "OK"},
    ]  # fmt: skip
    assert store.record_findings(findings) == 2
    assert store.record_findings(findings) == 0
    rows = store.findings("park-1", "ndvi_anomaly")
    assert [r["window_start"] for r in rows] == ["2022-06-01", "2022-06-08"]
    assert rows[0]["coverage"] == pytest.approx(0.8)


def test_approval_flow_records_who_and_when(store: OutboxStore, clock: FakeClock) -> None:
    rev = make_revision("district-3", hazard="heat", status="pending_approval")
    rev_id = store.add_revision(rev, sinks=["files"])
    assert rev_id is not None
    assert admin.list_revisions(store)[0]["status"] == "pending_approval"
    approved = admin.approve(store, rev_id, by="Dr. Huber")
    assert approved["status"] == "queued"
    assert approved["approved_by"] == "Dr. Huber" and approved["approved_at"] == clock.now
    assert approved["deliveries"][0]["status"] == "queued"
    with pytest.raises(InvalidInputError, match="only pending_approval"):
        admin.approve(store, rev_id, by="someone else")


def test_reject_and_expire(store: OutboxStore, clock: FakeClock) -> None:
    onset = clock.now + 3600
    a = store.add_revision(
        make_revision("d1", hazard="heat", status="pending_approval", onset=onset)
    )
    b = store.add_revision(
        make_revision("d2", hazard="heat", status="pending_approval", onset=onset)
    )
    assert a is not None and b is not None
    assert admin.reject(store, a, by="Dr. Huber", reason="duplicate")["status"] == "rejected"
    clock.advance(3601)
    with pytest.raises(InvalidInputError, match="expired"):
        admin.approve(store, b, by="late")
    statuses = {r["subject_id"]: r["status"] for r in admin.list_revisions(store)}
    assert statuses == {"d1": "rejected", "d2": "expired"}
    rows = _rows(store, "SELECT status FROM outbox ORDER BY id")
    assert [r["status"] for r in rows] == ["rejected", "expired"]


def test_missing_identity_field_is_invalid_input(store: OutboxStore) -> None:
    bad = make_revision("x")
    del bad["message_key"]
    with pytest.raises(InvalidInputError, match="message_key"):
        store.add_revision(bad)


def test_sqlite_pragmas_and_default_path(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    assert Path(default_path(tmp_path)).exists()
    assert s.db.query("PRAGMA journal_mode")[0]["journal_mode"] == "wal"
    assert s.db.query("PRAGMA synchronous")[0]["synchronous"] == 2  # FULL
    s.close()


def test_migrations_are_versioned_and_rerunnable(tmp_path: Path) -> None:
    db = connect_sqlite(tmp_path / "o.sqlite")
    latest = migrations.SQLITE[-1][0]
    assert migrate(db) == latest
    assert migrate(db) == latest
    assert db.query("SELECT version FROM schema_version ORDER BY version") == [
        {"version": v} for v, _ in migrations.SQLITE
    ]
    db.execute("INSERT INTO schema_version (version, applied_at) VALUES (99, 'future')")
    with pytest.raises(InvalidInputError, match="newer"):
        migrate(db)
    db.close()


def test_concurrent_reproduction_creates_no_duplicates(backend: dict[str, Any]) -> None:
    revisions = [make_revision(f"s{i % 50}", i // 50 + 1) for i in range(300)]
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            s = open_store(backend["out_dir"], dsn=backend.get("dsn"))
            for start in range(0, len(revisions), 25):
                s.add_revisions(revisions[start : start + 25], sinks=["files", "rabbitmq"])
            s.close()
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=produce) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    s = open_store(backend["out_dir"], dsn=backend.get("dsn"))
    assert s.db.query("SELECT COUNT(*) AS n FROM revisions")[0]["n"] == 300
    assert s.db.query("SELECT COUNT(*) AS n FROM outbox")[0]["n"] == 600
    s.close()


def test_sqlite_file_is_a_real_wal_database(tmp_path: Path) -> None:
    s = open_store(tmp_path)
    s.add_revision(make_revision("seg-9"))
    s.close()
    raw = sqlite3.connect(default_path(tmp_path))
    assert raw.execute("SELECT COUNT(*) FROM revisions").fetchone() == (1,)
    raw.close()
