"""The demo city's synthetic Sentinel-2 archive: COG layout, Earth Search item layout, planted cases."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
import rasterio.windows

from eo.demo.layout import S2_COLLECTION, DemoLayout
from tests.conftest import shared_file

pytestmark = pytest.mark.slow

ASSET_FILES = {
    "blue": "B02",
    "red": "B04",
    "nir": "B08",
    "nir08": "B8A",
    "swir16": "B11",
    "scl": "SCL",
}
CLOUD = {8, 9}


def truth(layout: DemoLayout) -> dict[str, Any]:
    return json.loads(layout.truth.read_text())


def item(layout: DemoLayout, item_id: str) -> dict[str, Any]:
    return json.loads((layout.stac / S2_COLLECTION / item_id / f"{item_id}.json").read_text())


def asset_path(layout: DemoLayout, doc: dict[str, Any], key: str) -> Path:
    base = layout.stac / S2_COLLECTION / doc["id"]
    return (base / doc["assets"][key]["href"]).resolve()


def read(layout: DemoLayout, doc: dict[str, Any], key: str) -> np.ndarray:
    with rasterio.open(asset_path(layout, doc, key)) as src:
        return src.read(1)


def all_item_ids(layout: DemoLayout) -> list[str]:
    return [i for year in truth(layout)["years"].values() for i in year["items"]]


def reflectance(doc: dict[str, Any], dn: np.ndarray) -> np.ndarray:
    """DESIGN section 3 rule for Earth Search sentinel-2-l2a, applied to the TRUE pixel state."""
    baseline = float(doc["properties"]["s2:processing_baseline"])
    offset = 1000.0 if baseline >= 4.0 else 0.0
    out = (dn.astype(np.float64) - offset) / 10000.0
    return np.where(dn == 0, np.nan, out)


def park_mask(
    layout: DemoLayout, park_id: str, transform: Any, shape: tuple[int, int]
) -> np.ndarray:
    parks = gpd.read_file(layout.layer("parks"))
    geom = parks.loc[parks["park_id"] == park_id, "geometry"]
    assert len(geom) == 1, f"park {park_id} missing from layers/parks.geojson"
    return rasterio.features.rasterize(
        [(geom.iloc[0], 1)], out_shape=shape, transform=transform, fill=0, dtype="uint8"
    ).astype(bool)


def park_ndvi(layout: DemoLayout, doc: dict[str, Any], park_id: str) -> float:
    """Mean NDVI over the park's clear pixels (SCL 4/5), on the 20 m grid of SCL."""
    with rasterio.open(asset_path(layout, doc, "scl")) as src:
        scl, transform = src.read(1), src.transform
    red = reflectance(doc, read(layout, doc, "red"))[::2, ::2]
    nir = reflectance(doc, read(layout, doc, "nir"))[::2, ::2]
    mask = park_mask(layout, park_id, transform, scl.shape) & np.isin(scl, [4, 5])
    if mask.sum() < 20:
        return float("nan")
    ndvi = (nir - red) / (nir + red)
    return float(np.nanmean(ndvi[mask]))


def test_every_band_is_a_valid_cog(demo_small: DemoLayout) -> None:
    for item_id in all_item_ids(demo_small):
        doc = item(demo_small, item_id)
        for key, band in ASSET_FILES.items():
            path = asset_path(demo_small, doc, key)
            assert path.name == f"{band}.tif"
            with rasterio.open(path) as src:
                assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
                assert src.profile["tiled"] and src.profile["blockxsize"] == 256
                assert src.overviews(1), f"{path} has no overviews"
                assert src.nodata == 0
                assert src.dtypes[0] == ("uint8" if key == "scl" else "uint16")
                assert src.crs.to_epsg() == 32633
                assert src.compression.name.lower() == "deflate"
                assert list(src.shape) == doc["assets"][key]["proj:shape"]
                assert list(src.transform)[:6] == doc["assets"][key]["proj:transform"]


def test_items_follow_the_earth_search_layout(demo_small: DemoLayout) -> None:
    real_files = sorted(
        shared_file("protocols", "stac", "earth-search-v1").glob("item_sentinel-2-l2a_*.json")
    )
    assert real_files
    reals = [json.loads(p.read_text()) for p in real_files]
    doc = item(demo_small, all_item_ids(demo_small)[-1])
    for real in reals:
        assert set(real) == set(doc)
        assert doc["stac_version"] == real["stac_version"]
    common_props = set.intersection(*(set(r["properties"]) for r in reals))
    assert common_props <= set(doc["properties"]), common_props - set(doc["properties"])
    for key in ASSET_FILES:
        ours = doc["assets"][key]
        real_asset = reals[0]["assets"][key]
        assert set(real_asset) - {"href"} <= set(ours), (key, set(real_asset) - set(ours))
        assert set(real_asset["raster:bands"][0]) == set(ours["raster:bands"][0])
        assert ours["type"] == real_asset["type"] and ours["roles"] == real_asset["roles"]
    assert (
        isinstance(doc["properties"]["proj:epsg"], int) and doc["properties"]["proj:epsg"] == 32633
    )
    assert doc["properties"]["geospace:synthetic"] is True


