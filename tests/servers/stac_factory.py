"""Small COGs and STAC item dicts in Earth Search v1 layout, built in the test."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer

EPSG = 32633


def write_cog(path: Path, data: np.ndarray, transform: Affine, epsg: int = EPSG) -> Path:
    """Write ``data`` (2-D uint16/uint8, 0 = nodata) as a tiled COG with overviews."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="COG",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs=f"EPSG:{epsg}",
        transform=transform,
        nodata=0,
        blocksize=128,
        overview_resampling="nearest",
        compress="deflate",
    ) as dst:
        dst.write(data, 1)
    return path


def wgs84_bbox(bounds: tuple[float, float, float, float], epsg: int = EPSG) -> list[float]:
    """(west, south, east, north) in degrees of projected ``bounds``."""
    to_wgs = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    west, south, east, north = to_wgs.transform_bounds(*bounds)
    return [west, south, east, north]


def es_item(
    item_id: str,
    *,
    when: datetime,
    assets: dict[str, tuple[str, Affine, tuple[int, int]]],
    tile: str = "33UXP",
    cloud: float = 10.0,
    baseline: str = "05.11",
    updated: str | None = None,
    collection: str = "sentinel-2-l2a",
    epsg: int = EPSG,
    api_root: str = "https://earth-search.aws.element84.com/v1",
) -> dict[str, Any]:
    """A Sentinel-2 L2A item dict laid out like Earth Search v1's.

    ``assets`` maps an asset key to (href, transform, (rows, cols)); the item footprint is the
    union of the assets' bounds.
    """
    bounds = _union_bounds(assets.values())
    west, south, east, north = wgs84_bbox(bounds, epsg)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        ],
        "id": item_id,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "bbox": [west, south, east, north],
        "properties": {
            "datetime": stamp,
            "created": updated or stamp,
            "updated": updated or stamp,
            "platform": "sentinel-2a",
            "eo:cloud_cover": cloud,
            "proj:epsg": epsg,
            "mgrs:utm_zone": int(tile[:2]),
            "mgrs:latitude_band": tile[2],
            "mgrs:grid_square": tile[3:],
            "grid:code": f"MGRS-{tile}",
            "s2:processing_baseline": baseline,
            "earthsearch:boa_offset_applied": True,
        },
        "links": [
            {"rel": "self", "href": f"{api_root}/collections/{collection}/items/{item_id}"},
            {"rel": "root", "href": api_root},
        ],
        "assets": {key: _asset(*spec) for key, spec in assets.items()},
        "collection": collection,
    }


def _asset(href: str, transform: Affine, shape: tuple[int, int]) -> dict[str, Any]:
    return {
        "href": href,
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "proj:shape": list(shape),
        "proj:transform": list(transform)[:6],
        "raster:bands": [{"nodata": 0, "data_type": "uint16", "scale": 0.0001, "offset": -0.1}],
        "roles": ["data"],
    }


def _union_bounds(
    specs: Any,
) -> tuple[float, float, float, float]:
    boxes = []
    for _, transform, (rows, cols) in specs:
        minx, maxy = transform.c, transform.f
        boxes.append((minx, maxy + transform.e * rows, minx + transform.a * cols, maxy))
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
