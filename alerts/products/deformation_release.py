"""Products of one deformation release for infrastructure engineers (written atomically).

Under ``OUT/deformation/<release>/``:

- ``corridor_segments.geojson``: every segment (WGS84) with its figures, ``status`` (OK or
  DATA_GAP), ``alert`` (none, watch, warning, or DATA_GAP) and, for alerted segments, ``plot``;
- ``network_vertical_velocity.png``: the corridors coloured by vertical velocity (mm/yr), DATA_GAP
  grey, watch and warning segments outlined;
- ``network_vertical_velocity.html``: the same network as one page that opens offline (pan, zoom,
  hover or click a segment for its figures) over the districts, water and lines, and the table of
  warning, watch and DATA_GAP segments with links to their plots;
- ``timeseries/<segment>.png``: the vertical displacement of the segment median per alerted segment;
- ``manifest.json``: inputs (files, release, dates), rules, counts and every product's hash.

Units: velocities mm/yr (negative = subsidence), displacement mm, angular distortion
dimensionless, chainage m. Every file is staged and moved in at the end
(:class:`alerts.products.staging.ProductStage`), the manifest last.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from alerts.products.context import MapContext, draw_context
from alerts.products.dashboard import render_map_page, segment_map
from alerts.products.manifest import code_version
from alerts.products.staging import ProductStage, sha256_file, slug
from alerts.products.tables import json_safe

SEGMENTS_NAME = "corridor_segments.geojson"
MAP_NAME = "network_vertical_velocity.png"
HTML_NAME = "network_vertical_velocity.html"
ATTRIBUTION = "Contains modified Copernicus EGMS data (European Ground Motion Service)"
VELOCITY_RANGE = 10.0  # mm/yr at either end of the colour scale

_COLUMNS = [
    "segment_id", "corridor_id", "line_name", "chainage_from_m", "chainage_to_m", "status",
    "alert", "n_points", "n_coherent", "coherence_mean", "vertical_velocity", "velocity_sigma",
    "mean_vertical_velocity", "robust_vertical_velocity", "east_velocity", "acceleration",
    "seasonal_amplitude", "angular_distortion", "distortion_class", "vertical_method",
    "geometries", "known_events", "known_event_step_mm", "fit_flags", "release", "reason", "plot",
]  # fmt: skip


def alert_of(row: pd.Series) -> str:
    """DATA_GAP, warning, watch or none (angular distortion at or over 1/500 is a warning)."""
    if row["status"] == "DATA_GAP":
        return "DATA_GAP"
    if row["gate"] == "warning" or row.get("distortion_class", "none") != "none":
        return "warning"
    return str(row["gate"])


def plot_name(segment_id: str) -> str:
    """Path of a segment's time-series plot inside its release folder."""
    return f"timeseries/{slug(str(segment_id))}.png"


def plot_links(
    segment_ids: Iterable[str],
    written: Mapping[str, Path],
    out_root: Path,
    base_url: str | None = None,
) -> dict[str, str]:
    """Segment id -> URL of its time-series plot, for the segments whose plot is in ``written``
    (what :func:`write_deformation_products` returned: name -> final path).

    With ``base_url`` (the profile's ``deformation.products_url``, where ``out_root`` is
    published) the URL is ``<base_url>/<path under out_root>``; without it, the file's
    ``file://`` URL.
    """
    root = out_root.resolve()
    links = {}
    for sid in segment_ids:
        path = written.get(plot_name(sid))
        if path is None:
            continue
        full = path.resolve()
        if base_url and full.is_relative_to(root):
            url = f"{base_url.rstrip('/')}/{quote(full.relative_to(root).as_posix())}"
        else:
            url = full.as_uri()
        links[str(sid)] = url
    return links


