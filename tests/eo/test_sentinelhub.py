"""Sentinel Hub / Copernicus Data Space source against a local server speaking its protocol.

The same synthetic products are served as COGs to the STAC path (Range server, Planetary
Computer item layout) and as Process/Statistical API answers by the local Sentinel Hub, so the two
sources can be compared pixel for pixel and zone for zone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import Point, box

from core.errors import DataReadError, InvalidInputError, SourceUnavailableError
from eo.allowlist import Allowlist
from eo.grid import OutputGrid
from eo.scenes import load_reflectance
from eo.sentinel2 import SCL_REMOVED_STRICT
from eo.sentinelhub import (
    CredentialsError,
    SentinelHubSource,
    client_for,
    estimate_processing_units,
    evalscript,
    evalscript_bands,
    grid_tiles,
    load_period,
    process_payload,
    zone_statistics,
)
from eo.stac import StacSource
from indices.zonal import zonal_weighted_mean
from tests.servers.faults import Fault
from tests.servers.http_base import ServerWithPlan
from tests.servers.sentinelhub import Product, ShState, start_sentinelhub, utc
from tests.servers.stac_factory import es_item, wgs84_bbox, write_cog

TOP = 5340000.0
N = 128
TILES = {"A": 600000.0, "B": 600640.0}
GRID = OutputGrid("EPSG:32633", 10.0, (600200.0, 5338800.0, 601800.0, 5339900.0))
BANDS = ("B02", "B04", "B08", "B8A", "B11", "SCL")
SECRET = "s3cr3t-client-secret-do-not-print"
ENV = {"SH_CLIENT_ID": "geospace-test-client", "SH_CLIENT_SECRET": SECRET}
# STAC path's strict mask without dilation: what a per-pixel evalscript can do.
MASKED = tuple(sorted(SCL_REMOVED_STRICT))


def _arrays(tile: str, day: int, seed: int) -> dict[str, np.ndarray]:
    """Smooth reflectance fields (slowly varying NDVI), some dark pixels (DN < 1000), a cloud."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float64)
    x0 = (TILES[tile] - 600000.0) / 10.0
    red = 1300 + 4 * (xx + x0) + 2 * yy + rng.normal(0, 3, (N, N))
    nir = 3500 + 10 * np.sin((xx + x0) / 25.0) * 100 - 3 * yy
    out = {
        "B02": red - 250,
        "B04": red,
        "B08": nir,
        "B8A": nir - 100,
        "B11": red + 800,
    }
    out["B02"][100:110, 10:30] = 900  # water-like: reflectance below 0 with the offset
    scl = np.full((N // 2, N // 2), 4, np.uint8)
    scl[20:26, 5:12] = 5
    if day == 15:
        scl[30:40, 30:44] = 9  # a cloud
        scl[40:43, 30:44] = 8
    result = {k: np.clip(np.rint(v), 1, 20000).astype(np.uint16) for k, v in out.items()}
    result["SCL"] = scl
    if tile == "A":  # a no-data corner in every band (whole 20 m pixels)
        for key in result:
            factor = 2 if key == "SCL" else 1
            result[key][: 16 // factor, (N - 32) // factor :] = 0
    return result


def _write_product(root: Path, product_id: str, tile: str, day: int, seed: int) -> dict[str, Path]:
    files = {}
    for band, data in _arrays(tile, day, seed).items():
        res = 20.0 if band == "SCL" else 10.0
        path = root / "sh" / product_id / f"{band}.tif"
        write_cog(path, data, Affine(res, 0.0, TILES[tile], 0.0, -res, TOP))
        files[band] = path
    return files


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> list[Product]:
    root = tmp_path_factory.mktemp("shscene")
    specs = [
        ("S2A_MSIL2A_20240610T100031_N0510_R122_T33UXP_20240610T150000", "A", utc(2024, 6, 10), 1),
        (
            "S2A_MSIL2A_20240610T100031_N0510_R122_T33UWP_20240610T150000",
            "B",
            utc(2024, 6, 10, second=5),
            2,
        ),
        ("S2B_MSIL2A_20240615T100029_N0510_R122_T33UXP_20240615T140000", "A", utc(2024, 6, 15), 3),
        ("S2B_MSIL2A_20210612T100029_N0300_R122_T33UXP_20210612T140000", "A", utc(2021, 6, 12), 4),
    ]
    out = []
    for product_id, tile, when, seed in specs:
        files = _write_product(root, product_id, tile, when.day, seed)
        bounds = (TILES[tile], TOP - N * 10, TILES[tile] + N * 10, TOP)
        out.append(Product(product_id, when, files, wgs84_bbox(bounds)))
    return out


@pytest.fixture(scope="module")
def sh_server(products: list[Product]) -> Iterator[ServerWithPlan]:
    server = start_sentinelhub(ShState(ENV["SH_CLIENT_ID"], SECRET, products))
    yield server
    server.stop()


@pytest.fixture
def sh(
    sh_server: ServerWithPlan, products: list[Product]
) -> Iterator[tuple[ServerWithPlan, ShState]]:
    """The module's server with a fresh state (tokens, request log) and no faults."""
    state = ShState(client_id=ENV["SH_CLIENT_ID"], client_secret=SECRET, products=products)
    sh_server.settings["state"] = state
    sh_server.plan.clear()
    yield sh_server, state
    sh_server.plan.clear()


def _source(server: ServerWithPlan, **kw: Any) -> SentinelHubSource:
    settings: dict[str, Any] = {
        "catalog": server.base_url,
        "provider": "sentinelhub",
        "collection": "sentinel-2-l2a",
        "token_url": f"{server.base_url}/oauth/token",
        "retries": 3,
        "backoff_factor_s": 0.01,
        "timeout_s": 5.0,
    }
    settings.update(kw)
    return SentinelHubSource(**settings)


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _client(source: SentinelHubSource, waits: Waits | None = None) -> Any:
    return client_for(source, ENV, sleep=waits if waits is not None else Waits())


BBOX = tuple(wgs84_bbox(GRID.bounds))


def _stac_cube(products: list[Product], range_server: ServerWithPlan, day: date) -> Any:
    """The STAC path on the same products: Planetary Computer items (band ids) -> SceneStack."""
    root: Path = range_server.settings["root"]
    items = []
    for p in products:
        if p.when.date() != day:
            continue
        assets = {}
        for band, path in p.files.items():
            rel = Path("shsrc") / p.id / path.name
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(path.read_bytes())
            with __import__("rasterio").open(path) as src:
                assets[band] = (
                    f"{range_server.base_url}/{rel.as_posix()}",
                    src.transform,
                    src.shape,
                )
        baseline = p.id.split("_N")[1][:4]
        items.append(
            es_item(
                p.id,
                when=p.when,
                assets=assets,
                tile=p.id.split("_T")[1][:5],
                baseline=f"{baseline[:2]}.{baseline[2:]}",
                collection="sentinel-2-l2a",
                api_root="https://planetarycomputer.microsoft.com/api/stac/v1",
            )
        )
    source = StacSource(
        catalog="https://planetarycomputer.microsoft.com/api/stac/v1",
        provider="planetary-computer",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(frozenset(), http_hosts=frozenset({"127.0.0.1"})),
    )
    return load_reflectance(items, source, GRID, chunksize=64, check_pixels=False)


def test_process_api_cube_equals_the_stac_path_cube(
    sh: tuple[ServerWithPlan, ShState],
    products: list[Product],
    range_server: ServerWithPlan,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, state = sh
    caplog.set_level(logging.INFO, logger="eo.sentinelhub")
    source = _source(server)
    stack = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2024, 6, 1),
        end=date(2024, 6, 30),
        client=_client(source),
    )
    assert stack.cube is not None
    assert stack.days == [date(2024, 6, 10), date(2024, 6, 15)]
    assert stack.day_items[date(2024, 6, 10)] == (products[0].id, products[1].id)
    for day in stack.days:
        stac = _stac_cube(products, range_server, day).cube
        assert stac is not None
        ours = stack.cube.sel(time=np.datetime64(day, "ns"))
        theirs = stac.isel(time=0)
        assert set(ours.data_vars) == set(theirs.data_vars)
        np.testing.assert_array_equal(ours["x"].values, theirs["x"].values)
        np.testing.assert_array_equal(ours["y"].values, theirs["y"].values)
        for name in ours.data_vars:
            assert ours[name].dtype == theirs[name].dtype, name
            np.testing.assert_allclose(
                ours[name].values,
                theirs[name].values,
                atol=1e-6,
                rtol=0,
                equal_nan=True,
                err_msg=name,
            )
        assert float(ours["blue"].min()) < 0  # negative reflectance kept (harmonizeValues=false)
    # tile A's no-data corner: filled by tile B on 10 June, NaN (never 0) on 15 June
    corner = stack.cube["red"].sel(x=601100.0, y=5339880.0, method="nearest")
    assert not np.isnan(corner.values[0]) and np.isnan(corner.values[1])
    assert int(stack.cube["scl"].sel(x=601100.0, y=5339880.0, method="nearest")[1]) == 0
    # The requests were what the service expects.
    process = [body for path, body in state.requests if path == "/api/v1/process"]
    assert len(process) == 2
    for body in process:
        assert body["input"]["data"][0]["processing"] == {"harmonizeValues": False}
        assert body["input"]["data"][0]["dataFilter"]["mosaickingOrder"] == "leastRecent"
        assert body["input"]["bounds"]["bbox"] == list(GRID.bounds)
        assert (body["output"]["height"], body["output"]["width"]) == GRID.shape
    assert stack.harmonisation is not None
    assert {i.offset_dn for i in stack.harmonisation.items} == {1000}
    assert "processing units" in caplog.text


def test_baseline_below_04_is_scaled_without_offset(sh: tuple[ServerWithPlan, ShState]) -> None:
    server, _ = sh
    source = _source(server)
    stack = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2021, 6, 12),
        end=date(2021, 6, 12),
        client=_client(source),
    )
    assert stack.harmonisation is not None
    assert [i.offset_dn for i in stack.harmonisation.items] == [0]
    assert stack.baselines == {
        "S2B_MSIL2A_20210612T100029_N0300_R122_T33UXP_20210612T140000": "03.00"
    }
    assert stack.cube is not None and float(stack.cube["blue"].min()) > 0