def test_catalogue_is_relocatable_and_complete(demo_small: DemoLayout) -> None:
    catalog = json.loads(demo_small.catalog.read_text())
    assert catalog["geospace:synthetic"] is True and "synthetic" in catalog["description"]
    child = next(link for link in catalog["links"] if link["rel"] == "child")
    collection_path = demo_small.stac / child["href"]
    collection = json.loads(collection_path.read_text())
    assert collection["id"] == S2_COLLECTION and "synthetic" in collection["description"]
    hrefs = [link["href"] for link in collection["links"] if link["rel"] == "item"]
    ids = {json.loads((collection_path.parent / h).read_text())["id"] for h in hrefs}
    assert ids == set(all_item_ids(demo_small))
    doc = item(demo_small, sorted(ids)[0])
    assert all(a["href"].startswith("../../../cogs/") for a in doc["assets"].values())


def test_same_seed_same_bytes_other_seed_differs(demo_small: DemoLayout, tmp_path: Path) -> None:
    from eo.demo.build import demo_grid
    from eo.demo.geography import vienna_geography
    from eo.demo.landcover import build_landcover
    from eo.demo.s2_plan import make_plan
    from eo.demo.s2_scenes import item_arrays, prepare_inputs, render_day, write_cog

    t = truth(demo_small)
    geo = vienna_geography(small=True)
    grid = demo_grid(geo)

    def render(seed: int) -> tuple[np.ndarray, str]:
        lc = build_landcover(geo, grid, np.random.default_rng([seed, 1]))
        plan = make_plan(seed, True, grid, geo.parks)
        day = next(d for d in plan.dates if d.day.isoformat() == t["years"]["2022"]["dates"][-1])
        scene = render_day(prepare_inputs(lc, plan, np.random.default_rng([seed, 2])), plan, day)
        plan_item = day.items[0]
        return item_arrays(scene, plan_item)["B04"], plan_item.item_id

    red, item_id = render(t["seed"])
    doc = item(demo_small, item_id)
    x0, y1 = doc["assets"]["red"]["proj:transform"][2], doc["assets"]["red"]["proj:transform"][5]
    copy = tmp_path / "B04.tif"
    write_cog(copy, red, rasterio.Affine(10, 0, x0, 0, -10, y1), "EPSG:32633")
    assert copy.read_bytes() == asset_path(demo_small, doc, "red").read_bytes()
    other, _ = render(t["seed"] + 1)
    assert not np.array_equal(other, red)


def test_truth_lists_every_planted_case(demo_small: DemoLayout) -> None:
    t = truth(demo_small)
    assert t["synthetic"] is True and t["small"] is True
    assert t["tiles"] == ["33UWP", "33UXP"]
    assert set(t["years"]) == {"2019", "2020", "2021", "2022"}
    assert all(len(t["years"][y]["dates"]) >= 5 for y in ("2019", "2020", "2021"))
    assert len(t["years"]["2022"]["dates"]) >= 15
    assert len(t["stressed_parks"]) >= 1 and t["cloud_hidden_park"]["park_id"]
    assert t["unstressed_parks"]
    for case in ("all_cloud_date", "wrong_flag_item", "duplicate"):
        assert t[case]
    width = t["grid"]["bounds"][2] - t["grid"]["bounds"][0]
    height = t["grid"]["bounds"][3] - t["grid"]["bounds"][1]
    assert 4000 <= width <= 6000 and 4000 <= height <= 6000


def test_all_cloud_date_is_cloud_in_scl(demo_small: DemoLayout) -> None:
    case = truth(demo_small)["all_cloud_date"]
    assert len(case["item_ids"]) == 2
    for item_id in case["item_ids"]:
        doc = item(demo_small, item_id)
        assert set(np.unique(read(demo_small, doc, "scl")).tolist()) <= CLOUD
        assert doc["properties"]["eo:cloud_cover"] == 100


