"""The operations dashboard: ``OUT/index.html``, one self-contained page that opens offline.

What it shows, read from what is on disk and in the outbox (nothing else):

- a map (inline SVG in a local metric frame, pan and zoom, one toggle per layer) of the latest
  product of each kind: irrigation priority by park, heat hot spots and the bulletin's
  (vulnerable) districts, corridor segments by vertical velocity; over the context the runs stored
  (:mod:`alerts.products.context`: districts with names, water, lines). Hover or click a subject
  for its name and figures;
- the open alerts (latest revision of each alert that is not a Cancel) with their status: pending
  approval (with the command that approves it), queued, sent, dead; and the open DATA_GAP events
  (operator notices) with their reasons;
- every run (product, time, key, manifest link, product files), newest first.

:func:`build_model` assembles the page model from the run folders and outbox rows (pure: the
tests feed it rows); :func:`render_dashboard` turns it into HTML; :func:`write_dashboard` reads
the folder and the outbox and replaces ``OUT/index.html`` atomically (temp file, then rename).
CSS and script are bundled in ``alerts/assets`` (``dashboard.css``, ``dashboard.js``) and inlined.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize, to_hex
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from alerts.products.context import MapContext, read_context
from alerts.products.labels import CLASS_COLOURS, CLASS_NAMES, DATA_GAP_COLOUR

DASHBOARD_NAME = "index.html"
PRODUCTS = ("vegetation", "heat", "deformation")
PRODUCT_TITLES = {
    "vegetation": "Irrigation priority (parks)",
    "heat": "Heat bulletin (health services)",
    "deformation": "Corridor deformation (infrastructure)",
}
PRIMARY_FILE = {
    "vegetation": "irrigation_priority.html",
    "heat": "bulletin.html",
    "deformation": "network_vertical_velocity.html",
}
OPEN_STATUSES = ("pending_approval", "queued", "sent", "dead")
VELOCITY_RANGE = 10.0  # mm/yr at either end of the segment colour scale (as the PNG)
SIMPLIFY_M = 2.0

Frame = tuple[float, float, float, float]


@dataclass(frozen=True)
class RunEntry:
    """One product folder: ``product`` (vegetation/heat/deformation), ``key`` (window end, issue
    day or release), ``when`` (ISO time the manifest gives, else its file time), paths relative
    to OUT."""

    product: str
    key: str
    when: str
    folder: str
    manifest: str
    files: tuple[str, ...]
    summary: str


@dataclass(frozen=True)
class MapFeature:
    """One drawn subject: SVG path ``d`` in the frame, style, and the lines its hover box shows."""

    fid: str
    name: str
    d: str
    style: Mapping[str, str]
    lines: tuple[str, ...] = ()
    label_at: tuple[float, float] | None = None  # where its name is written (frame units)


@dataclass(frozen=True)
class MapLayer:
    key: str
    title: str
    kind: str  # "context" or "product"
    features: tuple[MapFeature, ...]
    source: str = ""  # the run folder (relative) the layer shows
    visible: bool = True
    group: str = ""  # layers of one product over time share a group ("parks") and its style
    window: str = ""  # the run key (window end) of a layer in a group


@dataclass(frozen=True)
class AlertRow:
    id: int
    hazard: str
    subject: str
    name: str
    level: int
    revision: int
    msg_type: str
    status: str
    approved_by: str | None = None
    action: str = ""


@dataclass(frozen=True)
class GapRow:
    about: str
    subject: str
    name: str
    reasons: str
    since: str
    revision_id: int


@dataclass
class DashboardModel:
    title: str
    generated: str
    runs: list[RunEntry] = field(default_factory=list)
    layers: list[MapLayer] = field(default_factory=list)
    frame: Frame = (0.0, 0.0, 1.0, 1.0)
    view: Frame = (0.0, 0.0, 1.0, 1.0)
    alerts: list[AlertRow] = field(default_factory=list)
    gaps: list[GapRow] = field(default_factory=list)
    outbox_note: str = ""
    attributions: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- runs (manifests on disk)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _files(folder: Path, out: Path) -> tuple[str, ...]:
    """Product files of a run folder (relative to OUT), temporary and hidden files left out."""
    names = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts):
            names.append(path.relative_to(out).as_posix())
    return tuple(names)


def _run_summary(product: str, manifest: Mapping[str, Any]) -> str:
    if product == "vegetation":
        parks = manifest.get("parks") if isinstance(manifest.get("parks"), Mapping) else {}
        period = manifest.get("period") or {}
        window = (
            f"{period.get('start')} to {period.get('end')}" if isinstance(period, Mapping) else ""
        )
        extra = ", ".join(
            f"{k} {v}" for k, v in (parks or {}).items() if not isinstance(v, dict | list)
        )
        return f"window {window}" + (f"; {extra}" if extra else "")
    if product == "heat":
        forecast = manifest.get("forecast") or {}
        wave = forecast.get("heatwave") if isinstance(forecast, Mapping) else None
        revision = manifest.get("revision") or {}
        text = f"heatwave {wave[0]} to {wave[1]}" if wave else "no heatwave forecast"
        if isinstance(revision, Mapping) and revision:
            text += f"; bulletin revision {revision.get('revision')} {revision.get('status')}"
        return text
    segments = manifest.get("segments") or {}
    by_alert = segments.get("by_alert", {}) if isinstance(segments, Mapping) else {}
    counts = ", ".join(f"{k} {v}" for k, v in sorted(by_alert.items()))
    return f"release {manifest.get('release', '')}; {segments.get('count', 0)} segments" + (
        f" ({counts})" if counts else ""
    )


def scan_runs(out_dir: str | Path) -> list[RunEntry]:
    """Every product folder of OUT with a readable ``manifest.json``, newest first per product."""
    out = Path(out_dir)
    runs = []
    for product in PRODUCTS:
        base = out / product
        if not base.is_dir():
            continue
        for folder in sorted(base.iterdir()):
            manifest_path = folder / "manifest.json"
            manifest = _read_json(manifest_path) if folder.is_dir() else None
            if manifest is None:
                continue
            created = manifest.get("created") or manifest.get("issued")
            when = (
                str(created)
                if created
                else dt.datetime.fromtimestamp(manifest_path.stat().st_mtime, dt.UTC).isoformat(
                    timespec="seconds"
                )
            )
            runs.append(
                RunEntry(
                    product=product,
                    key=folder.name,
                    when=when,
                    folder=folder.relative_to(out).as_posix(),
                    manifest=manifest_path.relative_to(out).as_posix(),
                    files=_files(folder, out),
                    summary=_run_summary(product, manifest),
                )
            )
    return sorted(runs, key=lambda r: (PRODUCTS.index(r.product), r.key), reverse=False)[::-1]


def latest_runs(runs: Sequence[RunEntry]) -> dict[str, RunEntry]:
    """The run with the greatest key (latest window, issue day, release) of each product."""
    latest: dict[str, RunEntry] = {}
    for run in runs:
        if run.product not in latest or run.key > latest[run.product].key:
            latest[run.product] = run
    return latest


# ---------------------------------------------------------------- outbox rows -> tables


def _latest_per_alert(revisions: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    latest: dict[str, Mapping[str, Any]] = {}
    for rev in revisions:
        key = str(rev.get("alert_key"))
        if key not in latest or int(rev["id"]) > int(latest[key]["id"]):
            latest[key] = rev
    return sorted(latest.values(), key=lambda r: int(r["id"]))


def _is_open(rev: Mapping[str, Any]) -> bool:
    return rev.get("msg_type") != "Cancel" and str(rev.get("status")) in OPEN_STATUSES


def _notice_kind(rev: Mapping[str, Any]) -> str:
    payload = rev.get("payload") or {}
    inner = payload.get("payload") if isinstance(payload, Mapping) else None
    return str((inner or {}).get("notice", "")) if isinstance(inner, Mapping) else ""


_STATUS_ORDER = {"pending_approval": 0, "dead": 1, "queued": 2, "sent": 3}


def alert_rows(
    revisions: Iterable[Mapping[str, Any]], *, out_arg: str = "OUT"
) -> tuple[list[AlertRow], list[GapRow]]:
    """Open alerts and open DATA_GAP events from outbox revisions.

    ``revisions``: the ``geospace alerts list --json`` objects (``id``, ``alert_key``, ``hazard``,
    ``subject``, ``level``, ``revision``, ``msg_type``, ``status``, ``approved_by``); notices may
    carry their ``payload`` (``geospace alerts show``) to tell DATA_GAP events from digests.
    An alert is open when its latest revision is not a Cancel and is pending approval, queued,
    sent or dead. Run digests and notices already sent are left out; other notices (e.g. a failed
    delivery not yet delivered itself) are alert rows. Rows: pending approval first, then dead, queued, sent.
    """
    alerts: list[AlertRow] = []
    gaps: list[GapRow] = []
    for rev in _latest_per_alert(revisions):
        if not _is_open(rev):
            continue
        payload = rev.get("payload") if isinstance(rev.get("payload"), Mapping) else {}
        name = str((payload or {}).get("subject_name") or (payload or {}).get("area_name") or "")
        kind = _notice_kind(rev) if rev.get("hazard") == "notice" else ""
        if kind == "data_gap":
            inner = (payload or {}).get("payload") or {}
            subject = str(rev.get("subject", ""))
            about, _, short = subject.partition("/")
            gaps.append(
                GapRow(
                    about=str(inner.get("about_hazard") or about),
                    subject=short or subject,
                    name=name or short or subject,
                    reasons=", ".join(str(r) for r in inner.get("reasons") or []),
                    since=str(
                        inner.get("window_start") or (payload or {}).get("event_start") or ""
                    ),
                    revision_id=int(rev["id"]),
                )
            )
            continue
        if kind == "digest" or str(rev.get("subject", "")).startswith("digest/"):
            continue
        if rev.get("hazard") == "notice" and rev.get("status") == "sent":
            continue  # an operator notice that reached its sinks is done
        status = str(rev.get("status"))
        action = ""
        if status == "pending_approval":
            action = f"geospace alerts approve {rev['id']} --by NAME --out {out_arg}"
        elif status == "dead":
            action = f"geospace alerts retry {rev['id']} --out {out_arg}"
        alerts.append(
            AlertRow(
                id=int(rev["id"]),
                hazard=str(rev.get("hazard")),
                subject=str(rev.get("subject")),
                name=name,
                level=int(rev.get("level") or 0),
                revision=int(rev.get("revision") or 0),
                msg_type=str(rev.get("msg_type")),
                status=status,
                approved_by=rev.get("approved_by"),
                action=action,
            )
        )
    alerts.sort(key=lambda a: (_STATUS_ORDER.get(a.status, 9), a.id))
    return alerts, gaps


def read_outbox(out_dir: str | Path, dsn: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Revisions of the outbox (with the payload of open notices) and a note for the page.

    Never creates an outbox: a folder that never held a run gets ``[]`` and a note saying so.
    """
    from alerts.outbox import admin
    from alerts.outbox.db import OutboxMissingError
    from alerts.outbox.store import open_store

    try:
        store = open_store(out_dir, dsn=dsn, create=False)
    except OutboxMissingError:
        return [], "no outbox yet: no run has written to this folder"
    try:
        rows = [admin.summary(r) for r in admin.list_revisions(store)]
        for rev in _latest_per_alert(rows):
            if rev["hazard"] == "notice" and _is_open(rev):
                full = admin.get_revision(store, int(rev["id"]))
                rev["payload"] = full["payload"]  # type: ignore[index]
            elif _is_open(rev):
                full = admin.get_revision(store, int(rev["id"]))
                payload = full["payload"] if isinstance(full["payload"], dict) else {}
                rev["payload"] = {  # type: ignore[index]
                    k: payload.get(k) for k in ("subject_name", "area_name", "summary")
                }
    finally:
        store.close()
    where = "PostgreSQL outbox" if dsn else "outbox alerts/outbox.sqlite"
    return rows, f"{len(rows)} revision(s) in the {where}"


