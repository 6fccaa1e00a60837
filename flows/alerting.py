"""Queue what a flow found: findings -> rules -> revisions in the outbox (thin Prefect tasks).

The outbox is SQLite under ``OUT/alerts/`` unless the profile's ``outbox.dsn_env`` names an
environment variable holding a PostgreSQL DSN. Revisions get one outbox row per profile sink that
accepts them (``sinks[].accepts``, :class:`alerts.sinks.routing.Routing`); the relay
(``geospace deliver`` or ``flows/delivery.py``) delivers them. The coverage rule comes from the
profile (``vegetation.coverage_rule()``), the same one the park status was decided with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import geopandas as gpd
from prefect import task
from prefect.cache_policies import NO_CACHE

from alerts.decide.notices import GapChange, digest_revision, gap_notice, notice_subject
from alerts.decide.pipeline import Outcome, apply_findings, open_gap_event
from alerts.decide.policy import Policy, load_notice_policy, load_policy
from alerts.decide.revisions import SubjectInfo
from alerts.detect.irrigation_findings import irrigation_findings, park_subjects
from alerts.detect.irrigation_policy import load_priority_policy
from alerts.model import Finding
from alerts.outbox.store import OutboxStore, open_store
from alerts.sinks.routing import Routing
from core.profile import CityProfile
from core.status import SubjectStatus

IRRIGATION = "irrigation"


def irrigation_policy(profile: CityProfile) -> Policy:
    """The irrigation work-order rule with the profile's coverage rule bound to it."""
    return load_policy(IRRIGATION).with_coverage(profile.vegetation.coverage_rule())


def _layer_subject(profile: CityProfile) -> str:
    return f"{profile.name}:all-parks"


def _layer_finding(profile: CityProfile, findings: Sequence[Finding], gap: bool) -> Finding:
    """The whole parks layer as one subject: a gap when every park is one."""
    first = findings[0]
    best = max((f.coverage for f in findings), default=0.0)
    return Finding(
        kind=first.kind,
        subject_id=_layer_subject(profile),
        window_start=first.window_start,
        window_end=first.window_end,
        value=math.nan if gap else 0.0,
        units="1",
        threshold=first.threshold,
        coverage=best,
        level=0,
        sources=first.sources,
        status=SubjectStatus.DATA_GAP if gap else SubjectStatus.OK,
        reasons=("every_park",) if gap else (),
    )


def _layer_gap(
    store: OutboxStore,
    profile: CityProfile,
    findings: Sequence[Finding],
    policy: Policy,
    routing: Routing,
    now: datetime,
) -> Outcome | None:
    """Open (every park a gap) or clear (some park seen) the layer's DATA_GAP event."""
    gap = all(f.status == SubjectStatus.DATA_GAP for f in findings)
    return layer_gap_outcome(
        store, _layer_finding(profile, findings, gap), policy, routing, now,
        name=f"all parks of {profile.title}", gap_text="every park DATA_GAP",
        clear_text="parks seen again",
    )  # fmt: skip


def layer_gap_outcome(
    store: OutboxStore,
    layer: Finding,
    policy: Policy,
    routing: Routing,
    now: datetime,
    *,
    name: str,
    gap_text: str,
    clear_text: str,
) -> Outcome | None:
    """The DATA_GAP event of a whole layer (one subject standing for all of it) after ``layer``:
    opened when it is a gap and none is open, updated when its reasons change, cleared (Cancel)
    when it is not a gap; None when nothing changes (a gap that goes on queues nothing).

    The revision goes through :func:`alerts.decide.notices.gap_notice` (the one notice builder) to
    the sinks that accept notices; ``gap_text`` / ``clear_text`` are the outcome's reason."""
    gap = layer.status == SubjectStatus.DATA_GAP
    open_gap, last = open_gap_event(store, notice_subject(policy.hazard, layer.subject_id))
    decision = gap_notice(
        layer, policy, now, open_gap=open_gap, last=last, subject=SubjectInfo(name=name),
        notice_policy=load_notice_policy(),
    )  # fmt: skip
    if decision.revision is None:
        return None
    new_id = store.add_revision(decision.revision, routing.sinks_for(decision.revision))
    if decision.change == GapChange.CLEARED:
        store.close_event(decision.revision.alert_key, "data returned")
    return Outcome(
        layer.subject_id, "notice", gap_text if gap else clear_text,
        new_id, decision.revision.message_key, gap=str(decision.change),
        gap_revision_id=new_id, gap_open=gap,
    )  # fmt: skip


