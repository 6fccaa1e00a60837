"""Irrigation priority: which parks to water first, with a class, a rank and a reason.

Input is the per-park statistics table of ``indices/zonal.py`` (one row per park: NDVI/EVI/NDMI now,
reference and anomaly, stressed share, clear fraction, status, heat exposure). The score
(rule ``irrigation-priority-1.0.0``, weights and thresholds in
``alerts/policies/irrigation_priority.yaml``) is

.. math::

    c_k = \\mathrm{clip}(v_k / f_k, 0, 1), \\qquad
    \\mathrm{score} = \\frac{w_m c_m + w_g c_g + w_s c_s}{\\sum_{k \\,\\mathrm{known}} w_k} + w_h c_h

with ``v`` the NDMI anomaly (moisture, m), the NDVI and EVI anomalies (greenness, g: the mean of the
two components that are known), the stressed share (s) and the heat exposure (h, added only when it
is known, so heat raises a score and never lowers one), and ``f`` the values that count as full
stress. Score >= urgent -> class 1, >= high -> 2, >= watch -> 3, else 4 (none). DATA_GAP parks get no
score, class or rank, and a reason naming the gap.

References
----------
Gao, B.-C. (1996). NDWI - a normalized difference water index for remote sensing of vegetation
liquid water from space. Remote Sensing of Environment 58, 257-266 (NDMI as a canopy water signal).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from alerts.detect.irrigation_policy import (
    IrrigationPolicy,
    load_priority_policy,
    parse_priority_policy,
)
from alerts.detect.irrigation_text import WHY, number, plural
from core.errors import InvalidInputError
from core.status import CoverageRule, SubjectStatus
from indices.park_table import Col, GapReason, gap_reasons, row_float

__all__ = [
    "CLASS_LABELS",
    "IrrigationPolicy",
    "irrigation_priority",
    "load_priority_policy",
    "parse_priority_policy",
]

CLASS_LABELS: dict[int, str] = {1: "urgent", 2: "high", 3: "watch", 4: "none"}
_REQUIRED = (
    Col.PARK_ID,
    Col.STATUS,
    Col.NDVI_ANOMALY,
    Col.NDMI_ANOMALY,
    Col.STRESSED_SHARE,
    Col.CLEAR_FRACTION,
    Col.CLEAR_DATES,
)
_STATUSES = {s.value for s in SubjectStatus}
_DRIVERS = ("moisture", "greenness", "stressed_share", "heat")



def _component(value: float, full: float) -> float:
    """Stress component ``clip(value / full, 0, 1)``; NaN stays NaN."""
    return math.nan if math.isnan(value) else min(max(value / full, 0.0), 1.0)


def _components(row: Mapping[str, object], policy: IrrigationPolicy) -> dict[str, float]:
    """Stress components (0..1 or NaN) of one park: moisture, greenness, stressed_share, heat."""
    f = policy.full_stress
    green = [
        _component(row_float(row, Col.NDVI_ANOMALY), f["ndvi_anomaly"]),
        _component(row_float(row, Col.EVI_ANOMALY), f["evi_anomaly"]),
    ]
    known_green = [g for g in green if not math.isnan(g)]
    return {
        "moisture": _component(row_float(row, Col.NDMI_ANOMALY), f["ndmi_anomaly"]),
        "greenness": float(np.mean(known_green)) if known_green else math.nan,
        "stressed_share": _component(row_float(row, Col.STRESSED_SHARE), f["stressed_share"]),
        "heat": _component(row_float(row, Col.HEAT_EXPOSURE), f["heat_exposure"]),
    }


def _contributions(parts: Mapping[str, float], policy: IrrigationPolicy) -> dict[str, float]:
    """Each known component's share of the score (core weights renormalised over known ones)."""
    w = policy.weights
    core = [k for k in ("moisture", "greenness", "stressed_share") if not math.isnan(parts[k])]
    total = sum(w[k] for k in core)
    out = {k: w[k] * parts[k] / total for k in core} if total > 0 else {}
    if not math.isnan(parts["heat"]):
        out["heat"] = w["heat"] * parts["heat"]
    return out


