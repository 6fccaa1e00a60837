"""Demo Landsat C2 L2 surface temperature: summer scenes in Planetary Computer's item layout.

Each scene is a STAC item of collection ``landsat-c2-l2`` shaped like Planetary Computer's (ids such as
``LC09_L2SP_190026_20220714_02_T1``, ``landsat:*`` and ``eo:cloud_cover`` properties, assets
``lwir11`` = ST_B10 and ``qa_pixel`` = QA_PIXEL, ``raster:bands`` scale/offset of ST_B10) with
local, unsigned hrefs to DEFLATE COGs at 30 m in EPSG:32633 (pixel edges on the Landsat 15 m
phase). Everything is synthetic and labelled so.

Surface temperature is rendered from the demo layers: built-up ground warm with an urban heat
island centred on the old town, parks and gardens cooler, water coolest, smooth noise, a per-scene
offset, and the **planted hotspot cluster**: the planted districts (dense inner districts) +:data:`DISTRICT_K` K
throughout and +:data:`CLUSTER_K` K more in a disc inside each, recorded in ``truth.json``. One scene is mostly cloudy: cloud
tops are cold (about 265 K) and flagged in QA_PIXEL (cloud, dilated cloud, shadow), so a loader
that honours QA_PIXEL gets nothing from those pixels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio import features
from shapely.geometry import Point, box, mapping

from eo.demo.landcover import smooth_noise
from eo.demo.layout import DEMO_SEED
from eo.demo.s2_scenes import write_cog
from eo.landsat import ST_OFFSET_K, ST_SCALE_K

LANDSAT_COLLECTION = "landsat-c2-l2"
LST_RESOLUTION_M = 30.0
CLUSTER_K = 7.0
DISTRICT_K = 4.0  # the planted districts are warmer throughout (dense, sealed, few trees)
CLUSTER_RADIUS_M = 420.0
PLANTED_DISTRICTS = (5, 6)  # Margareten, Mariahilf: dense inner districts
SYNTHETIC_LANDSAT = "synthetic, imitating USGS Landsat Collection 2 Level-2; no real Landsat data"
QA_CLEAR = 21824  # clear land (bit 6) with low confidences
QA_WATER = 21952  # clear water (bit 7)
QA_CLOUD = 22280  # cloud (bit 3) with high confidence
QA_SHADOW = 23888  # cloud shadow (bit 4)


@dataclass(frozen=True)
class ScenePlan:
    """One demo Landsat scene."""

    item_id: str
    platform: str
    day: date
    offset_k: float
    cloudy: bool = False


SCENES = (
    ScenePlan("LC08_L2SP_190026_20220620_02_T1", "landsat-8", date(2022, 6, 20), -1.0),
    ScenePlan("LC09_L2SP_190026_20220628_02_T1", "landsat-9", date(2022, 6, 28), 0.5, cloudy=True),
    ScenePlan("LC08_L2SP_190026_20220706_02_T1", "landsat-8", date(2022, 7, 6), 0.0),
    ScenePlan("LC09_L2SP_190026_20220714_02_T1", "landsat-9", date(2022, 7, 14), 1.5),
)


def landsat_grid(bounds: tuple[float, float, float, float]) -> tuple[Affine, tuple[int, int]]:
    """30 m grid over ``bounds`` with pixel edges at 15 m + multiples of 30 m (Landsat's phase)."""
    minx, miny, maxx, maxy = bounds
    x0 = np.floor((minx - 15.0) / 30.0) * 30.0 + 15.0
    y1 = np.ceil((maxy - 15.0) / 30.0) * 30.0 + 15.0
    cols = int(np.ceil((maxx - x0) / 30.0))
    rows = int(np.ceil((y1 - miny) / 30.0))
    return Affine(30.0, 0.0, float(x0), 0.0, -30.0, float(y1)), (rows, cols)


def _burn(frame: gpd.GeoDataFrame, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    geoms = [g for g in frame.geometry if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(shape, dtype=bool)
    return features.rasterize(
        ((g, 1) for g in geoms), out_shape=shape, transform=transform, fill=0, dtype="uint8"
    ).astype(bool)


MIN_CLUSTER_DISTRICT_M2 = 0.3e6  # a disc of 420 m fits in the district's part of the city


def planted_districts(
    districts: gpd.GeoDataFrame, population: pd.DataFrame | None, seed: int
) -> tuple[int, ...]:
    """The districts of the hotspot cluster: Margareten and Mariahilf for the default seed.

    Every other seed draws a pair of neighbouring dense districts: candidates are districts of at
    least 0.3 km2 in the layer whose population density (persons per km2 of the whole district,
    from the population table) is above the median of the candidates; one is drawn, then one of
    its touching candidates (the cluster stays one warm area). Without a population table every
    district of at least 0.3 km2 is a candidate.
    """
    if seed == DEMO_SEED:
        return PLANTED_DISTRICTS
    rng = np.random.default_rng([seed, 57])
    frame = districts.assign(_id=districts["district_id"].astype(int))
    frame = frame[frame.area >= MIN_CLUSTER_DISTRICT_M2].sort_values("_id")
    if frame.empty:
        return ()
    if population is not None and {"district_id", "total", "area_km2"} <= set(population.columns):
        density = population.assign(_id=population["district_id"].astype(int)).set_index("_id")
        per_km2 = (density["total"] / density["area_km2"]).reindex(frame["_id"])
        if per_km2.notna().sum() >= 2:
            dense = per_km2 > per_km2.median()
            frame = frame[dense.to_numpy()]
    first = frame.iloc[int(rng.integers(len(frame)))]
    touching = frame[(frame["_id"] != first["_id"]) & frame.touches(first.geometry)]
    if touching.empty:
        touching = frame[(frame["_id"] != first["_id"]) & frame.intersects(first.geometry)]
    if touching.empty:
        return (int(first["_id"]),)
    second = touching.iloc[int(rng.integers(len(touching)))]
    return tuple(sorted((int(first["_id"]), int(second["_id"]))))


def cluster_discs(
    districts: gpd.GeoDataFrame, planted: tuple[int, ...] = PLANTED_DISTRICTS
) -> list[tuple[int, Point]]:
    """Centres of the planted hotspot discs: one per planted district present in the layer."""
    discs = []
    for district_id in planted:
        rows = districts[districts["district_id"].astype(int) == district_id]
        if rows.empty or rows.geometry.iloc[0].area < MIN_CLUSTER_DISTRICT_M2:
            continue
        discs.append((district_id, rows.geometry.iloc[0].representative_point()))
    return discs


def base_lst(
    layers: dict[str, gpd.GeoDataFrame],
    transform: Affine,
    shape: tuple[int, int],
    seed: int,
    planted: tuple[int, ...] = PLANTED_DISTRICTS,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, Point]]]:
    """Summer LST (K) without the scene offset, the water mask, and the planted discs."""
    rng = np.random.default_rng([seed, 55])
    rows, cols = shape
    xs = transform.c + (np.arange(cols) + 0.5) * transform.a
    ys = transform.f + (np.arange(rows) + 0.5) * transform.e
    gx, gy = np.meshgrid(xs, ys)
    centre = layers["districts"]
    old_town = centre[centre["district_id"].astype(int) == 1]
    cx, cy = (
        (old_town.geometry.iloc[0].centroid.x, old_town.geometry.iloc[0].centroid.y)
        if not old_town.empty
        else (float(xs.mean()), float(ys.mean()))
    )
    distance_km = np.hypot(gx - cx, gy - cy) / 1000.0
    lst = 303.0 + 3.0 * np.exp(-((distance_km / 4.0) ** 2))  # built-up with the heat island
    lst += 0.8 * smooth_noise(rng, shape, 4.0)
    parks = layers["parks"]
    green = _burn(parks, transform, shape)
    lst[green] -= 5.0
    if "kind" in parks.columns:
        lst[_burn(parks[parks["kind"] == "forest"], transform, shape)] -= 2.0
    forest = layers.get("forest")
    if forest is not None:
        lst[_burn(forest, transform, shape)] -= 7.0
    water = _burn(layers["water"], transform, shape) if "water" in layers else np.zeros(shape, bool)
    lst[water] = 296.0 + 0.3 * rng.standard_normal(int(water.sum()))
    discs = cluster_discs(layers["districts"], planted)
    districts = layers["districts"]
    planted = districts[districts["district_id"].astype(int).isin([d for d, _ in discs])]
    lst[_burn(planted, transform, shape) & ~water] += DISTRICT_K
    for _, point in discs:
        d = np.hypot(gx - point.x, gy - point.y)
        lst += CLUSTER_K * np.clip(1.2 - d / CLUSTER_RADIUS_M, 0.0, 1.0).clip(max=1.0) * ~water
    return lst, water, discs


def to_dn(kelvin: np.ndarray) -> np.ndarray:
    """ST_B10 DN of temperatures in kelvin (inverse of ``eo.landsat.st_to_kelvin``); 0 stays fill."""
    dn = np.round((kelvin - ST_OFFSET_K) / ST_SCALE_K)
    return np.clip(dn, 1, 65535).astype(np.uint16)


def render_scene(
    plan: ScenePlan, base: np.ndarray, water: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """(ST_B10 DN, QA_PIXEL, cloud cover %) of one scene."""
    rng = np.random.default_rng([seed, 56, plan.day.toordinal()])
    shape = base.shape
    kelvin = base + plan.offset_k + 0.3 * rng.standard_normal(shape)
    qa = np.where(water, QA_WATER, QA_CLEAR).astype(np.uint16)
    if plan.cloudy:
        field = smooth_noise(rng, shape, 10.0)
        cloud = field > np.quantile(field, 0.45)  # 55 % cloud (passes the 80 % scene filter)
        shadow = np.roll(cloud, (4, -4), axis=(0, 1)) & ~cloud
        kelvin = np.where(cloud, 265.0 + 2.0 * field, kelvin)
        kelvin = np.where(shadow, kelvin - 8.0, kelvin)
        qa = np.where(cloud, QA_CLOUD, np.where(shadow, QA_SHADOW, qa)).astype(np.uint16)
    cover = float(100.0 * (qa != QA_CLEAR).mean() if plan.cloudy else 0.0)
    return to_dn(kelvin), qa, round(cover, 2)


def _item(
    plan: ScenePlan, transform: Affine, shape: tuple[int, int], crs: str, hrefs: dict[str, str],
    cloud_cover: float,
) -> dict[str, Any]:  # fmt: skip
    rows, cols = shape
    minx, maxy = transform.c, transform.f
    maxx, miny = minx + cols * transform.a, maxy + rows * transform.e
    to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform([minx, maxx, maxx, minx], [miny, miny, maxy, maxy])
    footprint = box(min(lon), min(lat), max(lon), max(lat))
    when = datetime.combine(plan.day, time(9, 37, 12))
    epsg = int(crs.split(":")[1])
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://landsat.usgs.gov/stac/landsat-extension/v1.1.1/schema.json",
        ],
        "id": plan.item_id,
        "collection": LANDSAT_COLLECTION,
        "bbox": list(footprint.bounds),
        "geometry": mapping(footprint),
        "properties": {
            "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "platform": plan.platform,
            "instruments": ["oli", "tirs"],
            "eo:cloud_cover": cloud_cover,
            "view:sun_elevation": 60.0,
            "proj:epsg": epsg,
            "proj:shape": [rows, cols],
            "proj:transform": list(transform)[:6],
            "landsat:wrs_type": "2",
            "landsat:wrs_path": "190",
            "landsat:wrs_row": "026",
            "landsat:collection_category": "T1",
            "landsat:collection_number": "02",
            "landsat:correction": "L2SP",
            "landsat:cloud_cover_land": cloud_cover,
            "geospace:synthetic": True,
            "description": SYNTHETIC_LANDSAT,
        },
        "assets": {
            "lwir11": {
                "href": hrefs["lwir11"],
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": "Surface Temperature Band (B10)",
                "roles": ["temperature", "data"],
                "raster:bands": [
                    {
                        "unit": "kelvin",
                        "scale": ST_SCALE_K,
                        "offset": ST_OFFSET_K,
                        "nodata": 0,
                        "data_type": "uint16",
                        "spatial_resolution": 30,
                    },
                ],
            },
            "qa_pixel": {
                "href": hrefs["qa_pixel"],
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": "Pixel Quality Assessment Band (QA_PIXEL)",
                "roles": ["cloud", "cloud-shadow", "snow-ice", "water-mask"],
                "raster:bands": [{"unit": "bit index", "nodata": 1, "data_type": "uint16"}],
            },
        },
        "links": [{"rel": "collection", "href": "../collection.json", "type": "application/json"}],
    }


