"""Build the demo city on disk: layers, Sentinel-2 COGs, STAC catalogue, truth.json and NOTICE.

:func:`build_demo` is deterministic from its seed and needs no network. It builds into a temporary
sibling directory and swaps it into place at the end, so readers never see a half-built city.
Memory stays bounded: one acquisition day is rendered at a time (a few hundred MB for the full city).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from core.errors import InvalidInputError
from eo.demo.geography import DEMO_CRS, Geography
from eo.demo.landcover import BANDS, LandCover, build_landcover
from eo.demo.layout import DEMO_SEED, S2_COLLECTION, DemoLayout
from eo.demo.s2_catalog import (
    SYNTHETIC_NOTE,
    catalog_dict,
    collection_dict,
    item_dict,
    window_bounds,
)
from eo.demo.s2_plan import (
    OFFSET_DN,
    SEASON_YEAR,
    DatePlan,
    DemoPlan,
    ItemPlan,
    StressPlan,
    make_plan,
    natural_dryness,
)
from eo.demo.s2_scenes import (
    CLOUD_EDGE_MISSED,
    HIDDEN_CLOUD_RADIUS_M,
    ITEM_BANDS_10M,
    SceneInputs,
    dryness,
    item_arrays,
    prepare_inputs,
    render_day,
    write_cog,
)
from eo.grid import OutputGrid, snap_grid

DEMO_RESOLUTION_M = 10.0
S2_NOTICE_LINE = (
    "Sentinel-2-like rasters (cogs/, stac/): synthetic, imitating Copernicus Sentinel-2 L2A; "
    "no real Sentinel data. Rendered from the demo land cover with typical spectra, clouds and "
    "planted cases listed in truth.json."
)


def demo_grid(geo: Geography) -> OutputGrid:
    """The 10 m demo grid: the geography's boundary bounds snapped to the Sentinel-2 20 m phase."""
    minx, miny, maxx, maxy = (float(v) for v in geo.boundary.total_bounds)
    return snap_grid(DEMO_CRS, DEMO_RESOLUTION_M, (minx, miny, maxx, maxy))


def build_demo(
    out_dir: Path,
    *,
    small: bool = False,
    seed: int = DEMO_SEED,
    geography: Geography | None = None,
) -> DemoLayout:
    """Build the demo city under ``out_dir/demo-city`` (replacing an older build atomically).

    Parameters
    ----------
    out_dir : pathlib.Path
        Parent folder; created if missing.
    small : bool
        The ~5 x 5 km variant around the centre used by the tests.
    seed : int
        Seed of every random draw; the same seed gives byte-identical rasters.
    geography : Geography, optional
        Layers to build on (default: :func:`eo.demo.geography.vienna_geography`).

    Returns
    -------
    DemoLayout
        Paths of the finished build.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = DemoLayout.under(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.root.name}.", suffix=".tmp", dir=out_dir))
    try:
        geo = geography if geography is not None else _vienna(small)
        _build_into(DemoLayout(tmp), geo, small=small, seed=seed)
        _swap_in(tmp, final.root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _vienna(small: bool) -> Geography:
    from eo.demo.geography import vienna_geography

    return vienna_geography(small=small)


def _swap_in(tmp: Path, root: Path) -> None:
    """Replace ``root`` by ``tmp`` with renames in the same folder; the old build is removed."""
    old = None
    if root.exists():
        old = root.with_name(f".{root.name}.old-{os.getpid()}")
        os.replace(root, old)
    os.replace(tmp, root)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _optional(name: str) -> Callable[..., Any] | None:
    """A function of the demo layer writers if that engineer's module provides it."""
    for module in ("eo.demo.vectors", "eo.demo.geography"):
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build_into(layout: DemoLayout, geo: Geography, *, small: bool, seed: int) -> None:
    """Write every part of the demo into ``layout`` (a fresh, private folder)."""
    grid = demo_grid(geo)
    if grid.shape[0] < 64 or grid.shape[1] < 64:
        raise InvalidInputError(
            f"demo extent {grid.bounds} is only {grid.shape} pixels at 10 m; the demo needs at "
            "least 640 x 640 m: give the geography a larger boundary"
        )
    lc = build_landcover(geo, grid, np.random.default_rng([seed, 1]))
    plan = make_plan(seed, small, grid, geo.parks)
    inputs = prepare_inputs(lc, plan, np.random.default_rng([seed, 2]))
    items: list[dict[str, Any]] = []
    # Compression runs in GDAL threads without the GIL: write day d while rendering day d+1.
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: Future[None] | None = None
        for day in plan.dates:
            scene = render_day(inputs, plan, day)
            batch = [(item, item_arrays(scene, item)) for item in day.items]
            del scene
            if pending is not None:
                pending.result()
            pending = writer.submit(_write_items, layout, grid, batch)
            items.extend(item_dict(item, grid, arrays["SCL"]) for item, arrays in batch)
        if pending is not None:
            pending.result()
    for doc in items:
        _write_json(layout.stac / S2_COLLECTION / doc["id"] / f"{doc['id']}.json", doc)
    _write_json(layout.stac / S2_COLLECTION / "collection.json", collection_dict(items))
    _write_json(layout.catalog, catalog_dict())
    _write_json(layout.truth, truth_dict(plan, planted_signals(inputs, plan, lc)))
    _write_side_files(layout, geo)
    _write_heat(layout, seed)
    _write_insar(layout, seed)
    _write_scenario(layout, seed)