def test_empty_period_is_no_cube(sh: tuple[ServerWithPlan, ShState]) -> None:
    server, state = sh
    source = _source(server)
    stack = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2023, 1, 1),
        end=date(2023, 1, 31),
        client=_client(source),
    )
    assert stack.cube is None
    assert not [p for p, _ in state.requests if p == "/api/v1/process"]


def _zones() -> gpd.GeoDataFrame:
    """Parks of 0.3-6 ha, not aligned to pixels, away from the no-data corner."""
    shapes = [
        box(600333.0, 5339123.0, 600587.0, 5339361.0),
        Point(601054.0, 5339402.0).buffer(61.0),
        box(600914.0, 5338877.0, 601133.0, 5339010.0),
        Point(601519.0, 5339214.0).buffer(140.0),
        box(600713.0, 5339613.0, 600768.0, 5339668.0),  # 0.30 ha: the smallest size documented
    ]
    ids = ["p1", "p2", "p3", "p4", "p5"]
    return gpd.GeoDataFrame({"id": ids}, geometry=shapes, crs="EPSG:32633")


STATS_TOLERANCE = 0.01
"""Largest |mean NDVI (Statistical API) - coverage-weighted mean NDVI (STAC path)| accepted.

Documented in DESIGN section 3: the service counts whole pixels whose centre is inside a zone, the
STAC path weights partial pixels by coverage (exactextract); on parks of >= 0.3 ha with smooth
NDVI the two agree to about 0.01, on small parks with edge pixels much less so."""


