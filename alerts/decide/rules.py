"""Rules: a subject's findings history -> what to do now (pure functions, no I/O).

DESIGN section 5: minimum coverage (else DATA_GAP; between the minimum and ``degraded_below`` the
subject is DEGRADED and alerts with certainty one step lower), persistence (k of the last n windows,
DATA_GAP windows take a slot but never count; or, with ``persistence.tracks``, independent tracks of
the latest window each reaching the level on their own), hysteresis (enter level L at threshold(L), leave it
below threshold(L) - h), one open event per subject, and DATA_GAP as an event of its own
(:mod:`alerts.decide.notices`: opened, updated when its reasons change, cleared when data returns).
Coverage is decided by the policy's :class:`~core.status.CoverageRule` (for irrigation, the
profile's, bound with :meth:`Policy.with_coverage`), or, without one, by the detector's status.

:func:`decide` returns a :class:`Decision`; the caller records its revision in the outbox (which
ignores a ``message_key`` it already holds, so reruns are harmless) and persists the event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from alerts.decide.notices import GapDecision, gap_notice
from alerts.decide.policy import NoticePolicy, Policy, load_notice_policy, load_policy, parse_policy
from alerts.decide.revisions import Persisted, SubjectInfo, alert_revision
from alerts.model import (
    Event,
    Finding,
    Revision,
    RevisionKind,
    SubjectStatus,
)
from core.errors import InvalidInputError
from core.quantities import value_in

__all__ = [
    "Action",
    "Decision",
    "NoticePolicy",
    "Policy",
    "SubjectInfo",
    "coverage_status",
    "decide",
    "hysteresis_level",
    "load_notice_policy",
    "load_policy",
    "parse_policy",
    "persistent",
    "persistent_level",
    "rate",
    "threshold_level",
    "tracks_agree",
    "tracks_confirmed",
]


class Action(StrEnum):
    """What :func:`decide` asks the caller to do for one subject."""

    NOTHING = "nothing"
    OPEN = "open"
    REVISE = "revise"
    CLEAR = "clear"
    NOTICE = "notice"


@dataclass(frozen=True)
class Decision:
    """The outcome for one subject: an action, the revision to record, the event afterwards."""

    action: Action
    subject_status: SubjectStatus
    reason: str
    revision: Revision | None = None
    event: Event | None = None
    gap: GapDecision | None = None


def coverage_status(coverage: float, policy: Policy) -> SubjectStatus:
    """The policy's coverage rule applied to ``coverage`` (OK when the policy has no rule: the
    detector's status then stands alone)."""
    if policy.coverage is None:
        return SubjectStatus.OK
    return policy.coverage.status(coverage)


def _worst(a: SubjectStatus, b: SubjectStatus) -> SubjectStatus:
    order = (SubjectStatus.OK, SubjectStatus.DEGRADED, SubjectStatus.DATA_GAP)
    return max(a, b, key=order.index)


def _compared(value: float, policy: Policy) -> float:
    """The value as thresholds see it: ``|v|`` for magnitude, ``-v`` for below (so >= works)."""
    if policy.compare == "magnitude":
        return abs(value)
    return -value if policy.compare == "below" else value


def threshold_level(value: float, policy: Policy) -> int:
    """Highest level whose enter threshold ``value`` reaches (a value on a threshold reaches it)."""
    v = _compared(value, policy)
    return max((lv for lv, t in policy.levels if v >= _compared(t, policy)), default=0)


def hysteresis_level(value: float, current: int, policy: Policy) -> int:
    """Level after ``value`` given the ``current`` level: enter at threshold, leave below it - h.

    Above the current level the threshold alone decides; at or below it, level L is kept while the
    value stays at or above threshold(L) - h.
    """
    if math.isnan(value):
        return current
    entered = threshold_level(value, policy)
    if entered >= current:
        return entered
    v, h = _compared(value, policy), policy.hysteresis
    held = [
        lv for lv, t in policy.levels if lv <= current and _reaches(v, _compared(t, policy) - h)
    ]
    return max(held, default=0)


def _reaches(v: float, limit: float) -> bool:
    """``v >= limit``, a value on the limit (within float rounding of ``L - h``) included."""
    return v >= limit or math.isclose(v, limit, rel_tol=1e-9, abs_tol=1e-12)


def _also_rated(history: Sequence[Finding], policy: Policy) -> dict[datetime, int]:
    """Per window start, the highest level the ``also_rates`` policies give their own findings
    (valid windows only)."""
    best: dict[datetime, int] = {}
    for other in policy.also:
        mine = [f for f in history if f.kind == other.finding_kind]
        for f in rate(mine, other):
            if f.status != SubjectStatus.DATA_GAP:
                best[f.window_start] = max(best.get(f.window_start, 0), f.level)
    return best


