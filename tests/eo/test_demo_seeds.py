"""Scenario variants of the demo city (issue 11): ``build_demo(seed=N)`` / ``geospace demo --seed N``.

Each seed but the default draws its own planted story; the default keeps the README's. The checks
read the built files back (COGs, Landsat scenes, EGMS CSVs, forecasts) and compare them with
truth.json and with the geography, not with the drawing code.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features

from eo.demo.layout import DEMO_SEED, S2_COLLECTION, DemoLayout

pytestmark = pytest.mark.slow

VARIANT_SEED = 1
CLEAR = (4, 5)  # SCL vegetation / not vegetated


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> DemoLayout:
    """The small demo city of another seed, built once for this module (~15 s)."""
    from eo.demo.build import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-seed"), small=True, seed=VARIANT_SEED)


def _truth(layout: DemoLayout) -> dict[str, Any]:
    return json.loads(layout.truth.read_text(encoding="utf-8"))


def _story(t: dict[str, Any]) -> dict[str, Any]:
    return {
        "stressed": {(p["park_id"], p["onset"], p["ramp_days"]) for p in t["stressed_parks"]},
        "watered": {(p["park_id"], p["onset"], p["watered"]) for p in t["watered_parks"]},
        "hidden": t["cloud_hidden_park"]["park_id"],
    }


def test_default_seed_keeps_the_readme_story(demo_small: DemoLayout) -> None:
    t = _truth(demo_small)
    assert t["seed"] == DEMO_SEED and t["scenario"]["default"] is True
    assert _story(t) == {
        "stressed": {("augarten", "2022-06-13", 42)},
        "watered": {("schweizergarten", "2022-06-20", "2022-07-21")},
        "hidden": "belvedere-gardens",
    }
    assert t["all_cloud_date"]["date"] == "2022-07-01"
    assert t["heat"]["landsat"]["hotspot_cluster"]["district_ids"] == [5, 6]
    assert t["heat"]["weather"]["forecasts_with_heatwave"] == {
        "2022-07-18": ["2022-07-20", "2022-07-23"],
        "2022-07-19": ["2022-07-20", "2022-07-24"],
    }
    insar = t["insar"]
    assert (insar["subsiding_stretch"]["line"], insar["step"]["line"]) == ("U3", "U4")
    assert insar["step"]["date"] == "2021-03-15" and insar["step"]["known_event"] is True


def test_another_seed_plants_other_subjects(demo_small: DemoLayout, variant: DemoLayout) -> None:
    default, other = _truth(demo_small), _truth(variant)
    assert other["seed"] == VARIANT_SEED and other["scenario"]["drawn"] is True
    assert _story(other) != _story(default)
    planted = [p["park_id"] for p in other["stressed_parks"] + other["watered_parks"]]
    hidden = other["cloud_hidden_park"]["park_id"]
    assert hidden not in planted and not set(planted) & set(other["unstressed_parks"])
    assert sorted(other["expected_dryness_order"]) == sorted(
        p["park_id"] for p in other["stressed_parks"]
    )
    assert any(p["gradual"] and p["ramp_days"] >= 28 for p in other["stressed_parks"])
    for park in other["stressed_parks"]:
        assert park["ramp_end"] <= "2022-08-20"  # the ramp completes inside the season
        assert park["peak_ndmi_drop"] > 0.1 and park["peak_ndvi_drop"] > 0.1
    for park in other["watered_parks"]:
        assert park["onset"] < park["watered"] < park["recovered"] <= "2022-08-25"
        assert park["dry_fraction_by_date"][other["years"]["2022"]["dates"][-1]] == 0.0


def _plans(seeds: range) -> tuple[gpd.GeoDataFrame, list[Any]]:
    from eo.demo.build import demo_grid
    from eo.demo.geography import vienna_geography
    from eo.demo.s2_plan import make_plan

    geo = vienna_geography(small=True)
    grid = demo_grid(geo)
    return geo.parks, [make_plan(s, True, grid, geo.parks) for s in seeds]


def test_drawn_plans_follow_the_physical_rules_and_vary() -> None:
    parks, plans = _plans(range(20))
    area = dict(zip(parks["park_id"], parks.area, strict=True))
    geom = dict(zip(parks["park_id"], parks.geometry, strict=True))
    stories = set()
    for plan in plans:
        assert area[plan.hidden_park] <= 40e4  # one cloud hides it
        for s in plan.stressed:
            assert 5e4 <= area[s.park_id] <= 100e4  # room for clear pixels, one drought
            assert geom[s.park_id].distance(geom[plan.hidden_park]) > 300.0
            if s.watered is None:
                assert s.onset + timedelta(days=s.ramp_days) <= date(2022, 8, 20)
            else:  # watered before its ramp ends, green again before the season's last window
                assert s.onset < s.watered < s.onset + timedelta(days=s.ramp_days)
                assert s.watered + timedelta(days=s.recovery_days) <= date(2022, 8, 25)
        dry = [s for s in plan.stressed if s.watered is None]
        watered = [s for s in plan.stressed if s.watered is not None]
        assert dry and len(watered) == 1 and dry[0].ramp_days >= 28  # a gradual ramp
        season = [d for d in plan.dates if d.day.year == 2022]
        assert sum(d.all_cloud for d in season) == 1
        assert len({plan.all_cloud_day, *(i[10:18] for i in plan.duplicate)}) == 2
        stories.add((plan.hidden_park, tuple(sorted((s.park_id, s.onset) for s in dry))))
    assert len(stories) >= 15  # seeds give different cities, not a handful of variants


def _item(layout: DemoLayout, item_id: str) -> dict[str, Any]:
    return json.loads((layout.stac / S2_COLLECTION / item_id / f"{item_id}.json").read_text())


def _band(layout: DemoLayout, doc: dict[str, Any], key: str) -> tuple[np.ndarray, Any]:
    href = layout.stac / S2_COLLECTION / doc["id"] / doc["assets"][key]["href"]
    with rasterio.open(href.resolve()) as src:
        return src.read(1), src.transform


def _park_ndmi(layout: DemoLayout, item_id: str, park: str) -> tuple[float, int]:
    """Median NDMI (B8A/B11, DESIGN section 3 decoding) over the park's clear 20 m pixels."""
    doc = _item(layout, item_id)
    scl, transform = _band(layout, doc, "scl")
    nir08, _ = _band(layout, doc, "nir08")
    swir, _ = _band(layout, doc, "swir16")
    offset = 1000.0 if float(doc["properties"]["s2:processing_baseline"]) >= 4.0 else 0.0
    n, s = nir08.astype(float) - offset, swir.astype(float) - offset
    parks = gpd.read_file(layout.layer("parks"))
    shape = parks.loc[parks["park_id"] == park, "geometry"].iloc[0]
    inside = rasterio.features.rasterize(
        [(shape, 1)], out_shape=scl.shape, transform=transform, fill=0, dtype="uint8"
    ).astype(bool)
    clear = inside & np.isin(scl, CLEAR)
    if clear.sum() == 0:
        return float("nan"), 0
    return float(np.median(((n - s) / (n + s))[clear])), int(clear.sum())


