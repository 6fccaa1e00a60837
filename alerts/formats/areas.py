"""Geometry of a message: CAP polygons and the representative point of a work order.

Geometries are GeoJSON in WGS84 (lon, lat), as in :class:`alerts.model.Revision`. CAP writes
polygons as whitespace-separated ``lat,lon`` pairs, closed (first pair = last pair), at least four
pairs (OASIS CAP 1.2, section 3.2.4 ``polygon``); a vertex cap keeps bulletins small for the
receivers, the geometry being simplified (topology preserved) until it fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, shape

from core.errors import InvalidInputError

__all__ = ["MAX_VERTICES", "cap_polygons", "representative_point"]

MAX_VERTICES = 100
"""Default cap of vertices per CAP polygon (closing pair included)."""


def _geometry(geojson: Mapping[str, Any]) -> shapely.Geometry:
    try:
        geom = shape(geojson)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InvalidInputError(
            f"revision geometry is not a GeoJSON geometry ({err}); give e.g. "
            '{"type": "Polygon", "coordinates": [[[lon, lat], ...]]} in WGS84'
        ) from err
    if geom.is_empty:
        raise InvalidInputError("revision geometry is empty; give a WGS84 GeoJSON geometry or None")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInputError(
            f"revision geometry bounds {geom.bounds} are not longitude/latitude; "
            "reproject it to WGS84 (EPSG:4326) first"
        )
    return geom


def _ring_text(polygon: Polygon, max_vertices: int) -> str:
    tolerance = 0.0
    ring = polygon.exterior
    while len(ring.coords) > max_vertices:
        tolerance = tolerance * 2 if tolerance else 1e-6
        simplified = polygon.simplify(tolerance, preserve_topology=True)
        ring = simplified.exterior if isinstance(simplified, Polygon) else ring
        if tolerance > 1.0:  # a degree: give up simplifying, fall back to the hull
            ring = polygon.convex_hull.exterior
            break
    coords = list(ring.coords)
    if coords[0] != coords[-1]:
        coords.append(coords[0])
    if len(coords) < 4:
        raise InvalidInputError(f"polygon with {len(coords)} pairs; CAP needs at least 4")
    return " ".join(f"{lat:.6f},{lon:.6f}" for lon, lat in coords)


def cap_polygons(geometry: Mapping[str, Any] | None, max_vertices: int = MAX_VERTICES) -> list[str]:
    """CAP ``polygon`` strings of a WGS84 GeoJSON geometry (empty list for None or points).

    Polygons and multipolygons give one CAP polygon per part (exterior ring; CAP has no holes);
    lines give the polygon of their envelope (buffered where degenerate). ``max_vertices`` (>= 4)
    caps the pairs per polygon.
    """
    if geometry is None:
        return []
    if max_vertices < 4:
        raise InvalidInputError(
            f"max_vertices must be >= 4 (a closed triangle), got {max_vertices}"
        )
    geom = _geometry(geometry)
    if isinstance(geom, Polygon):
        parts = [geom]
    elif isinstance(geom, MultiPolygon):
        parts = list(geom.geoms)
    elif geom.geom_type == "Point":
        return []
    else:
        hull = geom.envelope
        parts = [hull if isinstance(hull, Polygon) else hull.buffer(1e-4, quad_segs=2)]
    return [_ring_text(p, max_vertices) for p in parts]


def representative_point(geometry: Mapping[str, Any]) -> tuple[float, float]:
    """A point inside (or on) the WGS84 geometry as ``(lat, lon)``: shapely's point on surface."""
    point = _geometry(geometry).point_on_surface()
    return float(point.y), float(point.x)
