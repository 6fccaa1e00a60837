"""Pins of the small demo's heat and deformation products, as the season pins hold vegetation's.

The acceptance tests check the planted cases (the hotspot cluster, the subsiding stretch, the
step); these pins check that a change meant to keep behaviour (moving code between layers, a new
loader) keeps *every* district's rank and every segment's outcome, the decisions and the revisions
in the outbox, DATA_GAP notices and digests included. A change that moves them on purpose
regenerates the pins with ``GEOSPACE_UPDATE_PINS=1 pytest tests/flows/test_product_pins.py`` and
says why in its commit. Both products run without Prefect on the demo's own periods, as in
``geospace demo``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eo.demo.layout import DemoLayout

pytestmark = pytest.mark.slow
PINS = Path(__file__).parent / "pins"
HEAT_PINS = PINS / "heat_small.json"
DEFORMATION_PINS = PINS / "deformation_small.json"


@pytest.fixture(scope="module")
def products(demo_small: DemoLayout, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's heat run and deformation releases into one output folder (one outbox)."""
    from flows.deformation import resolve_deformation_inputs, run_releases
    from flows.demo_replay import DEFORMATION_PERIOD, HEAT_RUN
    from flows.heat import resolve_heat_inputs, run_heat

    out = tmp_path_factory.mktemp("product-pins") / "out"
    out.mkdir()
    (out / "demo-city").symlink_to(demo_small.root, target_is_directory=True)
    start, end = HEAT_RUN
    run_heat(resolve_heat_inputs("vienna-demo", start, end, out), start, end, out)
    start, end = DEFORMATION_PERIOD
    run_releases(resolve_deformation_inputs("vienna-demo", out), start, end, out)
    return out


def _revisions(out: Path, hazard: str) -> list[list[Any]]:
    """The product's revisions and the notices about it: [hazard, subject, revision, msg_type,
    level, topic], notices' subjects without their run-dependent parts (approval keys)."""
    from alerts.outbox.store import open_store

    store = open_store(out, create=False)
    try:
        rows = store.db.query("SELECT payload FROM revisions ORDER BY id")
    finally:
        store.close()
    found = []
    for row in rows:
        r = json.loads(str(row["payload"]))
        about = r["payload"].get("about_hazard", r["hazard"])
        if about != hazard:
            continue
        topic = r["payload"].get("notice")
        subject = "heat/approval/*" if topic == "approval_pending" else r["subject_id"]
        found.append([r["hazard"], subject, r["revision"], r["msg_type"], r["level"], topic])
    return sorted(found, key=lambda x: [str(v) for v in x])


def _heat(out: Path) -> dict[str, Any]:
    """Per forecast issue day: every district [zone_id, rank, status, score] (districts.csv)."""
    days: dict[str, list[list[str]]] = {}
    for folder in sorted((out / "heat").iterdir()):
        table = folder / "districts.csv"
        if folder.is_dir() and table.exists():
            with table.open(encoding="utf-8", newline="") as f:
                days[folder.name] = [
                    [row["zone_id"], row["rank"], row["status"], row["score"]]
                    for row in csv.DictReader(f)
                ]
    return {"districts": days, "revisions": _revisions(out, "heat")}


def _deformation(out: Path) -> dict[str, Any]:
    """Per release: every segment [status, alert, distortion class, vertical velocity (0.01)]."""
    releases: dict[str, dict[str, list[Any]]] = {}
    for folder in sorted((out / "deformation").iterdir()):
        layer = folder / "corridor_segments.geojson"
        if not layer.exists():
            continue
        features = json.loads(layer.read_text(encoding="utf-8"))["features"]
        releases[folder.name] = {
            p["segment_id"]: [
                p["status"],
                p["alert"],
                p.get("distortion_class"),
                None if p.get("vertical_velocity") is None else round(p["vertical_velocity"], 2),
            ]
            for p in sorted((f["properties"] for f in features), key=lambda p: p["segment_id"])
        }
    return {"segments": releases, "revisions": _revisions(out, "deformation")}


def _lines(doc: dict[str, Any]) -> Iterator[str]:
    """One line per district, segment or revision, so a moved pin reads as a one-line diff."""
    yield "{"
    keys = list(doc)
    for i, key in enumerate(keys):
        value = doc[key]
        yield f"  {json.dumps(key)}: " + ("{" if isinstance(value, dict) else "[")
        items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
        for j, (name, inner) in enumerate(items):
            comma = "," if j < len(items) - 1 else ""
            if isinstance(value, list):
                yield f"    {json.dumps(inner)}{comma}"
                continue
            rows = list(inner.items()) if isinstance(inner, dict) else list(enumerate(inner))
            yield f"    {json.dumps(name)}: " + ("{" if isinstance(inner, dict) else "[")
            for k, (sub, cells) in enumerate(rows):
                head = f"{json.dumps(sub)}: " if isinstance(inner, dict) else ""
                yield f"      {head}{json.dumps(cells)}" + ("," if k < len(rows) - 1 else "")
            yield "    " + ("}" if isinstance(inner, dict) else "]") + comma
        yield "  " + ("}" if isinstance(value, dict) else "]") + ("," if i < len(keys) - 1 else "")
    yield "}"


def _check(observed: dict[str, Any], pins: Path) -> None:
    if os.environ.get("GEOSPACE_UPDATE_PINS") == "1":
        pins.write_text("\n".join(_lines(observed)) + "\n", encoding="utf-8")
    pinned = json.loads(pins.read_text(encoding="utf-8"))
    assert set(observed) == set(pinned)
    for key, want in pinned.items():
        got = observed[key]
        if isinstance(want, dict):
            assert sorted(got) == sorted(want), f"{key}: days or releases differ"
            for name, rows in want.items():
                moved = (
                    {s: (c, got[name].get(s)) for s, c in rows.items() if got[name].get(s) != c}
                    if isinstance(rows, dict)
                    else [(a, b) for a, b in zip(rows, got[name], strict=False) if a != b]
                )
                assert not moved and len(rows) == len(got[name]), (
                    f"{key} {name}: outcomes moved (pinned, observed): {moved}"
                )
        else:
            assert got == want, f"{key}: revisions moved"


def test_heat_products_match_the_pins(products: Path) -> None:
    observed = _heat(products)
    assert observed["districts"] and observed["revisions"], "the demo's heat run writes both"
    _check(observed, HEAT_PINS)


def test_deformation_products_match_the_pins(products: Path) -> None:
    observed = _deformation(products)
    assert observed["segments"] and observed["revisions"], "the demo's releases write both"
    _check(observed, DEFORMATION_PINS)