def _write_scenario(layout: DemoLayout, seed: int) -> None:
    """Say in truth.json whether this city is the README's story or a drawn variant."""
    truth = json.loads(layout.truth.read_text(encoding="utf-8"))
    truth["scenario"] = {
        "seed": seed,
        "default": seed == DEMO_SEED,
        "drawn": seed != DEMO_SEED,
        "note": "the default seed keeps the README demo's story; every other seed draws the "
        "planted parks, dates, heat cluster, heatwave days and deformation sites (DESIGN section 7)",
    }
    _write_json(layout.truth, truth)


def _write_insar(layout: DemoLayout, seed: int) -> None:
    """Demo EGMS releases along the corridors (:mod:`eo.demo.egms_releases`), recorded in truth.json."""
    corridors, boundary = layout.layer("corridors"), layout.layer("boundary")
    if not corridors.is_file() or not boundary.is_file():
        return
    import geopandas as gpd

    from eo.demo.egms_releases import write_demo_insar

    entry = write_demo_insar(
        layout.root / "insar", gpd.read_file(corridors), gpd.read_file(boundary), seed
    )
    truth = json.loads(layout.truth.read_text(encoding="utf-8"))
    truth["insar"] = entry
    _write_json(layout.truth, truth)


def _write_heat(layout: DemoLayout, seed: int) -> None:
    """Demo Landsat scenes, weather and population by age (:mod:`eo.demo.landsat_scenes`, :mod:`eo.demo.weather`)."""
    import geopandas as gpd
    import pandas as pd

    from eo.demo.landsat_scenes import write_demo_landsat
    from eo.demo.weather import write_demo_weather

    names = ("boundary", "districts", "parks", "water", "forest")
    layers = {n: gpd.read_file(layout.layer(n)) for n in names if layout.layer(n).is_file()}
    if not {"boundary", "districts", "parks"} <= set(layers):
        return
    population_csv = layout.layers / "population.csv"
    population = pd.read_csv(population_csv) if population_csv.is_file() else None
    truth = json.loads(layout.truth.read_text(encoding="utf-8"))
    truth["heat"] = {
        "landsat": write_demo_landsat(layout.root, layers, seed, population),
        "weather": write_demo_weather(layout.root, population, seed),
    }
    _write_json(layout.truth, truth)


def _write_items(
    layout: DemoLayout, grid: OutputGrid, batch: list[tuple[ItemPlan, dict[str, np.ndarray]]]
) -> None:
    """Write the COGs of one day's items."""
    for item, arrays in batch:
        x0, _, _, y1 = window_bounds(grid, item.window)
        for name, array in arrays.items():
            res = 10.0 if name in ITEM_BANDS_10M else 20.0
            write_cog(
                layout.cogs / S2_COLLECTION / item.item_id / f"{name}.tif",
                array,
                Affine(res, 0.0, x0, 0.0, -res, y1),
                grid.crs,
            )


