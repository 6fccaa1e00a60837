"""Heat products for health services: the hotspot map, the ranked district table, and the bulletin
as HTML (self-contained: the map is embedded, it opens offline; hovering a district shows its
figures, clicking it or its table row selects both) and PDF (matplotlib, the map on page 1, the
ranked table, the forecast and the data note on page 2).

Temperatures are degC in every product (kelvin stays inside the computation). The bulletin states
its data: Landsat scene ids, clear coverage, the forecast's issue time, which felt temperature was
used (perceived, or Steadman's apparent temperature with certainty one step lower), the rule version
and that a person approves it before it is sent.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from affine import Affine
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from alerts.products.context import MapContext, draw_context
from alerts.products.tables import json_safe
from alerts.products.webmap import svg_path

ZERO_C_K = 273.15
TABLE_COLUMNS = (
    ("rank", "Rank"),
    ("name", "District"),
    ("lst_median_c", "LST median (degC)"),
    ("suhi_k", "SUHI (K)"),
    ("hot_share", "Hot-spot share"),
    ("age_65_plus", "Aged 65+"),
    ("age_75_plus", "Aged 75+"),
    ("exposed_65_plus", "65+ in hot spots"),
    ("density_65_75_per_km2", "65+ and 75+ per km2"),
    ("score", "Score"),
    ("status", "Status"),
)
STREET_COLUMNS = (
    ("rank", "Rank"),
    ("name", "Street"),
    ("zone_id", "Segment"),
    ("lst_median_c", "LST median (degC)"),
    ("lst_p90_c", "LST p90 (degC)"),
    ("suhi_k", "SUHI (K)"),
    ("hot_share", "Hot-spot share"),
    ("status", "Status"),
)


def _extent(transform: Affine, shape: tuple[int, int]) -> tuple[float, float, float, float]:
    rows, cols = shape
    left, top = transform.c, transform.f
    return (left, left + cols * transform.a, top + rows * transform.e, top)


def map_figure(
    lst_k: np.ndarray,
    transform: Affine,
    hotspots: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    top_ids: Sequence[str],
    *,
    title: str,
    attribution: str,
    context: MapContext | None = None,
    vulnerability: pd.DataFrame | None = None,
) -> Figure:
    """LST (degC) with hot-spot outlines, district borders and the bulletin's districts in bold.

    ``context`` (any CRS): water, lines with their names and the other districts' names, so a
    reader finds the hot spots; the bulletin's districts are named in cyan. ``vulnerability`` (the
    ranked table: ``zone_id``, ``score``, ``rank``) adds a second panel on the same extent: the
    districts coloured by their vulnerability score with their rank, DATA_GAP hatched grey.
    The map panels are labelled ``"map-panel"`` (:func:`map_frames`), the LST map first.
    """
    two = vulnerability is not None and not districts.empty and "score" in vulnerability
    fig, axes = plt.subplots(1, 2 if two else 1, figsize=(14.0 if two else 8.0, 7.0), dpi=110,
                             squeeze=False)  # fmt: skip
    ax = axes[0][0]
    ax.set_label("map-panel")
    celsius = np.where(np.isfinite(lst_k), lst_k - ZERO_C_K, np.nan)
    image = ax.imshow(
        celsius, extent=_extent(transform, lst_k.shape), cmap="inferno", interpolation="nearest"
    )
    fig.colorbar(image, ax=ax, shrink=0.75, label="Land surface temperature (degC)")
    if context is not None and districts.crs is not None:
        near = context.to_crs(districts.crs)
        others = near.districts[~near.districts["id"].isin([str(t) for t in top_ids])]
        left, right, bottom, top_edge = _extent(transform, lst_k.shape)
        draw_context(ax, MapContext(others, near.water, near.corridors),
                     (left, bottom, right, top_edge), dark=True)  # fmt: skip
    if not districts.empty:
        districts.boundary.plot(ax=ax, color="white", linewidth=0.6, alpha=0.8)
        top = districts[districts["zone_id"].astype(str).isin([str(t) for t in top_ids])]
        if not top.empty:
            top.boundary.plot(ax=ax, color="#00e5ff", linewidth=2.2)
            for _, row in top.iterrows():
                point = row.geometry.representative_point()
                ax.annotate(str(row.get("name", row["zone_id"])), (point.x, point.y),
                            color="#00e5ff", fontsize=8, ha="center", weight="bold")  # fmt: skip
    if not hotspots.empty:
        hotspots.boundary.plot(ax=ax, color="#39ff14", linewidth=1.0)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("Easting (m)")
    ax.set_ylabel("Northing (m)")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)
    if two and vulnerability is not None:
        _vulnerability_panel(fig, axes[0][1], districts, vulnerability, hotspots, top_ids,
                             _extent(transform, lst_k.shape))  # fmt: skip
    fig.text(0.01, 0.01, attribution, fontsize=6, color="#555555")
    fig.tight_layout()
    return fig


def _vulnerability_panel(
    fig: Figure,
    ax: Axes,
    districts: gpd.GeoDataFrame,
    vulnerability: pd.DataFrame,
    hotspots: gpd.GeoDataFrame,
    top_ids: Sequence[str],
    extent: tuple[float, float, float, float],
) -> None:
    """Districts by vulnerability score (0 to the highest), their rank, DATA_GAP hatched grey,
    the hot spots outlined and the bulletin's districts in bold, on the LST map's extent."""
    ax.set_label("map-panel")
    table = pd.DataFrame({"zone_id": vulnerability["zone_id"].astype(str),
                          "score": pd.to_numeric(vulnerability["score"], errors="coerce"),
                          "rank": vulnerability.get("rank")})  # fmt: skip
    zones = districts[["zone_id", "geometry"]].merge(table, on="zone_id", how="left")
    ranked = zones[zones["score"].notna()]
    gap = zones[zones["score"].isna()]
    top_score = float(ranked["score"].max()) if not ranked.empty else 0.0
    norm = Normalize(0.0, top_score if top_score > 0 else 1.0)
    cmap = plt.get_cmap("YlOrRd")
    if not ranked.empty:
        ranked.plot(ax=ax, color=[cmap(norm(v)) for v in ranked["score"]], edgecolor="#555555",
                    linewidth=0.5)  # fmt: skip
    if not gap.empty:
        gap.plot(ax=ax, facecolor="#d9d9d9", edgecolor="#555555", hatch="///", linewidth=0.5)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.75,
                 label="score: people 65+ and 75+ per km2 x hot share x SUHI")  # fmt: skip
    if not hotspots.empty:
        hotspots.boundary.plot(ax=ax, color="#1b7837", linewidth=0.8)
    wanted = {str(t) for t in top_ids}
    top = zones[zones["zone_id"].isin(wanted)]
    if not top.empty:
        top.boundary.plot(ax=ax, color="#08306b", linewidth=2.2)
    for _, row in ranked.iterrows():
        point = row.geometry.representative_point()
        bold = row["zone_id"] in wanted
        ax.annotate(str(int(row["rank"])) if pd.notna(row["rank"]) else "", (point.x, point.y),
                    ha="center", va="center", fontsize=9 if bold else 7,
                    weight="bold" if bold else "normal", color="#08306b",
                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])  # fmt: skip
    left, right, bottom, top_edge = extent
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top_edge)
    ax.set_aspect("equal")
    ax.set_title("Vulnerability: older people in hot spots (rank; grey: DATA_GAP)", fontsize=10)
    ax.set_xlabel("Easting (m)")
    ax.set_ylabel("")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)


@dataclass(frozen=True)
class MapFrame:
    """Where the map's data area sits in the PNG: the axes box as fractions of the figure (from its
    left and top edges) and the map coordinates (the districts' CRS) at the box's edges."""

    left: float
    top: float
    width: float
    height: float
    bounds: tuple[float, float, float, float]  # minx, miny, maxx, maxy


def map_frames(fig: Figure) -> tuple[MapFrame, ...]:
    """The frames of the map panels of a :func:`map_figure` figure (drawn first, so the
    equal-aspect boxes are final), the LST map first, for HTML overlays that line up with the PNG
    of the same figure."""
    fig.canvas.draw()
    frames = []
    for ax in fig.axes:
        if ax.get_label() != "map-panel":
            continue
        box = ax.get_position()
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        frames.append(
            MapFrame(
                left=float(box.x0),
                top=float(1.0 - box.y1),
                width=float(box.width),
                height=float(box.height),
                bounds=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
            )
        )
    return tuple(frames)


def map_frame(fig: Figure) -> MapFrame:
    """The frame of the LST map panel (:func:`map_frames`)."""
    return map_frames(fig)[0]


def plt_close(fig: Figure) -> None:
    """Release a figure (pyplot keeps every open figure alive)."""
    plt.close(fig)


def figure_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def table_rows(
    ranking: pd.DataFrame, columns: Sequence[tuple[str, str]] = TABLE_COLUMNS
) -> list[dict[str, Any]]:
    """The ranked table as plain rows (present columns only), degC/K/shares rounded."""
    rows = []
    for _, row in ranking.iterrows():
        item: dict[str, Any] = {}
        for key, _label in columns:
            if key not in ranking.columns:
                continue
            value = row[key]
            if isinstance(value, float) and np.isnan(value):
                value = None
            elif key == "hot_share" and value is not None:
                value = f"{float(value):.0%}"
            elif key in ("age_65_plus", "age_75_plus", "exposed_65_plus") and value is not None:
                value = int(value)
            elif key == "rank":
                value = None if pd.isna(value) else int(value)
            item[key] = value
        if "zone_id" in ranking.columns:  # links the row to its polygon on the HTML map
            item["zone_id"] = str(row["zone_id"])
        rows.append(item)
    return rows


def _html_table(
    rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]], *, linked: bool = False
) -> str:
    """Rows as a table; ``linked`` rows carry ``data-id`` (their zone) for the map's script."""
    present = [(k, label) for k, label in columns if rows and k in rows[0]]
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in present)

    def tr(r: dict[str, Any]) -> str:
        if linked and r.get("zone_id") is not None:
            return f'<tr data-id="{html.escape(str(r["zone_id"]), quote=True)}">'
        return "<tr>"

    body = "".join(
        tr(r) + "".join(
            f"<td>{'' if r.get(k) is None else html.escape(str(r.get(k)))}</td>" for k, _ in present
        ) + "</tr>"
        for r in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _asset(name: str) -> str:
    return resources.files("alerts.assets").joinpath(name).read_text("utf-8")


def _overlay_svg(frame: MapFrame, districts: gpd.GeoDataFrame, ids: set[str]) -> str:
    """Inline SVG of the districts in ``ids`` over one map panel of the PNG (``frame``)."""
    minx, miny, maxx, maxy = frame.bounds
    paths = []
    for zone_id, geom in zip(districts["zone_id"].astype(str), districts.geometry, strict=True):
        d = svg_path(geom, frame.bounds)
        if d and zone_id in ids:
            paths.append(
                f'<path class="zone" data-id="{html.escape(zone_id, quote=True)}" d="{d}"/>'
            )
    if not paths:
        return ""
    style = (
        f"left:{frame.left * 100:.3f}%;top:{frame.top * 100:.3f}%;"
        f"width:{frame.width * 100:.3f}%;height:{frame.height * 100:.3f}%"
    )
    return (
        f'<svg class="overlay" style="{style}" viewBox="0 0 {maxx - minx:.1f} {maxy - miny:.1f}" '
        'preserveAspectRatio="none" role="group" aria-label="districts: hover for figures">'
        + "".join(paths)
        + "</svg>"
    )


def _overlay(
    frames: MapFrame | Sequence[MapFrame] | None,
    districts: gpd.GeoDataFrame | None,
    rows: list[dict[str, Any]],
) -> tuple[str, str]:
    """(inline SVGs of the district polygons laid over the map image, JSON of their figures).

    Each SVG covers exactly one map panel of the PNG (``frames``); its paths are invisible until
    hovered or selected. Districts without a row are left out (nothing to show)."""
    if frames is None or districts is None or districts.empty or "zone_id" not in districts:
        return "", ""
    by_id = {str(r["zone_id"]): r for r in rows if r.get("zone_id") is not None}
    panels = [frames] if isinstance(frames, MapFrame) else list(frames)
    svg = "".join(_overlay_svg(frame, districts, set(by_id)) for frame in panels)
    if not svg:
        return "", ""
    labels = dict(TABLE_COLUMNS)
    order = ["name"] + [k for k in labels if k != "name"]  # the name first: the tip's heading
    data = {
        zone_id: [[labels[k], json_safe(row[k])] for k in order if k in row]
        for zone_id, row in by_id.items()
    }
    return svg, json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _blocks_section(rows: list[dict[str, Any]] | None) -> str:
    if not rows:
        return ""
    return "<h2>Blocks by older people living in hot spots (first 10)</h2>" + _html_table(
        rows[:10], TABLE_COLUMNS
    )


def _streets_section(rows: list[dict[str, Any]] | None) -> str:
    if not rows:
        return ""
    return "<h2>Hottest street segments (first 10)</h2>" + _html_table(rows[:10], STREET_COLUMNS)


FORECAST_COLUMNS = (
    ("date", "Date"),
    ("tmax_c", "Tmax (degC)"),
    ("tmin_c", "Tmin (degC)"),
    ("felt_tmax_c", "Felt Tmax (degC)"),
    ("warning_level", "GeoSphere warning"),
)


def bulletin_html(
    *,
    title: str,
    headline: str,
    status_line: str,
    map_png: bytes,
    ranking_rows: list[dict[str, Any]],
    forecast_rows: Sequence[Mapping[str, Any]],
    notes: Sequence[str],
    instruction: str,
    block_rows: list[dict[str, Any]] | None = None,
    street_rows: list[dict[str, Any]] | None = None,
    map_frame: MapFrame | Sequence[MapFrame] | None = None,
    districts: gpd.GeoDataFrame | None = None,
) -> bytes:
    """A self-contained HTML bulletin (no external resources: it loads offline).

    With ``map_frame`` (the frame of each map panel of the figure ``map_png`` was saved from) and
    ``districts`` (``zone_id`` and geometry in the map's CRS), the districts of the ranked table
    are laid over the map panels:
    hovering one shows its row's figures, clicking it or its table row selects both."""
    image = base64.b64encode(map_png).decode("ascii")
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    overlay, figures = _overlay(map_frame, districts, ranking_rows)
    script = (
        f'<script type="application/json" id="zone-data">{figures}</script>'
        f"<script>{_asset('heatmap.js')}</script>"
        if overlay
        else ""
    )
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: right; }}
th {{ background: #f2f2f2; }} td:nth-child(2) {{ text-align: left; }}
.status {{ background: #fff3cd; border: 1px solid #e0c36a; padding: 0.6em; }}
.map {{ position: relative; display: inline-block; max-width: 100%; }}
.map img {{ display: block; max-width: 100%; }}
.overlay {{ position: absolute; }}
.zone {{ fill: #ffffff; fill-opacity: 0; stroke: none; cursor: pointer; }}
.zone:hover, .zone.sel {{ fill-opacity: 0.18; stroke: #ffffff; stroke-width: 3px;
  vector-effect: non-scaling-stroke; }}
tr[data-id] {{ cursor: pointer; }} tr.sel {{ background: #fff3b0; }}
#tip {{ position: absolute; pointer-events: none; background: #fff; border: 1px solid #333;
  padding: 0.35em 0.5em; font-size: 0.8em; display: none; box-shadow: 0 1px 4px rgba(0,0,0,.3); }}
@media print {{ #tip {{ display: none !important; }} }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="status">{html.escape(status_line)}</p>
<h2>{html.escape(headline)}</h2>
<p>{html.escape(instruction)}</p>
<div class="map"><img id="map"
 alt="Land surface temperature, hot spots and the bulletin's districts"
 src="data:image/png;base64,{image}">{overlay}<div id="tip"></div></div>
<h2>Districts by older people living in hot spots</h2>
{_html_table(ranking_rows, TABLE_COLUMNS, linked=bool(overlay))}
{_blocks_section(block_rows)}
{_streets_section(street_rows)}
<h2>Forecast</h2>
{_html_table([dict(r) for r in forecast_rows], FORECAST_COLUMNS)}
<h2>Data</h2><ul>{notes_html}</ul>
{script}
</body></html>
"""
    return doc.encode("utf-8")


def bulletin_pdf(
    *,
    map_fig: Figure,
    title: str,
    headline: str,
    status_line: str,
    ranking_rows: list[dict[str, Any]],
    forecast_rows: Sequence[Mapping[str, Any]],
    notes: Sequence[str],
    block_rows: list[dict[str, Any]] | None = None,
    street_rows: list[dict[str, Any]] | None = None,
) -> bytes:
    """PDF: the map, then the ranked table, the forecast and the data note; a third page with the
    first blocks and the hottest street segments when they are configured."""
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": title, "Subject": headline}) as pdf:
        map_fig.suptitle(status_line, fontsize=8, y=0.995)
        pdf.savefig(map_fig)
        page = plt.figure(figsize=(8.27, 11.69))
        page.text(0.05, 0.96, title, fontsize=13, weight="bold")
        page.text(0.05, 0.935, headline, fontsize=9, wrap=True)
        present = [
            (k, label) for k, label in TABLE_COLUMNS if ranking_rows and k in ranking_rows[0]
        ]
        cells = [
            ["" if r.get(k) is None else str(r.get(k)) for k, _ in present]
            for r in ranking_rows[:15]
        ]
        if cells:
            ax = page.add_axes((0.03, 0.52, 0.94, 0.38))
            ax.axis("off")
            table = ax.table(
                cellText=cells, colLabels=[label for _, label in present], loc="upper center"
            )
            table.auto_set_font_size(False)
            table.set_fontsize(6.5)
            table.scale(1.0, 1.2)
        fcells = [
            ["" if r.get(k) is None else str(r.get(k)) for k, _ in FORECAST_COLUMNS]
            for r in forecast_rows
        ]
        if fcells:
            ax2 = page.add_axes((0.1, 0.28, 0.8, 0.2))
            ax2.axis("off")
            ftable = ax2.table(
                cellText=fcells,
                colLabels=[label for _, label in FORECAST_COLUMNS],
                loc="upper center",
            )
            ftable.auto_set_font_size(False)
            ftable.set_fontsize(7)
        y = 0.25
        for note in notes:
            page.text(0.05, y, note, fontsize=7, wrap=True)
            y -= 0.025
        pdf.savefig(page)
        plt.close(page)
        sections = [
            (heading, rows[:15], columns)
            for heading, rows, columns in (
                ("Blocks by older people living in hot spots", block_rows, TABLE_COLUMNS),
                ("Hottest street segments", street_rows, STREET_COLUMNS),
            )
            if rows
        ]
        if sections:
            extra = plt.figure(figsize=(8.27, 11.69))
            top = 0.95
            for heading, rows, columns in sections:
                extra.text(0.05, top, heading, fontsize=11, weight="bold")
                present = [(k, label) for k, label in columns if k in rows[0]]
                ax = extra.add_axes((0.03, top - 0.42, 0.94, 0.4))
                ax.axis("off")
                table = ax.table(
                    cellText=[["" if r.get(k) is None else str(r.get(k)) for k, _ in present]
                              for r in rows],
                    colLabels=[label for _, label in present], loc="upper center",
                )  # fmt: skip
                table.auto_set_font_size(False)
                table.set_fontsize(6.5)
                top -= 0.47
            pdf.savefig(extra)
            plt.close(extra)
    plt.close(map_fig)
    return buffer.getvalue()