def _classify(score: float, thresholds: tuple[float, float, float]) -> int:
    """Class 1 (urgent) .. 4 (none): the first class whose minimum score is reached."""
    for cls, minimum in enumerate(thresholds, start=1):
        if score >= minimum:
            return cls
    return 4


def _anomaly_phrase(label: str, anomaly: float, reference: str, lang: str) -> str:
    """``"moisture (NDMI) 0.12 below the 2019-2021 median"``."""
    words = WHY[lang]
    if round(anomaly, 2) == 0:
        return words["at_median"].format(label=label, reference=reference)
    side = "below" if anomaly < 0 else "above"
    return words[side].format(label=label, value=number(abs(anomaly), lang), reference=reference)


def _driver_phrase(driver: str, row: Mapping[str, object], reference: str, lang: str) -> str:
    """Human phrase for one driver, quoting the park's own value."""
    words = WHY[lang]
    if driver == "moisture":
        return _anomaly_phrase(words["moisture"], row_float(row, Col.NDMI_ANOMALY), reference, lang)
    if driver == "greenness":
        ndvi, evi = row_float(row, Col.NDVI_ANOMALY), row_float(row, Col.EVI_ANOMALY)
        if math.isnan(ndvi) or (not math.isnan(evi) and evi < ndvi):
            return _anomaly_phrase(words["greenness_evi"], evi, reference, lang)
        return _anomaly_phrase(words["greenness_ndvi"], ndvi, reference, lang)
    if driver == "stressed_share":
        return words["stressed"].format(pct=f"{row_float(row, Col.STRESSED_SHARE) * 100:.0f}")
    return words["heat"].format(value=number(row_float(row, Col.HEAT_EXPOSURE), lang))


def _why_ranked(
    row: Mapping[str, object],
    cls: int,
    contributions: Mapping[str, float],
    reference: str,
    lang: str,
) -> str:
    """Reason for a scored park: its main driver (largest contribution), and a DEGRADED note."""
    if cls == 4:  # quote the lead signal: moisture, else greenness, else the stressed share
        first = next(k for k in _DRIVERS if k in contributions)
        why = WHY[lang]["no_stress"].format(phrase=_driver_phrase(first, row, reference, lang))
    else:
        main = max(_DRIVERS, key=lambda k: (contributions.get(k, -1.0), -_DRIVERS.index(k)))
        why = _driver_phrase(main, row, reference, lang)
    if row.get(Col.STATUS) == SubjectStatus.DEGRADED:
        seen = math.floor(row_float(row, Col.CLEAR_FRACTION) * 100)
        why += WHY[lang]["partly_seen"].format(pct=seen)
    return why


def _why_gap(row: Mapping[str, object], rule: CoverageRule, reference: str, lang: str) -> str:
    """Reason for a DATA_GAP park: the gap conditions it meets, with the rule's own numbers."""
    words = WHY[lang]
    minimum = f"{rule.minimum * 100:g}"
    phrases = []
    for reason in gap_reasons(row, rule):
        if reason == GapReason.NO_CLEAR:
            return words["no_clear"]
        if reason == GapReason.FEW_CLEAR:
            pct = math.floor(row_float(row, Col.CLEAR_FRACTION) * 100)
            phrases.append(words["few_clear"].format(pct=pct, minimum=minimum))
        elif reason == GapReason.FEW_DATES:
            n = int(row_float(row, Col.CLEAR_DATES))
            phrases.append(
                words["few_dates"].format(n=n, plural=plural(n, lang), minimum=rule.min_dates)
            )
        elif reason == GapReason.THIN_REFERENCE:
            pct = math.floor(row_float(row, Col.REFERENCE_FRACTION) * 100)
            phrases.append(
                words["thin_reference"].format(reference=reference, pct=pct, minimum=minimum)
            )
        elif reason == GapReason.NO_REFERENCE:
            phrases.append(words["no_reference"].format(reference=reference))
    return "; ".join(phrases) or words["gap_default"]


