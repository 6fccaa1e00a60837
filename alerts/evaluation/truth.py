"""What really happened, as the truth table of :mod:`alerts.evaluation` (pure parsing, no I/O).

Two sources:

- a demo city's ``truth.json`` (:func:`truth_from_demo`): ``stressed_parks`` and
  ``watered_parks`` become irrigation events from their ``onset`` until the planted dryness is
  gone again (the last date of ``dry_fraction_by_date`` above 0 when it falls back to 0; open
  while it lasts; ``recovered`` when the demo states it; ``dryness_rank`` as ``rank``),
  ``unstressed_parks`` controls,
  ``cloud_hidden_park(s)`` hidden subjects; ``insar`` sites by their ``segment_ids`` (the
  subsiding stretch and an unlisted step events, a step at known works a control, the sparse
  stretch hidden); heat: each forecast issue day with a health heatwave an event of ``city``.
  Keys a newer demo adds are ignored; a list or a single entry, ids as text or
  ``{"park_id": ...}`` mappings are all read.
- a CSV of observed events (:func:`truth_from_csv`), e.g. a parks department's irrigation log or
  a list of known subsidence sites: header ``subject_id,product,start,end`` (``end`` may be
  empty: still going on), optionally ``kind`` (event, control, hidden; default event).
  Malformed input raises :class:`~core.errors.InvalidInputError` naming the line and the fix.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

import pandas as pd

from alerts.evaluation import TRUTH_COLUMNS, TRUTH_KINDS
from core.errors import InvalidInputError

__all__ = ["HEAT_SUBJECT", "PRODUCTS", "truth_from_csv", "truth_from_demo"]

PRODUCTS = ("irrigation", "heat", "deformation")
"""Products a truth row may name (the hazards of the flows)."""


def _ids(value: Any, key: str = "park_id") -> list[str]:
    """Subject ids from a list or a single entry, each an id or a mapping holding ``key``."""
    if value is None:
        return []
    items: Iterable[Any] = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        if isinstance(item, Mapping):
            if item.get(key) is not None:
                out.append(str(item[key]))
        elif item is not None:
            out.append(str(item))
    return out


def _parse_day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _recovered(entry: Mapping[str, Any]) -> date | None:
    """When the planted dryness was gone: ``recovered`` (the demo's date green again), else the
    last date of ``dry_fraction_by_date`` above 0 when the series later fell back to 0; else
    None (still dry)."""
    recovered = _parse_day(entry.get("recovered"))
    if recovered is not None:
        return recovered
    series = entry.get("dry_fraction_by_date")
    if isinstance(series, Mapping):
        days = sorted((d, float(v)) for k, v in series.items() if (d := _parse_day(k)) is not None)
        last_dry = None
        for day, value in days:
            if value > 0:
                last_dry = day
        if last_dry is not None and days and days[-1][1] <= 0:
            return last_dry
        return None
    watered = _parse_day(entry.get("watered"))
    if watered is not None:  # no series: the ramp down is assumed as long as the ramp up
        return watered + timedelta(days=int(entry.get("ramp_days") or 0))
    return None


def _event_rows(entries: Any) -> list[dict[str, Any]]:
    rows = []
    items = entries if isinstance(entries, list) else [entries] if entries else []
    for entry in items:
        if not isinstance(entry, Mapping) or entry.get("park_id") is None:
            continue
        rows.append(
            {
                "product": "irrigation",
                "subject_id": str(entry["park_id"]),
                "kind": "event",
                "start": _parse_day(entry.get("onset")),
                "end": _recovered(entry),
                "rank": entry.get("dryness_rank"),
            }
        )
    return rows


def truth_from_demo(doc: Mapping[str, Any]) -> pd.DataFrame:
    """The truth table of a demo city's ``truth.json`` (see the module text)."""
    if not isinstance(doc, Mapping):
        raise InvalidInputError(
            f"truth: expected a JSON object (a demo truth.json), got {type(doc).__name__}; "
            "give the truth.json the demo wrote or a CSV of events"
        )
    rows = _event_rows(doc.get("stressed_parks")) + _event_rows(doc.get("watered_parks"))
    for key in ("cloud_hidden_park", "cloud_hidden_parks"):
        rows += [
            {"product": "irrigation", "subject_id": s, "kind": "hidden", "start": None, "end": None}
            for s in _ids(doc.get(key))
        ]
    rows += [
        {"product": "irrigation", "subject_id": s, "kind": "control", "start": None, "end": None}
        for s in _ids(doc.get("unstressed_parks"))
    ]
    rows += _insar_rows(doc.get("insar"))
    rows += _heat_rows(doc.get("heat"))
    return pd.DataFrame.from_records(rows, columns=[*TRUTH_COLUMNS, "members", "rank"])


HEAT_SUBJECT = "city"
"""The subject of the heat product: the city's heatwave bulletin (one decision per forecast)."""


def _heat_rows(heat: Any) -> list[dict[str, Any]]:
    """Heat truth: each forecast issue day whose forecast carries a health heatwave
    (``heat.weather.forecasts_with_heatwave``) is an event of the subject ``city`` on that day
    (a bulletin is due); a bulletin on another issue day is a false alarm."""
    weather = heat.get("weather") if isinstance(heat, Mapping) else None
    issued = weather.get("forecasts_with_heatwave") if isinstance(weather, Mapping) else None
    if not isinstance(issued, Mapping):
        return []
    rows = []
    for day in sorted(d for d in (_parse_day(k) for k in issued) if d is not None):
        rows.append(
            {"product": "heat", "subject_id": HEAT_SUBJECT, "kind": "event", "start": day,
             "end": day, "members": None, "rank": None}
        )  # fmt: skip
    return rows


def _insar_rows(insar: Any) -> list[dict[str, Any]]:
    """Deformation truth from the planted sites' ``segment_ids`` (a truth.json without them
    names no segment, so deformation is not scored from it). The subsiding stretch and an
    unlisted step are events and a step at known works a control, each one subject
    ``"<line> <name>"`` whose ``members`` are its segments (a site is found when one of its
    segments is); the sparse stretch's segments are each hidden (DATA_GAP is right there)."""
    if not isinstance(insar, Mapping):
        return []
    rows: list[dict[str, Any]] = []

    def site(entry: Any, kind: str) -> None:
        if isinstance(entry, Mapping) and _ids(entry.get("segment_ids")):
            rows.append({
                "product": "deformation", "kind": kind, "start": None, "end": None,
                "subject_id": f"{entry.get('line', '')} {entry.get('name', 'site')}".strip(),
                "members": tuple(_ids(entry.get("segment_ids"))),
            })  # fmt: skip

    site(insar.get("subsiding_stretch"), "event")
    step = insar.get("step")
    if isinstance(step, Mapping):
        site(step, "control" if step.get("known_event", True) else "event")
    sparse = insar.get("sparse_stretch")
    if isinstance(sparse, Mapping):
        rows += [
            {"product": "deformation", "subject_id": segment, "kind": "hidden", "start": None,
             "end": None, "members": None}
            for segment in _ids(sparse.get("segment_ids"))
        ]  # fmt: skip
    return rows


def truth_from_csv(text: str, source: str = "truth.csv") -> pd.DataFrame:
    """The truth table of a CSV of observed events (see the module text)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("subject_id", "product", "start", "end") if c not in header]
    if missing:
        raise InvalidInputError(
            f"--truth: {source}: missing column(s) {', '.join(missing)} (header {header}); "
            "give a CSV with the header subject_id,product,start,end"
        )
    rows = []
    for line, raw in enumerate(reader, start=2):
        rec = {str(k).strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(rec.values()):
            continue
        where = f"--truth: {source}: line {line}"
        if not rec["subject_id"]:
            raise InvalidInputError(f"{where}: subject_id is empty; give the subject's id")
        product = rec["product"]
        if product not in PRODUCTS:
            raise InvalidInputError(
                f"{where}: product {product!r} is not one of {', '.join(PRODUCTS)}; fix the product"
            )
        kind = rec.get("kind") or "event"
        if kind not in TRUTH_KINDS:
            raise InvalidInputError(
                f"{where}: kind {kind!r} is not one of {', '.join(TRUTH_KINDS)}; fix the kind"
            )
        days: dict[str, date | None] = {}
        for col in ("start", "end"):
            days[col] = _parse_day(rec[col])
            if rec[col] and days[col] is None:
                raise InvalidInputError(
                    f"{where}: {col} {rec[col]!r} is not a date; write YYYY-MM-DD"
                )
        if kind == "event" and days["start"] is None:
            raise InvalidInputError(f"{where}: an event needs a start date; write YYYY-MM-DD")
        if days["start"] and days["end"] and days["end"] < days["start"]:
            raise InvalidInputError(
                f"{where}: end {days['end']} is before start {days['start']}; swap or fix them"
            )
        rows.append({"product": product, "subject_id": rec["subject_id"], "kind": kind, **days})
    if not rows:
        raise InvalidInputError(
            f"--truth: {source}: no event rows; give at least one line subject_id,product,start,end"
        )
    return pd.DataFrame.from_records(rows, columns=list(TRUTH_COLUMNS))
