"""Vienna's geography for the demo city, from public facts.

:func:`vienna_geography` returns a :class:`Geography` of GeoDataFrames in EPSG:32633 (metres).
Every layer is synthetic (approximations of public facts, see the demo NOTICE) and labelled so.
The facts themselves are small tables in :mod:`eo.demo.vienna_facts`; this module only draws them:
districts are a Voronoi tessellation of seed points clipped to an approximate city outline, parks
are rectangles of the stated area, rivers are buffered centre lines, U-Bahn lines join their stations.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import Transformer
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from eo.demo import vienna_facts as facts

DEMO_CRS = "EPSG:32633"
SMALL_HALF_SIDE_M = 2_500.0


@dataclass(frozen=True)
class Geography:
    """The demo city's vector layers, all in EPSG:32633.

    Attributes
    ----------
    boundary : one polygon, the city limits (or the --small extent clipped to them)
    districts : columns district_id (int 1..23), name, geometry (polygons)
    parks : columns park_id (slug), name, district_id, kind ("park" | "forest" | "garden"), geometry
    corridors : U-Bahn lines: corridor_id ("U1".."U6"), name, kind ("metro"), geometry (lines)
    stations : station_id (slug), name, lines (comma-separated), geometry (points)
    water : kind ("river" | "canal" | "lake" | "island"), name, geometry (polygons; the Donauinsel
        is kind "island", land between water)
    forest : name, geometry (Wienerwald edge and other forest polygons)
    """

    boundary: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    parks: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    water: gpd.GeoDataFrame
    forest: gpd.GeoDataFrame


def vienna_geography(*, small: bool = False) -> Geography:
    """Vienna's synthetic geography in EPSG:32633.

    Parameters
    ----------
    small : bool
        Clip every layer to a 5 x 5 km square centred on Stephansplatz (the ``--small`` demo); the
        boundary becomes that square clipped to the city, districts that intersect it are kept.

    Returns
    -------
    Geography
        Deterministic: the same call always returns the same layers.
    """
    boundary = _to_polygon(facts.CITY_OUTLINE)
    districts = _districts(boundary)
    water = _water(boundary)
    wet = shapely.union_all(list(water.loc[water["kind"] != "island", "geometry"]))
    parks = _parks(boundary, districts, wet)
    forest = _forest(boundary, wet)
    corridors, stations = _metro()
    geo = Geography(
        boundary=_frame({"name": ["Wien"]}, [boundary]),
        districts=districts,
        parks=parks,
        corridors=corridors,
        stations=stations,
        water=water,
        forest=forest,
    )
    return clip_geography(geo, small_extent()) if small else geo


def small_extent() -> Polygon:
    """The ``--small`` square: 5 x 5 km centred on Stephansplatz, in EPSG:32633 metres."""
    x, y = _project([facts.STEPHANSPLATZ])[0]
    h = SMALL_HALF_SIDE_M
    return box(x - h, y - h, x + h, y + h)


def clip_geography(geo: Geography, extent: Polygon) -> Geography:
    """Every layer of ``geo`` clipped to ``extent``; empty features are dropped."""
    boundary = shapely.intersection(geo.boundary.geometry.iloc[0], extent)
    return Geography(
        boundary=_frame({"name": list(geo.boundary["name"])}, [boundary]),
        districts=_clip(geo.districts, boundary, "polygon"),
        parks=_clip(geo.parks, boundary, "polygon"),
        corridors=_clip(geo.corridors, boundary, "line"),
        stations=_clip(geo.stations, boundary, "point"),
        water=_clip(geo.water, boundary, "polygon"),
        forest=_clip(geo.forest, boundary, "polygon"),
    )


def district_population() -> pd.DataFrame:
    """Approximate population by district on 1 January 2022 (rounded public figures).

    Returns
    -------
    pandas.DataFrame
        Columns ``district_id`` (1..23), ``name``, ``total``, ``age_65_plus``, ``under_5``
        (persons) and ``area_km2`` (km2), one row per district in district order.
    """
    by_id = {d.district_id: d for d in facts.DISTRICTS}
    rows = [
        {
            "district_id": district_id,
            "name": by_id[district_id].name,
            "total": total,
            "age_65_plus": old,
            "under_5": young,
            "area_km2": by_id[district_id].area_km2,
        }
        for district_id, total, old, young in facts.POPULATION_2022
    ]
    return pd.DataFrame(rows)


def slug(name: str) -> str:
    """ASCII slug of a name: ``"Türkenschanzpark"`` -> ``"tuerkenschanzpark"``."""
    text = name.lower()
    for umlaut, ascii_ in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, ascii_)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _project(lonlats: Sequence[facts.LonLat]) -> list[tuple[float, float]]:
    """WGS84 (lon, lat) degrees -> EPSG:32633 (x, y) metres."""
    transformer = Transformer.from_crs("EPSG:4326", DEMO_CRS, always_xy=True)
    xs, ys = transformer.transform([p[0] for p in lonlats], [p[1] for p in lonlats])
    return list(zip(map(float, xs), map(float, ys), strict=True))


def _to_polygon(lonlats: Sequence[facts.LonLat]) -> Polygon:
    return shapely.make_valid(Polygon(_project(lonlats)))


def _to_line(lonlats: Sequence[facts.LonLat]) -> LineString:
    return LineString(_project(lonlats))


def _frame(
    columns: Mapping[str, Sequence[object]], geometry: Sequence[BaseGeometry]
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geometry), crs=DEMO_CRS)


def _districts(boundary: Polygon) -> gpd.GeoDataFrame:
    """Union of the Voronoi cells of each district's seeds, clipped to its bank of the Danube."""
    left, right = _banks(boundary)
    by_district: dict[int, BaseGeometry] = {}
    on_left = [d for d in facts.DISTRICTS if d.district_id in facts.LEFT_BANK_DISTRICTS]
    on_right = [d for d in facts.DISTRICTS if d.district_id not in facts.LEFT_BANK_DISTRICTS]
    by_district.update(_voronoi_districts(on_left, left))
    by_district.update(_voronoi_districts(on_right, right))
    return _frame(
        {
            "district_id": [d.district_id for d in facts.DISTRICTS],
            "name": [d.name for d in facts.DISTRICTS],
        },
        [by_district[d.district_id] for d in facts.DISTRICTS],
    )


