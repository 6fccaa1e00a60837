"""The irrigation priority as GeoJSON (RFC 7946, WGS84) and as a printable CSV (English or German).

Both are rendered to bytes here; :mod:`alerts.products` writes them atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.polygon import orient

from alerts.products.labels import HEADERS, check_language, priority_label
from indices.park_table import Col

_COORD_DECIMALS = 7  # about 1 cm in WGS84 degrees


def json_safe(value: object) -> Any:
    """Plain JSON value of a pandas/numpy scalar: NaN/NA -> None, numpy -> Python, dates -> ISO."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, str | int | bool):
        return value
    return str(value)


def _round_coords(coords: Any) -> Any:
    """Round nested coordinate sequences to 7 decimals."""
    if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
        return [round(float(c), _COORD_DECIMALS) for c in coords]
    return [_round_coords(c) for c in coords]


def _ccw(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """RFC 7946 winding: exterior rings counter-clockwise, holes clockwise."""
    if isinstance(geom, Polygon):
        return orient(geom, 1.0)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([orient(p, 1.0) for p in geom.geoms])
    return geom


def ranked_order(parks: pd.DataFrame) -> pd.DataFrame:
    """Ranked parks first (rank 1 first), then unranked ones (DATA_GAP) by name."""
    key = parks[Col.NAME] if Col.NAME in parks.columns else parks[Col.PARK_ID]
    order = pd.DataFrame({"rank": parks["rank"].astype("Float64"), "name": key.astype(str)})
    return parks.loc[order.sort_values(["rank", "name"], na_position="last").index]


def geojson_bytes(
    parks: gpd.GeoDataFrame, *, attribution: str, extra: Mapping[str, object]
) -> bytes:
    """FeatureCollection of every park in WGS84 (RFC 7946: lon/lat, CCW exterior rings).

    Parameters
    ----------
    parks : geopandas.GeoDataFrame
        Parks with the priority columns, any CRS.
    attribution : str
        Copernicus attribution, a top-level member.
    extra : mapping
        Further top-level members (rule version, period).
    """
    wgs84 = ranked_order(parks).to_crs(4326)
    geometry = [_ccw(g) for g in wgs84.geometry.values]
    features = []
    for geom, (_, row) in zip(
        geometry, wgs84.drop(columns=wgs84.geometry.name).iterrows(), strict=True
    ):
        props = {str(k): json_safe(v) for k, v in row.items()}
        props["priority"] = priority_label(props.get("priority_class"), "en")
        shape = mapping(geom) if geom is not None else None
        if shape is not None:
            shape = {"type": shape["type"], "coordinates": _round_coords(shape["coordinates"])}
        features.append({"type": "Feature", "geometry": shape, "properties": props})
    doc = {
        "type": "FeatureCollection",
        "name": "irrigation_priority",
        "attribution": attribution,
        **{k: json_safe(v) for k, v in extra.items()},
        "features": features,
    }
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=1).encode("utf-8")


def _column(parks: pd.DataFrame, name: str) -> pd.Series:
    """A column as numbers, NaN when absent."""
    if name in parks.columns:
        return pd.to_numeric(parks[name], errors="coerce")
    return pd.Series(np.nan, index=parks.index)


def priority_table(parks: pd.DataFrame, language: str) -> pd.DataFrame:
    """The printable ranked table with headers in ``language`` (``"en"`` or ``"de"``)."""
    check_language(language)
    parks = ranked_order(parks)
    names = parks[Col.NAME] if Col.NAME in parks.columns else parks[Col.PARK_ID]
    last = parks[Col.LAST_CLEAR_DATE] if Col.LAST_CLEAR_DATE in parks.columns else None
    table = pd.DataFrame(
        {
            "rank": parks["rank"].astype("Int64"),
            "name": names.astype(str),
            "park_id": parks[Col.PARK_ID].astype(str),
            "priority": [
                priority_label(c, language) for c in parks["priority_class"].astype(object)
            ],
            "why": parks["why"].astype(str),
            "status": parks[Col.STATUS].astype(str),
            "score": _column(parks, "score").round(2),
            "ndmi_anomaly": _column(parks, Col.NDMI_ANOMALY).round(3),
            "ndvi_anomaly": _column(parks, Col.NDVI_ANOMALY).round(3),
            "evi_anomaly": _column(parks, Col.EVI_ANOMALY).round(3),
            "stressed_pct": (_column(parks, Col.STRESSED_SHARE) * 100).round(0),
            "clear_pct": (_column(parks, Col.CLEAR_FRACTION) * 100).round(0),
            "last_clear_date": [json_safe(v) or "" for v in last] if last is not None else "",
            "heat_exposure": _column(parks, Col.HEAT_EXPOSURE).round(2),
        }
    )
    return table.rename(columns=HEADERS[language])


def csv_bytes(parks: pd.DataFrame, *, language: str, attribution: str) -> bytes:
    """CSV of :func:`priority_table`, first line ``# <attribution>``, UTF-8 with BOM for spreadsheets.

    English uses ``,`` and a decimal point; German uses ``;`` and a decimal comma (what German
    spreadsheet programs expect). Read back with ``pd.read_csv(path, skiprows=1)`` (plus
    ``sep=";", decimal=","`` for German).
    """
    table = priority_table(parks, language)
    sep, decimal = (",", ".") if language == "en" else (";", ",")
    body = table.to_csv(index=False, sep=sep, decimal=decimal, lineterminator="\n")
    return ("\ufeff# " + attribution + "\n" + body).encode("utf-8")
