"""Map context: the layers a person finds a place by (districts with names, water, lines).

Every map (the PNG maps of the three products and the operations dashboard) draws the same
context from the city profile's layers: ``layers.districts`` (boundaries and names),
``layers.water`` (the Danube and other water, optional) and ``layers.corridors`` (U-Bahn, rail or
roads, labelled by line). Only local files are read here: a layer behind a URL (a WFS) is left out
of the context (cache it with ``geospace layers fetch`` and point the profile at the file).
The context is stored once per run as ``OUT/dashboard/context.geojson`` (WGS84, properties
``layer``, ``id``, ``name``) so later views (``alerts approve``, ``deliver``) draw it without the
profile.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patheffects import withStroke

from core.profile import CityProfile

CONTEXT_LAYERS = ("districts", "water", "corridors")
CONTEXT_FILE = "dashboard/context.geojson"
WATER_FILL = "#a6cee3"
WATER_EDGE = "#5b9bc8"
DISTRICT_EDGE = "#555555"
LINE_COLOUR = "#6a3d9a"

_HALO = [withStroke(linewidth=2.5, foreground="white")]


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [], "name": []}, geometry=[], crs="EPSG:4326")


@dataclass(frozen=True)
class MapContext:
    """Context layers with columns ``id``, ``name``, ``geometry`` (empty frames when absent)."""

    districts: gpd.GeoDataFrame = field(default_factory=_empty)
    water: gpd.GeoDataFrame = field(default_factory=_empty)
    corridors: gpd.GeoDataFrame = field(default_factory=_empty)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Layer name -> frame, in drawing order (districts, water, corridors)."""
        return {name: getattr(self, name) for name in CONTEXT_LAYERS}

    def is_empty(self) -> bool:
        return all(frame.empty for frame in self.layers().values())

    def to_crs(self, crs: Any) -> MapContext:
        """The same layers in ``crs`` (frames without a CRS are taken as WGS84)."""
        out = {}
        for name, frame in self.layers().items():
            frame = frame if frame.crs is not None else frame.set_crs("EPSG:4326")
            out[name] = frame.to_crs(crs)
        return MapContext(**out)


def _frame(frame: gpd.GeoDataFrame, id_field: str, name_field: str | None) -> gpd.GeoDataFrame:
    """``id``/``name``/``geometry`` of a layer, water islands (``kind == island``) left out."""
    if "kind" in frame.columns:
        frame = frame[frame["kind"].astype(str) != "island"]
    ids = (
        frame[id_field].astype(str)
        if id_field in frame.columns
        else pd.Series([str(i) for i in range(len(frame))], index=frame.index)
    )
    names = frame[name_field].astype(str) if name_field and name_field in frame.columns else ids
    out = gpd.GeoDataFrame(
        {"id": ids.to_numpy(), "name": names.to_numpy()},
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )
    return out[out.geometry.notna() & ~out.geometry.is_empty]