def _voronoi_districts(
    districts: Sequence[facts.DistrictFact], area: BaseGeometry
) -> dict[int, BaseGeometry]:
    """District id -> union of the Voronoi cells of its seeds, clipped to ``area``."""
    owners = [d.district_id for d in districts for _ in d.seeds]
    seeds = [Point(xy) for d in districts for xy in _project(d.seeds)]
    frame = box(*area.buffer(5_000).bounds)
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=frame, ordered=True)
    by_district: dict[int, list[BaseGeometry]] = {}
    for owner, cell in zip(owners, shapely.get_parts(cells), strict=True):
        by_district.setdefault(owner, []).append(cell)
    return {
        owner: _polygonal(shapely.intersection(shapely.union_all(parts), area))
        for owner, parts in by_district.items()
    }


def _banks(boundary: Polygon) -> tuple[BaseGeometry, BaseGeometry]:
    """The city left (north-east) and right (south-west) of the Danube's centre line."""
    river = _to_line(facts.DANUBE_COURSE)
    coords = list(river.coords)
    extended = LineString([_beyond(coords[1], coords[0]), *coords, _beyond(coords[-2], coords[-1])])
    pieces = shapely.get_parts(shapely.ops.split(boundary, extended))
    left = [p for p in pieces if _is_left_of(river, p.representative_point())]
    right = [p for p in pieces if not _is_left_of(river, p.representative_point())]
    return shapely.union_all(left), shapely.union_all(right)


def _beyond(
    a: tuple[float, ...], b: tuple[float, ...], distance: float = 10_000.0
) -> tuple[float, float]:
    """The point ``distance`` metres past ``b`` on the line from ``a`` through ``b``."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    return (b[0] + (b[0] - a[0]) / length * distance, b[1] + (b[1] - a[1]) / length * distance)


def _is_left_of(line: LineString, point: Point) -> bool:
    """Whether ``point`` lies left of ``line`` (looking along it) at the line's nearest place."""
    at = line.project(point)
    a = line.interpolate(max(at - 1.0, 0.0))
    b = line.interpolate(min(at + 1.0, line.length))
    return (b.x - a.x) * (point.y - a.y) - (b.y - a.y) * (point.x - a.x) > 0


def _band(course: Sequence[facts.LonLat], width_m: float) -> BaseGeometry:
    return _to_line(course).buffer(width_m / 2.0, cap_style="flat")


def _water(boundary: Polygon) -> gpd.GeoDataFrame:
    """Danube, Neue Donau, Donauinsel, Donaukanal and Alte Donau as polygons."""
    danube = _to_line(facts.DANUBE_COURSE)
    island_offset = facts.DANUBE_WIDTH_M / 2.0 + facts.DONAUINSEL_WIDTH_M / 2.0
    neue_offset = island_offset + (facts.DONAUINSEL_WIDTH_M + facts.NEUE_DONAU_WIDTH_M) / 2.0
    stretch = shapely.ops.substring(danube, 0.0, facts.DONAUINSEL_LENGTH_M)
    island = stretch.offset_curve(island_offset).buffer(
        facts.DONAUINSEL_WIDTH_M / 2.0, cap_style="flat"
    )
    neue = stretch.offset_curve(neue_offset).buffer(
        facts.NEUE_DONAU_WIDTH_M / 2.0, cap_style="flat"
    )
    river = danube.buffer(facts.DANUBE_WIDTH_M / 2.0, cap_style="flat")
    canal = _band(facts.DONAUKANAL_COURSE, facts.DONAUKANAL_WIDTH_M).difference(river)
    lake = _band(facts.ALTE_DONAU_COURSE, facts.ALTE_DONAU_WIDTH_M)
    island = island.difference(river).difference(neue)
    rows = [
        ("river", "Donau", river),
        ("river", "Neue Donau", neue),
        ("island", "Donauinsel", island),
        ("canal", "Donaukanal", canal),
        ("lake", "Alte Donau", lake.difference(neue)),
    ]
    geometry = [_polygonal(shapely.intersection(g, boundary)) for _, _, g in rows]
    return _frame({"kind": [r[0] for r in rows], "name": [r[1] for r in rows]}, geometry)


