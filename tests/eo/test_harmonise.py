"""Per-item harmonisation of stackstac-style DN cubes, and the pixel check of the BOA offset flag."""

from __future__ import annotations

import json
import math
from typing import Any

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from stackstac.accumulate_metadata import metadata_to_coords

import eo.harmonise
from core.errors import InvalidInputError, OffsetFlagCorrectedWarning, OffsetUnverifiedWarning
from eo.harmonise import HarmonisationReport, check_offset_state, harmonise
from eo.sentinel2 import scl_mask, upsample_nearest
from tests.conftest import shared_file

ES_BANDS = ["blue", "red", "nir", "scl"]
PC_BANDS = ["B02", "B04", "B08", "SCL"]
# True surface reflectance (blue, red, nir) and SCL class of each land cover in the synthetic scene.
VEGETATION = ((0.03, 0.04, 0.35), 4)
WATER = ((0.05, 0.03, 0.01), 6)
CLOUD = ((0.50, 0.50, 0.50), 9)
SIZE = 40


def scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(reflectance[3, y, x], scl[y, x]): vegetation, a water strip, a cloud block, one nodata pixel."""
    rng = np.random.default_rng(seed)
    refl = np.empty((3, SIZE, SIZE))
    scl = np.empty((SIZE, SIZE), dtype=np.uint8)
    for (values, cls), rows, cols in [
        (VEGETATION, slice(None), slice(None)),
        (WATER, slice(0, 8), slice(None)),
        (CLOUD, slice(30, 40), slice(30, 40)),
    ]:
        refl[:, rows, cols] = np.array(values)[:, None, None]
        scl[rows, cols] = cls
    refl += rng.normal(0.0, 0.003, refl.shape)
    scl[20, 20] = 0
    return refl, scl


def item_dn(refl: np.ndarray, scl: np.ndarray, offset_in_dn: bool) -> np.ndarray:
    """DN[band, y, x] as the provider would serve them (uint16, 0 = nodata, +1000 with the offset)."""
    dn = np.round(refl * 10000) + (1000 if offset_in_dn else 0)
    dn = np.clip(dn, 1, 65535)
    dn[:, scl == 0] = 0
    return np.concatenate([dn, scl[None].astype(float)]).astype(np.uint16)


def make_cube(items: list[dict[str, Any]], bands: list[str], lazy: bool = True) -> xr.DataArray:
    """A DN cube laid out as stackstac builds it; ``items``: dicts of ``properties`` and ``dn``."""
    data = np.stack([it["dn"] for it in items])
    props = [{"id": it["id"], **it["properties"]} for it in items]
    coords: dict[str, Any] = dict(metadata_to_coords(props, "time"))
    coords.update(
        time=pd.to_datetime([it["date"] for it in items]),
        band=bands,
        y=5.0 + 10.0 * np.arange(SIZE)[::-1],
        x=5.0 + 10.0 * np.arange(SIZE),
    )
    array = da.from_array(data, chunks=(1, 1, 16, 16)) if lazy else data
    return xr.DataArray(array, dims=("time", "band", "y", "x"), coords=coords)


def es_item(
    item_id: str, date: str, baseline: str, flag: bool, offset_in_dn: bool, seed: int
) -> dict[str, Any]:
    refl, scl = scene(seed)
    props = {"s2:processing_baseline": baseline, "earthsearch:boa_offset_applied": flag}
    return {
        "id": item_id,
        "date": date,
        "properties": props,
        "dn": item_dn(refl, scl, offset_in_dn),
    }


def ndvi_series(
    cube: xr.DataArray, bands: tuple[str, str, str] = ("red", "nir", "scl")
) -> np.ndarray:
    red, nir, scl = (cube.sel(band=b) for b in bands)
    ndvi = ((nir - red) / (nir + red)).where(~scl_mask(scl, strict=True))
    return ndvi.median(dim=("y", "x")).values


def mixed_baseline_items() -> list[dict[str, Any]]:
    return [
        es_item("S2A_33UXP_20211201_0_L2A", "2021-12-01", "03.00", False, False, 1),
        es_item("S2B_33UXP_20220110_0_L2A", "2022-01-10", "03.00", False, False, 2),
        es_item("S2A_33UXP_20220130_0_L2A", "2022-01-30", "04.00", False, True, 3),
        # flag says removed, pixels still carry the offset (the known Earth Search defect)
        es_item("S2B_33UXP_20220204_0_L2A", "2022-02-04", "04.00", True, True, 4),
    ]


def test_mixed_baselines_no_step_and_wrong_flag_corrected() -> None:
    cube = make_cube(mixed_baseline_items(), ES_BANDS)
    with pytest.warns(OffsetFlagCorrectedWarning, match="S2B_33UXP_20220204_0_L2A"):
        out, report = harmonise(cube, provider="earth-search", collection="sentinel-2-l2a")
    ndvi = ndvi_series(out)
    # hand: vegetation NDVI = (0.35 - 0.04) / (0.35 + 0.04) = 0.795, on every date
    np.testing.assert_allclose(ndvi, 0.795, atol=0.01)
    assert np.abs(np.diff(ndvi)).max() < 0.01
    assert [it.offset_dn for it in report.items] == [0, 0, 1000, 1000]
    assert [it.decided_by for it in report.items] == ["metadata"] * 3 + ["pixels"]
    assert [it.verified for it in report.items] == [False, False, True, True]
    assert report.n_corrected == 1 and report.n_unverified == 0
    np.testing.assert_array_equal(out["boa_offset_dn"], [0, 0, 1000, 1000])


def test_without_pixel_check_the_wrong_flag_makes_a_step() -> None:
    """The oracle is sensitive: trusting the flag leaves a step of the NDVI series."""
    cube = make_cube(mixed_baseline_items(), ES_BANDS)
    out, report = harmonise(
        cube, provider="earth-search", collection="sentinel-2-l2a", check_pixels=False
    )
    ndvi = ndvi_series(out)
    # hand: with the offset left in, (0.45 - 0.14) / (0.45 + 0.14) = 0.525
    assert ndvi[3] == pytest.approx(0.525, abs=0.01)
    assert report.n_corrected == 0 and report.n_unverified == 2


def test_flag_false_but_offset_removed_is_corrected_to_zero() -> None:
    items = [es_item("S2A_X_20250301_0_L2A", "2025-03-01", "05.11", False, False, 5)]
    with pytest.warns(OffsetFlagCorrectedWarning, match="S2A_X_20250301_0_L2A"):
        out, report = harmonise(
            make_cube(items, ES_BANDS), provider="earth-search", collection="sentinel-2-l2a"
        )
    assert report.items[0].offset_dn == 0 and report.items[0].decided_by == "pixels"
    assert float(out.sel(band="red").isel(time=0, y=15, x=15)) == pytest.approx(0.04, abs=0.015)


def test_all_cloud_item_is_unverified_not_an_error() -> None:
    item = es_item("S2A_CLOUDY_20250601_0_L2A", "2025-06-01", "05.11", True, False, 6)
    item["dn"][3] = 9  # every pixel cloud: no dark references
    with pytest.warns(OffsetUnverifiedWarning, match="S2A_CLOUDY_20250601_0_L2A"):
        _, report = harmonise(
            make_cube([item], ES_BANDS), provider="earth-search", collection="sentinel-2-l2a"
        )
    record = report.items[0]
    assert (record.offset_dn, record.decided_by, record.verified) == (0, "metadata", False)
    assert report.n_unverified == 1 and report.n_corrected == 0


def test_one_small_compute_and_lazy_output(monkeypatch: pytest.MonkeyPatch) -> None:
    cube = make_cube(mixed_baseline_items()[2:3], ES_BANDS)  # one item needing the check
    shapes: list[tuple[int, ...]] = []

    def recording_check(red: Any, blue: Any, scl: Any, **kw: Any) -> Any:
        shapes.append(np.shape(red))
        return check_offset_state(red, blue, scl, **kw)

    computes: list[int] = []

    def counting_scheduler(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        computes.append(1)
        return dask.get(dsk, keys, **kwargs)

    monkeypatch.setattr(eo.harmonise, "check_offset_state", recording_check)
    monkeypatch.setattr(eo.harmonise, "_CHECK_MAX_SAMPLES", 100)  # 40 x 40 -> every 4th pixel
    with (
        dask.config.set(scheduler=counting_scheduler),
        pytest.warns(OffsetUnverifiedWarning, match="S2A_33UXP_20220130_0_L2A"),  # 90 < 1000 refs
    ):
        out, report = harmonise(cube, provider="earth-search", collection="sentinel-2-l2a")
    assert len(computes) == 1
    assert shapes == [(SIZE // 4, SIZE // 4)]
    assert isinstance(out.data, da.Array)
    assert report.items[0].pixel_verdict == "unverified"


def test_no_compute_without_pixel_check() -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("computed")

    cube = make_cube(mixed_baseline_items(), ES_BANDS)
    with dask.config.set(scheduler=refuse):
        out, _ = harmonise(
            cube, provider="earth-search", collection="sentinel-2-l2a", check_pixels=False
        )
    assert isinstance(out.data, da.Array) and out.dtype == np.float32


@pytest.mark.parametrize("lazy", [False, True], ids=["numpy", "dask"])
def test_planetary_computer_per_item_baselines(lazy: bool) -> None:
    refl, scl = scene(7)
    items = [
        {"id": "old", "date": "2019-01-01", "properties": {"s2:processing_baseline": "02.12"},
         "dn": item_dn(refl, scl, False)},
        {"id": "new", "date": "2024-05-16", "properties": {"s2:processing_baseline": "05.10"},
         "dn": item_dn(refl, scl, True)},
    ]  # fmt: skip
    cube = make_cube(items, PC_BANDS, lazy=lazy)
    out, report = harmonise(cube, provider="planetary-computer", collection="sentinel-2-l2a")
    assert [it.pixel_verdict for it in report.items] == ["not_needed", "not_needed"]
    assert [it.offset_dn for it in report.items] == [0, 1000]
    red = out.sel(band="B04").values
    np.testing.assert_allclose(red[0], red[1], atol=1e-6, equal_nan=True)
    # hand: first DN row of B04 of the old item over 10000
    np.testing.assert_allclose(red[0, 0, :3], items[0]["dn"][1, 0, :3] / 10000, rtol=1e-6)
    # SCL band keeps its class codes; nodata DN 0 -> NaN in reflectance bands
    np.testing.assert_array_equal(out.sel(band="SCL").values[0], scl)
    assert np.isnan(red[:, 20, 20]).all()
    assert out.attrs["units"] == "1" and out.dtype == np.float32


def test_report_to_dict_is_json_ready() -> None:
    cube = make_cube(mixed_baseline_items()[:1], ES_BANDS)
    _, report = harmonise(cube, provider="earth-search", collection="sentinel-2-l2a")
    assert isinstance(report, HarmonisationReport)
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["items"][0]["id"] == "S2A_33UXP_20211201_0_L2A"
    assert doc["items"][0]["baseline"] == "03.00"
    assert {"n_corrected", "n_unverified"} <= doc.keys()


def test_bad_dims_and_unknown_bands_are_invalid_input() -> None:
    cube = make_cube(mixed_baseline_items()[:1], ES_BANDS, lazy=False)
    with pytest.raises(InvalidInputError, match="transpose"):
        harmonise(
            cube.transpose("band", "time", "y", "x"),
            provider="earth-search",
            collection="sentinel-2-l2a",
        )
    with pytest.raises(InvalidInputError, match="aot"):
        harmonise(cube.assign_coords(band=["blue", "red", "aot", "scl"]), provider="earth-search",
                  collection="sentinel-2-l2a")  # fmt: skip


@pytest.mark.parametrize(("offset", "verdict"), [(1000, "offset_in_dn"), (0, "offset_removed")])
def test_check_offset_state_verdicts(offset: int, verdict: str) -> None:
    refl, scl = scene(8)
    dn = item_dn(refl, scl, offset_in_dn=bool(offset))
    check = check_offset_state(dn[1], dn[0], scl)
    assert check.verdict == verdict
    # reference pixels: vegetation + water = everything except cloud block and nodata pixel
    assert check.n_reference == SIZE * SIZE - 100 - 1
    assert check.median_red == pytest.approx(400 + offset, abs=40)


def test_check_offset_state_too_few_references() -> None:
    refl, scl = scene(9)
    dn = item_dn(refl, scl, True)
    check = check_offset_state(dn[1], dn[0], scl, min_reference_pixels=SIZE * SIZE)
    assert check.verdict == "unverified" and check.n_reference > 0
    empty = check_offset_state(np.zeros((4, 4)), np.zeros((4, 4)), np.zeros((4, 4)))
    assert empty.verdict == "unverified" and empty.n_reference == 0 and math.isnan(empty.median_red)


def test_real_fixture_cube_keeps_metadata_decision() -> None:
    rasterio = pytest.importorskip("rasterio")
    folder = "sentinel2_l2a_29RKH_20200219"
    item = json.loads(shared_file(folder, "S2A_29RKH_20200219_0_L2A.json").read_text())
    bands = []
    for name in ("B02", "B04", "SCL"):
        with rasterio.open(shared_file(folder, f"{name}.tif")) as src:
            data = src.read(1)
        bands.append(upsample_nearest(data, 2) if name == "SCL" else data)
    dn = np.stack(bands)[None]
    props = [{"id": item["id"], **item["properties"]}]
    coords = dict(
        metadata_to_coords(props, "time"),
        time=pd.to_datetime(["2020-02-19"]),
        band=["blue", "red", "scl"],
    )
    cube = xr.DataArray(
        da.from_array(dn, chunks=(1, 1, 512, 512)), dims=("time", "band", "y", "x"), coords=coords
    )
    out, report = harmonise(cube, provider="earth-search", collection="sentinel-2-l2a")
    assert report.items[0].baseline == "02.14" and report.items[0].offset_dn == 0
    assert report.n_corrected == 0
    np.testing.assert_allclose(
        out.sel(band="red").values[0, :2, :2], dn[0, 1, :2, :2] / 10000, rtol=1e-6
    )
    # The same pixels labelled as a baseline-05.00 item: the check runs, finds too few dark
    # references in the desert, keeps the metadata decision and says so.
    relabelled = cube.assign_coords(
        {"s2:processing_baseline": "05.00", "earthsearch:boa_offset_applied": True}
    )
    with pytest.warns(OffsetUnverifiedWarning, match=item["id"]):
        _, report = harmonise(relabelled, provider="earth-search", collection="sentinel-2-l2a")
    assert report.items[0].offset_dn == 0 and report.n_unverified == 1


def test_real_stackstac_cube_from_the_fixture() -> None:
    """The cube stackstac really builds (properties as coords) goes through harmonise unchanged."""
    rasterio = pytest.importorskip("rasterio")
    stackstac = pytest.importorskip("stackstac")
    folder = "sentinel2_l2a_29RKH_20200219"
    item = json.loads(shared_file(folder, "S2A_29RKH_20200219_0_L2A.json").read_text())
    with rasterio.open(shared_file(folder, "B04.tif")) as src:
        bounds, red = tuple(src.bounds), src.read(1)
    assets = {}
    for key, name in [("blue", "B02"), ("red", "B04"), ("scl", "SCL")]:
        path = shared_file(folder, f"{name}.tif")
        with rasterio.open(path) as src:
            assets[key] = {
                **item["assets"][key],
                "href": str(path),
                "proj:epsg": 32629,
                "proj:shape": list(src.shape),
                "proj:transform": list(src.transform)[:6],
            }
    local = {**item, "assets": assets, "properties": {**item["properties"], "proj:epsg": 32629}}
    cube = stackstac.stack(
        [local], assets=["blue", "red", "scl"], epsg=32629, resolution=100, bounds=bounds,
        rescale=False, dtype="uint16", fill_value=np.uint16(0), xy_coords="center", snap_bounds=False,
    )  # fmt: skip
    out, report = harmonise(cube, provider="earth-search", collection="sentinel-2-l2a")
    assert isinstance(out.data, da.Array)
    assert report.items[0].id == item["id"] and report.items[0].baseline == "02.14"
    np.testing.assert_allclose(out.sel(band="red").values[0], red / 10000, rtol=1e-6)
    # SCL (200 m) came in by nearest resampling: integer class codes only
    scl = out.sel(band="scl").values[0]
    assert set(np.unique(scl)) <= set(range(12))
