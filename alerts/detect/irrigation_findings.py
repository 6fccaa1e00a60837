"""Irrigation priority as evidence: one :class:`~alerts.model.Finding` per park and window.

The finding's value is the park's priority score (dimensionless, NaN for DATA_GAP), its coverage the
park's clear fraction and its level ``5 - priority class`` (DESIGN section 5; 0 for DATA_GAP). The
rules (``alerts/policies/irrigation.yaml``) turn a persistent level into work orders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import pandas as pd

from alerts.decide.revisions import SubjectInfo
from alerts.model import Finding, irrigation_level
from core.status import CoverageRule, SubjectStatus
from indices.park_table import Col, gap_reasons

FINDING_KIND = "irrigation_priority"


def _utc(day: date, end_of_day: bool = False) -> datetime:
    return datetime.combine(day, time.max.replace(microsecond=0) if end_of_day else time.min, UTC)


def irrigation_findings(
    ranked: pd.DataFrame,
    *,
    window_start: date,
    window_end: date,
    threshold: float,
    coverage: CoverageRule,
    sources: Sequence[str] = (),
) -> list[Finding]:
    """Findings of one window from the ranked park table of :func:`irrigation_priority`.

    Parameters
    ----------
    ranked : DataFrame
        One row per park with ``park_id``, ``status``, ``score``, ``priority_class``, ``clear_fraction``.
    window_start, window_end : date
        The evaluated window (inclusive).
    threshold : float
        Score of the urgent class (dimensionless), recorded with the evidence.
    coverage : CoverageRule
        The rule the table's status was decided with; a DATA_GAP finding carries its reasons
        (:func:`indices.park_table.gap_reasons`), so its notice changes only when they do.
    sources : sequence of str
        Scene ids behind the window.
    """
    findings = []
    for record in ranked.to_dict("records"):
        row = pd.Series(record)
        status = SubjectStatus(str(row[Col.STATUS]))
        klass = row["priority_class"]
        level = (
            0
            if status == SubjectStatus.DATA_GAP or pd.isna(klass)
            else irrigation_level(int(klass))
        )
        seen = row[Col.CLEAR_FRACTION]
        clear = float(seen) if not pd.isna(seen) else 0.0
        score = float(row["score"]) if not pd.isna(row["score"]) else math.nan
        reasons = gap_reasons(record, coverage) if status == SubjectStatus.DATA_GAP else ()
        findings.append(
            Finding(
                kind=FINDING_KIND,
                subject_id=str(row[Col.PARK_ID]),
                window_start=_utc(window_start),
                window_end=_utc(window_end, end_of_day=True),
                value=score,
                units="1",
                threshold=threshold,
                coverage=clear,
                level=level,
                sources=tuple(sources),
                status=status,
                reasons=tuple(str(r) for r in reasons),
            )
        )
    return findings


def park_subjects(parks: pd.DataFrame) -> dict[str, SubjectInfo]:
    """What messages say about each park: its name and WGS84 outline (``parks`` has a CRS)."""
    wgs84 = parks.to_crs("EPSG:4326")
    return {
        str(pid): SubjectInfo(name=str(name), geometry=geom.__geo_interface__, area_name=str(name))
        for pid, name, geom in zip(wgs84[Col.PARK_ID], wgs84[Col.NAME], wgs84.geometry, strict=True)
    }
