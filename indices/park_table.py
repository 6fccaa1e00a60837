"""The per-park table, declared once: its columns, its status and why a park is a DATA_GAP.

:func:`indices.zonal.park_statistics` writes this table; :mod:`alerts.detect.irrigation` and
:mod:`alerts.products` read it, importing the column names from here (no string literals of them
elsewhere), so the ``alerts -> indices`` arrow is real. The status of a park is decided here, from
a :class:`core.status.CoverageRule` built from the profile (``vegetation.coverage_rule()``), and
:func:`gap_reasons` names the conditions that made a park a DATA_GAP, for the "why" text and the
operator notices.

Columns (units in brackets)::

    park_id, name                       identity
    status                              core.status.SubjectStatus: OK, DEGRADED, DATA_GAP
    ndvi_now, ndvi_ref, ndvi_anomaly    coverage-weighted medians [1] of the window, the reference
    ndmi_now, ndmi_ref, ndmi_anomaly    years' same-season window, and now - ref
    evi_now, evi_ref, evi_anomaly
    stressed_share                      share of the clear area with NDVI anomaly <= threshold [0..1]
    clear_fraction                      share of the park with >= 1 strict-clear observation [0..1]
    reference_fraction                  share of the park the reference median covers [0..1]
    clear_dates, last_clear_date        days with >= 50 % of the park clear [count], the last one
    heat_exposure                       0..1 or NaN
    area_m2                             polygon area [m2]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum

import numpy as np
import pandas as pd

from core.status import CoverageRule, SubjectStatus

__all__ = [
    "INDEX_NAMES",
    "PARK_COLUMNS",
    "Col",
    "GapReason",
    "gap_reasons",
    "park_status",
    "row_float",
]


class Col(StrEnum):
    """Column names of the per-park table, in table order."""

    PARK_ID = "park_id"
    NAME = "name"
    STATUS = "status"
    NDVI_NOW = "ndvi_now"
    NDVI_REF = "ndvi_ref"
    NDVI_ANOMALY = "ndvi_anomaly"
    NDMI_NOW = "ndmi_now"
    NDMI_REF = "ndmi_ref"
    NDMI_ANOMALY = "ndmi_anomaly"
    EVI_NOW = "evi_now"
    EVI_REF = "evi_ref"
    EVI_ANOMALY = "evi_anomaly"
    STRESSED_SHARE = "stressed_share"
    CLEAR_FRACTION = "clear_fraction"
    REFERENCE_FRACTION = "reference_fraction"
    CLEAR_DATES = "clear_dates"
    LAST_CLEAR_DATE = "last_clear_date"
    HEAT_EXPOSURE = "heat_exposure"
    AREA_M2 = "area_m2"


PARK_COLUMNS: list[str] = [c.value for c in Col]
INDEX_NAMES = ("ndvi", "ndmi", "evi")


class GapReason(StrEnum):
    """Why a park is a DATA_GAP (several may hold; the order is the order of explanation)."""

    NO_CLEAR = "no_clear"  # nothing seen clear in the window
    FEW_CLEAR = "few_clear"  # clear fraction below the minimum
    FEW_DATES = "few_dates"  # fewer clear dates than the minimum
    THIN_REFERENCE = "thin_reference"  # the reference median covers too little of the park
    NO_REFERENCE = "no_reference"  # no reference median at all
    NOTHING_USABLE = "nothing_usable"  # seen, but no index value (e.g. masked composite)


def row_float(row: Mapping[str, object], key: str) -> float:
    """A float from a table row; NaN where the column is absent, None, NA or not a number."""
    raw = row.get(key)
    if raw is None or raw is pd.NA:
        return math.nan
    try:
        return float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def gap_reasons(row: Mapping[str, object], rule: CoverageRule) -> tuple[GapReason, ...]:
    """The DATA_GAP conditions one park row meets under ``rule``; empty when it is no gap.

    A park is DATA_GAP when its clear fraction or its reference fraction is below
    ``rule.minimum`` (or NaN), it has fewer than ``rule.min_dates`` clear dates, or its NDVI now or
    reference median is NaN.
    """
    clear = row_float(row, Col.CLEAR_FRACTION)
    if math.isnan(clear) or clear <= 0:
        return (GapReason.NO_CLEAR,)
    reasons: list[GapReason] = []
    if clear < rule.minimum:
        reasons.append(GapReason.FEW_CLEAR)
    dates = row_float(row, Col.CLEAR_DATES)
    if not math.isnan(dates) and dates < rule.min_dates:
        reasons.append(GapReason.FEW_DATES)
    ref_cover = row_float(row, Col.REFERENCE_FRACTION) if Col.REFERENCE_FRACTION in row else math.nan
    if not math.isnan(ref_cover) and ref_cover < rule.minimum:
        reasons.append(GapReason.THIN_REFERENCE)
    elif Col.NDVI_REF in row and math.isnan(row_float(row, Col.NDVI_REF)):
        reasons.append(GapReason.NO_REFERENCE)
    if not reasons and Col.NDVI_NOW in row and math.isnan(row_float(row, Col.NDVI_NOW)):
        reasons.append(GapReason.NOTHING_USABLE)
    return tuple(reasons)


def park_status(table: pd.DataFrame, rule: CoverageRule) -> pd.Series:
    """Status per park (:class:`~core.status.SubjectStatus` values) under the coverage ``rule``.

    DATA_GAP when ``clear_fraction`` or ``reference_fraction`` (where the column exists) is below
    ``rule.minimum`` or NaN, ``clear_dates`` < ``rule.min_dates``, or ``ndvi_ref`` or ``ndvi_now``
    is NaN (no baseline, nothing seen); DEGRADED when the clear fraction is below
    ``rule.degraded_below``; else OK.
    """
    cf = table[Col.CLEAR_FRACTION].astype(float)
    gap = (
        ~(cf >= rule.minimum)
        | (table[Col.CLEAR_DATES] < rule.min_dates)
        | table[Col.NDVI_REF].isna()
        | table[Col.NDVI_NOW].isna()
    )
    if Col.REFERENCE_FRACTION in table.columns:  # a baseline from a corner of the park is none
        gap |= ~(table[Col.REFERENCE_FRACTION].astype(float) >= rule.minimum)
    status = np.where(
        gap,
        SubjectStatus.DATA_GAP.value,
        np.where(cf < rule.degraded_below, SubjectStatus.DEGRADED.value, SubjectStatus.OK.value),
    )
    return pd.Series(status, index=table.index, name=Col.STATUS.value, dtype=object)
