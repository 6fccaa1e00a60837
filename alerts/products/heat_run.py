"""All health-services products of one heat forecast, written atomically into ``OUT/heat/<day>/``.

``map.png``, ``bulletin.html`` (self-contained), ``bulletin.pdf`` (only for a bulletin revision a
person reads), ``districts.csv``, ``blocks.csv`` / ``streets.csv`` when configured,
``hotspots.geojson`` and ``manifest.json`` (:func:`heat_manifest`); per run, the station's
observed heatwaves in ``OUT/heat/observed-<end>.json`` (:func:`write_observed_heatwaves`). Every file is staged beside
its target and moved in only when all are ready (:class:`ProductStage`). The flow
(``flows/heat.py``) only hands over the run's LST analysis, the forecast outlook and the revision.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from alerts.products.context import load_context
from alerts.products.heat_bulletin import (
    STREET_COLUMNS,
    bulletin_html,
    bulletin_pdf,
    figure_png,
    map_figure,
    map_frames,
    plt_close,
    table_rows,
)
from alerts.products.manifest import code_version
from alerts.products.staging import ProductStage
from core.profile import CityProfile, HeatConfig

if TYPE_CHECKING:
    from alerts.detect.heat import HeatOutlook

__all__ = ["HeatAnalysis", "heat_manifest", "write_heat_products", "write_observed_heatwaves"]


class HeatAnalysis(Protocol):
    """What the products read of a run's LST analysis (``flows.heat.HotspotResult``).

    ``map_png`` and ``map_frame`` (the frames of its two panels, LST and vulnerability) are filled
    by the first forecast's products and reused by the next (the map is the same for every
    forecast of a run).
    """

    lst_k: np.ndarray | None
    transform: Any
    ranking: pd.DataFrame
    hotspots: gpd.GeoDataFrame
    scenes: dict[str, float]
    suhi_reference_c: float | None
    status: str
    reason: str
    map_png: bytes | None
    map_frame: Any
    blocks: pd.DataFrame | None
    streets: pd.DataFrame | None
    hotspots_dropped: int
    hotspots_dropped_area_m2: float
    hotspot_rule: str
    product: str
    resolution_m: float


def _notes(
    issued: datetime, profile: CityProfile, heat: HeatConfig, result: HeatAnalysis,
    outlook: HeatOutlook,
) -> list[str]:  # fmt: skip
    """The bulletin's data note: forecast, LST product and scenes, hot-spot rule, ranking, code."""
    dropped = (
        f", {result.hotspots_dropped} smaller one(s) ({result.hotspots_dropped_area_m2 / 1e4:.1f}"
        " ha) not drawn"
        if result.hotspots_dropped
        else ""
    )
    ranking = (
        "Ranking: people aged 65+ plus 75+ living in hot spots (population assumed uniform "
        "within a district)."
    )
    return [
        f"Forecast issued {issued.isoformat(timespec='minutes')} UTC; "
        f"Vienna criterion runs: {outlook.vienna_runs}; Kysely runs: {list(outlook.kysely_runs)}.",
        outlook.note,
        f"{result.product} ({result.resolution_m:g} m, its native grid), clear-sky median; "
        "scenes (clear share): "
        + (", ".join(f"{k} ({v:.0%})" for k, v in result.scenes.items()) or "none")
        + (f"; {result.reason}" if result.reason else ""),
        "Hot spots: Getis-Ord Gi* within "
        f"{heat.hotspot_distance:g} m, {heat.hotspot_confidence}"
        + (" with false-discovery-rate control" if heat.fdr else "")
        + f"; {len(result.hotspots)} hot spot(s) drawn"
        + dropped
        + (f"; {result.hotspot_rule}" if result.hotspot_rule else "")
        + ". District statistics weight each pixel by its area inside the district.",
        ranking[:-1] + ". Synthetic data." if profile.synthetic else ranking,
        f"Code {code_version()}.",
    ]