def test_statistical_api_agrees_with_the_stac_path_per_park(
    sh: tuple[ServerWithPlan, ShState],
    products: list[Product],
    range_server: ServerWithPlan,
) -> None:
    server, state = sh
    source = _source(server)
    zones = _zones()
    table = zone_statistics(
        source,
        zones,
        start=date(2024, 6, 1),
        end=date(2024, 6, 30),
        bbox_wgs84=BBOX,
        client=_client(source),
        masked_scl=MASKED,
    )
    assert sorted(set(table["date"])) == [date(2024, 6, 10), date(2024, 6, 15)]
    assert len(table) == 2 * len(zones)
    stats_requests = [b for p, b in state.requests if p == "/api/v1/statistics"]
    assert len(stats_requests) == len(zones)
    assert stats_requests[0]["aggregation"]["aggregationInterval"] == {"of": "P1D"}
    assert "var BOA_OFFSET_DN = 1000;" in stats_requests[0]["aggregation"]["evalscript"]
    for day in (date(2024, 6, 10), date(2024, 6, 15)):
        cube = _stac_cube(products, range_server, day).cube.isel(time=0)
        red, nir = cube["red"], cube["nir"]
        clear = ~cube["scl"].isin(list(MASKED))
        ndvi = ((nir - red) / (nir + red)).where(clear).rio.write_crs("EPSG:32633")
        ndvi.name = "ndvi"
        reference = zonal_weighted_mean(ndvi, zones, "id")
        ours = table[table["date"] == day].set_index("zone")["mean"]
        reference = reference.reindex(ours.index)
        # no data on one side is no data on the other (p4 lies off tile A, alone on 15 June)
        assert (ours.isna() == reference.isna()).all()
        assert ours.notna().sum() >= 3
        diff = (ours - reference).abs().dropna()
        assert float(diff.max()) <= STATS_TOLERANCE, diff.to_dict()


