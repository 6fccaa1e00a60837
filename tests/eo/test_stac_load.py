"""Loading DN through stackstac from COGs on a local Range server, with and without HTTP faults."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from core.errors import DataReadError, GeospaceError, InvalidInputError, SourceUnavailableError
from eo.gdal_env import GdalHttpSettings
from eo.grid import OutputGrid
from eo.stac import items_by_solar_day, load_dn, mosaic_by_solar_day
from tests.servers.faults import Fault
from tests.servers.http_base import ServerWithPlan
from tests.servers.scene import NODATA_BLOCK, TILES, TOP, band_arrays, write_tile
from tests.servers.stac_factory import es_item

FAST = GdalHttpSettings(max_retry=3, retry_delay_s=0.01, timeout_s=5)
WHEN = datetime(2024, 6, 10, 10, 0, tzinfo=UTC)
# Inside tile A only: x 600200..601200 (cols 20..120), y 5338400..5339600 (rows 40..160).
GRID_A = OutputGrid("EPSG:32633", 10.0, (600200.0, 5338400.0, 601200.0, 5339600.0))


def _item(server: ServerWithPlan, folder: Path, tile: str, when: datetime = WHEN) -> dict[str, Any]:
    """Write ``tile``'s COGs under ``folder`` (served by ``server``) and return its item dict."""
    write_tile(folder, "", tile)
    prefix = folder.relative_to(server.settings["root"]).as_posix()
    assets = {}
    for band in ("red", "nir", "scl"):
        res = 20.0 if band == "scl" else 10.0
        from affine import Affine

        transform = Affine(res, 0.0, TILES[tile][1], 0.0, -res, TOP)
        shape = band_arrays(tile)[band].shape
        assets[band] = (f"{server.base_url}/{prefix}/{tile}/{band}.tif", transform, shape)
    code = TILES[tile][0]
    return es_item(f"S2A_{code}_{when:%Y%m%d}_0_L2A", when=when, assets=assets, tile=code)


def _expected(tile: str, band: str, grid: OutputGrid) -> np.ndarray:
    """The tile's array cut to ``grid`` (an independent slice, SCL repeated 2 x 2 for 10 m)."""
    data = band_arrays(tile)[band]
    if band == "scl":
        data = np.repeat(np.repeat(data, 2, axis=0), 2, axis=1)
    col0 = round((grid.bounds[0] - TILES[tile][1]) / 10.0)
    row0 = round((TOP - grid.bounds[3]) / 10.0)
    rows, cols = grid.shape
    return data[row0 : row0 + rows, col0 : col0 + cols].astype(np.uint16)


def test_load_gives_the_file_values_on_the_grid(
    range_server: ServerWithPlan, cog_root: Path
) -> None:
    item = _item(range_server, cog_root, "A")
    cube = load_dn([item], GRID_A, ["red", "nir", "scl"], chunksize=64, gdal=FAST)
    assert isinstance(cube.data, da.Array)  # lazy: nothing requested until computed
    assert range_server.plan.statuses() == []
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.dtype == np.uint16
    np.testing.assert_array_equal(cube["x"].values, GRID_A.x_centres())
    np.testing.assert_array_equal(cube["y"].values, GRID_A.y_centres())
    values = cube.values
    for index, band in enumerate(("red", "nir", "scl")):
        np.testing.assert_array_equal(values[0, index], _expected("A", band, GRID_A))
    assert cube.attrs["provider"] == "earth-search"
    assert cube.attrs["collection"] == "sentinel-2-l2a"
    assert cube.rio.crs.to_epsg() == 32633
    assert "spatial_ref" in cube.coords
    assert cube["solar_day"].values[0] == np.datetime64("2024-06-10")
    assert all(not isinstance(v, dict | list) for v in cube.attrs.values())


def test_load_outside_the_tile_is_nodata_zero(range_server: ServerWithPlan, cog_root: Path) -> None:
    item = _item(range_server, cog_root, "A")
    grid = OutputGrid("EPSG:32633", 10.0, (602400.0, 5339600.0, 602800.0, 5340000.0))
    values = load_dn([item], grid, ["red"], gdal=FAST).values[0, 0]
    assert (values[:, 16:] == 0).all()  # x >= 602560 lies east of tile A
    np.testing.assert_array_equal(values[:, :16], _expected("A", "red", grid)[:, :16])


