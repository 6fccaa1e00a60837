"""STAC JSON of the demo catalogue, in Earth Search v1's legacy ``sentinel-2-l2a`` layout.

Plain dicts written with :mod:`json` (pystac would rewrite ``proj:epsg`` to ``proj:code``, which
stackstac 0.5.1 does not read: DESIGN section 3). Hrefs are relative, so the catalogue can be
moved: ``stac/catalog.json -> sentinel-2-l2a/collection.json -> <id>/<id>.json``, assets at
``../../../cogs/sentinel-2-l2a/<id>/<band>.tif``. Every document says it is synthetic.

``raster:bands`` follow the real items: scale 0.0001 and offset -0.1 for baseline >= 04.00 (the
loader ignores them, DESIGN section 3), offset 0 before.

References
----------
Earth Search v1 item layout: recorded item ``S2A_13TDE_20231008_0_L2A`` (pystac-client test
cassettes). Solar position: Michalsky, J.J. (1988), The Astronomical Almanac's algorithm for
approximate solar position, Solar Energy 40(3), 227-235 (simplified here: declination and hour
angle only, about 1 degree accuracy).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
from pyproj import Transformer

from eo.demo.s2_plan import ItemPlan, Window
from eo.grid import OutputGrid

SYNTHETIC_NOTE = "synthetic, imitating Copernicus Sentinel-2 L2A; no real Sentinel data"
STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/processing/v1.1.0/schema.json",
    "https://stac-extensions.github.io/grid/v1.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/view/v1.0.0/schema.json",
    "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
    "https://stac-extensions.github.io/mgrs/v1.0.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
]
# asset key -> (file band, title, centre wavelength um, FWHM um, gsd m)
ASSETS: dict[str, tuple[str, str, float, float, int]] = {
    "blue": ("B02", "Blue (band 2) - 10m", 0.49, 0.098, 10),
    "red": ("B04", "Red (band 4) - 10m", 0.665, 0.038, 10),
    "nir": ("B08", "NIR 1 (band 8) - 10m", 0.842, 0.145, 10),
    "nir08": ("B8A", "NIR 2 (band 8A) - 20m", 0.865, 0.033, 20),
    "swir16": ("B11", "SWIR 1 (band 11) - 20m", 1.61, 0.143, 20),
}
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
VIENNA_LAT, VIENNA_LON = 48.21, 16.37


def _iso(t: datetime, frac: str = ".000Z") -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac


def window_bounds(grid: OutputGrid, w: Window) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) in metres of a window of the 10 m grid."""
    minx, _, _, maxy = grid.bounds
    res = grid.resolution
    x0, y1 = minx + w.col_off * res, maxy - w.row_off * res
    return (x0, y1 - w.rows * res, x0 + w.cols * res, y1)


def footprint(grid: OutputGrid, w: Window) -> tuple[list[float], dict[str, Any]]:
    """WGS84 bbox and polygon of an item's footprint (the tile clipped to the demo extent)."""
    x0, y0, x1, y1 = window_bounds(grid, w)
    to_wgs = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    xs, ys = to_wgs.transform([x0, x0, x1, x1, x0], [y1, y0, y0, y1, y1])
    ring = [[round(x, 9), round(y, 9)] for x, y in zip(xs, ys, strict=True)]
    bbox = [min(xs), min(ys), max(xs), max(ys)]
    return [round(v, 9) for v in bbox], {"type": "Polygon", "coordinates": [ring]}


def sun_position(t: datetime) -> tuple[float, float]:
    """Approximate solar (azimuth, elevation) in degrees over Vienna at UTC time ``t``."""
    doy = t.timetuple().tm_yday
    decl = math.radians(23.44) * math.sin(2 * math.pi * (doy - 81) / 365.0)
    solar_hours = t.hour + t.minute / 60 + VIENNA_LON / 15.0
    hour_angle = math.radians((solar_hours - 12.0) * 15.0)
    lat = math.radians(VIENNA_LAT)
    sin_el = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(hour_angle)
    el = math.asin(sin_el)
    cos_az = (math.sin(decl) - sin_el * math.sin(lat)) / (math.cos(el) * math.cos(lat))
    az = math.degrees(math.acos(max(-1.0, min(1.0, cos_az))))
    return (az if hour_angle < 0 else 360.0 - az), math.degrees(el)


