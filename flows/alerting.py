"""Queue what a flow found: findings -> rules -> revisions in the outbox (a thin Prefect task).

The outbox is SQLite under ``OUT/alerts/`` unless the profile's ``outbox.dsn_env`` names an
environment variable holding a PostgreSQL DSN. Revisions get one outbox row per profile sink; the
relay (``geospace deliver`` or ``flows/delivery.py``) delivers them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import geopandas as gpd
from prefect import task
from prefect.cache_policies import NO_CACHE

from alerts.decide.pipeline import Outcome, apply_findings
from alerts.decide.policy import load_notice_policy, load_policy
from alerts.decide.revisions import SubjectInfo, notice_revision
from alerts.detect.irrigation_findings import irrigation_findings, park_subjects
from alerts.detect.irrigation_policy import load_priority_policy
from alerts.model import Finding
from alerts.outbox.store import open_store
from core.errors import InvalidInputError
from core.profile import CityProfile
from core.status import SubjectStatus


def outbox_dsn(profile: CityProfile) -> str | None:
    """The PostgreSQL DSN the profile points at, or None for the SQLite default."""
    name = profile.outbox.dsn_env
    if name is None:
        return None
    dsn = os.environ.get(name)
    if not dsn:
        raise InvalidInputError(
            f"profile {profile.name}: outbox.dsn_env names ${name}, which is not set; export the "
            "PostgreSQL DSN in it or remove outbox.dsn_env to use SQLite under --out"
        )
    return dsn


def _all_gap_notice(profile: CityProfile, findings: Sequence[Finding], now: datetime) -> Finding:
    first = findings[0]
    best = max((f.coverage for f in findings), default=0.0)
    return Finding(
        kind=first.kind,
        subject_id=f"{profile.name}:all-parks",
        window_start=first.window_start,
        window_end=first.window_end,
        value=float("nan"),
        units="1",
        threshold=first.threshold,
        coverage=best,
        level=0,
        sources=first.sources,
        status=SubjectStatus.DATA_GAP,
    )


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

    When every park is DATA_GAP (nothing seen), the findings are recorded and ONE operator notice
    about the whole parks layer is queued instead of one per park.
    """
    policy = load_policy("irrigation")
    urgent = load_priority_policy().class_thresholds[0]
    findings = irrigation_findings(
        ranked, window_start=window_start, window_end=window_end, threshold=urgent, sources=sources
    )
    if not findings:
        return []
    now = datetime.now(UTC).replace(microsecond=0)
    sinks = tuple(sink.key for sink in profile.sinks)
    store = open_store(out_dir, dsn=outbox_dsn(profile))
    try:
        if all(f.status == SubjectStatus.DATA_GAP for f in findings):
            store.record_findings(f.to_dict() for f in findings)
            gap = _all_gap_notice(profile, findings, now)
            info = SubjectInfo(name=f"all parks of {profile.title}")
            notice = notice_revision(gap, policy, now, info, load_notice_policy())
            new_id = store.add_revision(notice, sinks)
            return [
                Outcome(gap.subject_id, "notice", "every park DATA_GAP", new_id, notice.message_key)
            ]
        return apply_findings(
            store, findings, policy, now=now, sinks=sinks,
            subjects=park_subjects(ranked), notice_policy=load_notice_policy(), out_dir=out_dir,
        )  # fmt: skip
    finally:
        store.close()