def test_proj_code_only_items_load_like_proj_epsg(
    range_server: ServerWithPlan, cog_root: Path
) -> None:
    item = _item(range_server, cog_root, "A")
    item["properties"]["proj:code"] = "EPSG:32633"
    del item["properties"]["proj:epsg"]
    values = load_dn([item], GRID_A, ["red"], gdal=FAST).values
    np.testing.assert_array_equal(values[0, 0], _expected("A", "red", GRID_A))


def test_missing_asset_is_invalid_input(range_server: ServerWithPlan, cog_root: Path) -> None:
    item = _item(range_server, cog_root, "A")
    with pytest.raises(InvalidInputError, match="swir16"):
        load_dn([item], GRID_A, ["swir16"], gdal=FAST)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("*/red.tif", "status", count=2, status=429, retry_after=0),
        Fault("*/red.tif", "status", count=2, status=503),
    ],
    ids=["429", "503"],
)
def test_transient_faults_are_retried(
    range_server: ServerWithPlan, cog_root: Path, fault: Fault
) -> None:
    clean = _item(range_server, cog_root / "clean", "A")
    faulty = _item(range_server, cog_root / "faulty", "A")
    expected = load_dn([clean], GRID_A, ["red"], gdal=FAST).values
    range_server.plan.add(
        Fault(
            "*/faulty/*" + fault.pattern[1:],
            "status",
            count=fault.count,
            status=fault.status,
            retry_after=fault.retry_after,
        )
    )
    got = load_dn([faulty], GRID_A, ["red"], gdal=FAST).values
    np.testing.assert_array_equal(got, expected)
    assert range_server.plan.statuses("*/faulty/A/red.tif").count(fault.status) == 2


def test_persistent_503_fails_loudly(range_server: ServerWithPlan, cog_root: Path) -> None:
    item = _item(range_server, cog_root, "A")
    range_server.plan.add(Fault("*/A/red.tif", "status", count=None, status=503))
    cube = load_dn([item], GRID_A, ["red"], gdal=GdalHttpSettings(max_retry=2, retry_delay_s=0.01))
    with pytest.raises(SourceUnavailableError, match=r"red\.tif"):
        cube.compute()
    # It was retried before failing (GDAL allows up to 1 + 2 requests here; under load it may give
    # up on the time budget first, so the exact count is not the property under test).
    assert range_server.plan.statuses("*/A/red.tif").count(503) >= 2


def test_timeout_fails_loudly(range_server: ServerWithPlan, cog_root: Path) -> None:
    item = _item(range_server, cog_root, "A")
    range_server.plan.add(Fault("*/A/red.tif", "delay", count=None, delay_s=10.0))
    cube = load_dn([item], GRID_A, ["red"], gdal=GdalHttpSettings(max_retry=0, timeout_s=1))
    with pytest.raises(SourceUnavailableError, match=r"red\.tif"):
        cube.compute()


def test_truncated_body_fails_loudly(range_server: ServerWithPlan, cog_root: Path) -> None:
    item = _item(range_server, cog_root, "A")
    range_server.plan.add(Fault("*/A/red.tif", "truncate", count=None, methods=frozenset({"GET"})))
    cube = load_dn([item], GRID_A, ["red"], gdal=GdalHttpSettings(max_retry=1, retry_delay_s=0.01))
    with pytest.raises(GeospaceError, match=r"red\.tif") as info:
        cube.compute()
    assert isinstance(info.value, DataReadError | SourceUnavailableError)


def test_truncated_pixel_read_after_a_good_open_fails_loudly(
    range_server: ServerWithPlan, cog_root: Path
) -> None:
    item = _item(range_server, cog_root, "A")
    # headers and IFDs sit in the first KiB; tiles come later
    range_server.plan.add(Fault("*/A/red.tif", "truncate", count=None, min_range_start=1024))
    cube = load_dn([item], GRID_A, ["red"], gdal=GdalHttpSettings(max_retry=1, retry_delay_s=0.01))
    with pytest.raises(GeospaceError, match=r"red\.tif") as info:
        cube.compute()
    assert "reading window" in str(info.value)  # the open succeeded, the pixel read failed
    assert 206 in range_server.plan.statuses("*/A/red.tif")