def rate(history: Sequence[Finding], policy: Policy) -> list[Finding]:
    """Findings sorted by window, values in policy units, status and level as the policy sees them.

    The level is the enter level of the value (0 for DATA_GAP windows, and for windows the detector
    gave level 0 when ``gate_on_finding_level``); the status is the worse of the detector's and
    :func:`coverage_status`. With ``policy.also`` (``also_rates``), ``history`` may hold those
    policies' finding kinds too: each is rated by its own policy, and a valid window of the
    policy's own kind takes the highest level any of them gives that window (one list is
    returned, of the policy's own kind).
    """
    also_kinds = {o.finding_kind for o in policy.also}
    raised = _also_rated(history, policy) if also_kinds else {}
    rated = []
    for f in sorted(history, key=lambda f: f.window_start):
        if f.kind in also_kinds:
            continue
        if f.kind != policy.finding_kind:
            raise InvalidInputError(
                f"finding of kind {f.kind!r} for subject {f.subject_id!r} given to policy "
                f"{policy.version} which rates {policy.finding_kind!r}; pass only that kind or "
                "fix finding_kind in the policy"
            )
        value = value_in(float(f.value), f.units, policy.units, field=f"finding {f.subject_id}")
        status = _worst(f.status, coverage_status(f.coverage, policy))
        if math.isnan(value):
            status = SubjectStatus.DATA_GAP
        level = 0 if status == SubjectStatus.DATA_GAP else threshold_level(value, policy)
        if policy.gate_on_finding_level and f.level == 0:
            level = 0
        if status != SubjectStatus.DATA_GAP:
            level = max(level, raised.get(f.window_start, 0))
        tracks = tuple(
            (name, value_in(float(v), f.units, policy.units, field=f"finding {f.subject_id}"))
            for name, v in f.tracks
        )
        rated.append(
            replace(f, value=value, units=policy.units, status=status, level=level, tracks=tracks)
        )
    return rated


def tracks_agree(tracks: Sequence[tuple[str, float]], policy: Policy, need: int) -> int:
    """Highest level that at least ``need`` of ``tracks`` (values in ``policy.units``) each reach
    on their own; with ``compare: magnitude`` they must also point the same way (two LOS figures
    of opposite sign are no confirmation of one another). 0 when fewer agree."""
    values = [v for _, v in tracks if math.isfinite(v)]
    best = 0
    for lv, t in policy.levels:
        limit = _compared(t, policy)
        if policy.compare == "magnitude":
            hits = max(sum(_reaches(v, limit) for v in values),
                       sum(_reaches(-v, limit) for v in values))  # fmt: skip
        else:
            hits = sum(_reaches(_compared(v, policy), limit) for v in values)
        if hits >= need:
            best = max(best, lv)
    return best


def tracks_confirmed(
    history: Sequence[Finding], policy: Policy, window_start: datetime
) -> tuple[int, tuple[Finding, ...]]:
    """The level the window starting at ``window_start`` holds on independent tracks, and the
    rated findings that show it.

    For the policy's own kind and each ``also_rates`` kind (rated by its own policy, with the
    policy's ``persistence.tracks``): the lower of the finding's rated level and the level its
    tracks agree on (:func:`tracks_agree`), so the tracks confirm the window's exceedance and
    never make one; the window's confirmed level is the highest of these. 0 and no findings
    without ``persistence.tracks``.
    """
    need = policy.persistence_tracks
    if not need:
        return 0, ()
    best, shown = 0, []
    for p in (replace(policy, also=()), *policy.also):
        mine = [f for f in history if f.kind == p.finding_kind]
        for f in rate(mine, p):
            if f.window_start != window_start or f.status == SubjectStatus.DATA_GAP:
                continue
            level = min(f.level, tracks_agree(f.tracks, p, need))
            if level > best:
                best, shown = level, [f]
            elif level == best and level > 0:
                shown.append(f)
    return best, tuple(shown)


def persistent(history: Sequence[Finding], k: int, n: int, *, min_level: int = 1) -> bool:
    """True when at least ``k`` of the last ``n`` windows are valid and at ``min_level`` or above.

    DATA_GAP windows take one of the ``n`` slots but are never counted as alerting.
    """
    last = sorted(history, key=lambda f: f.window_start)[-n:] if n > 0 else []
    hits = [f for f in last if f.status != SubjectStatus.DATA_GAP and f.level >= min_level]
    return len(hits) >= k