# ---------------------------------------------------------------- map layers


def _fmt(value: Any, digits: int = 2, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _ring(coords: Iterable[Sequence[float]], frame: Frame) -> str:
    minx, _, _, maxy = frame
    return "M" + "L".join(f"{x - minx:.1f},{maxy - y:.1f}" for x, y, *_ in coords)


def svg_d(geom: BaseGeometry | None, frame: Frame) -> str:
    """SVG path data of any (multi) polygon/line/point in the frame (x east, y south, metres)."""
    if geom is None or geom.is_empty:
        return ""
    if isinstance(geom, Polygon):
        rings = [geom.exterior, *geom.interiors]
        return "".join(_ring(r.coords, frame) + "Z" for r in rings)
    if isinstance(geom, LineString):
        return _ring(geom.coords, frame)
    if isinstance(geom, Point):
        x, y = geom.x - frame[0], frame[3] - geom.y
        return f"M{x - 15:.1f},{y:.1f}a15,15 0 1,0 30,0a15,15 0 1,0 -30,0"
    return "".join(svg_d(part, frame) for part in getattr(geom, "geoms", []))


def _read_geojson(path: Path, crs: Any) -> gpd.GeoDataFrame | None:
    if not path.is_file():
        return None
    try:
        frame = gpd.read_file(path)
    except Exception:
        return None
    if frame.empty:
        return frame
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    return frame.to_crs(crs)


def _velocity_colour(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return DATA_GAP_COLOUR
    norm = Normalize(-VELOCITY_RANGE, VELOCITY_RANGE)
    return str(to_hex(colormaps["RdBu"](norm(float(value)))))


def park_features(parks: gpd.GeoDataFrame, frame: Frame) -> tuple[MapFeature, ...]:
    """Parks filled by priority class (DATA_GAP hatched), with rank, priority and figures."""
    out = []
    for _, row in parks.iterrows():
        cls = row.get("priority_class")
        gap = cls is None or pd.isna(cls)
        fill = "url(#gap)" if gap else CLASS_COLOURS.get(int(cls), DATA_GAP_COLOUR)
        rank = row.get("rank")
        lines = [
            f"rank {int(rank)}" if rank is not None and not pd.isna(rank) else "not ranked",
            "DATA_GAP" if gap else f"priority {int(cls)} {CLASS_NAMES['en'][int(cls)]}",
            str(row.get("why") or ""),
            f"NDVI anomaly {_fmt(row.get('ndvi_anomaly'))}, NDMI anomaly {_fmt(row.get('ndmi_anomaly'))}",
            f"clear sky {_fmt(_pct(row.get('clear_fraction')), 0, ' %')}",
        ]
        out.append(
            MapFeature(
                fid=str(row.get("park_id")),
                name=str(row.get("name") or row.get("park_id")),
                d=svg_d(row.geometry.simplify(SIMPLIFY_M), frame),
                style={"fill": fill, "class": "gap" if gap else f"c{int(cls)}"},
                lines=tuple(line for line in lines if line),
            )
        )
    return tuple(out)


def _pct(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return 100 * number if math.isfinite(number) else None


def segment_features(segments: gpd.GeoDataFrame, frame: Frame) -> tuple[MapFeature, ...]:
    """Corridor segments coloured by vertical velocity; DATA_GAP grey dashed; alerts thick."""
    out = []
    for _, row in segments.iterrows():
        alert = str(row.get("alert") or "none")
        velocity = row.get("vertical_velocity")
        lines = [
            f"{row.get('line_name')} km {_fmt(_km(row.get('chainage_from_m')), 3)}"
            f"-{_fmt(_km(row.get('chainage_to_m')), 3)}",
            f"alert: {alert}",
            f"vertical velocity {_fmt(velocity, 1)} ± {_fmt(row.get('velocity_sigma'), 1)} mm/yr",
            f"coherent points {_fmt(row.get('n_coherent'))}",
        ]
        if row.get("reason"):
            lines.append(str(row.get("reason")))
        out.append(
            MapFeature(
                fid=str(row.get("segment_id")),
                name=str(row.get("segment_id")),
                d=svg_d(row.geometry, frame),
                style={
                    "stroke": DATA_GAP_COLOUR
                    if alert == "DATA_GAP"
                    else _velocity_colour(velocity),
                    "class": alert.lower().replace("_", "-"),
                },
                lines=tuple(lines),
            )
        )
    return tuple(out)


def _km(value: Any) -> float | None:
    try:
        return float(value) / 1000.0
    except (TypeError, ValueError):
        return None


def hotspot_features(hotspots: gpd.GeoDataFrame, frame: Frame) -> tuple[MapFeature, ...]:
    out = []
    for i, (_, row) in enumerate(hotspots.iterrows()):
        lines = [f"{k}: {_fmt(v)}" for k, v in row.items() if k != "geometry" and v is not None]
        out.append(
            MapFeature(
                fid=f"hotspot-{i + 1}",
                name=f"Hot spot {i + 1}",
                d=svg_d(row.geometry.simplify(SIMPLIFY_M), frame),
                style={"class": "hot"},
                lines=tuple(lines[:6]),
            )
        )
    return tuple(out)


def district_features(
    districts: gpd.GeoDataFrame, ranking: pd.DataFrame | None, bulletin: Sequence[str], frame: Frame
) -> tuple[MapFeature, ...]:
    """Districts of the heat ranking: the bulletin's districts marked, figures on hover."""
    by_id = {} if ranking is None else {str(r["zone_id"]): r for _, r in ranking.iterrows()}
    out = []
    for fid, name, geom in zip(districts["id"], districts["name"], districts.geometry, strict=True):
        row = by_id.get(str(fid))
        if row is None:
            continue
        rank = row.get("rank")
        lines = [
            f"rank {int(rank)}" if rank is not None and not pd.isna(rank) else "not ranked",
            f"status {row.get('status')}",
            f"LST median {_fmt(row.get('lst_median_c'), 1)} degC, SUHI {_fmt(row.get('suhi_k'), 1)} K",
            f"hot-spot share {_fmt(_pct(row.get('hot_share')), 0, ' %')}",
            f"aged 65+ in hot spots {_fmt(row.get('exposed_65_plus'), 0)}",
        ]
        listed = str(fid) in {str(b) for b in bulletin}
        gap = str(row.get("status")) == "DATA_GAP"
        out.append(
            MapFeature(
                fid=str(fid),
                name=str(name),
                d=svg_d(geom.simplify(SIMPLIFY_M), frame),
                style={"class": "bulletin" if listed else ("gap" if gap else "ranked")},
                lines=tuple(lines),
            )
        )
    return tuple(out)


def _label_point(geom: BaseGeometry, frame: Frame) -> tuple[float, float]:
    point = (
        geom.interpolate(0.5, normalized=True)
        if geom.geom_type in ("LineString", "MultiLineString") and hasattr(geom, "interpolate")
        else geom.representative_point()
    )
    return (point.x - frame[0], frame[3] - point.y)


def _context_features(frame_gdf: gpd.GeoDataFrame, frame: Frame) -> tuple[MapFeature, ...]:
    return tuple(
        MapFeature(
            fid=str(i),
            name=str(n),
            d=svg_d(g.simplify(SIMPLIFY_M), frame),
            style={},
            lines=(str(n),),
            label_at=_label_point(g, frame),
        )
        for i, n, g in zip(frame_gdf["id"], frame_gdf["name"], frame_gdf.geometry, strict=True)
        if g is not None and not g.is_empty
    )


def _frame_of(frames: Iterable[gpd.GeoDataFrame], pad: float = 0.04) -> Frame | None:
    boxes = [tuple(f.total_bounds) for f in frames if f is not None and not f.empty]
    boxes = [b for b in boxes if all(math.isfinite(v) for v in b)]
    if not boxes:
        return None
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    p = pad * max(maxx - minx, maxy - miny, 500.0)
    return (minx - p, miny - p, maxx + p, maxy + p)


def _metric_crs(frames: Iterable[gpd.GeoDataFrame | None]) -> Any:
    for frame in frames:
        if frame is not None and not frame.empty:
            return frame.to_crs("EPSG:4326").estimate_utm_crs()
    return "EPSG:3035"


def _read_ranking(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path, dtype={"zone_id": str})
    except (OSError, ValueError):
        return None


def context_layers(ctx: MapContext, frame: Frame) -> list[MapLayer]:
    """The context's water, districts and lines as map layers (those that have features)."""
    layers = []
    for key, title in (("water", "Water"), ("districts", "Districts"), ("corridors", "Lines")):
        features = _context_features(getattr(ctx, key), frame)
        if features:
            layers.append(MapLayer(key, title, "context", features))
    return layers


def segment_map(
    segments: gpd.GeoDataFrame, context: MapContext | None, title: str, attribution: str
) -> DashboardModel:
    """A map of one release's segments by vertical velocity over the context (no alerts, no
    runs): the model of the release's HTML network map (:func:`render_map_page`)."""
    crs = _metric_crs([segments])
    seg = segments.to_crs(crs)
    ctx = (context or MapContext()).to_crs(crs)
    frame = _frame_of([seg, *ctx.layers().values()]) or (0.0, 0.0, 1000.0, 1000.0)
    view = _frame_of([seg], pad=0.04) or frame
    layers = context_layers(ctx, frame)
    layers.append(
        MapLayer("segments", "Corridor segments by vertical velocity", "product",
                 segment_features(seg, frame))
    )  # fmt: skip
    return DashboardModel(
        title=title,
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        layers=layers,
        frame=frame,
        view=view,
        attributions=[attribution],
    )


def map_layers(
    out_dir: str | Path,
    latest: Mapping[str, RunEntry],
    context: MapContext,
    history: Sequence[RunEntry] = (),
) -> tuple[list[MapLayer], Frame, Frame]:
    """Context and product layers in one metric frame; the frame and the initial view.

    ``history``: earlier vegetation runs, drawn as hidden layers of the group ``parks`` that the
    page's window slider shows one at a time (the latest is the visible ``parks`` layer).
    """
    out = Path(out_dir)
    ctx4326 = context.to_crs("EPSG:4326")
    veg = latest.get("vegetation")
    heat = latest.get("heat")
    deformation = latest.get("deformation")
    raw = {
        "parks": _read_geojson(out / veg.folder / "irrigation_priority.geojson", "EPSG:4326")
        if veg else None,
        "hotspots": _read_geojson(out / heat.folder / "hotspots.geojson", "EPSG:4326")
        if heat else None,
        "segments": _read_geojson(out / deformation.folder / "corridor_segments.geojson",
                                  "EPSG:4326") if deformation else None,
    }  # fmt: skip
    crs = _metric_crs([*raw.values(), *ctx4326.layers().values()])
    data = {k: (None if v is None else v.to_crs(crs)) for k, v in raw.items()}
    ctx = ctx4326.to_crs(crs)
    ranking = _read_ranking(out / heat.folder / "districts.csv") if heat else None
    heat_manifest = _read_json(out / heat.manifest) if heat else None
    bulletin = [str(b) for b in (heat_manifest or {}).get("bulletin_districts") or []]
    ranked_districts = ctx.districts
    if ranking is not None and len(ranked_districts):
        ranked_districts = ranked_districts[ranked_districts["id"].isin(ranking["zone_id"])]
    subjects = [f for f in (data["parks"], data["hotspots"], data["segments"]) if f is not None]
    frame = _frame_of([*subjects, *ctx.layers().values()]) or (0.0, 0.0, 1000.0, 1000.0)
    view = _frame_of(subjects, pad=0.08) or frame
    layers = context_layers(ctx, frame)
    if heat is not None and ranking is not None and len(ranked_districts):
        layers.append(
            MapLayer("heat-districts", f"Heat: districts ranked ({heat.key})", "product",
                     district_features(ranked_districts, ranking, bulletin, frame), heat.folder)
        )  # fmt: skip
    if heat is not None and data["hotspots"] is not None and len(data["hotspots"]):
        layers.append(
            MapLayer("heat-hotspots", f"Heat: surface hot spots ({heat.key})", "product",
                     hotspot_features(data["hotspots"], frame), heat.folder)
        )  # fmt: skip
    for run in sorted(history, key=lambda r: r.key):
        if veg is None or run.key >= veg.key:
            continue
        parks = _read_geojson(out / run.folder / "irrigation_priority.geojson", crs)
        if parks is not None:
            layers.append(
                MapLayer(f"parks@{run.key}", f"Irrigation priority (window ending {run.key})",
                         "product", park_features(parks, frame), run.folder, visible=False,
                         group="parks", window=run.key)
            )  # fmt: skip
    if veg is not None and data["parks"] is not None:
        layers.append(
            MapLayer("parks", f"Irrigation priority by park (window ending {veg.key})", "product",
                     park_features(data["parks"], frame), veg.folder, group="parks",
                     window=veg.key)
        )  # fmt: skip
    if deformation is not None and data["segments"] is not None:
        layers.append(
            MapLayer("segments", f"Corridor segments by vertical velocity ({deformation.key})",
                     "product", segment_features(data["segments"], frame), deformation.folder)
        )  # fmt: skip
    return layers, frame, view


# ---------------------------------------------------------------- model and page


def build_model(
    out_dir: str | Path,
    revisions: Sequence[Mapping[str, Any]],
    *,
    context: MapContext | None = None,
    outbox_note: str = "",
    title: str = "geospace operations",
    now: dt.datetime | None = None,
) -> DashboardModel:
    """The page model from the run folders of ``out_dir`` and the outbox ``revisions``."""
    runs = scan_runs(out_dir)
    latest = latest_runs(runs)
    history = [r for r in runs if r.product == "vegetation"]
    layers, frame, view = map_layers(out_dir, latest, context or read_context(out_dir), history)
    alerts, gaps = alert_rows(revisions, out_arg=str(out_dir))
    attributions = []
    if "vegetation" in latest:
        attributions.append("Contains modified Copernicus Sentinel data")
    if "deformation" in latest:
        attributions.append("Contains modified Copernicus EGMS data")
    if "heat" in latest:
        attributions.append("Landsat C2 L2 surface temperature")
    return DashboardModel(
        title=title,
        generated=(now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        runs=runs,
        layers=layers,
        frame=frame,
        view=view,
        alerts=alerts,
        gaps=gaps,
        outbox_note=outbox_note,
        attributions=attributions,
    )


def _asset(name: str) -> str:
    return resources.files("alerts.assets").joinpath(name).read_text("utf-8")


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _svg(model: DashboardModel) -> str:
    minx, miny, maxx, maxy = model.frame
    width, height = maxx - minx, maxy - miny
    vx0, vy0, vx1, vy1 = model.view
    view = f"{vx0 - minx:.1f} {maxy - vy1:.1f} {vx1 - vx0:.1f} {vy1 - vy0:.1f}"
    cell = max(width, height) / 300
    parts = [
        f'<svg id="map" viewBox="{view}" data-full="0 0 {width:.1f} {height:.1f}" '
        f'data-view="{view}" role="img" aria-label="map of the latest products">',
        f'<defs><pattern id="gap" patternUnits="userSpaceOnUse" width="{cell:.1f}" '
        f'height="{cell:.1f}" patternTransform="rotate(45)"><rect width="{cell:.1f}" '
        f'height="{cell:.1f}" fill="{DATA_GAP_COLOUR}"/><rect width="{cell / 3:.1f}" '
        f'height="{cell:.1f}" fill="#8a8a8a"/></pattern></defs>',
        f'<rect class="bg" x="0" y="0" width="{width:.1f}" height="{height:.1f}"/>',
    ]
    for layer in model.layers:
        hidden = "" if layer.visible else ' style="display:none"'
        group = (
            f' data-history="{_esc(layer.group)}" data-window="{_esc(layer.window)}"'
            if layer.group
            else ""
        )
        parts.append(
            f'<g class="layer {layer.kind} L-{_esc(layer.group or layer.key)}" '
            f'data-layer="{_esc(layer.key)}"{group}{hidden}>'
        )
        for feature in layer.features:
            if not feature.d:
                continue
            style = dict(feature.style)
            css = style.pop("class", "")
            attrs = "".join(f' {k}="{_esc(v)}"' for k, v in style.items())
            parts.append(
                f'<path class="f {_esc(css)}" data-layer="{_esc(layer.key)}" '
                f'data-id="{_esc(feature.fid)}"{attrs} d="{feature.d}"/>'
            )
        parts.append("</g>")
    size = max(width, height) / 90
    for layer in model.layers:
        if layer.kind != "context":
            continue
        parts.append(
            f'<g class="labels lab-{_esc(layer.key)}" data-labels="{_esc(layer.key)}" '
            f'font-size="{size:.0f}">'
        )
        for feature in layer.features:
            if feature.label_at is not None:
                x, y = feature.label_at
                parts.append(f'<text x="{x:.0f}" y="{y:.0f}">{_esc(feature.name)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _features_json(model: DashboardModel) -> str:
    data = {
        layer.key: {
            f.fid: {"name": f.name, "lines": list(f.lines), "layer": layer.title}
            for f in layer.features
        }
        for layer in model.layers
    }
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _toggles(model: DashboardModel) -> str:
    items = []
    for layer in model.layers:
        if not layer.visible:
            continue  # an earlier window: shown by the slider
        checked = " checked" if layer.visible else ""
        source = (
            f' <a href="{_esc(layer.source)}/">({_esc(layer.source)})</a>' if layer.source else ""
        )
        items.append(
            f'<li><label><input type="checkbox" class="toggle" data-layer="{_esc(layer.key)}"'
            f'{checked}> <span class="key L-{_esc(layer.key)}"></span>{_esc(layer.title)}'
            f" ({len(layer.features)})</label>{source}</li>"
        )
    if not items:
        return "<p>No product yet: run a flow (geospace run ...).</p>"
    windows = [layer.window for layer in model.layers if layer.group == "parks"]
    slider = ""
    if len(windows) > 1:
        slider = (
            '<div class="slider"><label for="window-slider">Irrigation window ending</label> '
            f'<b id="window-label">{_esc(windows[-1])}</b><br><input type="range" '
            f'id="window-slider" min="0" max="{len(windows) - 1}" value="{len(windows) - 1}" '
            f"data-windows='{_esc(json.dumps(windows))}'></div>"
        )
    return '<ul class="toggles">' + "".join(items) + "</ul>" + slider


def _legend() -> str:
    classes = "".join(
        f'<span class="sw" style="background:{CLASS_COLOURS[c]}"></span>{c} '
        f"{_esc(CLASS_NAMES['en'][c])} "
        for c in (1, 2, 3, 4)
    )
    return (
        f'<div class="legend"><div>Parks: {classes}<span class="sw gapsw"></span>DATA_GAP</div>'
        '<div>Segments: <span class="ramp"></span> vertical velocity '
        f"-{VELOCITY_RANGE:g} (subsidence, red) to +{VELOCITY_RANGE:g} mm/yr (blue); "
        '<span class="ln dg"></span> DATA_GAP <span class="ln wa"></span> warning '
        '<span class="ln wt"></span> watch</div>'
        '<div>Heat: <span class="sw hotsw"></span> surface hot spot '
        '<span class="sw bulsw"></span> district in the bulletin</div></div>'
    )


def _alerts_table(model: DashboardModel) -> str:
    if not model.alerts:
        return '<p id="no-alerts">No open alert.</p>'
    rows = []
    for a in model.alerts:
        who = f" by {_esc(a.approved_by)}" if a.approved_by else ""
        action = f"<code>{_esc(a.action)}</code>" if a.action else ""
        rows.append(
            f'<tr class="st-{_esc(a.status)}" data-id="{a.id}" data-status="{_esc(a.status)}" '
            f'data-hazard="{_esc(a.hazard)}">'
            f"<td>{a.id}</td><td>{_esc(a.hazard)}</td><td>{_esc(a.name or a.subject)}"
            f'<div class="muted">{_esc(a.subject)}</div></td><td>{a.level}</td>'
            f"<td>{a.revision} {_esc(a.msg_type)}</td><td><b>{_esc(a.status.replace('_', ' '))}"
            f"</b>{who}</td><td>{action}</td></tr>"
        )
    return (
        '<table id="alerts"><thead><tr><th>id</th><th>hazard</th><th>subject</th><th>level</th>'
        "<th>revision</th><th>status</th><th>to do</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _gaps_table(model: DashboardModel) -> str:
    if not model.gaps:
        return '<p id="no-gaps">No open DATA_GAP event.</p>'
    rows = "".join(
        f'<tr data-id="{g.revision_id}"><td>{_esc(g.about)}</td><td>{_esc(g.name)}'
        f'<div class="muted">{_esc(g.subject)}</div></td><td>{_esc(g.reasons)}</td>'
        f"<td>{_esc(g.since[:10])}</td></tr>"
        for g in model.gaps
    )
    return (
        '<table id="gaps"><thead><tr><th>product</th><th>subject</th><th>reasons</th>'
        f"<th>since</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _runs_table(model: DashboardModel) -> str:
    if not model.runs:
        return '<p id="no-runs">No run yet.</p>'
    rows = []
    for run in model.runs:
        primary = f"{run.folder}/{PRIMARY_FILE[run.product]}"
        files = " ".join(
            f'<a href="{_esc(f)}">{_esc(f.removeprefix(run.folder + "/"))}</a>'
            for f in run.files
            if not f.endswith("manifest.json")
        )
        main = (
            f'<a href="{_esc(primary)}">{_esc(run.key)}</a>'
            if primary in run.files
            else _esc(run.key)
        )
        rows.append(
            f'<tr data-product="{_esc(run.product)}"><td>{_esc(PRODUCT_TITLES[run.product])}</td>'
            f"<td>{main}</td><td>{_esc(run.when)}</td><td>{_esc(run.summary)}</td>"
            f'<td><a href="{_esc(run.manifest)}">manifest.json</a></td>'
            f'<td class="files">{files}</td></tr>'
        )
    return (
        '<table id="runs"><thead><tr><th>product</th><th>run</th><th>written</th><th>summary</th>'
        "<th>manifest</th><th>files</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _map_section(model: DashboardModel, legend: str, hint: str) -> str:
    """The map with its tools, layer toggles, legend and the selected subject's figures."""
    return f"""<section class="top"><div class="mapbox"><div class="tools">
<button type="button" id="zoom-in" title="zoom in">+</button>
<button type="button" id="zoom-out" title="zoom out">&minus;</button>
<button type="button" id="zoom-subjects" title="zoom to the products">products</button>
<button type="button" id="zoom-all" title="whole map">all</button>
<span class="muted">drag to pan, wheel to zoom, hover or click a subject</span></div>
{_svg(model)}<div id="tip"></div></div>
<div class="side"><h2>Layers</h2>{_toggles(model)}{legend}
<h2>Selected</h2><div id="info" class="muted">{_esc(hint)}</div>
</div></section>"""


def _segment_legend() -> str:
    return (
        '<div class="legend"><div>Segments: <span class="ramp"></span> vertical velocity '
        f"-{VELOCITY_RANGE:g} (subsidence, red) to +{VELOCITY_RANGE:g} mm/yr (blue); "
        '<span class="ln dg"></span> DATA_GAP <span class="ln wa"></span> warning '
        '<span class="ln wt"></span> watch</div></div>'
    )


def render_map_page(model: DashboardModel, body: str) -> str:
    """A page of ``model``'s segment map (the dashboard's drawing, style and script) followed by
    ``body`` (HTML): the deformation release's network map."""
    return _page(
        model,
        f"written {_esc(model.generated)}",
        f"""{_map_section(model, _segment_legend(), "Click a segment for its figures.")}
{body}""",
    )


def _page(model: DashboardModel, note: str, content: str, banner: str = "") -> str:
    """The page shell shared by the dashboard and the network map: the title with ``note`` and
    ``banner`` under it, ``content``, the attributions, the map's features and its script (all
    arguments HTML)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(model.title)}</title>
<style>{_asset("dashboard.css")}</style></head>
<body><header><h1>{_esc(model.title)}</h1>
<div class="muted">{note}</div>{banner}</header>
{content}
<p class="muted">{_esc("; ".join(model.attributions))}</p>
<script type="application/json" id="dash-data">{_features_json(model)}</script>
<script>{_asset("dashboard.js")}</script>
</body></html>
"""


def render_dashboard(model: DashboardModel) -> str:
    """The dashboard page (HTML text, no external resource)."""
    pending = sum(a.status == "pending_approval" for a in model.alerts)
    dead = sum(a.status == "dead" for a in model.alerts)
    banner = ""
    if pending or dead:
        banner = (
            f'<p class="banner">{pending} bulletin(s) wait for approval; '
            f"{dead} message(s) could not be delivered.</p>"
        )
    return _page(
        model,
        f"written {_esc(model.generated)}; {_esc(model.outbox_note)}",
        f"""{_map_section(model, _legend(), "Click a park, district, hot spot or segment.")}
<section><h2>Open alerts</h2>{_alerts_table(model)}</section>
<section><h2>DATA_GAP (no usable data: not "no hazard")</h2>{_gaps_table(model)}</section>
<section><h2>Runs</h2>{_runs_table(model)}</section>""",
        banner,
    )


def page_title(out_dir: str | Path) -> str:
    """The title the last run gave ``OUT/index.html`` (kept by approve/deliver/relay rewrites)."""
    page = Path(out_dir) / DASHBOARD_NAME
    if not page.is_file():
        return "geospace operations"
    text = page.read_text(encoding="utf-8", errors="replace")
    start, end = text.find("<title>"), text.find("</title>")
    if 0 <= start < end:
        return html.unescape(text[start + 7 : end]) or "geospace operations"
    return "geospace operations"


def write_dashboard(
    out_dir: str | Path,
    *,
    dsn: str | None = None,
    context: MapContext | None = None,
    title: str = "geospace operations",
) -> Path:
    """Read ``out_dir`` and its outbox, write ``OUT/index.html`` (temp file, then rename).

    ``context``: the run's map context (a run passes its profile's, and it is stored for later
    views); without it the stored context is used.
    """
    from alerts.products.context import write_context

    out = Path(out_dir)
    if context is not None:
        write_context(out, context)
    revisions, note = read_outbox(out, dsn)
    model = build_model(out, revisions, context=context, outbox_note=note, title=title)
    page = render_dashboard(model).encode("utf-8")
    target = out / DASHBOARD_NAME
    temp = out / f".{DASHBOARD_NAME}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp"
    try:
        temp.write_bytes(page)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target