def _attribution(result: HeatAnalysis, synthetic: bool) -> str:
    if synthetic:
        return f"{result.product} (synthetic demo)"
    if result.product.startswith("Landsat"):
        return "Landsat C2 L2 ST courtesy of USGS"
    return "ECOSTRESS ECO_L2T_LSTE v002, NASA JPL / LP DAAC"


def heat_manifest(
    issued: datetime, result: HeatAnalysis, outlook: HeatOutlook,
    revision: dict[str, Any] | None, top_ids: list[str], *, synthetic: bool,
) -> dict[str, Any]:  # fmt: skip
    """The run manifest of one forecast's products: forecast, LST data, hot spots, the bulletin's
    districts, the revision, the code version."""
    wave = outlook.wave
    return {
        "product": "heat",
        "issued": issued.isoformat(timespec="seconds"),
        "forecast": {"first_day": outlook.first_day.isoformat(),
                     "last_day": outlook.last_day.isoformat(),
                     "felt_source": outlook.felt_source, "status": str(outlook.status),
                     "reasons": list(outlook.reasons),
                     "sustained_felt_c": None if np.isnan(outlook.sustained_felt_c)
                     else round(outlook.sustained_felt_c, 2),
                     "heatwave": None if wave is None else [wave[0].isoformat(), wave[1].isoformat()],
                     "kysely_runs": [[a.isoformat(), b.isoformat()] for a, b in outlook.kysely_runs]},
        "lst": {"status": result.status, "reason": result.reason, "scenes": result.scenes,
                "product": result.product, "resolution_m": result.resolution_m,
                "reference_lst_c": result.suhi_reference_c},
        "hotspots": {"drawn": len(result.hotspots), "dropped": result.hotspots_dropped,
                     "dropped_area_m2": round(result.hotspots_dropped_area_m2, 1),
                     "rule": result.hotspot_rule},
        "bulletin_districts": top_ids,
        "revision": None if revision is None else {
            k: revision.get(k) for k in ("message_key", "revision", "msg_type", "status", "level")},
        "code_version": code_version(),
        "synthetic": synthetic,
    }  # fmt: skip