def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    bboxes = np.array([i["bbox"] for i in items])
    days = sorted(i["properties"]["datetime"] for i in items)
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": LANDSAT_COLLECTION,
        "title": "Landsat Collection 2 Level-2 (demo city, synthetic)",
        "description": f"Demo surface temperature scenes; {SYNTHETIC_LANDSAT}.",
        "license": "proprietary",
        "extent": {
            "spatial": {"bbox": [[*bboxes[:, :2].min(axis=0), *bboxes[:, 2:].max(axis=0)]]},
            "temporal": {"interval": [[days[0], days[-1]]]},
        },
        "links": [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            *[
                {"rel": "item", "href": f"./{i['id']}/{i['id']}.json", "type": "application/json"}
                for i in items
            ],
        ],
        "geospace:synthetic": True,
    }


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def write_demo_landsat(
    root: Path,
    layers: dict[str, gpd.GeoDataFrame],
    seed: int,
    population: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Write the scenes, their items and the collection under ``root``; return the truth entry.

    ``root`` is the demo city folder: COGs go to ``cogs/landsat-c2-l2/<id>/``, items to
    ``stac/landsat-c2-l2/<id>/<id>.json``, and the root catalogue gains a child link.
    """
    crs = str(layers["districts"].crs)
    bounds = tuple(float(v) for v in layers["boundary"].total_bounds)
    transform, shape = landsat_grid(bounds)  # type: ignore[arg-type]
    planted = planted_districts(layers["districts"], population, seed)
    base, water, discs = base_lst(layers, transform, shape, seed, planted)
    items = []
    for plan in SCENES:
        dn, qa, cover = render_scene(plan, base, water, seed)
        folder = root / "cogs" / LANDSAT_COLLECTION / plan.item_id
        write_cog(folder / f"{plan.item_id}_ST_B10.TIF", dn, transform, crs)
        write_qa(folder / f"{plan.item_id}_QA_PIXEL.TIF", qa, transform, crs)
        rel = f"../../../cogs/{LANDSAT_COLLECTION}/{plan.item_id}/{plan.item_id}"
        hrefs = {"lwir11": f"{rel}_ST_B10.TIF", "qa_pixel": f"{rel}_QA_PIXEL.TIF"}
        item = _item(plan, transform, shape, crs, hrefs, cover)
        items.append(item)
        _write_json(
            root / "stac" / LANDSAT_COLLECTION / plan.item_id / f"{plan.item_id}.json", item
        )
    _write_json(root / "stac" / LANDSAT_COLLECTION / "collection.json", _collection(items))
    catalog_path = root / "stac" / "catalog.json"
    if catalog_path.is_file():
        catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
        link = {"rel": "child", "href": f"./{LANDSAT_COLLECTION}/collection.json",
                "type": "application/json"}  # fmt: skip
        if link not in catalog["links"]:
            catalog["links"].append(link)
        _write_json(catalog_path, catalog)
    return {
        "collection": LANDSAT_COLLECTION,
        "resolution_m": LST_RESOLUTION_M,
        "scenes": [p.item_id for p in SCENES],
        "cloudy_scene": next(p.item_id for p in SCENES if p.cloudy),
        "hotspot_cluster": {
            "district_ids": [d for d, _ in discs],
            "centres_xy": [[round(p.x, 1), round(p.y, 1)] for _, p in discs],
            "radius_m": CLUSTER_RADIUS_M,
            "excess_k": CLUSTER_K,
            "district_excess_k": DISTRICT_K,
        },
    }


def write_qa(path: Path, qa: np.ndarray, transform: Affine, crs: str) -> None:
    """QA_PIXEL as a COG with nodata 1 (the fill bit), nearest overviews (a bit field)."""
    profile = {
        "driver": "COG", "width": qa.shape[1], "height": qa.shape[0], "count": 1,
        "dtype": "uint16", "crs": crs, "transform": transform, "nodata": 1,
        "compress": "DEFLATE", "blocksize": 256, "overview_resampling": "nearest",
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(qa, 1)