def test_a_zone_without_clear_pixels_is_explicitly_no_data(
    sh: tuple[ServerWithPlan, ShState],
) -> None:
    server, _ = sh
    source = _source(server)
    cloud = box(
        600000 + 30 * 20 + 40, TOP - 40 * 20 + 40, 600000 + 44 * 20 - 40, TOP - 30 * 20 - 40
    )
    zones = gpd.GeoDataFrame({"id": ["under-cloud"]}, geometry=[cloud], crs="EPSG:32633")
    table = zone_statistics(
        source,
        zones,
        start=date(2024, 6, 15),
        end=date(2024, 6, 15),
        bbox_wgs84=BBOX,
        client=_client(source),
    )
    row = table.iloc[0]
    assert np.isnan(row["mean"]) and row["nodata_count"] == row["sample_count"] > 0


def test_evalscript_files_declare_the_bands_the_loader_reads() -> None:
    assert evalscript_bands(evalscript("s2l2a_bands_dn.js")) == list(BANDS)
    script = evalscript("s2l2a_ndvi_statistics.js", BOA_OFFSET_DN=0, MASKED_SCL=[0, 9])
    assert "var BOA_OFFSET_DN = 0;" in script and "var MASKED_SCL = [0, 9];" in script
    with pytest.raises(InvalidInputError, match="no 'var NOPE"):
        evalscript("s2l2a_bands_dn.js", NOPE=1)
    assert estimate_processing_units(512, 512, 3) == pytest.approx(1.0)
    assert estimate_processing_units(160, 110, 6) == pytest.approx(160 * 110 / 512**2 * 2)
    assert estimate_processing_units(1, 1, 1) == pytest.approx(0.005)


# -- faults ----------------------------------------------------------------------------------