def _check_table(park_stats: pd.DataFrame) -> None:
    """Refuse a table without the contract's columns or with an unknown status."""
    missing = [c for c in _REQUIRED if c not in park_stats.columns]
    if missing:
        raise InvalidInputError(
            f"park statistics lack column(s) {', '.join(missing)}; "
            "produce them with indices.zonal (see the per-park statistics contract)"
        )
    bad = sorted(set(park_stats[Col.STATUS].astype(str)) - _STATUSES)
    if bad:
        raise InvalidInputError(
            f"park statistics have unknown status value(s) {bad}; expected OK, DEGRADED or DATA_GAP"
        )
    if park_stats[Col.PARK_ID].duplicated().any():
        dup = park_stats.loc[park_stats[Col.PARK_ID].duplicated(), Col.PARK_ID].tolist()
        raise InvalidInputError(f"park statistics repeat park_id(s) {dup}; one row per park")


def _rank(scores: pd.Series, frame: pd.DataFrame) -> pd.Series:
    """Rank 1 = water first: highest score, then the larger NDMI deficit, then park_id."""
    order = pd.DataFrame(
        {
            "score": scores,
            "ndmi": pd.to_numeric(frame[Col.NDMI_ANOMALY], errors="coerce"),
            "pid": frame[Col.PARK_ID].astype(str),
        }
    ).dropna(subset=["score"])
    order = order.sort_values(
        ["score", "ndmi", "pid"], ascending=[False, True, True], na_position="last"
    )
    rank = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    rank.loc[order.index] = np.arange(1, len(order) + 1)
    return rank


def irrigation_priority(
    park_stats: pd.DataFrame,
    policy: IrrigationPolicy | Mapping[str, object],
    *,
    coverage: CoverageRule,
    reference: str = "reference",
    language: str = "en",
) -> pd.DataFrame:
    """Score, class, rank and reason of every park (1 = water first).

    Parameters
    ----------
    park_stats : pandas.DataFrame or geopandas.GeoDataFrame
        One row per park per the per-park statistics contract (anomalies dimensionless, shares and
        clear fraction 0..1, heat exposure 0..1 or NaN). ``evi_anomaly``, ``heat_exposure`` and
        ``ndvi_ref`` are optional.
    policy : IrrigationPolicy or mapping
        From :func:`load_priority_policy`, or a mapping parsed with :func:`parse_priority_policy`.
    coverage : CoverageRule
        The coverage rule the ``status`` column was decided with (the profile's
        ``vegetation.coverage_rule()``); DATA_GAP reasons quote its numbers.
    reference : str
        Label of the reference period quoted in the reasons, e.g. ``"2019-2021"``.
    language : {"en", "de"}
        Language of the reasons (``why``).

    Returns
    -------
    pandas.DataFrame
        A copy of ``park_stats`` (same type and index) with ``score`` (float, NaN for DATA_GAP),
        ``priority_class`` (Int64 1..4, NA for DATA_GAP), ``rank`` (Int64, NA for DATA_GAP) and
        ``why`` (str). ``attrs["irrigation_rule_version"]`` names the rule.

    Raises
    ------
    InvalidInputError
        Missing columns, unknown status values, repeated park ids or an invalid policy.
    """
    if not isinstance(policy, IrrigationPolicy):
        policy = parse_priority_policy(policy)
    if language not in WHY:
        raise InvalidInputError(f"language {language!r} is not one of {sorted(WHY)}")
    _check_table(park_stats)
    out = park_stats.copy()
    scores, classes, whys = [], [], []
    for _, series in park_stats.iterrows():
        row = series.to_dict()
        is_gap = row[Col.STATUS] == SubjectStatus.DATA_GAP
        contributions = {} if is_gap else _contributions(_components(row, policy), policy)
        if not any(k in contributions for k in ("moisture", "greenness", "stressed_share")):
            gap = _why_gap(row, coverage, reference, language) if is_gap else ""
            scores.append(math.nan)
            classes.append(pd.NA)
            whys.append(gap or WHY[language]["no_inputs"])
            continue
        score = float(sum(contributions.values()))
        cls = _classify(score, policy.class_thresholds)
        scores.append(score)
        classes.append(cls)
        whys.append(_why_ranked(row, cls, contributions, reference, language))
    out["score"] = pd.Series(scores, index=out.index, dtype="float64")
    out["priority_class"] = pd.array(classes, dtype="Int64")
    out["rank"] = _rank(out["score"], out)
    out["why"] = pd.Series(whys, index=out.index, dtype="object")
    out.attrs["irrigation_rule_version"] = policy.version
    return out