def write_heat_products(
    out_dir: Path,
    issued: datetime,
    *,
    profile: CityProfile,
    heat: HeatConfig,
    districts: gpd.GeoDataFrame,
    name_field: str | None,
    result: HeatAnalysis,
    outlook: HeatOutlook,
    revision: dict[str, Any] | None,
    top_ids: list[str],
) -> list[str]:
    """Map, tables, HTML + PDF bulletin and manifest of one forecast under ``OUT/heat/<day>/``.

    ``districts`` is the profile's districts layer (ids in ``layers.districts.id_field``, names
    in ``name_field``); ``revision`` the bulletin revision as stored (None: no bulletin in this
    run); ``top_ids`` the districts the bulletin names. Returns the paths written.
    """
    folder = f"heat/{issued.date().isoformat()}"
    id_field = profile.layers.districts.id_field  # type: ignore[union-attr]
    districts = districts.rename(columns={id_field: "zone_id"})
    districts["zone_id"] = districts["zone_id"].astype(str)
    if name_field and name_field in districts.columns:
        districts["name"] = districts[name_field].astype(str)
    title = f"Heat health bulletin: {profile.title}"
    if revision is not None:
        headline = str(revision.get("summary", ""))
        status_line = (
            f"Status: {revision['status']} (revision {revision['revision']}, {revision['msg_type']}); "
            "a person approves it before it is sent: geospace alerts approve ID --by NAME"
        )
    else:
        headline = (
            "No heatwave forecast: no bulletin." if outlook.wave is None else "Heatwave forecast."
        )
        status_line = "No bulletin revision in this run."
    notes = _notes(issued, profile, heat, result, outlook)
    rows = table_rows(result.ranking)
    block_rows = None if result.blocks is None else table_rows(result.blocks.head(10))
    street_rows = (
        None if result.streets is None else table_rows(result.streets.head(10), STREET_COLUMNS)
    )
    attribution = _attribution(result, profile.synthetic)
    context = load_context(profile) if result.lst_k is not None else None
    with ProductStage(out_dir) as stage:
        png = b""
        if result.lst_k is not None:
            if result.map_png is None:  # the map is the same for every forecast of a run
                fig = map_figure(result.lst_k, result.transform, result.hotspots, districts,
                                 top_ids, title=title, attribution=attribution,
                                 context=context, vulnerability=result.ranking)  # fmt: skip
                result.map_png = figure_png(fig)
                result.map_frame = map_frames(fig)
                plt_close(fig)
            png = result.map_png
            stage.stage_bytes(f"{folder}/map.png", png)
            if revision is not None:  # a PDF only for a bulletin revision a person reads
                fig = map_figure(result.lst_k, result.transform, result.hotspots, districts,
                                 top_ids, title=title, attribution=attribution,
                                 context=context, vulnerability=result.ranking)  # fmt: skip
                pdf = bulletin_pdf(map_fig=fig, title=title, headline=headline,
                                   status_line=status_line, ranking_rows=rows,
                                   forecast_rows=outlook.daily, notes=notes,
                                   block_rows=block_rows, street_rows=street_rows)  # fmt: skip
                stage.stage_bytes(f"{folder}/bulletin.pdf", pdf)
        stage.stage_bytes(
            f"{folder}/bulletin.html",
            bulletin_html(
                title=title,
                headline=headline,
                status_line=status_line,
                map_png=png,
                ranking_rows=rows,
                forecast_rows=outlook.daily,
                notes=notes,
                instruction=str((revision or {}).get("instruction", "")),
                block_rows=block_rows,
                street_rows=street_rows,
                map_frame=result.map_frame if png else None,
                districts=districts,
            ),
        )
        stage.stage_bytes(f"{folder}/districts.csv", result.ranking.to_csv(index=False).encode())
        if result.blocks is not None:
            stage.stage_bytes(f"{folder}/blocks.csv", result.blocks.to_csv(index=False).encode())
        if result.streets is not None:
            stage.stage_bytes(f"{folder}/streets.csv", result.streets.to_csv(index=False).encode())
        if not result.hotspots.empty:
            stage.stage_bytes(
                f"{folder}/hotspots.geojson", result.hotspots.to_crs("EPSG:4326").to_json().encode()
            )
        manifest = heat_manifest(
            issued, result, outlook, revision, top_ids, synthetic=profile.synthetic
        )
        stage.stage_bytes(f"{folder}/manifest.json", json.dumps(manifest, indent=2).encode())
        done = stage.commit()
    return [str(p) for p in done.values()]


def write_observed_heatwaves(
    out_dir: Path,
    end: date,
    *,
    source: str,
    waves: Sequence[tuple[pd.Timestamp, pd.Timestamp]],
    dropped: Sequence[Any],
) -> dict[str, Any]:
    """``OUT/heat/observed-<end>.json``: the station's Kyselý heatwaves up to ``end`` (first and
    last day) and the values its quality control dropped (``day``, ``column``, ``value``,
    ``reason`` of each); returns the document."""
    doc = {
        "source": source,
        "until": end.isoformat(),
        "kysely_heatwaves": [[a.date().isoformat(), b.date().isoformat()] for a, b in waves],
        "qc_dropped": [
            {
                "day": d.day.isoformat(),
                "column": d.column,
                "value": str(d.value),
                "reason": d.reason,
            }
            for d in dropped
        ],
    }
    with ProductStage(out_dir) as stage:
        stage.stage_bytes(
            f"heat/observed-{end.isoformat()}.json", json.dumps(doc, indent=2).encode()
        )
        stage.commit()
    return doc