def _tile_item(t: dict[str, Any], day: str) -> str:
    return next(i for i in t["years"]["2022"]["items"] if day.replace("-", "") in i and "UWP" in i)


def test_variant_stressed_park_dries_in_the_rendered_scenes(variant: DemoLayout) -> None:
    t = _truth(variant)
    park = t["stressed_parks"][0]
    dates = t["years"]["2022"]["dates"]
    before = [d for d in dates if d < park["onset"]]
    after = [d for d in dates if d >= park["peak_date"]]
    control = t["unstressed_parks"][0]

    def clear_median(park_id: str, days: list[str]) -> float:
        values = [_park_ndmi(variant, _tile_item(t, d), park_id) for d in days]
        kept = [v for v, n in values if n >= 30]
        assert kept, (park_id, days)
        return float(np.median(kept))

    drop = clear_median(park["park_id"], before) - clear_median(park["park_id"], after)
    assert drop > 0.5 * park["peak_ndmi_drop"], (drop, park)
    assert drop > 0.1
    control_change = clear_median(control, before) - clear_median(control, after)
    assert abs(control_change) < 0.06, control_change  # natural late-summer drying only


def test_variant_hidden_park_is_cloud_on_every_date(variant: DemoLayout) -> None:
    t = _truth(variant)
    for day in t["cloud_hidden_park"]["dates"]:
        value, clear = _park_ndmi(variant, _tile_item(t, day), t["cloud_hidden_park"]["park_id"])
        assert clear == 0 and np.isnan(value), day


