"""The relay's claim stays an index walk at a 10^4 backlog on both backends (issue 10).

Plans, not timings: PostgreSQL's ``EXPLAIN`` of the claim has no sequential scan of the outbox and no
anti-join over the queued rows; SQLite's query plan walks an index in id order (no full scan, no
temporary sort). The relay analyses the tables at start (``refresh_planner_statistics``), as here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from alerts.outbox.queue import claim, explain_claim, refresh_planner_statistics
from alerts.outbox.store import open_store
from tests.alerts.outbox_fixtures import FakeClock, make_revision, reset_pg

BACKLOG = 10_000
SUBJECTS = BACKLOG // 4


def _fill(store: Any) -> None:
    revs = [make_revision(f"seg-{i % SUBJECTS:05d}", i // SUBJECTS + 1) for i in range(BACKLOG)]
    for start in range(0, BACKLOG, 1000):
        store.add_revisions(revs[start : start + 1000], sinks=["null"])


def _claim_is_ordered(store: Any) -> None:
    """The plan's claim still keeps per-subject order: only the first revision of each subject."""
    rows = claim(store, "t", ["null"], lease_s=60, batch=50, max_attempts=5)
    assert [c.message.revision for c in rows] == [1] * 50
    assert len({c.message.subject_id for c in rows}) == 50


@pytest.mark.services
def test_postgres_claim_has_no_sequential_scan_at_a_large_backlog(pg_dsn: str) -> None:
    reset_pg(pg_dsn)
    store = open_store(None, dsn=pg_dsn, clock=FakeClock())
    try:
        _fill(store)
        refresh_planner_statistics(store)
        plan = "\n".join(explain_claim(store, ["null"]))
        assert not re.search(r"Seq Scan on outbox", plan), plan
        assert "Anti Join" not in plan, plan
        assert re.search(r"Index (Only )?Scan using outbox_\w+ on outbox o\b", plan), plan
        _claim_is_ordered(store)
    finally:
        store.close()


def test_sqlite_claim_walks_an_index_at_a_large_backlog(tmp_path: Path) -> None:
    store = open_store(tmp_path / "out", clock=FakeClock())
    try:
        _fill(store)
        refresh_planner_statistics(store)
        plan = explain_claim(store, ["null"])
        outer = [d for d in plan if re.search(r"\b(SCAN|SEARCH) o\b", d)]
        assert outer and all(d.startswith("SEARCH o USING") for d in outer), plan
        assert not any("TEMP B-TREE" in d for d in plan), plan
        assert any("outbox_head" in d for d in plan), plan
        _claim_is_ordered(store)
    finally:
        store.close()