def test_bad_credentials_fail_once_with_one_clear_message(
    sh: tuple[ServerWithPlan, ShState],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, state = sh
    source = _source(server)
    caplog.set_level(logging.DEBUG)
    waits = Waits()
    client = client_for(source, {**ENV, "SH_CLIENT_SECRET": "wrong-" + SECRET}, sleep=waits)
    with pytest.raises(CredentialsError) as info:
        load_period(
            source,
            GRID,
            bbox_wgs84=BBOX,
            start=date(2024, 6, 1),
            end=date(2024, 6, 30),
            client=client,
        )
    message = str(info.value)
    assert "SH_CLIENT_ID" in message and "SH_CLIENT_SECRET" in message and "HTTP 401" in message
    assert state.token_requests == 1 and waits == []  # no retry storm
    assert SECRET not in message and SECRET not in caplog.text and SECRET not in repr(client)


def test_missing_credentials_name_the_variables() -> None:
    source = SentinelHubSource(
        catalog="https://sh.dataspace.copernicus.eu",
        provider="sentinelhub",
        collection="sentinel-2-l2a",
    )
    with pytest.raises(CredentialsError, match="SH_CLIENT_SECRET"):
        client_for(source, {"SH_CLIENT_ID": "x"})


def test_a_revoked_token_is_refreshed_once_then_refused(
    sh: tuple[ServerWithPlan, ShState],
) -> None:
    server, state = sh
    source = _source(server)
    state.revoke_next = 1
    client = _client(source)
    stack = load_period(
        source, GRID, bbox_wgs84=BBOX, start=date(2021, 6, 12), end=date(2021, 6, 12), client=client
    )
    assert stack.cube is not None and state.token_requests == 2
    no_retries = _source(server, retries=0)
    state.revoke_next = 1  # the refresh is not a retry: it works with retries=0 too
    assert (
        load_period(
            no_retries,
            GRID,
            bbox_wgs84=BBOX,
            start=date(2021, 6, 12),
            end=date(2021, 6, 12),
            client=_client(no_retries),
        ).cube
        is not None
    )
    state.revoke_next = 2
    with pytest.raises(CredentialsError, match="refused a fresh token"):
        load_period(
            source,
            GRID,
            bbox_wgs84=BBOX,
            start=date(2021, 6, 12),
            end=date(2021, 6, 12),
            client=client,
        )


def test_429_waits_the_retry_after_and_5xx_backs_off(
    sh: tuple[ServerWithPlan, ShState],
) -> None:
    server, _ = sh
    source = _source(server, retry_after_max_s=60.0)
    server.plan.add(Fault("/api/v1/process", "status", count=1, status=429, retry_after=7))
    server.plan.add(Fault("/api/v1/process", "status", count=1, status=429, retry_after=3600))
    server.plan.add(Fault("/api/v1/process", "status", count=1, status=502))
    waits = Waits()
    stack = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2021, 6, 12),
        end=date(2021, 6, 12),
        client=_client(source, waits),
    )
    assert stack.cube is not None
    assert waits[:2] == [7.0, 60.0]  # Retry-After honoured, capped
    assert len(waits) == 3 and waits[2] > 0
    assert server.plan.statuses("/api/v1/process") == [429, 429, 502, 200]


def test_persistent_5xx_is_unavailable_not_nodata(sh: tuple[ServerWithPlan, ShState]) -> None:
    server, _ = sh
    source = _source(server)
    server.plan.add(Fault("/api/v1/process", "status", count=None, status=503))
    with pytest.raises(SourceUnavailableError, match="HTTP 503"):
        load_period(
            source,
            GRID,
            bbox_wgs84=BBOX,
            start=date(2021, 6, 12),
            end=date(2021, 6, 12),
            client=_client(source),
        )
    assert server.plan.statuses("/api/v1/process") == [503] * 4


def test_timeouts_are_retried_then_unavailable(sh: tuple[ServerWithPlan, ShState]) -> None:
    server, _ = sh
    source = _source(server, timeout_s=0.3, retries=1)
    server.plan.add(Fault("/api/v1/process", "delay", count=1, delay_s=2.0))
    stack = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2021, 6, 12),
        end=date(2021, 6, 12),
        client=_client(source),
    )
    assert stack.cube is not None
    server.plan.add(Fault("/api/v1/process", "delay", count=None, delay_s=2.0))
    with pytest.raises(SourceUnavailableError, match="Timeout"):
        load_period(
            source,
            GRID,
            bbox_wgs84=BBOX,
            start=date(2021, 6, 12),
            end=date(2021, 6, 12),
            client=_client(source),
        )