def _write_side_files(layout: DemoLayout, geo: Geography) -> None:
    """Layers and NOTICE from the geography engineer's writers, plus the Sentinel-2 line."""
    write_layers = _optional("write_layers")
    if write_layers is not None:
        write_layers(geo, layout.layers)
    notice = _optional("notice_text")
    text = notice().rstrip("\n") + "\n\n" if notice is not None else ""
    layout.notice.write_text(text + S2_NOTICE_LINE + "\n", encoding="utf-8")


def truth_dict(plan: DemoPlan, signals: dict[str, Any] | None = None) -> dict[str, Any]:
    """What was planted, for tests and notebooks to check the products against.

    ``signals`` (from :func:`planted_signals`) adds the expected index drops of the stressed
    parks, their dryness order and the parks partly under the hidden park's cloud.
    """
    signals = signals or {}
    season = [d for d in plan.dates if d.day.year == SEASON_YEAR]
    years: dict[str, Any] = {}
    for d in plan.dates:
        entry = years.setdefault(str(d.day.year), {"dates": [], "items": []})
        entry["dates"].append(d.day.isoformat())
        entry["items"].extend(i.item_id for i in d.items)
    all_cloud = next(d for d in season if d.all_cloud)
    wrong = next(i for i in plan.items if i.item_id == plan.wrong_flag_item)
    dropped, kept = plan.duplicate
    return {
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "seed": plan.seed,
        "small": plan.small,
        "grid": {
            "crs": plan.grid.crs,
            "resolution": plan.grid.resolution,
            "bounds": list(plan.grid.bounds),
            "shape": list(plan.grid.shape),
        },
        "tiles": sorted({i.tile.name for i in plan.items}),
        "collection": S2_COLLECTION,
        "encoding": {
            "baseline_ge_04.00": f"DN = reflectance*10000 + {OFFSET_DN}; "
            "earthsearch:boa_offset_applied false (except the wrongly flagged item)",
            "baseline_lt_04.00": "DN = reflectance*10000; earthsearch:boa_offset_applied false",
            "nodata": 0,
        },
        "years": years,
        "all_cloud_date": {
            "date": all_cloud.day.isoformat(),
            "item_ids": [i.item_id for i in all_cloud.items],
        },
        "wrong_flag_item": {
            "id": wrong.item_id,
            "date": wrong.day.isoformat(),
            "tile": wrong.tile.name,
            "baseline": wrong.baseline,
            "flag_boa_offset_applied": wrong.boa_offset_applied,
            "offset_in_pixels": wrong.offset_in_dn,
        },
        "duplicate": {
            "date": next(i.day for i in plan.items if i.item_id == kept).isoformat(),
            "tile": next(i.tile.name for i in plan.items if i.item_id == kept),
            "kept": kept,
            "dropped": dropped,
            "dropped_difference": "reflectance 3 % higher (older processing)",
        },
        "stressed_parks": [
            {**_stress_truth(s, season), **signals.get("parks", {}).get(s.park_id, {})}
            for s in plan.stressed
            if s.watered is None
        ],
        "watered_parks": [
            {
                **_stress_truth(s, season),
                **signals.get("parks", {}).get(s.park_id, {}),
                "watered": s.watered.isoformat(),
                "recovery_days": s.recovery_days,
                "recovered": (s.watered + timedelta(days=s.recovery_days)).isoformat(),
            }
            for s in plan.stressed
            if s.watered is not None
        ],
        "expected_dryness_order": signals.get("dryness_order", []),
        "cloud_hidden_park": {
            "park_id": plan.hidden_park,
            "dates": [d.day.isoformat() for d in season],
            "cloud_radius_m": HIDDEN_CLOUD_RADIUS_M,
            "parks_partly_hidden": signals.get("partly_hidden", []),
        },
        "season_clouds": [
            {
                "date": d.day.isoformat(),
                "cloud_cover": round(100.0 if d.all_cloud else 100.0 * d.cloud_cover, 1),
                "cirrus": d.cirrus and not d.all_cloud,
                "all_cloud": d.all_cloud,
            }
            for d in season
        ],
        "unstressed_parks": list(plan.control_parks),
        "natural_turf_dryness_by_date": {
            d.day.isoformat(): round(natural_dryness(d.day), 4) for d in plan.dates
        },
    }


