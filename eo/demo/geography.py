"""Vienna's geography for the demo city, from public facts (contract; filled in by the demo builder).

:func:`vienna_geography` returns a :class:`Geography` of GeoDataFrames in EPSG:32633 (metres).
Every layer is synthetic (approximations of public facts, see the demo NOTICE) and labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

DEMO_CRS = "EPSG:32633"


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
