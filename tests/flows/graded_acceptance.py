"""Issue 11's acceptance on one demo season, as one check shared by the default and seeded cities.

Everything planted is read from the city's ``truth.json`` (never a park name, id or date of the
default story); what the product said is read from the irrigation GeoJSON of each window and the
run's outbox. :func:`acceptance_failures` returns what fails (empty when the season meets it), so
a test over several seeds can say which seed failed and why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

WEEK = timedelta(days=7)


class Cell(NamedTuple):
    """One park in one window: status, priority class (None when DATA_GAP) and score."""

    status: str | None
    klass: int | None
    score: float | None


Series = dict[str, dict[date, Cell]]
"""park id -> window end -> cell."""


def read_series(vegetation: Path) -> Series:
    """Every park's cells from the windows ``vegetation/<window end>/irrigation_priority.geojson``."""
    series: Series = {}
    for folder in sorted(p for p in vegetation.iterdir() if p.is_dir()):
        doc = json.loads((folder / "irrigation_priority.geojson").read_text(encoding="utf-8"))
        end = date.fromisoformat(folder.name)
        for feature in doc["features"]:
            p = feature["properties"]
            score = p.get("score")
            series.setdefault(str(p["park_id"]), {})[end] = Cell(
                p.get("status"),
                p.get("priority_class"),
                None if score is None else float(score),
            )
    return series


def acceptance_failures(
    truth: Mapping[str, Any], series: Series, revisions: Sequence[Mapping[str, Any]]
) -> list[str]:
    """What the season fails of issue 11's acceptance (empty: it meets every item).

    - every planted stressed park is class 1 or 2 by the end of its ramp (in a window up to the
      first window seen, not DATA_GAP, that ends on or after the ramp's end);
    - at least one planted gradual ramp is at watch or high (3, 2) at least a week before its
      first urgent window;
    - no unstressed park is ever class 1;
    - the watered park opens a work order (an Alert) and clears it (its last revision a Cancel);
    - the cloud-hidden park is DATA_GAP in every window;
    - in the last window, the stressed parks at class 1 are ordered by score as the planted
      dryness orders them (``expected_dryness_order``).
    """
    failures: list[str] = []
    stressed = list(truth["stressed_parks"])
    watered = list(truth.get("watered_parks", []))

    for park in stressed:
        pid, ramp_end = park["park_id"], date.fromisoformat(park["ramp_end"])
        cells = series.get(pid, {})
        seen_after = [d for d, c in sorted(cells.items()) if d >= ramp_end and c.klass is not None]
        limit = seen_after[0] if seen_after else max(cells, default=ramp_end)
        if not any(c.klass in (1, 2) for d, c in cells.items() if d <= limit):
            failures.append(f"stressed park {pid} not class 1-2 by its ramp end {ramp_end}")

    warned_early = []
    for park in stressed + watered:
        cells = series.get(park["park_id"], {})
        urgent = [d for d, c in cells.items() if c.klass == 1]
        early = [d for d, c in cells.items() if c.klass in (2, 3)]
        if park.get("gradual") and urgent and early and min(early) <= min(urgent) - WEEK:
            warned_early.append(park["park_id"])
    if not warned_early:
        failures.append("no planted gradual ramp at watch/high a week before its first urgent")

    for pid in truth["unstressed_parks"]:
        urgent = sorted(d for d, c in series.get(pid, {}).items() if c.klass == 1)
        if urgent:
            failures.append(f"unstressed park {pid} urgent on {[str(d) for d in urgent]}")

    for park in watered:
        pid = park["park_id"]
        mine = sorted(
            (r for r in revisions if r["hazard"] == "irrigation" and r["subject"] == pid),
            key=lambda r: int(r["id"]),  # the order the outbox recorded them
        )
        types = [r["msg_type"] for r in mine]
        if not types or types[0] != "Alert" or types[-1] != "Cancel":
            failures.append(f"watered park {pid}: work-order revisions {types}, not opened+cleared")

    hidden = truth["cloud_hidden_park"]["park_id"]
    statuses = {c.status for c in series.get(hidden, {}).values()}
    if statuses != {"DATA_GAP"}:
        failures.append(f"cloud-hidden park {hidden} statuses {sorted(map(str, statuses))}")

    if series:
        last = max(max(cells) for cells in series.values())
        none = Cell(None, None, None)
        urgent_now = [
            p for p in truth["expected_dryness_order"] if series[p].get(last, none).klass == 1
        ]
        by_score = sorted(urgent_now, key=lambda p: -(series[p][last].score or 0.0))
        if by_score != urgent_now:
            failures.append(f"class-1 scores on {last} order {by_score}, planted {urgent_now}")
    return failures
