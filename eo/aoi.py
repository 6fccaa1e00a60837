"""Area of interest: strict validation (never silently repaired) and the output grid it implies.

An AOI is GeoJSON (a Polygon/MultiPolygon geometry, a Feature or a FeatureCollection) in WGS84
longitude/latitude as RFC 7946 asks, or with a legacy ``crs`` member naming its CRS. It is refused,
with the reason and the fix, when it is not GeoJSON, has NaN or out-of-range coordinates (often a
projected file without its ``crs``), is self-intersecting, has too many vertices or is too large.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union
from shapely.validation import explain_validity

from core.errors import AOIError
from eo.grid import OutputGrid, snap_grid

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class AOI:
    """A validated area of interest: ``geometry`` in WGS84 and ``source`` naming where it came from."""

    geometry: BaseGeometry
    source: str

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees."""
        minx, miny, maxx, maxy = self.geometry.bounds
        return (float(minx), float(miny), float(maxx), float(maxy))

    def to_crs(self, crs: str) -> BaseGeometry:
        """The geometry in another CRS."""
        return reproject(self.geometry, WGS84, crs)


def _declared_crs(doc: dict[str, Any], source: str) -> str:
    name = (doc.get("crs") or {}).get("properties", {}).get("name")
    if not name:
        return WGS84
    try:
        crs = CRS.from_user_input(name)
    except Exception as err:
        raise AOIError(
            f"AOI {source}: unknown crs {name!r}; use WGS84 (omit 'crs') or an EPSG code"
        ) from err
    epsg = crs.to_epsg()
    return WGS84 if epsg in (4326, None) and crs.is_geographic else f"EPSG:{epsg}"


def _geometries(doc: dict[str, Any], source: str) -> list[object]:
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list) or not features:
            raise AOIError(f"AOI {source}: the FeatureCollection has no features; add one polygon")
        return [f.get("geometry") if isinstance(f, dict) else None for f in features]
    if kind == "Feature":
        return [doc.get("geometry")]
    if kind in {"Polygon", "MultiPolygon"}:
        return [doc]
    raise AOIError(
        f"AOI {source}: GeoJSON type {kind!r} is not an area; give a Polygon, MultiPolygon, "
        "Feature or FeatureCollection"
    )


def _to_shape(geom: object, source: str) -> BaseGeometry:
    if not isinstance(geom, dict) or geom.get("type") not in {"Polygon", "MultiPolygon"}:
        kind = geom.get("type") if isinstance(geom, dict) else geom
        raise AOIError(f"AOI {source}: geometry type {kind!r} is not a Polygon or MultiPolygon")
    if not _all_finite(geom.get("coordinates")):
        raise AOIError(
            f"AOI {source}: coordinates contain NaN, infinity or non-numbers; fix the file"
        )
    try:
        return shape(geom)
    except Exception as err:
        raise AOIError(
            f"AOI {source}: malformed coordinates ({err}); check the polygon rings"
        ) from err


def _all_finite(coords: object) -> bool:
    if isinstance(coords, list):
        return bool(coords) and all(_all_finite(c) for c in coords)
    return (
        isinstance(coords, (int, float)) and not isinstance(coords, bool) and math.isfinite(coords)
    )


def parse_aoi(doc: object, *, source: str, max_area_km2: float, max_vertices: int) -> AOI:
    """Validate a parsed GeoJSON document and return it as an :class:`AOI` in WGS84."""
    if not isinstance(doc, dict):
        raise AOIError(f"AOI {source}: not a GeoJSON object (got {type(doc).__name__})")
    crs = _declared_crs(doc, source)
    geometry = unary_union([_to_shape(g, source) for g in _geometries(doc, source)])
    n_vertices = len(shapely.get_coordinates(geometry))
    if n_vertices > max_vertices:
        raise AOIError(
            f"AOI {source}: {n_vertices} vertices exceed the cap of {max_vertices}; simplify it"
        )
    if crs != WGS84:
        geometry = reproject(geometry, crs, WGS84)
    west, south, east, north = geometry.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise AOIError(
            f"AOI {source}: coordinates ({west:.6g}, {south:.6g}, {east:.6g}, {north:.6g}) are not "
            "longitude/latitude; GeoJSON must be WGS84 (RFC 7946) or declare its projected CRS in 'crs'"
        )
    if not geometry.is_valid:
        raise AOIError(
            f"AOI {source}: invalid polygon ({explain_validity(geometry)}); it is not repaired "
            "automatically: fix the self-intersection or ring order in the file"
        )
    area = _area_km2(geometry)
    if area > max_area_km2:
        raise AOIError(
            f"AOI {source}: area {area:,.0f} km2 exceeds the cap of {max_area_km2:,.0f} km2; "
            "use a smaller AOI or raise aoi.max_area in the profile"
        )
    if area <= 0:
        raise AOIError(f"AOI {source}: the polygon has no area")
    return AOI(geometry=geometry, source=source)


def _area_km2(geometry: BaseGeometry) -> float:
    lon, lat = geometry.centroid.x, geometry.centroid.y
    laea = f"+proj=laea +lat_0={lat} +lon_0={lon} +units=m"
    return float(reproject(geometry, WGS84, laea).area) / 1e6


def reproject(geometry: BaseGeometry, src: str, dst: str) -> BaseGeometry:
    """The geometry with its coordinates transformed from ``src`` to ``dst`` (x/y = lon/lat order)."""
    transformer = Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(
        geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def load_aoi(path: str | Path, *, max_area_km2: float = 2000.0, max_vertices: int = 20000) -> AOI:
    """Read and validate an AOI GeoJSON file."""
    path = Path(path)
    if path.is_dir():
        raise AOIError(f"--aoi: {path}: is a folder, not a file; give the AOI's GeoJSON file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise AOIError(f"AOI {path}: file not found; check the profile's aoi.path") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AOIError(f"AOI {path}: not valid GeoJSON ({err})") from err
    except OSError as err:
        raise AOIError(
            f"AOI {path}: cannot be read ({err.strerror}); check its permissions"
        ) from err
    return parse_aoi(doc, source=str(path), max_area_km2=max_area_km2, max_vertices=max_vertices)


def grid_for_aoi(aoi: AOI, crs: str, resolution: float) -> OutputGrid:
    """The output grid covering the AOI, snapped to the Sentinel-2 pixel phase."""
    minx, miny, maxx, maxy = aoi.to_crs(crs).bounds
    return snap_grid(crs, resolution, (float(minx), float(miny), float(maxx), float(maxy)))
