"""The history behind the persistence term, and a new score rule as a revision of open work orders.

History: the irrigation findings recorded in the outbox (one per park and window) read back as
classes, DATA_GAP windows without one; only windows before the evaluated one, within the lookback.
Revisions: the work-order rule takes its urgent limit from the score rule (``same_as``), so a new
score-rule version re-issues an open work order (DESIGN section 5) even when the work-order rule's
own version is unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from alerts.decide.rules import Action, decide, load_policy
from alerts.detect.irrigation import irrigation_priority, load_priority_policy
from alerts.detect.irrigation_findings import irrigation_findings
from alerts.detect.irrigation_history import history_from_findings, load_history
from alerts.model import Finding, RevisionKind
from alerts.outbox.store import open_store
from tests.alerts.vegetation_factories import COVERAGE, park_stats

END = date(2022, 7, 26)


def _findings(end: date) -> list[Finding]:
    """The findings of the factory parks for the window ending ``end``, as the flow records them."""
    ranked = irrigation_priority(park_stats(), load_priority_policy(), coverage=COVERAGE)
    return irrigation_findings(
        ranked, window_start=end - timedelta(days=13), window_end=end, threshold=0.5,
        coverage=COVERAGE,
    )  # fmt: skip


def test_history_from_findings_reads_classes_and_gaps() -> None:
    rows = [f.to_dict() for f in _findings(END)]
    rows.append({**rows[0], "kind": "heat_bulletin"})  # another product's finding: skipped
    history = history_from_findings(rows).set_index("park_id")
    assert len(history) == 5
    assert history.loc["p-dry", "priority_class"] == 1  # level 4
    assert history.loc["p-mid", "priority_class"] == 2
    assert history.loc["p-ok", "priority_class"] == 4  # level 1
    assert pd.isna(history.loc["p-gap", "priority_class"])
    assert history.loc["p-gap", "status"] == "DATA_GAP"
    assert set(history["window_end"]) == {END}


def test_load_history_reads_the_outbox_before_the_window(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        for weeks in range(6):  # windows ending END - 35 d .. END
            store.record_findings(f.to_dict() for f in _findings(END - timedelta(days=7 * weeks)))
    finally:
        store.close()
    history = load_history(tmp_path, dsn=None, before=END, lookback_days=28)
    ends = sorted(set(history["window_end"]))
    assert ends == [END - timedelta(days=d) for d in (28, 21, 14, 7)]
    assert len(history) == 4 * 5
    # the persistence the score then sees: p-mid at class 2 in each of the four earlier windows
    ranked = irrigation_priority(
        park_stats(), load_priority_policy(), coverage=COVERAGE, history=history, window_end=END
    ).set_index("park_id")
    assert ranked.loc["p-mid", "stressed_days"] == 28
    assert ranked.loc["p-ok", "stressed_days"] == 0
    # 0.78 x 1.5 = 1.17 -> 0.539: four weeks at "high" make the park urgent
    assert ranked.loc["p-mid", "score"] == pytest.approx(1.17 / 2.17)
    assert ranked.loc["p-mid", "priority_class"] == 1


def test_load_history_of_an_empty_outbox(tmp_path: Path) -> None:
    history = load_history(tmp_path, dsn=None, before=END, lookback_days=28)
    assert history.empty and list(history.columns) == [
        "park_id", "window_end", "status", "priority_class",
    ]  # fmt: skip


def _finding(week: int, value: float) -> Finding:
    start = datetime(2022, 6, 6, tzinfo=UTC) + timedelta(weeks=week)
    return Finding("irrigation_priority", "park-1", start, start + timedelta(days=14), value, "1",
                   0.5, 1.0, 4 if value >= 0.5 else 1)  # fmt: skip


def test_a_new_score_rule_version_is_a_revision_of_an_open_work_order() -> None:
    policy = load_policy("irrigation").with_coverage(COVERAGE)
    assert policy.threshold(4) == load_priority_policy().urgent == 0.5
    assert policy.references == (load_priority_policy().version,)
    now = datetime(2022, 8, 1, tzinfo=UTC)
    history = [_finding(0, 0.6), _finding(1, 0.6)]
    opened = decide(history, None, None, policy, now)
    assert opened.action == Action.OPEN and opened.revision is not None
    assert opened.revision.payload["rule_references"] == ["irrigation-priority-2.0.0"]
    later = [*history, _finding(2, 0.62)]
    same = decide(later, opened.event, opened.revision, policy, now)
    assert same.action == Action.NOTHING  # same rules, evidence moved less than 0.10
    # the score rule changes version, the work-order rule's own version does not
    newer = replace(policy, references=("irrigation-priority-2.1.0",))
    moved = decide(later, opened.event, opened.revision, newer, now)
    assert moved.action == Action.REVISE and moved.revision is not None
    assert moved.revision.kind == RevisionKind.RULE_VERSION_CHANGE
    assert moved.revision.revision == 2 and moved.revision.msg_type == "Update"
    assert moved.revision.rule_version == policy.version
    assert moved.revision.payload["rule_references"] == ["irrigation-priority-2.1.0"]
    # a revision recorded before references were kept compares as unchanged
    legacy = replace(
        opened.revision,
        payload={k: v for k, v in opened.revision.payload.items() if k != "rule_references"},
    )
    assert decide(later, opened.event, legacy, newer, now).action == Action.NOTHING