def test_same_seed_gives_byte_identical_files(variant: DemoLayout, tmp_path: Path) -> None:
    from eo.demo.build import demo_grid
    from eo.demo.egms_releases import release_name, write_demo_insar
    from eo.demo.geography import vienna_geography
    from eo.demo.landcover import build_landcover
    from eo.demo.landsat_scenes import write_demo_landsat
    from eo.demo.s2_plan import make_plan
    from eo.demo.s2_scenes import item_arrays, prepare_inputs, render_day, write_cog

    t = _truth(variant)
    geo = vienna_geography(small=True)
    grid = demo_grid(geo)
    lc = build_landcover(geo, grid, np.random.default_rng([VARIANT_SEED, 1]))
    plan = make_plan(VARIANT_SEED, True, grid, geo.parks)
    day = next(d for d in plan.dates if d.day.isoformat() == t["stressed_parks"][0]["peak_date"])
    scene = render_day(
        prepare_inputs(lc, plan, np.random.default_rng([VARIANT_SEED, 2])), plan, day
    )
    item = day.items[0]
    doc = _item(variant, item.item_id)
    _, transform = _band(variant, doc, "nir")
    write_cog(tmp_path / "B08.tif", item_arrays(scene, item)["B08"], transform, grid.crs)
    original = variant.stac / S2_COLLECTION / doc["id"] / doc["assets"]["nir"]["href"]
    assert (tmp_path / "B08.tif").read_bytes() == original.resolve().read_bytes()

    layers = {n: gpd.read_file(variant.layer(n)) for n in ("boundary", "districts", "parks")}
    for name in ("water", "forest"):
        layers[name] = gpd.read_file(variant.layer(name))
    population = pd.read_csv(variant.layers / "population.csv")
    again = write_demo_landsat(tmp_path / "city", layers, VARIANT_SEED, population)
    assert again["hotspot_cluster"] == t["heat"]["landsat"]["hotspot_cluster"]
    scene_id = again["scenes"][0]
    rel = Path("cogs") / "landsat-c2-l2" / scene_id / f"{scene_id}_ST_B10.TIF"
    assert (tmp_path / "city" / rel).read_bytes() == (variant.root / rel).read_bytes()
    entry = write_demo_insar(
        tmp_path / "insar",
        gpd.read_file(variant.layer("corridors")),
        layers["boundary"],
        VARIANT_SEED,
    )
    assert entry["subsiding_stretch"] == t["insar"]["subsiding_stretch"]
    name = release_name(2019, 2023, "asc")
    assert (tmp_path / "insar" / name).read_bytes() == (variant.root / "insar" / name).read_bytes()


def _lst_k(layout: DemoLayout, scene_id: str) -> tuple[np.ndarray, Any]:
    path = layout.root / "cogs" / "landsat-c2-l2" / scene_id / f"{scene_id}_ST_B10.TIF"
    with rasterio.open(path) as src:
        dn, transform = src.read(1).astype(float), src.transform
    return np.where(dn == 0, np.nan, dn * 0.00341802 + 149.0), transform  # USGS C2 ST scale


