"""All parks-team products of one vegetation run, written atomically into one output folder.

``irrigation_priority.geojson``/``.csv``/``.png``/``.html``, ``ndvi_anomaly.tif`` (COG),
``timeseries/<park>.png`` for class 1-2 parks and ``manifest.json`` (last). Every file is staged
beside its target and moved in only when all are ready (:class:`ProductStage`), so a failure leaves
the previous run's products as they were. A window without any clear scene still writes everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import xarray as xr

from alerts.products.cog import write_cog
from alerts.products.context import MapContext
from alerts.products.labels import TEXT, check_language
from alerts.products.manifest import MANIFEST_NAME, manifest_bytes
from alerts.products.maps import render_priority_png, render_timeseries_png
from alerts.products.raster import NorthUpRaster, north_up
from alerts.products.staging import ProductStage, slug
from alerts.products.tables import csv_bytes, geojson_bytes, priority_table, ranked_order
from alerts.products.webmap import render_priority_html
from core.errors import InvalidInputError
from indices.park_table import Col

_PRIORITY_COLUMNS = (
    Col.PARK_ID,
    "status",
    "score",
    "priority_class",
    "rank",
    "why",
    Col.CLEAR_FRACTION,
)


def copernicus_attribution(first_year: int, last_year: int) -> str:
    """``"Contains modified Copernicus Sentinel data 2019-2022"`` for the years of the data used."""
    years = f"{first_year}" if first_year == last_year else f"{first_year}-{last_year}"
    return f"Contains modified Copernicus Sentinel data {years}"


def series_until(series: pd.DataFrame, parks: pd.DataFrame, end: dt.date) -> pd.DataFrame:
    """The season's per-park series up to ``end``, with each park's reference median beside it.

    ``series`` has columns ``park_id, date, index, value``; ``parks`` is the window's priority
    table (``park_id`` and ``<index>_ref`` columns). ``ref_value`` is NaN for a park the table
    does not hold.
    """
    refs = parks.set_index("park_id")
    upto = series[pd.to_datetime(series["date"]) <= pd.Timestamp(end)].copy()
    upto["ref_value"] = [
        refs.at[p, f"{i}_ref"] if p in refs.index else float("nan")
        for p, i in zip(upto["park_id"], upto["index"], strict=True)
    ]
    return upto


def _window_text(period: object) -> str:
    """``"2022-06-01 to 2022-06-14"`` from a {start, end} mapping, a pair, or a string."""
    if isinstance(period, Mapping):
        return f"{period.get('start', '?')} to {period.get('end', '?')}"
    if isinstance(period, list | tuple) and len(period) == 2:
        return f"{period[0]} to {period[1]}"
    return str(period) if period else "(window not given)"


def _check_parks(parks: object) -> gpd.GeoDataFrame:
    """The priority GeoDataFrame, refused without CRS or without the priority columns."""
    if not isinstance(parks, gpd.GeoDataFrame) or parks.crs is None:
        raise InvalidInputError(
            "parks_gdf_with_priority must be a GeoDataFrame with a CRS (park polygons + statistics)"
        )
    missing = [c for c in _PRIORITY_COLUMNS if c not in parks.columns]
    if missing:
        raise InvalidInputError(
            f"parks lack column(s) {', '.join(missing)}; run alerts.detect.irrigation.irrigation_priority first"
        )
    return parks


def _map_frame(parks: gpd.GeoDataFrame, raster: NorthUpRaster) -> tuple[float, float, float, float]:
    """Map bounds covering parks and raster, padded by 5 %."""
    boxes = [raster.bounds, *([tuple(parks.total_bounds)] if len(parks) else [])]
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = 0.05 * max(maxx - minx, maxy - miny, 1.0)
    return (minx - pad, miny - pad, maxx + pad, maxy + pad)


def _timeseries_names(park_ids: list[str]) -> dict[str, str]:
    """Product name per park id; ids that slug alike get a short hash suffix."""
    slugs = [slug(pid) for pid in park_ids]
    out = {}
    for pid, s in zip(park_ids, slugs, strict=True):
        if slugs.count(s) > 1:
            s = f"{s}-{hashlib.sha256(pid.encode()).hexdigest()[:8]}"
        out[pid] = f"timeseries/{s}.png"
    return out


def _stage_timeseries(
    stage: ProductStage, parks: pd.DataFrame, series: pd.DataFrame, attribution: str, reference: str
) -> list[str]:
    """Stage one plot per class 1-2 park with a series; return the ids of those without one."""
    urgent = parks[parks["priority_class"].isin([1, 2]).fillna(False).to_numpy(bool)]
    names = _timeseries_names([str(p) for p in urgent[Col.PARK_ID]])
    missing = []
    for _, row in urgent.iterrows():
        pid = str(row[Col.PARK_ID])
        rows = series[series[Col.PARK_ID].astype(str) == pid] if len(series) else series
        if not len(rows):
            missing.append(pid)
            continue
        title = f"{row.get('name', pid)}: priority {int(row['priority_class'])}, rank {int(row['rank'])}"
        png = render_timeseries_png(rows, title=title, attribution=attribution, reference=reference)
        stage.stage_bytes(names[pid], png)
    return missing


@dataclass(frozen=True)
class _RunText:
    """What the maps print about a run: window, attribution, clear-sky rule, language."""

    window: str
    attribution: str
    min_clear: float
    clear_note: str
    language: str
    context: MapContext | None = None


def _stage_maps(
    stage: ProductStage,
    parks: gpd.GeoDataFrame,
    raster: NorthUpRaster,
    table: pd.DataFrame,
    run: _RunText,
) -> None:
    """Render and stage the PNG map and the HTML page."""
    png = render_priority_png(
        parks,
        raster,
        window=run.window,
        attribution=run.attribution,
        min_clear_pct=run.min_clear * 100,
        language=run.language,
        context=run.context,
    )
    stage.stage_bytes("irrigation_priority.png", png)
    page = render_priority_html(
        parks,
        raster,
        table,
        bounds=_map_frame(parks, raster),
        window=run.window,
        attribution=run.attribution,
        clear_note=run.clear_note,
        language=run.language,
        context=run.context,
    )
    stage.stage_bytes("irrigation_priority.html", page.encode("utf-8"))


def write_vegetation_products(
    out_dir: str | Path,
    parks_gdf_with_priority: gpd.GeoDataFrame,
    ndvi_anomaly_da: xr.DataArray,
    time_series_df: pd.DataFrame,
    manifest_info: Mapping[str, object],
    *,
    language: str = "en",
    attribution: str,
    context: MapContext | None = None,
) -> dict[str, Path]:
    """Write the irrigation priority products of one run into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created if absent); every product stays under it.
    parks_gdf_with_priority : geopandas.GeoDataFrame
        Output of :func:`alerts.detect.irrigation.irrigation_priority` with park polygons and a CRS.
    ndvi_anomaly_da : xarray.DataArray
        NDVI anomaly (dimensionless; dims y, x; CRS in ``spatial_ref``), all NaN when nothing was clear.
    time_series_df : pandas.DataFrame
        Columns ``park_id``, ``date``, ``index`` (``"ndvi"``/``"ndmi"``), ``value``, ``ref_value``.
    manifest_info : mapping
        Run facts for the manifest (``scene_ids``, ``processing_baselines``, ``masks``, ``period``,
        ``profile``, optional ``reference`` label such as ``"2019-2021"``, ``min_clear_fraction``).
    language : str
        ``"en"`` or ``"de"`` for the CSV, the map and the HTML page.
    attribution : str
        E.g. :func:`copernicus_attribution` (2019, 2022).
    context : MapContext, optional
        Districts, water and lines drawn beneath the parks on the PNG map
        (:func:`alerts.products.context.load_context` of the profile).

    Returns
    -------
    dict of str to Path
        Product name (path relative to ``out_dir``) -> written file; ``manifest.json`` last.
    """
    check_language(language)
    parks = _check_parks(parks_gdf_with_priority)
    raster = north_up(ndvi_anomaly_da)
    if not raster.crs.is_projected:
        raise InvalidInputError(
            "the NDVI anomaly raster must be in a projected CRS in metres (e.g. UTM)"
        )
    ordered = ranked_order(parks.to_crs(raster.crs))
    window = _window_text(manifest_info.get("period"))
    reference = str(manifest_info.get("reference", "reference"))
    min_clear = float(manifest_info.get("min_clear_fraction", 0.6))  # type: ignore[arg-type]
    clear_note = TEXT[language]["clear_note"].format(pct=f"{min_clear * 100:g}")
    table = priority_table(ordered, language)
    extra = {
        "rule_version": parks.attrs.get("irrigation_rule_version"),
        "period": manifest_info.get("period"),
    }
    tags = {"attribution": attribution, "window": window, "long_name": TEXT["en"]["anomaly"]}
    with ProductStage(Path(out_dir)) as stage:
        stage.stage_bytes(
            "irrigation_priority.geojson",
            geojson_bytes(ordered, attribution=attribution, extra=extra),
        )
        stage.stage_bytes(
            "irrigation_priority.csv",
            csv_bytes(ordered, language=language, attribution=attribution),
        )
        stage.stage_file(
            "ndvi_anomaly.tif",
            lambda p: write_cog(ndvi_anomaly_da, p, tags=tags, description="NDVI anomaly"),
        )
        run = _RunText(window, attribution, min_clear, clear_note, language, context)
        _stage_maps(stage, ordered, raster, table, run)
        missing = _stage_timeseries(stage, ordered, time_series_df, attribution, reference)
        info = {**manifest_info, "language": language, "timeseries_missing": missing}
        stage.stage_bytes(
            MANIFEST_NAME,
            manifest_bytes(info, parks=ordered, products=stage.staged(), attribution=attribution),
        )
        return stage.commit()
