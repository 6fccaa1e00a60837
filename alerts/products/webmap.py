"""The irrigation priority as one self-contained HTML page (opens without network access).

The parks are an inline SVG in projected coordinates over the NDVI anomaly raster (an inline PNG
data URI); hover and click come from a small vanilla script; CSS and script are read from
``alerts/assets`` and inlined. Nothing refers to a URL.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable
from importlib import resources

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from PIL import Image
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from alerts.products.context import MapContext
from alerts.products.labels import (
    ANOMALY_CMAP,
    ANOMALY_RANGE,
    CLASS_COLOURS,
    CLASS_NAMES,
    DATA_GAP_COLOUR,
    DATA_GAP_NAME,
    TEXT,
)
from alerts.products.raster import NorthUpRaster
from alerts.products.tables import json_safe
from indices.park_table import Col

Bounds = tuple[float, float, float, float]


def _asset(name: str) -> str:
    """Text of a bundled asset (``webmap.js``, ``webmap.css``)."""
    return resources.files("alerts.assets").joinpath(name).read_text("utf-8")


def _ring(coords: Iterable[tuple[float, ...]], bounds: Bounds) -> str:
    """SVG subpath of one ring: x east of minx, y south of maxy (metres, 0.1 m)."""
    minx, _, _, maxy = bounds
    points = [f"{x - minx:.1f},{maxy - y:.1f}" for x, y, *_ in coords]
    return "M" + "L".join(points) + "Z"


def svg_path(geom: BaseGeometry | None, bounds: Bounds) -> str:
    """SVG path data of a (multi)polygon in the map frame; ``""`` for anything else."""
    polygons = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    parts = []
    for poly in polygons:
        if isinstance(poly, Polygon):
            parts.append(_ring(poly.exterior.coords, bounds))
            parts.extend(_ring(hole.coords, bounds) for hole in poly.interiors)
    return "".join(parts)


def _raster_image(raster: NorthUpRaster, bounds: Bounds) -> str:
    """``<image>`` of the anomaly raster as an inline PNG (NaN transparent)."""
    norm = Normalize(*ANOMALY_RANGE)
    rgba = colormaps[ANOMALY_CMAP](norm(np.ma.masked_invalid(raster.data)), bytes=True)
    rgba[..., 3] = np.where(np.isfinite(raster.data), 170, 0)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba)).save(buffer, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    rminx, rminy, rmaxx, rmaxy = raster.bounds
    return (
        f'<image href="{uri}" x="{rminx - bounds[0]:.1f}" y="{bounds[3] - rmaxy:.1f}" '
        f'width="{rmaxx - rminx:.1f}" height="{rmaxy - rminy:.1f}" preserveAspectRatio="none"/>'
    )


def _park_paths(parks: gpd.GeoDataFrame, bounds: Bounds) -> list[str]:
    """One ``<path>`` per park, filled by class (DATA_GAP with the hatch pattern)."""
    out = []
    for _, row in parks.iterrows():
        cls = row["priority_class"]
        fill = "url(#gap)" if pd.isna(cls) else CLASS_COLOURS[int(cls)]
        path = svg_path(row.geometry, bounds)
        if path:
            pid = html.escape(str(row[Col.PARK_ID]), quote=True)
            out.append(
                f'<path class="park" data-id="{pid}" fill="{fill}" fill-rule="evenodd" d="{path}"/>'
            )
    return out


def _context_svg(context: MapContext | None, crs: object, bounds: Bounds) -> list[str]:
    """Water, district boundaries and lines (with their names) beneath the parks."""
    if context is None or context.is_empty() or crs is None:
        return []
    near = context.to_crs(crs)
    size = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 70
    parts = []
    for layer, css in (
        ("water", "ctx-water"),
        ("districts", "ctx-district"),
        ("corridors", "ctx-line"),
    ):
        frame = getattr(near, layer)
        paths = []
        for geom in frame.geometry:
            d = _line_or_area(geom, bounds)
            if d:
                paths.append(f'<path d="{d}"/>')
        if paths:
            parts.append(f'<g class="{css}">' + "".join(paths) + "</g>")
    labels = []
    for layer in ("districts", "corridors"):
        frame = getattr(near, layer)
        for name, geom in zip(frame["name"], frame.geometry, strict=True):
            point = (geom.interpolate(0.5, normalized=True) if layer == "corridors"
                     else geom.representative_point())  # fmt: skip
            x, y = point.x - bounds[0], bounds[3] - point.y
            if 0 <= x <= bounds[2] - bounds[0] and 0 <= y <= bounds[3] - bounds[1]:
                labels.append(
                    f'<text class="lab-{layer}" x="{x:.0f}" y="{y:.0f}">{html.escape(str(name))}</text>'
                )
    if labels:
        parts.append(f'<g class="ctx-labels" font-size="{size:.0f}">' + "".join(labels) + "</g>")
    return parts


def _line_or_area(geom: BaseGeometry | None, bounds: Bounds) -> str:
    """SVG path data of polygons (:func:`svg_path`) or lines (open subpaths)."""
    if geom is None or geom.is_empty:
        return ""
    if geom.geom_type in ("LineString", "MultiLineString"):
        lines = [geom] if geom.geom_type == "LineString" else list(geom.geoms)
        minx, _, _, maxy = bounds
        return "".join(
            "M" + "L".join(f"{x - minx:.1f},{maxy - y:.1f}" for x, y, *_ in line.coords)
            for line in lines
        )
    return svg_path(geom, bounds)


def _svg(
    parks: gpd.GeoDataFrame,
    raster: NorthUpRaster | None,
    bounds: Bounds,
    context: MapContext | None = None,
) -> str:
    """The map as inline SVG (no namespace URL needed inside HTML5)."""
    width, height = bounds[2] - bounds[0], bounds[3] - bounds[1]
    cell = max(width, height) / 160
    parts = [
        f'<svg viewBox="0 0 {width:.1f} {height:.1f}" role="img" aria-label="irrigation priority map">',
        f'<defs><pattern id="gap" patternUnits="userSpaceOnUse" width="{cell:.1f}" height="{cell:.1f}" '
        f'patternTransform="rotate(45)"><rect width="{cell:.1f}" height="{cell:.1f}" fill="{DATA_GAP_COLOUR}"/>'
        f'<rect width="{cell / 3:.1f}" height="{cell:.1f}" fill="#8a8a8a"/></pattern></defs>',
    ]
    if raster is not None:
        parts.append(_raster_image(raster, bounds))
    labels = _context_svg(context, parks.crs, bounds)
    parts += [p for p in labels if "ctx-labels" not in p]
    parts += _park_paths(parks, bounds)
    parts += [p for p in labels if "ctx-labels" in p]
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(language: str) -> str:
    """Class legend, DATA_GAP swatch and the anomaly colour ramp."""
    items = [
        f'<li><span class="sw" style="background:{CLASS_COLOURS[c]}"></span>{c} '
        f"{html.escape(CLASS_NAMES[language][c])}</li>"
        for c in (1, 2, 3, 4)
    ]
    items.append(f'<li><span class="sw gap"></span>{html.escape(DATA_GAP_NAME[language])}</li>')
    stops = ", ".join(
        "#{:02x}{:02x}{:02x}".format(*colormaps[ANOMALY_CMAP](v, bytes=True)[:3])
        for v in np.linspace(0, 1, 7)
    )
    low, high = ANOMALY_RANGE
    return (
        f"<ul>{''.join(items)}</ul><div>{html.escape(TEXT[language]['anomaly'])}</div>"
        f'<div class="ramp" style="background:linear-gradient(to right, {stops})"></div>'
        f'<div style="display:flex;justify-content:space-between"><span>{low:+g}</span><span>0</span>'
        f"<span>{high:+g}</span></div>"
    )


def _table(table: pd.DataFrame, park_ids: list[str]) -> str:
    """HTML table of the localised priority table; rows carry ``data-id`` for the script."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for pid, (_, row) in zip(park_ids, table.iterrows(), strict=True):
        cells = "".join(
            f"<td>{'' if pd.isna(v) else html.escape(str(v))}</td>" for v in row.to_numpy(object)
        )
        rows.append(f'<tr data-id="{html.escape(pid, quote=True)}">{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _park_json(parks: gpd.GeoDataFrame, language: str) -> str:
    """Per-park details for the hover box, safe inside a ``<script>`` element."""
    records = []
    for _, row in parks.iterrows():
        cls = row["priority_class"]
        clear = json_safe(row.get(Col.CLEAR_FRACTION))
        records.append(
            {
                "park_id": str(row[Col.PARK_ID]),
                "name": str(row.get(Col.NAME, row[Col.PARK_ID])),
                "rank": json_safe(row["rank"]),
                "ndvi_anomaly": json_safe(row.get(Col.NDVI_ANOMALY)),
                "ndmi_anomaly": json_safe(row.get(Col.NDMI_ANOMALY)),
                "priority": "" if pd.isna(cls) else f"{int(cls)} {CLASS_NAMES[language][int(cls)]}",
                "status": str(row[Col.STATUS]),
                "why": str(row["why"]),
                "clear_pct": None if clear is None else round(100 * clear),
                "last_clear_date": json_safe(row.get(Col.LAST_CLEAR_DATE)),
            }
        )
    return json.dumps(records, ensure_ascii=False).replace("</", "<\\/")


def render_priority_html(
    parks: gpd.GeoDataFrame,
    raster: NorthUpRaster | None,
    table: pd.DataFrame,
    *,
    bounds: Bounds,
    window: str,
    attribution: str,
    clear_note: str,
    language: str = "en",
    context: MapContext | None = None,
) -> str:
    """The self-contained HTML page (map, legend, table, attribution) as text.

    Parameters
    ----------
    parks : geopandas.GeoDataFrame
        Parks with the priority columns in the map's projected CRS (metres), in table order.
    raster : NorthUpRaster or None
        NDVI anomaly shown beneath the parks.
    table : pandas.DataFrame
        The localised priority table (same rows and order as ``parks``).
    bounds : tuple of float
        Map frame (minx, miny, maxx, maxy) in the parks' CRS.
    window, attribution, clear_note : str
        Observation window, Copernicus attribution, clear-sky explanation.
    language : str
        ``"en"`` or ``"de"``.
    context : MapContext, optional
        Water, district boundaries and lines with names drawn beneath the parks.
    """
    text = TEXT[language]
    no_clear = (
        ""
        if parks["priority_class"].notna().any()
        else (f'<div class="noclear">{html.escape(text["no_clear"])}</div>')
    )
    title = f"{text['title']} - {text['window']} {window}"
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_asset("webmap.css")}</style></head>
<body><h1>{html.escape(title)}</h1>
<div class="sub">{html.escape(clear_note)}</div>
<div class="layout"><div class="map">{_svg(parks, raster, bounds, context)}{no_clear}<div id="tip"></div></div>
<div class="legend">{_legend(language)}</div></div>
{_table(table, [str(p) for p in parks[Col.PARK_ID]])}
<p class="note">{html.escape(attribution)}</p>
<script type="application/json" id="parks-data">{_park_json(parks, language)}</script>
<script>{_asset("webmap.js")}</script>
</body></html>
"""