@task(name="queue-irrigation-alerts", cache_policy=NO_CACHE)
def queue_irrigation_alerts(
    profile: CityProfile,
    ranked: gpd.GeoDataFrame,
    *,
    window_start: date,
    window_end: date,
    sources: Sequence[str],
    out_dir: Path,
) -> list[Outcome]:
    """Findings of one window through the irrigation rules into the outbox.

    When every park is DATA_GAP (nothing seen), the findings are recorded and ONE data-gap event
    about the whole parks layer opens instead of one per park; it clears when parks are seen.
    """
    policy = irrigation_policy(profile)
    urgent = load_priority_policy(profile.vegetation.policy).urgent
    findings = irrigation_findings(
        ranked, window_start=window_start, window_end=window_end, threshold=urgent,
        sources=sources, coverage=profile.vegetation.coverage_rule(),
    )  # fmt: skip
    if not findings:
        return []
    now = datetime.now(UTC).replace(microsecond=0)
    routing = Routing.from_profile(profile.sinks)
    store = open_store(out_dir, dsn=profile.outbox.dsn())
    try:
        layer = _layer_gap(store, profile, findings, policy, routing, now)
        if all(f.status == SubjectStatus.DATA_GAP for f in findings):
            store.record_findings(f.to_dict() for f in findings)
            return [layer] if layer is not None else []
        outcomes = apply_findings(
            store, findings, policy, now=now, sinks=routing,
            subjects=park_subjects(ranked), notice_policy=load_notice_policy(), out_dir=out_dir,
        )  # fmt: skip
        return ([layer] if layer is not None else []) + outcomes
    finally:
        store.close()


def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


@task(name="queue-run-digest", cache_policy=NO_CACHE)
def queue_run_digest(
    profile: CityProfile,
    outcomes: Sequence[Outcome],
    *,
    start: date,
    end: date,
    out_dir: Path,
    hazard: str = IRRIGATION,
    watch: Sequence[Mapping[str, Any]] = (),
) -> int | None:
    """ONE digest revision for operators about a run: gaps opened, updated, cleared, still open,
    the work-order revisions queued and the subjects on ``watch`` (no work order; see
    :func:`alerts.decide.notices.digest_revision`). A run that queued nothing and has nothing on
    watch queues no digest; a rerun of the same period yields the same digest key (nothing new).

    ``outcomes`` are the run's outcomes in window order. Returns the digest's revision id, or None.
    """
    changes: dict[str, list[str]] = {str(c): [] for c in GapChange}
    open_now: dict[str, bool] = {}
    for outcome in outcomes:
        if outcome.gap is not None and outcome.gap_revision_id is not None:
            changes[outcome.gap].append(outcome.subject_id)
        open_now[outcome.subject_id] = outcome.gap_open
    work_orders = sum(o.revision_id is not None and o.action != "notice" for o in outcomes)
    if not work_orders and not any(changes.values()) and not watch:
        return None
    now = datetime.now(UTC).replace(microsecond=0)
    digest = digest_revision(
        hazard=hazard, scope=profile.name, period=(_utc(start), _utc(end)), changes=changes,
        work_orders=work_orders, open_gaps=[s for s, is_open in open_now.items() if is_open],
        now=now, notice_policy=load_notice_policy(), watch=watch,
    )  # fmt: skip
    store = open_store(out_dir, dsn=profile.outbox.dsn())
    try:
        new_id = store.add_revision(digest, Routing.from_profile(profile.sinks).sinks_for(digest))
        if new_id is not None:  # a digest has no follow-up: its event does not stay open
            store.close_event(digest.alert_key, "digest sent")
        return new_id
    finally:
        store.close()