def test_signed_href_is_redacted_in_read_errors(
    range_server: ServerWithPlan, cog_root: Path
) -> None:
    item = _item(range_server, cog_root, "A")
    item["assets"]["red"]["href"] += "?sv=2024&sig=TOPSECRET"
    range_server.plan.add(Fault("*/A/red.tif", "status", count=None, status=503))
    cube = load_dn([item], GRID_A, ["red"], gdal=GdalHttpSettings(max_retry=0))
    with pytest.raises(SourceUnavailableError) as info:
        cube.compute()
    assert "TOPSECRET" not in str(info.value) and "sig=REDACTED" in str(info.value)


# --- mosaic ------------------------------------------------------------------------------------

# Covers tile A's nodata block (x 601920..602560, y 5339360..5340000) inside the overlap with B.
GRID_AB = OutputGrid("EPSG:32633", 10.0, (601600.0, 5339200.0, 602400.0, 5340000.0))


def _expected_mosaic(band: str) -> np.ndarray:
    a, b = _expected("A", band, GRID_AB), _expected("B", band, GRID_AB)
    return np.where(a != 0, a, b)


def test_mosaic_takes_first_valid_per_solar_day(
    range_server: ServerWithPlan, cog_root: Path
) -> None:
    a = _item(range_server, cog_root, "A")
    b = _item(range_server, cog_root, "B", WHEN.replace(second=5))
    a2 = _item(range_server, cog_root / "later", "A", WHEN.replace(day=20))
    cube = load_dn([b, a, a2], GRID_AB, ["red", "scl"], gdal=FAST)
    assert cube.sizes["time"] == 3
    mosaic = mosaic_by_solar_day(cube)
    assert isinstance(mosaic.data, da.Array)
    assert list(mosaic["time"].values) == [
        np.datetime64("2024-06-10", "ns"),
        np.datetime64("2024-06-20", "ns"),
    ]
    assert items_by_solar_day(cube) == {
        date(2024, 6, 10): (a["id"], b["id"]),
        date(2024, 6, 20): (a2["id"],),
    }
    values = mosaic.values
    assert (_expected("A", "red", GRID_AB) == 0).any()  # the test really exercises the fill
    np.testing.assert_array_equal(values[0, 0], _expected_mosaic("red"))
    np.testing.assert_array_equal(values[0, 1], _expected_mosaic("scl"))
    np.testing.assert_array_equal(values[1, 0], _expected("A", "red", GRID_AB))


def test_mosaic_of_float_cube_skips_nan(range_server: ServerWithPlan, cog_root: Path) -> None:
    a = _item(range_server, cog_root, "A")
    b = _item(range_server, cog_root, "B", WHEN.replace(second=5))
    cube = load_dn([a, b], GRID_AB, ["red"], gdal=FAST)
    reflectance = cube.where(cube != 0).astype("float32") / 10000.0
    mosaic = mosaic_by_solar_day(reflectance)
    np.testing.assert_allclose(mosaic.values[0, 0], _expected_mosaic("red") / 10000.0, rtol=1e-6)


def test_mosaic_needs_load_dn_coords() -> None:
    cube = xr.DataArray(np.zeros((1, 1, 2, 2)), dims=("time", "band", "y", "x"))
    with pytest.raises(InvalidInputError, match="load_dn"):
        mosaic_by_solar_day(cube)


def test_nodata_block_constant_is_where_tile_a_is_zero() -> None:
    red = band_arrays("A")["red"]
    assert (red[NODATA_BLOCK] == 0).all() and (np.delete(red, np.s_[0:64], axis=0) != 0).all()


def test_hrefs_off_the_allowlist_are_refused_before_reading(
    range_server: ServerWithPlan, cog_root: Path
) -> None:
    from core.errors import AllowlistError
    from eo.allowlist import Allowlist

    item = _item(range_server, cog_root, "A")
    item["assets"]["nir"]["href"] = "s3://sentinel-s2-l2a/tiles/B08.jp2"
    allow = Allowlist(hosts=frozenset(), http_hosts=frozenset({"127.0.0.1"}))
    assert load_dn([item], GRID_A, ["red"], gdal=FAST, allowlist=allow).sizes["band"] == 1
    with pytest.raises(AllowlistError, match="s3"):
        load_dn([item], GRID_A, ["red", "nir"], gdal=FAST, allowlist=allow)
    with pytest.raises(AllowlistError, match=r"127\.0\.0\.1"):
        load_dn([item], GRID_A, ["red"], gdal=FAST, allowlist=Allowlist(hosts=frozenset()))
