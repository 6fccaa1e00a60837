"""Rules: coverage, persistence, hysteresis, storm cap, notices and policy files."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from alerts.decide.rules import (
    Action,
    Decision,
    coverage_status,
    decide,
    hysteresis_level,
    load_notice_policy,
    load_policy,
    parse_policy,
    persistent,
)
from alerts.model import (
    Certainty,
    Event,
    Finding,
    Revision,
    RevisionKind,
    RevisionStatus,
    SubjectStatus,
    alert_key,
    message_key,
)
from core.errors import InvalidInputError
from core.status import CoverageRule

from .conftest import T0, WEEK

POLICIES = Path(__file__).resolve().parents[2] / "alerts" / "policies"

Make = Callable[..., Finding]
# The engine is tested on a three-level policy (watch, high, urgent); the packaged irrigation policy
# raises work orders at the urgent level only. Coverage comes from the profile (60 % / 90 % in the
# packaged ones), bound as flows/alerting.py binds it.
IRRIGATION = parse_policy(
    {**yaml.safe_load((POLICIES / "irrigation.yaml").read_text(encoding="utf-8")),
     "levels": {2: "0.20 1", 3: "0.40 1", 4: "0.60 1"}, "hysteresis": "0.05 1"},
    "three-level irrigation test policy",
).with_coverage(CoverageRule(minimum=0.6, degraded_below=0.9, min_dates=2))  # fmt: skip
NOW = T0 + 30 * WEEK


def _run(series: Sequence[tuple[float, float]], make: Make, policy=IRRIGATION) -> list[Decision]:
    """Feed (value, coverage) windows one by one, keeping the event state as a caller would."""
    history: list[Finding] = []
    event: Event | None = None
    last: Revision | None = None
    out = []
    for i, (value, coverage) in enumerate(series):
        history.append(make(i, value, coverage))
        d = decide(history, event, last, policy, T0 + i * WEEK + 2 * WEEK)
        out.append(d)
        if d.action in (Action.OPEN, Action.REVISE):
            event, last = d.event, d.revision
        elif d.action == Action.CLEAR:
            event, last = None, None
    return out


@pytest.mark.parametrize(
    ("coverage", "status"),
    [
        (0.0, "DATA_GAP"),
        (0.59, "DATA_GAP"),
        (0.6, "DEGRADED"),
        (0.89, "DEGRADED"),
        (0.9, "OK"),
        (1.0, "OK"),
        (math.nan, "DATA_GAP"),
    ],
)
def test_coverage_status(coverage: float, status: str) -> None:
    assert coverage_status(coverage, IRRIGATION) == SubjectStatus(status)


def test_single_window_spike_produces_nothing(finding: Make) -> None:
    decisions = _run([(0.1, 1), (0.9, 1), (0.1, 1), (0.1, 1)], finding)
    assert [d.action for d in decisions] == [Action.NOTHING] * 4
    assert all(d.revision is None for d in decisions)


def test_two_of_three_windows_open_an_event_at_the_persistent_level(finding: Make) -> None:
    decisions = _run([(0.1, 1), (0.45, 1), (0.1, 1), (0.7, 1)], finding)
    assert [d.action for d in decisions] == [Action.NOTHING] * 3 + [Action.OPEN]
    opened = decisions[-1]
    assert opened.revision is not None and opened.event is not None
    # 0.45 and 0.7 are both >= 0.40 (level 3); only one window reached 0.60 (level 4)
    assert opened.revision.level == 3
    assert opened.revision.revision == 1 and opened.revision.kind == RevisionKind.NEW
    # the event starts at the first alerting window of the persistent run (week 1)
    start = T0 + WEEK
    assert opened.event.event_start == start
    assert opened.revision.alert_key == alert_key("irrigation", "park-1", start)
    assert opened.revision.message_key == message_key(opened.revision.alert_key, 1)
    assert opened.revision.status == RevisionStatus.QUEUED
    assert opened.revision.certainty == Certainty.LIKELY


def test_value_hovering_at_the_threshold_does_not_flap(finding: Make) -> None:
    hovering = [0.41, 0.42, 0.38, 0.41, 0.37, 0.40, 0.36, 0.39, 0.42, 0.38]
    decisions = _run([(v, 1.0) for v in hovering], finding)
    actions = [d.action for d in decisions]
    assert actions[1] == Action.OPEN and decisions[1].revision.level == 3  # type: ignore[union-attr]
    # every later value stays >= 0.40 - 0.05: the level holds, nothing is re-sent
    assert actions[2:] == [Action.NOTHING] * (len(hovering) - 2)


def test_leaving_below_threshold_minus_hysteresis_steps_down_then_clears(finding: Make) -> None:
    decisions = _run([(0.45, 1), (0.45, 1), (0.34, 1), (0.1, 1)], finding)
    assert [d.action for d in decisions] == [
        Action.NOTHING,
        Action.OPEN,
        Action.REVISE,
        Action.CLEAR,
    ]
    down, clear = decisions[2].revision, decisions[3].revision
    assert down is not None and clear is not None
    assert down.kind == RevisionKind.LEVEL_CHANGE and down.level == 2 and down.msg_type == "Update"
    assert down.previous_message_key == decisions[1].revision.message_key  # type: ignore[union-attr]
    assert down.previous_sent == decisions[1].revision.created_at  # type: ignore[union-attr]
    assert clear.kind == RevisionKind.CLEAR and clear.msg_type == "Cancel" and clear.revision == 3
    assert decisions[3].event is not None and not decisions[3].event.open


def test_level_rises_only_after_persistence(finding: Make) -> None:
    decisions = _run([(0.45, 1), (0.45, 1), (0.65, 1), (0.65, 1)], finding)
    assert [d.action for d in decisions] == [
        Action.NOTHING,
        Action.OPEN,
        Action.REVISE,
        Action.REVISE,
    ]
    # one window at 0.65 is new evidence at level 3 (moved by 0.20 > 0.10), not yet level 4
    third, fourth = decisions[2].revision, decisions[3].revision
    assert third is not None and fourth is not None
    assert (third.kind, third.level) == (RevisionKind.NEW_EVIDENCE, 3)
    assert (fourth.kind, fourth.level, fourth.revision) == (RevisionKind.LEVEL_CHANGE, 4, 3)


def test_too_little_coverage_gives_one_notice_across_reruns_and_never_an_alert(
    finding: Make,
) -> None:
    history = [finding(0, 0.9, 1.0), finding(1, 0.9, 0.3)]  # would alert, but the latest is a gap
    first = decide(history, None, None, IRRIGATION, NOW)
    rerun = decide(list(reversed(history)), None, None, IRRIGATION, NOW + timedelta(hours=5))
    for d in (first, rerun):
        assert d.action == Action.NOTICE and d.subject_status == SubjectStatus.DATA_GAP
        assert d.revision is not None and d.revision.hazard == "notice"
        assert d.event is None
    keys = {first.revision.message_key, rerun.revision.message_key}  # type: ignore[union-attr]
    assert len(keys) == 1
    expected = alert_key("notice", "irrigation/park-1", T0 + WEEK)
    assert first.revision.alert_key == expected  # type: ignore[union-attr]


def test_data_gap_with_an_open_event_keeps_the_event(finding: Make) -> None:
    decisions = _run([(0.5, 1), (0.5, 1), (0.5, 0.1), (math.nan, 1.0)], finding)
    assert [d.action for d in decisions] == [
        Action.NOTHING,
        Action.OPEN,
        Action.NOTICE,
        Action.NOTICE,
    ]
    assert decisions[2].event == decisions[1].event
    assert decisions[2].revision.message_key != decisions[3].revision.message_key  # type: ignore[union-attr]


def test_data_gap_windows_are_not_counted_as_alerting(finding: Make) -> None:
    history = [finding(0, 0.9, 0.2), finding(1, 0.9, 0.2), finding(2, 0.9, 1.0)]
    assert decide(history, None, None, IRRIGATION, NOW).action == Action.NOTHING
    rated = [finding(i, 0.9, c, level=2) for i, c in enumerate((1.0, 1.0, 1.0))]
    gaps = [
        Finding(
            "k",
            "s",
            f.window_start,
            f.window_end,
            1.0,
            "1",
            0.0,
            0.0,
            2,
            status=SubjectStatus.DATA_GAP,
        )
        for f in rated
    ]
    assert persistent(rated, 2, 3)
    assert not persistent([*gaps[:2], rated[2]], 2, 3)
    assert not persistent([rated[0], *gaps[1:]], 2, 3)  # the gaps take the last slots
    assert persistent([rated[0], gaps[1], rated[2]], 2, 3)


def test_degraded_coverage_lowers_certainty(finding: Make) -> None:
    decisions = _run([(0.5, 0.7), (0.5, 0.7)], finding)
    assert decisions[1].action == Action.OPEN
    assert decisions[1].subject_status == SubjectStatus.DEGRADED
    assert decisions[1].revision.certainty == Certainty.POSSIBLE  # type: ignore[union-attr]


def test_storm_cap_one_open_event_per_subject(finding: Make) -> None:
    decisions = _run([(0.5, 1)] * 6 + [(0.9, 1)] * 3, finding)
    opened = [d for d in decisions if d.action == Action.OPEN]
    assert len(opened) == 1
    keys = {d.revision.alert_key for d in decisions if d.revision is not None}
    assert keys == {opened[0].revision.alert_key}  # type: ignore[union-attr]


def test_new_evidence_and_rule_version_change(finding: Make) -> None:
    opened = _run([(0.45, 1), (0.45, 1)], finding)[1]
    assert opened.revision is not None and opened.event is not None
    small = [finding(0, 0.45), finding(1, 0.45), finding(2, 0.52)]
    assert decide(small, opened.event, opened.revision, IRRIGATION, NOW).action == Action.NOTHING
    moved = [finding(0, 0.45), finding(1, 0.45), finding(2, 0.58)]
    d = decide(moved, opened.event, opened.revision, IRRIGATION, NOW)
    assert d.action == Action.REVISE and d.revision.kind == RevisionKind.NEW_EVIDENCE  # type: ignore[union-attr]
    assert d.revision.revision == 2 and d.revision.level == 3  # type: ignore[union-attr]
    from dataclasses import replace

    newer = replace(IRRIGATION, version="irrigation-9.9.9")
    d = decide(small, opened.event, opened.revision, newer, NOW)
    assert d.revision.kind == RevisionKind.RULE_VERSION_CHANGE  # type: ignore[union-attr]
    assert d.revision.rule_version == "irrigation-9.9.9"  # type: ignore[union-attr]


def test_open_event_without_last_revision_is_refused(finding: Make) -> None:
    event = Event.start("irrigation", "park-1", T0)
    with pytest.raises(InvalidInputError, match="last revision"):
        decide([finding(0, 0.5)], event, None, IRRIGATION, NOW)


def test_heat_bulletins_wait_for_approval_and_convert_units(finding: Make) -> None:
    heat = load_policy("heat")
    f = finding(0, 273.15 + 36.0, kind="felt_tmax_forecast", units="K", subject="d9")
    d = decide([f], None, None, heat, T0)
    assert d.action == Action.OPEN and d.revision is not None
    assert d.revision.status == RevisionStatus.PENDING_APPROVAL
    assert d.revision.level == 3  # 36 degC: starke Belastung (35 degC)
    assert d.revision.payload["value"] == pytest.approx(36.0)
    assert d.revision.onset == f.window_start  # the forecast window lies ahead
    assert d.revision.expires == f.window_end


def test_deformation_compares_magnitude_and_gates_on_detector_level(finding: Make) -> None:
    policy = load_policy("deformation")
    fs = [finding(i, -6.0, kind="vertical_velocity", units="mm/yr", level=3) for i in range(2)]
    d = decide(fs, None, None, policy, NOW)
    assert d.action == Action.OPEN and d.revision.level == 3  # type: ignore[union-attr]
    insignificant = [
        finding(i, -6.0, kind="vertical_velocity", units="mm yr-1", level=0) for i in range(2)
    ]
    assert decide(insignificant, None, None, policy, NOW).action == Action.NOTHING


def test_wrong_kind_or_several_subjects_are_refused(finding: Make) -> None:
    with pytest.raises(InvalidInputError, match="finding_kind"):
        decide([finding(0, 0.5, kind="lst")], None, None, IRRIGATION, NOW)
    with pytest.raises(InvalidInputError, match="one subject"):
        decide([finding(0, 0.5), finding(1, 0.5, subject="p2")], None, None, IRRIGATION, NOW)


@pytest.mark.parametrize(
    ("value", "current", "expected"),
    [
        (0.41, 0, 3),
        (0.39, 0, 2),
        (0.36, 3, 3),
        (0.35, 3, 3),
        (0.34, 3, 2),
        (0.14, 2, 0),
        (0.16, 2, 2),
        (0.65, 3, 4),
        (math.nan, 3, 3),
    ],
)
def test_hysteresis_level(value: float, current: int, expected: int) -> None:
    assert hysteresis_level(value, current, IRRIGATION) == expected


# --- policy files ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["irrigation", "heat", "deformation"])
def test_builtin_policies_load_and_are_versioned(name: str) -> None:
    policy = load_policy(name)
    assert policy.hazard == name
    assert policy.version.startswith(f"{name}-")
    assert [lv for lv, _ in policy.levels] == sorted(lv for lv, _ in policy.levels)


def test_notice_policy_loads() -> None:
    notice = load_notice_policy()
    assert notice.version == "notice-1.0.0" and notice.certainty == Certainty.OBSERVED
    with pytest.raises(InvalidInputError, match="load_notice_policy"):
        load_policy("notice")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rule.yaml"
    path.write_text(text, encoding="utf-8")
    return path


_BASE = """
version: "t-1"
hazard: irrigation
finding_kind: irrigation_priority
units: "1"
levels: {2: "0.2 1", 3: "0.4 1"}
hysteresis: HYST
persistence: {k: 2, n: 3}
coverage: {minimum: "60 %"}
new_evidence_delta: "0.1 1"
valid_for: "7 d"
event: Test
"""


def test_bare_number_threshold_is_refused_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"hysteresis.*bare number.*'0.05 1'"):
        load_policy(_write(tmp_path, _BASE.replace("HYST", "0.05")))
    with pytest.raises(InvalidInputError, match=r"levels.2.*bare number"):
        load_policy(_write(tmp_path, _BASE.replace("HYST", '"0.05 1"').replace('"0.2 1"', "0.2")))


def test_policy_with_units_loads_and_converts(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, _BASE.replace("HYST", '"5 %"')))
    assert policy.hysteresis == pytest.approx(0.05)
    assert policy.coverage is not None and policy.coverage.degraded_below == pytest.approx(0.9)
    assert policy.valid_for == timedelta(days=7)


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("event: Test", "event: Test\nthreshhold: '1 1'", "unknown key"),
        ('3: "0.4 1"', '3: "0.1 1"', "rise"),
        ("{k: 2, n: 3}", "{k: 4, n: 3}", "exceeds"),
        ('units: "1"', 'units: "mm yr-1"', "fraction"),
        ('{minimum: "60 %"}', '{minimum: "95 %"}', "minimum"),
    ],
)
def test_invalid_policies_are_refused(tmp_path: Path, old: str, new: str, match: str) -> None:
    text = _BASE.replace("HYST", '"0.05 1"').replace(old, new)
    with pytest.raises(InvalidInputError, match=match):
        load_policy(_write(tmp_path, text))


def test_unknown_policy_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no built-in policy"):
        load_policy("flood")
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_policy(tmp_path / "missing.yaml")


def test_decide_is_deterministic(finding: Make) -> None:
    history = [finding(0, 0.5), finding(1, 0.5)]
    a = decide(history, None, None, IRRIGATION, datetime(2022, 7, 1, tzinfo=UTC))
    b = decide(history, None, None, IRRIGATION, datetime(2022, 7, 1, tzinfo=UTC))
    assert a == b