def _rectangle(
    centre: tuple[float, float], area_m2: float, elongation: float, bearing: float
) -> Polygon:
    """Rectangle of ``area_m2`` whose long axis points ``bearing`` degrees clockwise from north."""
    width = math.sqrt(area_m2 / elongation)
    length = width * elongation
    angle = math.radians(bearing)
    ux, uy = math.sin(angle), math.cos(angle)  # along the long axis
    vx, vy = uy, -ux  # across it
    cx, cy = centre
    corners = [
        (
            cx + a * ux * length / 2 + b * vx * width / 2,
            cy + a * uy * length / 2 + b * vy * width / 2,
        )
        for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))
    ]
    return Polygon(corners)


def _parks(boundary: Polygon, districts: gpd.GeoDataFrame, wet: BaseGeometry) -> gpd.GeoDataFrame:
    """Named parks as rectangles of their stated area (forests as their outlines), minus water."""
    shapes = []
    for park in facts.PARKS:
        if park.name in facts.FORESTS:
            shape = _to_polygon(facts.FORESTS[park.name])
        else:
            centre = _project([park.centre])[0]
            shape = _rectangle(centre, park.area_ha * 1e4, park.elongation, park.bearing_deg)
        shapes.append(_polygonal(shapely.intersection(shape, boundary).difference(wet)))
    parks = _frame(
        {
            "park_id": [slug(p.name) for p in facts.PARKS],
            "name": [p.name for p in facts.PARKS],
            "kind": [p.kind for p in facts.PARKS],
        },
        shapes,
    )
    parks.insert(2, "district_id", _district_of(parks, districts))
    return parks


def _district_of(features: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> list[int]:
    """Demo district holding each feature's representative point."""
    points = features.geometry.representative_point()
    ids = []
    for point in points:
        hits = districts.loc[districts.contains(point), "district_id"]
        ids.append(int(hits.iloc[0]) if len(hits) else 0)
    return ids


def _forest(boundary: Polygon, wet: BaseGeometry) -> gpd.GeoDataFrame:
    names = list(facts.FORESTS)
    geometry = [
        _polygonal(shapely.intersection(_to_polygon(facts.FORESTS[n]), boundary).difference(wet))
        for n in names
    ]
    return _frame({"name": names}, geometry)


def _metro() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """U-Bahn lines of 2017 through their stations, and the stations with the lines serving them."""
    lines = facts.UBAHN_LINES_2017
    corridors = _frame(
        {
            "corridor_id": list(lines),
            "name": [f"U-Bahn {line}" for line in lines],
            "kind": ["metro"] * len(lines),
        },
        [_to_line([facts.STATIONS[s] for s in stations]) for stations in lines.values()],
    )
    names = list(dict.fromkeys(s for stations in lines.values() for s in stations))
    serving = [",".join(line for line, stations in lines.items() if n in stations) for n in names]
    stations = _frame(
        {"station_id": [slug(n) for n in names], "name": names, "lines": serving},
        [Point(xy) for xy in _project([facts.STATIONS[n] for n in names])],
    )
    return corridors, stations


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Only the polygon parts of a geometry (clipping can leave slivers of lines or points)."""
    parts = [p for p in shapely.get_parts(geometry) if isinstance(p, Polygon) and p.area > 1.0]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _lineal(geometry: BaseGeometry) -> BaseGeometry:
    parts = [
        p for p in shapely.get_parts(shapely.line_merge(geometry)) if isinstance(p, LineString)
    ]
    if not parts:
        return LineString()
    return parts[0] if len(parts) == 1 else shapely.MultiLineString(parts)


def _clip(frame: gpd.GeoDataFrame, extent: BaseGeometry, kind: str) -> gpd.GeoDataFrame:
    """Features of ``frame`` clipped to ``extent``, without empty results."""
    clipped = frame.copy()
    pieces = shapely.intersection(np.asarray(frame.geometry.values), extent)
    if kind == "polygon":
        pieces = [_polygonal(g) for g in pieces]
    elif kind == "line":
        pieces = [_lineal(g) for g in pieces]
    clipped["geometry"] = gpd.GeoSeries(list(pieces), index=frame.index, crs=DEMO_CRS)
    return clipped.loc[~clipped.geometry.is_empty].reset_index(drop=True)