def persistent_level(rated: Sequence[Finding], policy: Policy) -> int:
    """Highest level that persisted (k of the last n rated windows at that level or above)."""
    k, n = policy.persistence_k, policy.persistence_n
    return max((lv for lv, _ in policy.levels if persistent(rated, k, n, min_level=lv)), default=0)


def _event_start(rated: Sequence[Finding], policy: Policy) -> datetime:
    """Start of the first alerting window among the last n (the event's persisted start)."""
    last = rated[-policy.persistence_n :]
    return next(f.window_start for f in last if f.level >= 1 and f.status != SubjectStatus.DATA_GAP)


def _check(history: Sequence[Finding], policy: Policy) -> str:
    subjects = {f.subject_id for f in history}
    if len(subjects) != 1:
        raise InvalidInputError(
            f"decide() rates one subject at a time; got subjects {sorted(subjects)} "
            f"for policy {policy.version}: group the findings by subject_id first"
        )
    return subjects.pop()


def _persisted(
    rated: list[Finding], policy: Policy, tracks: tuple[int, tuple[Finding, ...]]
) -> tuple[int, Persisted | None]:
    """The level that persisted and, for a policy with two paths (``persistence.tracks``), how:
    in k of the last n windows, on the latest window's independent tracks (``tracks``:
    :func:`tracks_confirmed`), or both. None for a policy with the windows path only (its texts
    stay as they were)."""
    windows = persistent_level(rated, policy)
    if not policy.persistence_tracks:
        return windows, None
    confirmed, shown = tracks
    level = max(windows, confirmed)
    how = Persisted(
        windows=level > 0 and windows >= level,
        tracks=shown if level > 0 and confirmed >= level else (),
    )
    return level, how


def _open(
    rated: list[Finding],
    policy: Policy,
    ctx: dict[str, Any],
    tracks: tuple[int, tuple[Finding, ...]] = (0, ()),
) -> Decision:
    latest = rated[-1]
    level, how = _persisted(rated, policy, tracks)
    if level == 0 or latest.level == 0:
        why = "below every threshold" if latest.level == 0 else "not persistent yet"
        return Decision(Action.NOTHING, latest.status, f"no event: latest window {why}")
    event = Event.start(policy.hazard, latest.subject_id, _event_start(rated, policy))
    ctx = {**ctx, "last": None}  # a new event references nothing
    revision = alert_revision(
        event, 1, RevisionKind.NEW, level, latest, policy, persisted=how, **ctx
    )
    windows = f"{policy.persistence_k} of {policy.persistence_n} windows"
    reason = f"opened at level {level} ({how.describe(policy) if how else windows})"
    return Decision(Action.OPEN, latest.status, reason, revision, event)


def _also_latest(
    history: Sequence[Finding], latest: Finding, policy: Policy
) -> list[tuple[Finding, Policy]]:
    """The ``also_rates`` findings of ``latest``'s window, rated by their policies (valid only)."""
    out = []
    for other in policy.also:
        mine = [f for f in history if f.kind == other.finding_kind]
        same = [f for f in rate(mine, other) if f.window_start == latest.window_start]
        if same and same[-1].status != SubjectStatus.DATA_GAP:
            out.append((same[-1], other))
    return out


def _held(history: Sequence[Finding], latest: Finding, current: int, policy: Policy) -> int:
    """The level ``latest`` holds given the ``current`` one: the policy's hysteresis on its value,
    or that of an ``also_rates`` policy on its own finding of the same window, whichever is higher."""
    held = hysteresis_level(latest.value, current, policy)
    for finding, other in _also_latest(history, latest, policy):
        held = max(held, hysteresis_level(finding.value, current, other))
    return held


def _update(
    rated: list[Finding],
    event: Event,
    last: Revision,
    policy: Policy,
    ctx: dict[str, Any],
    history: Sequence[Finding] = (),
    tracks: tuple[int, tuple[Finding, ...]] = (0, ()),
) -> Decision:
    latest, current = rated[-1], last.level
    level = min(_held(history, latest, current, policy), current)
    up, how = _persisted(rated, policy, tracks)
    if up > current:
        level = up
        if how is not None:  # a rise needs persistence: say which path met it
            ctx = {**ctx, "persisted": how}
    number = last.revision + 1
    if level == 0:
        revision = alert_revision(event, number, RevisionKind.CLEAR, current, latest, policy, **ctx)
        closed = replace(event, open=False)
        return Decision(Action.CLEAR, latest.status, "left the lowest level", revision, closed)
    kind = _revision_kind(level, latest, last, policy)
    if kind is None:
        return Decision(
            Action.NOTHING, latest.status, f"event holds at level {current}", None, event
        )
    revision = alert_revision(event, number, kind, level, latest, policy, **ctx)
    return Decision(Action.REVISE, latest.status, f"{kind.value}: level {level}", revision, event)