def test_wrongly_flagged_item_still_has_the_offset(demo_small: DemoLayout) -> None:
    case = truth(demo_small)["wrong_flag_item"]
    doc = item(demo_small, case["id"])
    assert doc["properties"]["earthsearch:boa_offset_applied"] is True
    assert float(doc["properties"]["s2:processing_baseline"]) >= 4.0
    scl = np.repeat(np.repeat(read(demo_small, doc, "scl"), 2, axis=0), 2, axis=1)
    red = read(demo_small, doc, "red")
    vegetation = red[scl[: red.shape[0], : red.shape[1]] == 4]
    assert vegetation.size >= 1000
    assert np.median(vegetation) > 1000  # healthy vegetation red < 0.1: only +1000 lifts it


def test_duplicate_pair_newer_processing_differs_slightly(demo_small: DemoLayout) -> None:
    case = truth(demo_small)["duplicate"]
    old, new = item(demo_small, case["dropped"]), item(demo_small, case["kept"])
    assert old["id"].endswith("_0_L2A") and new["id"].endswith("_1_L2A")
    assert old["properties"]["grid:code"] == new["properties"]["grid:code"]
    assert old["properties"]["datetime"][:10] == new["properties"]["datetime"][:10]
    assert new["properties"]["updated"] > old["properties"]["updated"]
    assert new["properties"]["s2:processing_baseline"] > old["properties"]["s2:processing_baseline"]
    a, b = read(demo_small, old, "nir").astype(float), read(demo_small, new, "nir").astype(float)
    ratio = np.median((a - 1000) / (b - 1000))
    assert 1.01 < ratio < 1.06


def test_cloud_hidden_park_is_under_cloud_on_every_2022_date(demo_small: DemoLayout) -> None:
    t = truth(demo_small)
    park = t["cloud_hidden_park"]["park_id"]
    assert t["cloud_hidden_park"]["dates"] == t["years"]["2022"]["dates"]
    seen = 0
    for item_id in t["years"]["2022"]["items"]:
        doc = item(demo_small, item_id)
        with rasterio.open(asset_path(demo_small, doc, "scl")) as src:
            scl, transform = src.read(1), src.transform
        mask = park_mask(demo_small, park, transform, scl.shape)
        if mask.sum() == 0:
            continue
        seen += 1
        assert set(np.unique(scl[mask]).tolist()) <= CLOUD, item_id
    assert seen >= len(t["years"]["2022"]["dates"])


def _late_and_reference_ndvi(layout: DemoLayout, park: str) -> tuple[float, float]:
    """Park NDVI on the last two 2022 dates and on the last date of each reference year."""
    years = truth(layout)["years"]
    late_days = {d.replace("-", "") for d in years["2022"]["dates"][-2:]}
    ref_days = {years[y]["dates"][-1].replace("-", "") for y in ("2019", "2020", "2021")}
    all_ids = [i for y in years.values() for i in y["items"]]
    late = [park_ndvi(layout, item(layout, i), park) for i in all_ids if i[10:18] in late_days]
    ref = [park_ndvi(layout, item(layout, i), park) for i in all_ids if i[10:18] in ref_days]
    return float(np.nanmean(late)), float(np.nanmean(ref))


def test_stressed_park_declines_and_unstressed_park_stays(demo_small: DemoLayout) -> None:
    t = truth(demo_small)
    stressed = t["stressed_parks"][0]
    # healthy on the season's first dates, dry by its end
    assert date.fromisoformat(stressed["onset"]) > date(2022, 6, 11)
    late, ref = _late_and_reference_ndvi(demo_small, stressed["park_id"])
    assert late < ref - 0.1, (late, ref)
    control = t["unstressed_parks"][0]
    late_c, ref_c = _late_and_reference_ndvi(demo_small, control)
    assert abs(late_c - ref_c) < 0.03, (late_c, ref_c)


def test_both_tiles_overlap_with_identical_pixels(demo_small: DemoLayout) -> None:
    first_day = truth(demo_small)["years"]["2022"]["items"][:2]
    west, east = (item(demo_small, i) for i in sorted(first_day, key=lambda i: i[4:9]))
    assert west["properties"]["grid:code"] == "MGRS-33UWP"
    assert east["properties"]["grid:code"] == "MGRS-33UXP"
    with (
        rasterio.open(asset_path(demo_small, west, "nir")) as w,
        rasterio.open(asset_path(demo_small, east, "nir")) as e,
    ):
        assert w.bounds.right <= 609780 and e.bounds.left == 600000
        overlap = (600000, e.bounds.bottom, w.bounds.right, e.bounds.top)
        a = w.read(1, window=rasterio.windows.from_bounds(*overlap, transform=w.transform))
        b = e.read(1, window=rasterio.windows.from_bounds(*overlap, transform=e.transform))
    assert a.size > 10000 and (a > 0).all() and np.array_equal(a, b)