def test_truncated_answers_are_retried_then_a_read_error(
    sh: tuple[ServerWithPlan, ShState],
) -> None:
    server, _ = sh
    source = _source(server, retries=2)
    server.plan.add(Fault("/api/v1/process", "truncate", count=1))
    stack = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2021, 6, 12),
        end=date(2021, 6, 12),
        client=_client(source),
    )
    assert stack.cube is not None
    server.plan.add(Fault("/api/v1/statistics", "truncate", count=None))
    with pytest.raises(DataReadError, match="truncated"):
        zone_statistics(
            source,
            _zones().iloc[:1],
            start=date(2021, 6, 12),
            end=date(2021, 6, 12),
            bbox_wgs84=BBOX,
            client=_client(source),
        )


def test_a_bad_request_is_refused_with_the_services_message(
    sh: tuple[ServerWithPlan, ShState],
) -> None:
    server, _ = sh
    source = _source(server)
    client = _client(source)
    with pytest.raises(InvalidInputError, match="evalscript missing"):
        client.post("/api/v1/process", {"input": {}}, what="process", pu=0.0)


def test_large_grids_are_fetched_in_tiles_that_add_up_to_the_same_cube(
    sh: tuple[ServerWithPlan, ShState],
) -> None:
    server, state = sh
    source = _source(server)
    whole = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2024, 6, 10),
        end=date(2024, 6, 10),
        client=_client(source),
    )
    state.requests.clear()
    tiled = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2024, 6, 10),
        end=date(2024, 6, 10),
        client=_client(source),
        max_px=64,
    )
    assert whole.cube is not None and tiled.cube is not None
    for name in whole.cube.data_vars:
        np.testing.assert_array_equal(tiled.cube[name].values, whole.cube[name].values)
    sizes = [
        (b["output"]["width"], b["output"]["height"])
        for p, b in state.requests
        if p == "/api/v1/process"
    ]
    assert len(sizes) == 6 and max(max(s) for s in sizes) <= 64  # 160 x 110 px in 3 x 2 tiles
    tiles = grid_tiles(OutputGrid("EPSG:32633", 10.0, (0.0, 0.0, 22840.0, 29380.0)), 2048)
    assert len(tiles) == 4 and sum(t[2].shape[0] * t[2].shape[1] for t in tiles) == 2284 * 2938
    too_wide = OutputGrid("EPSG:32633", 10.0, (0.0, 0.0, 25010.0, 100.0))
    with pytest.raises(InvalidInputError, match="grid_tiles"):
        process_payload(source, too_wide, utc(2024, 6, 10), utc(2024, 6, 11), "//VERSION=3")


def test_per_district_statistics_agree_with_the_stac_path(
    sh: tuple[ServerWithPlan, ShState],
    products: list[Product],
    range_server: ServerWithPlan,
) -> None:
    server, _ = sh
    source = _source(server)
    west, south, east, north = GRID.bounds
    middle = 601013.0  # off the pixel phase: districts share a boundary through pixels
    districts = gpd.GeoDataFrame(
        {"id": ["1", "2"]},
        geometry=[box(west, south, middle, north), box(middle, south, east, north)],
        crs="EPSG:32633",
    )
    table = zone_statistics(
        source,
        districts,
        start=date(2024, 6, 10),
        end=date(2024, 6, 10),
        bbox_wgs84=BBOX,
        client=_client(source),
        masked_scl=MASKED,
    )
    cube = _stac_cube(products, range_server, date(2024, 6, 10)).cube.isel(time=0)
    clear = ~cube["scl"].isin(list(MASKED))
    ndvi = ((cube["nir"] - cube["red"]) / (cube["nir"] + cube["red"])).where(clear)
    ndvi = ndvi.rio.write_crs("EPSG:32633")
    ndvi.name = "ndvi"
    reference = zonal_weighted_mean(ndvi, districts, "id")
    ours = table.set_index("zone")["mean"]
    assert (ours - reference.reindex(ours.index)).abs().max() <= STATS_TOLERANCE
    assert (table["sample_count"] > 5000).all()