def segment_table(segments: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The segments with ``alert`` and ``plot`` columns, in WGS84, columns in a fixed order."""
    out = segments.copy()
    out["alert"] = [alert_of(r) for _, r in out.iterrows()]
    out["plot"] = [
        plot_name(s) if a in ("watch", "warning") else None
        for s, a in zip(out["segment_id"], out["alert"], strict=True)
    ]
    for col in _COLUMNS:
        if col not in out.columns:
            out[col] = None
    return out[[*_COLUMNS, "geometry"]].to_crs("EPSG:4326")


def _geojson_bytes(table: gpd.GeoDataFrame, info: Mapping[str, Any]) -> bytes:
    features = []
    for _, row in table.iterrows():
        props = {c: json_safe(row[c]) for c in _COLUMNS}
        features.append(
            {"type": "Feature", "id": props["segment_id"], "properties": props,
             "geometry": row.geometry.__geo_interface__}
        )  # fmt: skip
    doc = {
        "type": "FeatureCollection",
        "name": "corridor_segments",
        "units": {"velocity": "mm/yr (negative: subsidence)", "displacement": "mm",
                  "angular_distortion": "1", "chainage": "m"},
        "release": info.get("release"),
        "attribution": ATTRIBUTION,
        "features": features,
    }  # fmt: skip
    return (json.dumps(doc, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _png(fig: Figure, title: str) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi,
                metadata={"Title": title, "Copyright": ATTRIBUTION, "Software": "geospace"})  # fmt: skip
    return buffer.getvalue()


def alert_runs(segments: gpd.GeoDataFrame) -> list[list[pd.Series]]:
    """Alerted segments grouped into runs of neighbours on one line (chainage end = next start),
    so a stretch of ten segments gets one label instead of ten."""
    if segments.empty:
        return []
    frame = segments.copy()
    for col in ("corridor_id", "chainage_from_m", "chainage_to_m"):
        if col not in frame.columns:
            frame[col] = np.arange(len(frame)) if col != "corridor_id" else ""
    runs: list[list[pd.Series]] = []
    for _, group in frame.sort_values(["corridor_id", "chainage_from_m"]).groupby(
        "corridor_id", sort=True
    ):
        for _, row in group.iterrows():
            prev = runs[-1][-1] if runs else None
            if (
                prev is not None
                and prev["corridor_id"] == row["corridor_id"]
                and abs(float(prev["chainage_to_m"]) - float(row["chainage_from_m"])) < 1.0
            ):
                runs[-1].append(row)
            else:
                runs.append([row])
    return runs


def render_network_png(
    segments: gpd.GeoDataFrame, title: str, context: MapContext | None = None
) -> bytes:
    """Corridors coloured by vertical velocity; DATA_GAP grey dashed; alerts outlined (EPSG:3035).

    ``context`` (districts with names, water, any CRS) is drawn beneath; every watch and warning
    segment is labelled with its id (line and chainage are in the GeoJSON and the work order).
    """
    fig = Figure(figsize=(9, 8), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    if len(segments):
        minx, miny, maxx, maxy = (float(v) for v in segments.total_bounds)
        pad = 0.05 * max(maxx - minx, maxy - miny, 500.0)
        view = (minx - pad, miny - pad, maxx + pad, maxy + pad)
        if context is not None:
            draw_context(ax, context.to_crs(segments.crs), view, lines=False)
    norm = Normalize(-VELOCITY_RANGE, VELOCITY_RANGE)
    cmap = colormaps["RdBu"]
    alerts = np.array([alert_of(r) for _, r in segments.iterrows()])
    paths = [np.asarray(g.coords) for g in segments.geometry]
    velocity = segments["vertical_velocity"].to_numpy(dtype="float64")

    def draw(mask: np.ndarray, **style: Any) -> None:
        if mask.any():
            ax.add_collection(
                LineCollection([p for p, m in zip(paths, mask, strict=True) if m], **style)
            )

    draw(alerts == "DATA_GAP", colors="0.6", linewidths=2.0, linestyles="--")
    draw(alerts == "watch", colors="orange", linewidths=6.0, alpha=0.8)
    draw(alerts == "warning", colors="black", linewidths=6.0, alpha=0.8)
    measured = alerts != "DATA_GAP"
    draw(measured, colors="0.45", linewidths=4.0)  # a grey edge: stable ground is near white
    draw(measured, colors=cmap(norm(velocity[measured])), linewidths=2.6)
    for alert, colour in (("warning", "black"), ("watch", "#b35806")):
        for run in alert_runs(segments[alerts == alert]):
            point = run[len(run) // 2].geometry.interpolate(0.5, normalized=True)
            first, last = str(run[0].get("segment_id", "")), str(run[-1].get("segment_id", ""))
            label = first if first == last else f"{first} to {last}"
            ax.annotate(label, (point.x, point.y), xytext=(8, 8), textcoords="offset points",
                        fontsize=7, color=colour, weight="bold", zorder=6,
                        arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.6},
                        bbox={"fc": "white", "ec": colour, "lw": 0.5, "pad": 1})  # fmt: skip
    names = segments if "line_name" in segments.columns else segments.iloc[0:0].assign(line_name="")
    for name, group in names.groupby("line_name", sort=True):
        geom = group.geometry.union_all()
        point = geom.representative_point() if not geom.is_empty else None
        if point is not None and name:
            ax.annotate(str(name), (point.x, point.y), xytext=(-8, -10), textcoords="offset points",
                        fontsize=8, color="#3f007d", zorder=6,
                        bbox={"fc": "#f2f0f7", "ec": "none", "alpha": 0.8, "pad": 1})  # fmt: skip
    ax.autoscale_view()
    if len(segments):
        ax.set_xlim(view[0], view[2])
        ax.set_ylim(view[1], view[3])
    sm = colormaps["RdBu"]
    mappable = ax.scatter([], [], c=[], cmap=sm, norm=norm)
    fig.colorbar(
        mappable, ax=ax, shrink=0.7, label="vertical velocity (mm/yr; negative = subsidence)"
    )
    ax.plot([], [], color="0.6", ls="--", label="DATA_GAP (< 5 coherent points)")
    ax.plot([], [], color="orange", lw=5, label="watch (no work order)")
    ax.plot([], [], color="black", lw=5, label="warning (work order)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    ax.set_xlabel("easting (m, EPSG:3035)")
    ax.set_ylabel("northing (m, EPSG:3035)")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.set_title(title, fontsize=10)
    fig.text(0.01, 0.01, ATTRIBUTION, fontsize=7)
    return _png(fig, title)


def render_segment_png(series: pd.Series, row: pd.Series, title: str) -> bytes:
    """Vertical displacement of the segment median (mm) with its linear trend."""
    fig = Figure(figsize=(8, 4), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(series.index, series.to_numpy(), ".", ms=3, color="tab:blue", label="segment median")
    v = float(row["vertical_velocity"])
    if math.isfinite(v):
        years = (series.index - series.index[0]).days.to_numpy() / 365.25
        offset = float(np.nanmedian(series.to_numpy() - v * years))
        ax.plot(series.index, offset + v * years, color="tab:red",
                label=f"vertical velocity {v:+.1f} ± {float(row['velocity_sigma']):.1f} mm/yr")  # fmt: skip
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set_ylabel("vertical displacement (mm)")
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.text(0.01, 0.01, ATTRIBUTION, fontsize=7)
    return _png(fig, title)


_LISTED = {"warning": 0, "watch": 1, "DATA_GAP": 2}


def _number(value: Any, digits: int) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    return f"{number:.{digits}f}" if math.isfinite(number) else "-"


def _distortion(value: Any) -> str:
    try:
        number = abs(float(value))
    except (TypeError, ValueError):
        return "-"
    return f"1/{1 / number:,.0f}" if math.isfinite(number) and number > 0 else "-"


def segments_html(table: pd.DataFrame) -> str:
    """The warning, watch and DATA_GAP segments as an HTML table (warning first, the fastest
    first within a group), each with a link to its time-series plot when it has one."""
    listed = table[table["alert"].isin(list(_LISTED))].copy()
    if listed.empty:
        return (
            '<section><h2>Segments</h2><p id="no-segments">No segment on watch or warning; '
            "every segment had data.</p></section>"
        )
    listed["_order"] = listed["alert"].map(_LISTED)
    listed["_speed"] = -pd.to_numeric(listed["vertical_velocity"], errors="coerce").abs().fillna(0)
    listed = listed.sort_values(["_order", "_speed", "segment_id"])
    rows = []
    for _, row in listed.iterrows():
        plot = row.get("plot")
        link = f'<a href="{html.escape(str(plot))}">plot</a>' if isinstance(plot, str) else ""
        cells = [
            html.escape(str(row["segment_id"])),
            html.escape(str(row["line_name"])),
            f"{_number(_km(row['chainage_from_m']), 3)}-{_number(_km(row['chainage_to_m']), 3)}",
            f"<b>{html.escape(str(row['alert']))}</b>",
            f"{_number(row['vertical_velocity'], 1)} ± {_number(row['velocity_sigma'], 1)}",
            _number(row["n_coherent"], 0),
            _distortion(row["angular_distortion"]),
            html.escape(str(row["reason"] or "")),
            link,
        ]
        rows.append(
            f'<tr data-id="{html.escape(str(row["segment_id"]))}" '
            f'data-alert="{html.escape(str(row["alert"]))}">'
            + "".join(f"<td>{c}</td>" for c in cells)
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("segment", "line", "km", "alert", "vertical velocity mm/yr", "coherent points",
                  "angular distortion", "reason", "time series")
    )  # fmt: skip
    return (
        '<section><h2>Warning, watch and DATA_GAP segments</h2><table id="segments"><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _km(value: Any) -> float | None:
    try:
        return float(value) / 1000.0
    except (TypeError, ValueError):
        return None


def render_network_html(
    table: gpd.GeoDataFrame, title: str, context: MapContext | None = None
) -> bytes:
    """The network map as one self-contained HTML page (the dashboard's map drawing: no network
    access) followed by :func:`segments_html`; ``table`` as :func:`segment_table` returns it."""
    model = segment_map(table, context, title, ATTRIBUTION)
    return render_map_page(model, segments_html(table)).encode("utf-8")


def write_deformation_products(
    out_dir: Path,
    segments: gpd.GeoDataFrame,
    series: Mapping[str, pd.Series],
    info: Mapping[str, Any],
    context: MapContext | None = None,
) -> dict[str, Path]:
    """Write the products of one release into ``out_dir`` (atomically); name -> final path.

    ``context``: districts and water drawn beneath the network map."""
    table = segment_table(segments)
    release = str(info.get("release", ""))
    with ProductStage(out_dir) as stage:
        stage.stage_bytes(SEGMENTS_NAME, _geojson_bytes(table, info))
        stage.stage_bytes(
            MAP_NAME,
            render_network_png(
                segments.to_crs("EPSG:3035"),
                f"Vertical velocity by corridor segment, EGMS release {release}",
                context,
            ),
        )
        stage.stage_bytes(
            HTML_NAME,
            render_network_html(
                table, f"Vertical velocity by corridor segment, EGMS release {release}", context
            ),
        )
        for _, row in table[table["plot"].notna()].iterrows():
            sid = str(row["segment_id"])
            if sid in series:
                title = f"{row['line_name']} km {row['chainage_from_m'] / 1000:.3f}-{row['chainage_to_m'] / 1000:.3f} ({sid}): {row['alert']}"
                stage.stage_bytes(str(row["plot"]), render_segment_png(series[sid], row, title))
        counts = table["alert"].value_counts().to_dict()
        doc = {
            **{str(k): json_safe(v) for k, v in info.items()},
            "code_version": code_version(),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "attribution": ATTRIBUTION,
            "segments": {
                "count": len(table),
                "by_alert": {str(k): int(v) for k, v in counts.items()},
            },
            "products": [
                {"path": name, "sha256": sha256_file(temp), "bytes": temp.stat().st_size}
                for name, temp in stage.staged().items()
            ],
        }
        stage.stage_bytes(
            "manifest.json", (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
        )
        return stage.commit()


GAP_NOTE_NAME = "data_gap.json"
"""``OUT/deformation/data_gap.json``: the network's DATA_GAP while no release ends in the period
a run asked for (beside the release folders, which it never replaces); removed when a run finds a
release, as the DATA_GAP event clears."""


def write_gap_note(deformation_dir: Path, info: Mapping[str, Any]) -> Path:
    """Write the DATA_GAP note of a run without a release (atomically); return its path.

    ``info``: profile, period, reason, text, the source folder and the releases it holds."""
    doc = {
        "status": "DATA_GAP",
        **{str(k): json_safe(v) for k, v in info.items()},
        "code_version": code_version(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    with ProductStage(deformation_dir) as stage:
        stage.stage_bytes(
            GAP_NOTE_NAME, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
        )
        return stage.commit()[GAP_NOTE_NAME]


def remove_gap_note(deformation_dir: Path) -> bool:
    """Remove the DATA_GAP note once a run finds a release; True when there was one."""
    path = deformation_dir / GAP_NOTE_NAME
    if not path.is_file():
        return False
    path.unlink()
    return True