def scl_percentages(scl: np.ndarray) -> dict[str, float]:
    """The ``s2:*_percentage`` properties and ``eo:cloud_cover`` from an item's SCL (%)."""
    valid = scl[scl > 0]
    n = max(valid.size, 1)

    def pct(*classes: int) -> float:
        return round(100.0 * float(np.isin(valid, classes).sum()) / n, 6)

    return {
        "eo:cloud_cover": pct(8, 9, 10),
        "s2:degraded_msi_data_percentage": 0,
        "s2:nodata_pixel_percentage": round(100.0 * float((scl == 0).sum()) / scl.size, 6),
        "s2:saturated_defective_pixel_percentage": pct(1),
        "s2:dark_features_percentage": pct(2),
        "s2:cloud_shadow_percentage": pct(3),
        "s2:vegetation_percentage": pct(4),
        "s2:not_vegetated_percentage": pct(5),
        "s2:water_percentage": pct(6),
        "s2:unclassified_percentage": pct(7),
        "s2:medium_proba_clouds_percentage": pct(8),
        "s2:high_proba_clouds_percentage": pct(9),
        "s2:thin_cirrus_percentage": pct(10),
        "s2:snow_ice_percentage": pct(11),
    }


def _s2_ids(item: ItemPlan) -> dict[str, str]:
    """Product, datatake, datastrip and granule ids in the ESA naming scheme."""
    sense, gen = item.sensing_time, item.created
    unit = item.platform[-1].upper()
    base = item.baseline.replace(".", "")
    orbit = (33000 if unit == "A" else 21000) + int((item.day.toordinal() - 737060) * 14.3)
    s_t, g_t = sense.strftime("%Y%m%dT%H%M%S"), gen.strftime("%Y%m%dT%H%M%S")
    return {
        "s2:product_uri": f"S2{unit}_MSIL2A_{s_t}_N{base}_R079_T{item.tile.name}_{g_t}.SAFE",
        "s2:datatake_id": f"GS2{unit}_{s_t}_{orbit:06d}_N{item.baseline}",
        "s2:datastrip_id": f"S2{unit}_OPER_MSI_L2A_DS_2APS_{g_t}_S{s_t}_N{item.baseline}",
        "s2:granule_id": f"S2{unit}_OPER_MSI_L2A_TL_2APS_{g_t}_A{orbit:06d}_T{item.tile.name}_N{item.baseline}",
    }


def _properties(item: ItemPlan, scl: np.ndarray) -> dict[str, Any]:
    tile = item.tile.name
    sun_az, sun_el = sun_position(item.sensing_time)
    doy = item.day.timetuple().tm_yday
    rcf = 1.0 / (1.0 - 0.01673 * math.cos(0.0172 * (doy - 4))) ** 2
    path = f"{tile[:2]}/{tile[2]}/{tile[3:]}/{item.day.year}/{item.day.month}/{item.item_id}"
    return {
        "created": _iso(item.created),
        "platform": item.platform,
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "proj:epsg": 32633,
        "mgrs:utm_zone": int(tile[:2]),
        "mgrs:latitude_band": tile[2],
        "mgrs:grid_square": tile[3:],
        "grid:code": f"MGRS-{tile}",
        "view:sun_azimuth": round(sun_az, 6),
        "view:sun_elevation": round(sun_el, 6),
        **scl_percentages(scl),
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": item.baseline,
        **_s2_ids(item),
        "s2:generation_time": _iso(item.created, ".000000Z"),
        "s2:datatake_type": "INS-NOBS",
        "s2:reflectance_conversion_factor": round(rcf, 12),
        "datetime": _iso(item.sensing_time, ".024000Z"),
        "s2:sequence": str(item.sequence),
        "earthsearch:s3_path": f"s3://geospace-demo/synthetic/{path}",
        "earthsearch:payload_id": f"geospace-demo/synthetic/{item.item_id}",
        "earthsearch:boa_offset_applied": item.boa_offset_applied,
        "processing:software": {"geospace-demo": "0.1.0"},
        "updated": _iso(item.created),
        "geospace:synthetic": True,
        "geospace:note": SYNTHETIC_NOTE,
    }


