"""Vector layers (parks, districts, corridors) from any OGR source, with declared id and name fields.

A layer is read once, checked strictly (no silent repair: invalid geometries, a missing id field or
duplicate ids are refused with the fix) and returned in the output grid's CRS.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.validation import explain_validity

from core.errors import InvalidInputError


def read_layer(
    source: str, *, id_field: str, name_field: str | None, crs: str, layer: str
) -> gpd.GeoDataFrame:
    """Read ``source`` (a file path or an OGR URL such as a WFS GetFeature) as a checked layer.

    Returns a GeoDataFrame in ``crs`` with columns ``id`` (str), ``name`` (str) and ``geometry``,
    plus every original column.
    """
    if "://" not in source and not Path(source).exists():
        raise InvalidInputError(
            f"layer {layer!r}: {source} does not exist; fix layers.{layer}.path in the profile "
            "(for the demo city, run `geospace demo` first)"
        )
    try:
        frame = gpd.read_file(source)
    except Exception as err:
        raise InvalidInputError(f"layer {layer!r}: cannot read {source} ({err})") from err
    return _checked(frame, id_field=id_field, name_field=name_field, crs=crs, layer=layer)


def check_geometries(frame: gpd.GeoDataFrame, *, where: str) -> gpd.GeoDataFrame:
    """A layer has features with geometries and a CRS its coordinates fit (exit 2 naming
    ``where``, the profile field): a table (CSV) or projected coordinates in a file without a
    CRS (GeoJSON without a 'crs' member reads as WGS84) are refused with the fix, never guessed.
    """
    if frame.empty:
        raise InvalidInputError(f"{where}: the layer has no features; check its source")
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise InvalidInputError(
            f"{where}: has no geometries (a table, e.g. CSV, is not a layer); "
            "give a vector source such as GeoJSON or GeoPackage"
        )
    if frame.crs is None:
        raise InvalidInputError(
            f"{where}: the layer declares no CRS; write it with one (e.g. GeoJSON in WGS84)"
        )
    if frame.crs.is_geographic:
        minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
        if (
            min(minx, maxx) < -180
            or max(minx, maxx) > 180
            or min(miny, maxy) < -90
            or max(miny, maxy) > 90
        ):
            raise InvalidInputError(
                f"{where}: coordinates up to ({maxx:.0f}, {maxy:.0f}) are not "
                f"longitude/latitude, but the layer declares {frame.crs.to_string()} (GeoJSON "
                "without a 'crs' member is WGS84); declare its projected CRS (a 'crs' member, "
                "e.g. urn:ogc:def:crs:EPSG::31256) or reproject it to WGS84"
            )
    return frame


def _checked(
    frame: gpd.GeoDataFrame, *, id_field: str, name_field: str | None, crs: str, layer: str
) -> gpd.GeoDataFrame:
    check_geometries(frame, where=f"layers.{layer}.path")  # features, geometries and a CRS
    if id_field not in frame.columns:
        raise InvalidInputError(
            f"layer {layer!r} has no id field {id_field!r} (fields: {', '.join(map(str, frame.columns))}); "
            f"set layers.{layer}.id_field in the profile"
        )
    if name_field is not None and name_field not in frame.columns:
        raise InvalidInputError(
            f"layer {layer!r} has no name field {name_field!r}; fix layers.{layer}.name_field"
        )
    ids = frame[id_field].astype(str)
    if ids.isna().any() or ids.duplicated().any():
        dupes = sorted(set(ids[ids.duplicated()]))[:5]
        raise InvalidInputError(
            f"layer {layer!r}: id field {id_field!r} has empty or duplicate values {dupes}"
        )
    bad = [
        (i, explain_validity(g))
        for i, g in zip(ids, frame.geometry, strict=True)
        if g is None or not g.is_valid
    ]
    if bad:
        listed = "; ".join(f"{i}: {why}" for i, why in bad[:5])
        raise InvalidInputError(
            f"layer {layer!r}: {len(bad)} invalid geometries ({listed}); they are not repaired "
            "automatically: fix them in the source (e.g. QGIS 'Fix geometries')"
        )
    out = frame.to_crs(crs)
    out["id"] = ids.to_numpy()
    out["name"] = (frame[name_field].astype(str) if name_field else ids).to_numpy()
    first = ["id", "name"]
    return out[first + [c for c in out.columns if c not in first]]


def read_table(source: str, *, id_field: str, layer: str) -> pd.DataFrame:
    """Read a CSV table keyed by ``id_field`` (e.g. population by district)."""
    path = Path(source)
    if not path.exists():
        raise InvalidInputError(
            f"table {layer!r}: {source} does not exist; fix layers.{layer}.path"
        )
    table = pd.read_csv(path)
    if id_field not in table.columns:
        raise InvalidInputError(
            f"table {layer!r} has no id field {id_field!r}; fix layers.{layer}.id_field"
        )
    return table