def load_context(profile: CityProfile) -> MapContext:
    """The profile's context layers (local files only), each in WGS84.

    A layer that is not configured, sits behind a URL, or cannot be read is an empty frame: the
    context helps a reader find a place; a map is still drawn without it.
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    for name in CONTEXT_LAYERS:
        config = getattr(profile.layers, name, None)
        if config is None or "://" in config.path:
            continue
        path = Path(profile.resolve(config.path))
        if not path.is_file():
            continue
        try:
            frame = gpd.read_file(path)
        except Exception:  # context only: an unreadable layer leaves the map without it
            continue
        if frame.crs is None or frame.empty:
            continue
        out[name] = _frame(frame, config.id_field, config.name_field).to_crs("EPSG:4326")
    return MapContext(**out)


def context_geojson(context: MapContext) -> bytes:
    """One FeatureCollection (WGS84) of every context feature with ``layer``, ``id``, ``name``."""
    features = []
    for name, frame in context.to_crs("EPSG:4326").layers().items():
        for fid, label, geom in zip(frame["id"], frame["name"], frame.geometry, strict=True):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"layer": name, "id": str(fid), "name": str(label)},
                    "geometry": geom.__geo_interface__,
                }
            )
    doc = {"type": "FeatureCollection", "name": "map_context", "features": features}
    return (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")


def write_context(out_dir: str | Path, context: MapContext) -> Path | None:
    """Store the context under ``OUT/dashboard/`` (temp file, then rename); None when empty."""
    if context.is_empty():
        return None
    target = Path(out_dir) / CONTEXT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")
    try:
        temp.write_bytes(context_geojson(context))
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def read_context(out_dir: str | Path) -> MapContext:
    """The context a run stored under ``OUT/dashboard/`` (empty when none or unreadable)."""
    path = Path(out_dir) / CONTEXT_FILE
    if not path.is_file():
        return MapContext()
    try:
        frame = gpd.read_file(path)
    except Exception:
        return MapContext()
    if frame.empty or "layer" not in frame.columns:
        return MapContext()
    frame = frame.set_crs("EPSG:4326", allow_override=True)
    out = {}
    for name in CONTEXT_LAYERS:
        part = frame[frame["layer"] == name]
        out[name] = gpd.GeoDataFrame(
            {"id": part["id"].astype(str).to_numpy(), "name": part["name"].astype(str).to_numpy()},
            geometry=part.geometry.to_numpy(),
            crs="EPSG:4326",
        )
    return MapContext(**out)


def _inside(frame: gpd.GeoDataFrame, bounds: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = bounds
    return frame.cx[minx:maxx, miny:maxy] if len(frame) else frame


def draw_context(
    ax: Axes,
    context: MapContext,
    bounds: tuple[float, float, float, float],
    *,
    labels: bool = True,
    dark: bool = False,
    lines: bool = True,
) -> None:
    """Water (filled), district boundaries with names and the lines, in the axes' CRS.

    ``context`` must already be in the map's CRS. ``bounds`` (minx, miny, maxx, maxy) limits the
    labels to what is shown; ``dark`` draws for a dark raster beneath (white boundaries);
    ``lines=False`` leaves the lines out (a map of the lines themselves).
    """
    water = _inside(context.water, bounds)
    if len(water):
        water.plot(
            ax=ax, facecolor=WATER_FILL, edgecolor=WATER_EDGE, linewidth=0.5, alpha=0.55, zorder=2
        )
    districts = _inside(context.districts, bounds)
    edge = "white" if dark else DISTRICT_EDGE
    if len(districts):
        districts.boundary.plot(ax=ax, color=edge, linewidth=0.7, alpha=0.9, zorder=2.5)
    corridors = _inside(context.corridors, bounds) if lines else context.corridors.iloc[0:0]
    if len(corridors):
        corridors.plot(ax=ax, color=LINE_COLOUR, linewidth=1.2, alpha=0.8, zorder=2.6)
    minx, miny, maxx, maxy = bounds
    if labels and len(districts):
        for name, geom in zip(districts["name"], districts.geometry, strict=True):
            point = geom.representative_point()
            if minx <= point.x <= maxx and miny <= point.y <= maxy:
                ax.text(point.x, point.y, str(name), fontsize=6.5, color="#333333" if not dark
                        else "white", ha="center", va="center", style="italic", alpha=0.9,
                        zorder=2.7, clip_on=True, path_effects=None if dark else _HALO)  # fmt: skip
    if labels and len(corridors):
        box = gpd.GeoSeries.from_xy([minx, maxx], [miny, maxy]).union_all().envelope
        for name, geom in zip(corridors["name"], corridors.geometry, strict=True):
            part = geom.intersection(box)
            if part.is_empty or part.length == 0:
                continue
            point = part.interpolate(0.5, normalized=True)
            ax.text(point.x, point.y, str(name), fontsize=6.5, color=LINE_COLOUR, ha="center",
                    va="bottom", weight="bold", zorder=2.8, clip_on=True, path_effects=_HALO)  # fmt: skip
    if labels and len(water):
        for name, geom in zip(water["name"], water.geometry, strict=True):
            point = geom.representative_point()
            if minx <= point.x <= maxx and miny <= point.y <= maxy:
                ax.text(point.x, point.y, str(name), fontsize=7, color="#1f5f8b", ha="center",
                        va="center", style="italic", zorder=2.7, clip_on=True, path_effects=_HALO)  # fmt: skip


def subject_bounds(
    frame: gpd.GeoDataFrame, *, pad: float = 0.15, minimum: float = 800.0
) -> tuple[float, float, float, float] | None:
    """Bounds of the subjects (projected metres), padded, at least ``minimum`` m wide and high."""
    if frame.empty:
        return None
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        return None
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    half_w = max((maxx - minx) * (0.5 + pad), minimum / 2)
    half_h = max((maxy - miny) * (0.5 + pad), minimum / 2)
    return (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