def _asset(key: str, item: ItemPlan, grid: OutputGrid, href: str) -> dict[str, Any]:
    x0, _, _, y1 = window_bounds(grid, item.window)
    if key == "scl":
        gsd, title = 20, "Scene classification map (SCL)"
    else:
        _, title, centre, fwhm, gsd = ASSETS[key]
    shape = [item.window.rows * 10 // gsd, item.window.cols * 10 // gsd]
    asset: dict[str, Any] = {"href": href, "type": COG_TYPE, "title": f"{title} ({SYNTHETIC_NOTE})"}
    if key != "scl":
        asset["eo:bands"] = [
            {
                "name": key,
                "common_name": key,
                "description": title.split(" - ")[0],
                "center_wavelength": centre,
                "full_width_half_max": fwhm,
            }
        ]
        asset["gsd"] = gsd
    asset["proj:shape"] = shape
    asset["proj:transform"] = [gsd, 0, x0, 0, -gsd, y1]
    if key == "scl":
        asset["raster:bands"] = [{"nodata": 0, "data_type": "uint8", "spatial_resolution": 20}]
    else:
        asset["raster:bands"] = [
            {
                "nodata": 0,
                "data_type": "uint16",
                "bits_per_sample": 15,
                "spatial_resolution": gsd,
                "scale": 0.0001,
                "offset": -0.1 if float(item.baseline) >= 4.0 else 0,
            }
        ]
    asset["roles"] = ["data", "reflectance"]
    return asset


def item_dict(item: ItemPlan, grid: OutputGrid, scl: np.ndarray) -> dict[str, Any]:
    """One Earth Search v1 style item; asset hrefs point at ``cogs/`` relative to the item JSON."""
    bbox, geometry = footprint(grid, item.window)
    cog_dir = f"../../../cogs/sentinel-2-l2a/{item.item_id}"
    files = {k: v[0] for k, v in ASSETS.items()} | {"scl": "SCL"}
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item.item_id,
        "properties": _properties(item, scl),
        "geometry": geometry,
        "links": [
            {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../collection.json", "type": "application/json"},
            {"rel": "collection", "href": "../collection.json", "type": "application/json"},
        ],
        "assets": {k: _asset(k, item, grid, f"{cog_dir}/{f}.tif") for k, f in files.items()},
        "bbox": bbox,
        "stac_extensions": STAC_EXTENSIONS,
        "collection": "sentinel-2-l2a",
    }


def collection_dict(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``sentinel-2-l2a`` collection of the demo, linking every item."""
    west = min(i["bbox"][0] for i in items)
    south = min(i["bbox"][1] for i in items)
    east = max(i["bbox"][2] for i in items)
    north = max(i["bbox"][3] for i in items)
    times = sorted(i["properties"]["datetime"] for i in items)
    links = [
        {"rel": "root", "href": "../catalog.json", "type": "application/json"},
        {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
    ] + [
        {"rel": "item", "href": f"./{i['id']}/{i['id']}.json", "type": "application/geo+json"}
        for i in items
    ]
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": "sentinel-2-l2a",
        "title": "Sentinel-2 Level-2A (synthetic demo)",
        "description": f"Demo city archive, {SYNTHETIC_NOTE}. Layout of Earth Search v1 "
        "sentinel-2-l2a (legacy collection with earthsearch:boa_offset_applied).",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[west, south, east, north]]},
            "temporal": {"interval": [[times[0], times[-1]]]},
        },
        "links": links,
        "geospace:synthetic": True,
    }


def catalog_dict() -> dict[str, Any]:
    """The root catalogue of the demo city."""
    return {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": "geospace-demo-city",
        "title": "geospace demo city (synthetic)",
        "description": f"Static catalogue of the geospace demo city; {SYNTHETIC_NOTE}.",
        "links": [
            {"rel": "root", "href": "./catalog.json", "type": "application/json"},
            {
                "rel": "child",
                "href": "./sentinel-2-l2a/collection.json",
                "type": "application/json",
            },
        ],
        "geospace:synthetic": True,
    }