def _references_moved(last: Revision, policy: Policy) -> bool:
    """A policy this rule takes a value from (``same_as``) changed version since ``last``.

    The irrigation work-order rule takes its urgent limit from the priority score rule, so a new
    score rule moves decisions as much as a new work-order rule. A revision recorded before
    references were kept (no ``rule_references``) compares as unchanged.
    """
    recorded = last.payload.get("rule_references")
    return isinstance(recorded, list) and sorted(map(str, recorded)) != sorted(policy.references)


def _revision_kind(
    level: int, latest: Finding, last: Revision, policy: Policy
) -> RevisionKind | None:
    if level != last.level:
        return RevisionKind.LEVEL_CHANGE
    if last.rule_version != policy.version or _references_moved(last, policy):
        return RevisionKind.RULE_VERSION_CHANGE
    previous = last.payload.get("value")
    if (
        isinstance(previous, int | float)
        and abs(latest.value - previous) > policy.new_evidence_delta
    ):
        return RevisionKind.NEW_EVIDENCE
    return None


def decide(
    findings_history: Sequence[Finding],
    open_event: Event | None,
    last_revision: Revision | None,
    policy: Policy,
    now: datetime,
    *,
    subject: SubjectInfo | None = None,
    notice_policy: NoticePolicy | None = None,
    open_gap: Event | None = None,
    last_gap: Revision | None = None,
) -> Decision:
    """Decide what to do for one subject after its latest window.

    Parameters
    ----------
    findings_history : sequence of Finding
        The subject's findings of ``policy.finding_kind`` (and of the kinds its ``also_rates``
        policies rate), any order; the latest window of its own kind decides.
    open_event : Event or None
        The subject's open event for this hazard (an event with ``open=False`` counts as none).
    last_revision : Revision or None
        The latest revision of ``open_event`` (required when an event is open).
    policy : Policy
        The hazard's rule policy.
    now : datetime
        Decision time (UTC); becomes the revision's ``created_at`` (CAP ``sent``).
    subject : SubjectInfo, optional
        Name, WGS84 geometry, area name and EMMA_ID of the subject for the message.
    notice_policy : NoticePolicy, optional
        Settings of DATA_GAP notices (``notice.yaml``); without it a seven-day validity.
    open_gap, last_gap : Event, Revision, optional
        The subject's open DATA_GAP event and its latest revision (None: no gap open).

    Returns
    -------
    Decision
        NOTHING, OPEN (revision 1), REVISE (level change, rule-version change, new evidence),
        CLEAR (Cancel) or NOTICE (DATA_GAP; the open event, if any, is left as it is, and
        ``revision`` is the gap notice if the gap opened or changed). ``gap`` says what happened
        to the DATA_GAP event (opened, updated, cleared, or nothing).
    """
    if not findings_history:
        return Decision(Action.NOTHING, SubjectStatus.DATA_GAP, "no findings")
    subject_id = _check(findings_history, policy)
    info = subject or SubjectInfo()
    event = open_event if open_event is not None and open_event.open else None
    if event is not None and last_revision is None:
        raise InvalidInputError(
            f"subject {subject_id!r} has open event {event.alert_key} but no last revision; "
            "load the event's latest revision from the outbox and pass it"
        )
    rated = rate(findings_history, policy)
    if not rated:
        return Decision(
            Action.NOTHING, SubjectStatus.DATA_GAP, f"no {policy.finding_kind} findings"
        )
    latest = rated[-1]
    gap = gap_notice(
        latest, policy, now, open_gap=open_gap, last=last_gap, subject=info,
        notice_policy=notice_policy,
    )  # fmt: skip
    if latest.status == SubjectStatus.DATA_GAP:
        why = f"DATA_GAP: notice {gap.change}" if gap.change else "DATA_GAP continues"
        return Decision(Action.NOTICE, latest.status, why, gap.revision, event, gap)
    ctx: dict[str, Any] = {"now": now, "subject": info, "last": last_revision}
    if policy.also:
        ctx["also"] = _also_latest(findings_history, latest, policy)
    tracks = tracks_confirmed(findings_history, policy, latest.window_start)
    if event is None:
        return replace(_open(rated, policy, ctx, tracks), gap=gap)
    assert last_revision is not None
    decision = _update(rated, event, last_revision, policy, ctx, findings_history, tracks)
    return replace(decision, gap=gap)
