"""Irrigation priority: which parks to water first, with a class, a rank and a reason.

Input is the per-park statistics table of ``indices/zonal.py`` (one row per park: NDVI/EVI/NDMI now,
reference and anomaly, stressed share, clear fraction, status, heat exposure) and, for persistence,
the park's earlier windows (:mod:`alerts.detect.irrigation_history`). The score (rule
``irrigation-priority-2.0.0``, every number in ``alerts/policies/irrigation_priority.yaml``) is
graded and never saturates:

.. math::

    t_k = \\max(v_k / u_k, 0), \\qquad
    C = \\frac{w_m t_m + w_g t_g + w_s t_s}{\\sum_{k \\,\\mathrm{known}} w_k}, \\qquad
    E = C \\,(1 + a_p \\min(d / D, 1))\\,(1 + a_h t_h), \\qquad
    \\mathrm{score} = \\frac{E}{1 + E}

with ``v`` the NDMI anomaly (moisture, m), the NDVI and EVI anomalies (greenness, g: the mean of the
two terms that are known), the stressed share (s) and the heat exposure (h, 0 when unknown), ``u``
the value that counts as one unit of evidence, ``d`` the days the park has already been at watch or
worse in consecutive earlier windows (DATA_GAP windows skipped), ``D`` the days at which persistence
counts fully and ``a`` the gains. Every term is unbounded (a park twice as dry has twice the
moisture evidence), and ``E / (1 + E)`` is strictly increasing and below 1, so two parks with
different dryness never tie at the top. Persistence and heat multiply the evidence: neither makes a
priority of a park without water stress. Score >= urgent -> class 1, >= high -> 2, >= watch -> 3,
else 4 (none). DATA_GAP parks get no score, class or rank, and a reason naming the gap.

References
----------
Gao, B.-C. (1996). NDWI - a normalized difference water index for remote sensing of vegetation
liquid water from space. Remote Sensing of Environment 58, 257-266 (NDMI as a canopy water signal).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from alerts.detect.irrigation_history import HISTORY_COLUMNS
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
    "Evidence",
    "IrrigationPolicy",
    "evidence",
    "irrigation_priority",
    "load_priority_policy",
    "parse_priority_policy",
    "stressed_days",
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
_CORE = ("moisture", "greenness", "stressed_share")


@dataclass(frozen=True)
class Evidence:
    """The evidence of one park in one window, in units of evidence (each term >= 0 or NaN).

    ``core`` is the weighted mean of the known terms (NaN when none is known), ``total`` the
    evidence E after the persistence and heat factors, ``score`` = E / (1 + E).
    """

    moisture: float
    greenness: float
    stressed_share: float
    heat: float
    stressed_days: int
    core: float
    total: float

    @property
    def score(self) -> float:
        """E / (1 + E): 0 for no evidence, strictly increasing, never 1."""
        return self.total / (1.0 + self.total)

    def contributions(self, weights: Mapping[str, float]) -> dict[str, float]:
        """Weighted core terms that are known (what the "why" names as the main driver)."""
        return {k: weights[k] * getattr(self, k) for k in _CORE if not math.isnan(getattr(self, k))}


def _term(value: float, unit: float) -> float:
    """``max(value / unit, 0)``: evidence in units, never clipped above; NaN stays NaN."""
    return math.nan if math.isnan(value) else max(value / unit, 0.0)


def evidence(
    row: Mapping[str, object], policy: IrrigationPolicy, stressed_days: int = 0
) -> Evidence:
    """The evidence of one park row (see the module docstring for the formula).

    Parameters
    ----------
    row : mapping
        One row of the per-park table.
    policy : IrrigationPolicy
        Units, weights and gains.
    stressed_days : int
        Days the park has been at watch or worse in earlier windows (:func:`stressed_days`).
    """
    u = policy.unit_evidence
    green = [
        _term(row_float(row, Col.NDVI_ANOMALY), u["ndvi_anomaly"]),
        _term(row_float(row, Col.EVI_ANOMALY), u["evi_anomaly"]),
    ]
    known_green = [g for g in green if not math.isnan(g)]
    terms = {
        "moisture": _term(row_float(row, Col.NDMI_ANOMALY), u["ndmi_anomaly"]),
        "greenness": float(np.mean(known_green)) if known_green else math.nan,
        "stressed_share": _term(row_float(row, Col.STRESSED_SHARE), u["stressed_share"]),
    }
    heat = _term(row_float(row, Col.HEAT_EXPOSURE), u["heat_exposure"])
    known = [k for k in _CORE if not math.isnan(terms[k])]
    weight = sum(policy.weights[k] for k in known)
    if not known or weight <= 0:
        core = math.nan
    else:
        core = sum(policy.weights[k] * terms[k] for k in known) / weight
    persistence = min(max(stressed_days, 0) / policy.persistence_full_days, 1.0)
    total = core * (1.0 + policy.persistence_gain * persistence)
    total *= 1.0 + policy.heat_gain * (0.0 if math.isnan(heat) else heat)
    return Evidence(
        moisture=terms["moisture"],
        greenness=terms["greenness"],
        stressed_share=terms["stressed_share"],
        heat=heat,
        stressed_days=max(int(stressed_days), 0),
        core=core,
        total=total,
    )


def stressed_days(history: pd.DataFrame, park_id: str, window_end: date, full_days: float) -> int:
    """Days the park has been at watch or worse (class <= 3) in the windows before ``window_end``.

    Walks back from the latest earlier window ending within ``full_days`` of ``window_end``:
    DATA_GAP windows are skipped (a cloudy week is no recovery), the first valid window of class 4
    ends the run. The result is ``window_end`` minus the end of the earliest window of the run, 0
    when the latest valid earlier window was class 4 or there is none.
    """
    if history.empty:
        return 0
    mine = history[history["park_id"].astype(str) == str(park_id)]
    start: date | None = None
    for end, cls in sorted(
        zip(mine["window_end"], mine["priority_class"], strict=True),
        key=lambda pair: pair[0],
        reverse=True,
    ):
        if not end < window_end or (window_end - end).days > full_days:
            continue
        if pd.isna(cls):
            continue  # DATA_GAP: neither stressed nor recovered
        if int(cls) > 3:
            break
        start = end
    return 0 if start is None else (window_end - start).days


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
    return words["stressed"].format(pct=f"{row_float(row, Col.STRESSED_SHARE) * 100:.0f}")


def _why_ranked(
    row: Mapping[str, object],
    cls: int,
    ev: Evidence,
    policy: IrrigationPolicy,
    reference: str,
    lang: str,
) -> str:
    """Reason for a scored park: its main driver, how long it has been stressed, its heat exposure,
    and a DEGRADED note."""
    words = WHY[lang]
    contributions = ev.contributions(policy.weights)
    if cls == 4:  # quote the lead signal: moisture, else greenness, else the stressed share
        first = next(k for k in _CORE if k in contributions)
        why = words["no_stress"].format(phrase=_driver_phrase(first, row, reference, lang))
    else:
        main = max(_CORE, key=lambda k: (contributions.get(k, -1.0), -_CORE.index(k)))
        why = _driver_phrase(main, row, reference, lang)
        if ev.stressed_days > 0:
            why += words["persistent"].format(days=ev.stressed_days)
        if not math.isnan(ev.heat) and ev.heat > 0 and policy.heat_gain > 0:
            why += words["heat"].format(value=number(row_float(row, Col.HEAT_EXPOSURE), lang))
    if row.get(Col.STATUS) == SubjectStatus.DEGRADED:
        seen = math.floor(row_float(row, Col.CLEAR_FRACTION) * 100)
        why += words["partly_seen"].format(pct=seen)
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


def _check_history(history: pd.DataFrame | None, window_end: date | None) -> pd.DataFrame | None:
    """Refuse a history without its columns, or a history without the window it precedes."""
    if history is None:
        return None
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise InvalidInputError(
            f"irrigation history lacks column(s) {', '.join(missing)}; build it with "
            "alerts.detect.irrigation_history.load_history or history_from_findings"
        )
    if window_end is None:
        raise InvalidInputError(
            "irrigation history given without window_end; pass the end date of the window "
            "being evaluated, so that only earlier windows count as persistence"
        )
    return history


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
    history: pd.DataFrame | None = None,
    window_end: date | None = None,
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
    history : pandas.DataFrame, optional
        Earlier windows of the parks (columns ``park_id, window_end, status, priority_class``,
        :mod:`alerts.detect.irrigation_history`); None: no persistence (0 days for every park).
    window_end : date, optional
        Last day of the evaluated window; required with ``history``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``park_stats`` (same type and index) with ``score`` (float in 0..1, NaN for
        DATA_GAP), ``priority_class`` (Int64 1..4, NA for DATA_GAP), ``rank`` (Int64, NA for
        DATA_GAP), ``stressed_days`` (Int64, days at watch or worse in earlier windows, NA for
        DATA_GAP) and ``why`` (str). ``attrs["irrigation_rule_version"]`` names the rule.

    Raises
    ------
    InvalidInputError
        Missing columns, unknown status values, repeated park ids, an invalid policy, or a
        history without its columns or without ``window_end``.
    """
    if not isinstance(policy, IrrigationPolicy):
        policy = parse_priority_policy(policy)
    if language not in WHY:
        raise InvalidInputError(f"language {language!r} is not one of {sorted(WHY)}")
    _check_table(park_stats)
    past = _check_history(history, window_end)
    out = park_stats.copy()
    scores, classes, days, whys = [], [], [], []
    for _, series in park_stats.iterrows():
        row = series.to_dict()
        is_gap = row[Col.STATUS] == SubjectStatus.DATA_GAP
        ev = None
        if not is_gap:
            run = 0
            if past is not None and window_end is not None:
                run = stressed_days(
                    past, str(row[Col.PARK_ID]), window_end, policy.persistence_full_days
                )
            ev = evidence(row, policy, run)
        if ev is None or math.isnan(ev.core):
            gap = _why_gap(row, coverage, reference, language) if is_gap else ""
            scores.append(math.nan)
            classes.append(pd.NA)
            days.append(pd.NA)
            whys.append(gap or WHY[language]["no_inputs"])
            continue
        cls = _classify(ev.score, policy.class_thresholds)
        scores.append(ev.score)
        classes.append(cls)
        days.append(ev.stressed_days)
        whys.append(_why_ranked(row, cls, ev, policy, reference, language))
    out["score"] = pd.Series(scores, index=out.index, dtype="float64")
    out["priority_class"] = pd.array(classes, dtype="Int64")
    out["rank"] = _rank(out["score"], out)
    out["stressed_days"] = pd.array(days, dtype="Int64")
    out["why"] = pd.Series(whys, index=out.index, dtype="object")
    out.attrs["irrigation_rule_version"] = policy.version
    return out