def test_no_secret_or_token_reaches_logs_manifests_or_errors(
    sh: tuple[ServerWithPlan, ShState],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The client secret and the bearer tokens issued stay out of every text a run leaves."""
    import json

    from alerts.products.manifest import scenes_manifest

    server, state = sh
    caplog.set_level(logging.DEBUG)
    source = _source(server, retries=1)
    client = _client(source)
    stack = load_period(
        source, GRID, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30), client=client
    )
    zone_statistics(
        source,
        _zones().iloc[:1],
        start=date(2024, 6, 10),
        end=date(2024, 6, 10),
        bbox_wgs84=BBOX,
        client=client,
    )
    assert stack.cube is not None
    manifest = json.dumps(scenes_manifest([stack], stack.items), default=str)
    attrs = json.dumps(
        [stack.cube.attrs, *[v.attrs for v in stack.cube.data_vars.values()]], default=str
    )
    errors = []
    server.plan.add(Fault("/api/v1/process", "status", count=None, status=503))
    with pytest.raises(SourceUnavailableError) as unavailable:
        load_period(
            source,
            GRID,
            bbox_wgs84=BBOX,
            start=date(2021, 6, 12),
            end=date(2021, 6, 12),
            client=client,
        )
    errors.append(str(unavailable.value))
    server.plan.clear()
    with pytest.raises(InvalidInputError) as refused:
        client.post("/api/v1/process", {"input": {}}, what="process", pu=0.0)
    errors.append(str(refused.value))
    state.revoke_next = 2
    with pytest.raises(CredentialsError) as revoked:
        client.post("/api/v1/process", {"input": {}}, what="process", pu=0.0)
    errors.append(str(revoked.value))
    assert state.tokens and state.token_requests >= 2
    texts = [manifest, attrs, caplog.text, repr(stack), repr(client), repr(source), *errors]
    for text in texts:
        assert SECRET not in text
        for token in state.tokens:
            assert token not in text
    assert "processing units" in caplog.text and "/api/v1/process" in caplog.text  # logs kept
    assert "Bearer" not in caplog.text


def test_the_flows_scene_loader_reads_a_sentinelhub_source_with_env_credentials(
    sh: tuple[ServerWithPlan, ShState], monkeypatch: pytest.MonkeyPatch
) -> None:
    """eo.scenes.load_period (what the vegetation flow calls) goes through the Process API."""
    from eo import scenes

    server, state = sh
    source = _source(server)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    stack = scenes.load_period(
        source, GRID, bbox_wgs84=BBOX, start=date(2024, 6, 10), end=date(2024, 6, 10)
    )
    direct = load_period(
        source,
        GRID,
        bbox_wgs84=BBOX,
        start=date(2024, 6, 10),
        end=date(2024, 6, 10),
        client=_client(source),
    )
    assert stack.cube is not None and direct.cube is not None
    assert stack.days == [date(2024, 6, 10)] and stack.items == direct.items
    for name in direct.cube.data_vars:
        np.testing.assert_array_equal(stack.cube[name].values, direct.cube[name].values)
    assert [p for p, _ in state.requests].count("/api/v1/process") == 2


def test_token_endpoint_faults_are_retried_then_unavailable(
    sh: tuple[ServerWithPlan, ShState],
) -> None:
    server, state = sh
    source = _source(server, retries=2)
    server.plan.add(Fault("/oauth/token", "status", count=1, status=503))
    server.plan.add(Fault("/oauth/token", "truncate", count=1))
    waits = Waits()
    assert _client(source, waits).access_token() in state.tokens
    assert server.plan.statuses("/oauth/token") == [503, 200, 200] and len(waits) == 2
    server.plan.clear()
    server.plan.add(Fault("/oauth/token", "status", count=None, status=500))
    with pytest.raises(SourceUnavailableError, match="gave no token") as info:
        _client(source).access_token()
    assert SECRET not in str(info.value)
    assert server.plan.statuses("/oauth/token") == [500] * 3