def _stress_truth(stress: StressPlan, season: list[DatePlan]) -> dict[str, Any]:
    return {
        "park_id": stress.park_id,
        "onset": stress.onset.isoformat(),
        "ramp_days": stress.ramp_days,
        "ramp_weeks": round(stress.ramp_days / 7.0, 1),
        "ramp_end": (stress.onset + timedelta(days=stress.ramp_days)).isoformat(),
        "gradual": stress.ramp_days >= GRADUAL_RAMP_DAYS,
        "max_dry_fraction": stress.max_fraction,
        "dry_fraction_by_date": {
            d.day.isoformat(): round(stress.fraction(d.day), 4) for d in season
        },
    }


GRADUAL_RAMP_DAYS = 28
"""A ramp of four weeks or more is "gradual": a graded score should warn before it is urgent."""


def _indices(inp: SceneInputs, dry: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free NDMI (B8A/B11) and NDVI (B04/B08) of the pixels of ``mask`` at ``dry``."""
    band = {name: (inp.base[k] + dry * inp.delta[k])[mask] for k, name in enumerate(BANDS)}
    ndmi = (band["B8A"] - band["B11"]) / (band["B8A"] + band["B11"])
    ndvi = (band["B08"] - band["B04"]) / (band["B08"] + band["B04"])
    return ndmi, ndvi


def planted_signals(inp: SceneInputs, plan: DemoPlan, lc: LandCover) -> dict[str, Any]:
    """What the planted stress does to the indices, read off the noise-free surface.

    Per stressed or watered park: the drop of the park's median NDMI and NDVI (vegetation pixels,
    planted stress against the same day without it) at its peak (the last season date on or
    before the end of its ramp, or the day before watering) and on the last season date. The
    dryness order ranks the stressed parks (not the watered one) by that last-date NDMI drop,
    driest first. Parks partly under the hidden park's cloud are listed with the share of their
    pixels Sen2Cor flags as cloud on every 2022 date.
    """
    season = [d for d in plan.dates if d.day.year == SEASON_YEAR]
    last = season[-1]
    vegetation = inp.grass | inp.trees
    parks: dict[str, Any] = {}
    for k, stress in enumerate(plan.stressed):
        mask = inp.stressed[k] & vegetation
        end = stress.onset + timedelta(days=stress.ramp_days)
        if stress.watered is not None:
            end = min(end, stress.watered - timedelta(days=1))
        peak = max((d for d in season if d.day <= end), key=lambda d: stress.fraction(d.day))
        entry: dict[str, Any] = {"peak_date": peak.day.isoformat()}
        for label, day in (("peak", peak), ("last", last)):
            ndmi, ndvi = _indices(inp, dryness(inp, plan, day), mask)
            ndmi0, ndvi0 = _indices(inp, dryness(inp, plan, day, planted=False), mask)
            entry[f"{label}_ndmi_drop"] = round(float(np.median(ndmi0) - np.median(ndmi)), 4)
            entry[f"{label}_ndvi_drop"] = round(float(np.median(ndvi0) - np.median(ndvi)), 4)
        parks[stress.park_id] = entry
    dry = [s.park_id for s in plan.stressed if s.watered is None]
    order = sorted(dry, key=lambda p: (-parks[p]["last_ndmi_drop"], p))
    for rank, pid in enumerate(order, start=1):
        parks[pid]["dryness_rank"] = rank
    hidden = inp.hidden_blob > CLOUD_EDGE_MISSED
    partly = []
    for pid in lc.park_ids:
        if pid == plan.hidden_park:
            continue
        mask = lc.park_mask(pid)
        share = float(hidden[mask].mean()) if mask.any() else 0.0
        if share > 0:
            partly.append({"park_id": pid, "hidden_share": round(share, 3)})
    return {"parks": parks, "dryness_order": order, "partly_hidden": partly}