def test_variant_heat_cluster_is_warmest_and_heatwave_in_forecasts(variant: DemoLayout) -> None:
    heat = _truth(variant)["heat"]
    cluster = [int(d) for d in heat["landsat"]["hotspot_cluster"]["district_ids"]]
    assert cluster and cluster != [5, 6]
    scene = next(s for s in heat["landsat"]["scenes"] if s != heat["landsat"]["cloudy_scene"])
    lst, transform = _lst_k(variant, scene)
    districts = gpd.read_file(variant.layer("districts"))
    districts = districts[districts.area >= 0.3e6]
    median = {}
    for did, shape in zip(districts["district_id"].astype(int), districts.geometry, strict=True):
        inside = rasterio.features.rasterize(
            [(shape, 1)], out_shape=lst.shape, transform=transform, fill=0, dtype="uint8"
        ).astype(bool)
        median[did] = float(np.nanmedian(lst[inside]))
    warmest = sorted(median, key=median.get, reverse=True)[: len(cluster)]  # type: ignore[arg-type]
    assert sorted(warmest) == sorted(cluster), median

    issued = "2022-07-19"
    frame = pd.read_csv(variant.root / "weather" / "forecasts" / f"forecast_{issued}.csv")
    met = frame[(frame["felt_tmax_c"] > 35.0) & (frame["tmin_c"] >= 20.0)]["date"].tolist()
    assert met == heat["weather"]["heatwave_days"] and len(met) >= 3  # Vienna health criterion


def test_variant_deformation_sites_move_in_the_egms_files(variant: DemoLayout) -> None:
    insar = _truth(variant)["insar"]
    default_sub = ("U3", 16.39153, 48.20248)
    sub, step = insar["subsiding_stretch"], insar["step"]
    assert (sub["line"], sub["lon"], sub["lat"]) != default_sub
    assert step["known_event"] is False  # the packaged profile lists only the default works
    frame = pd.read_csv(variant.root / "insar" / insar["files"][0]["file"])
    points = gpd.GeoSeries(
        gpd.points_from_xy(frame["longitude"], frame["latitude"]), crs="EPSG:4326"
    ).to_crs(3035)

    def near(site: dict[str, Any], radius: float) -> np.ndarray:
        centre = gpd.GeoSeries(gpd.points_from_xy([site["lon"]], [site["lat"]]), crs=4326)
        return np.asarray(points.distance(centre.to_crs(3035).iloc[0]) <= radius)

    core = near(sub, sub["radius_m"] - 20)
    vertical = frame["mean_velocity"] / frame["los_up"]
    assert core.sum() >= 10
    assert abs(float(vertical[core].median()) - sub["vertical_mm_yr"]) < 0.6
    assert abs(float(vertical[~near(sub, sub["radius_m"] + sub["taper_m"])].median())) < 0.3
    dates = [c for c in frame.columns if c.isdigit()]
    jump_at = date.fromisoformat(step["date"]).strftime("%Y%m%d")
    before = [c for c in dates if c < jump_at][-6:]
    after = [c for c in dates if c >= jump_at][:6]
    stepped = frame.loc[near(step, step["radius_m"] - 20)]
    los_up = float(frame["los_up"].iloc[0])
    jump = (stepped[after].mean(axis=1) - stepped[before].mean(axis=1)).median() / los_up
    assert abs(jump - step["step_mm"]) < 4.0, jump


def test_seed_must_be_a_non_negative_integer(tmp_path: Path) -> None:
    from flows.cli import main

    for bad in ("-1", "seven", "1.5"):
        assert main(["demo", "--small", "--seed", bad, "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_other_seed_refuses_a_folder_with_another_citys_products(tmp_path: Path) -> None:
    from flows.cli import main

    out = tmp_path / "out"
    (out / "demo-city").mkdir(parents=True)
    (out / "demo-city" / "truth.json").write_text(json.dumps({"seed": 5}), encoding="utf-8")
    (out / "alerts").mkdir()
    assert main(["demo", "--small", "--build-only", "--seed", "6", "--out", str(out)]) == 2
    assert json.loads((out / "demo-city" / "truth.json").read_text())["seed"] == 5  # untouched
    assert sorted(p.name for p in out.iterdir()) == ["alerts", "demo-city"]
