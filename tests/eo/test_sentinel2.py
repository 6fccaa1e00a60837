"""Sentinel-2 DN -> reflectance (real provider items) and SCL masks, on numpy and Dask backends."""

from __future__ import annotations

import doctest
import json
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import eo.harmonise
import eo.landsat
import eo.sentinel2
from core.errors import InvalidInputError
from eo.sentinel2 import (
    boa_offset_dn,
    decide_offset,
    processing_baseline,
    scl_mask,
    to_reflectance,
    upsample_nearest,
)
from tests.conftest import shared_file

DN = np.array([0, 1, 500, 999, 1000, 1234, 10000, 65535], dtype=np.uint16)
# Hand-computed: DN / 10000, and DN / 10000 - 0.1 (= (DN - 1000) / 10000); DN 0 is nodata.
NO_OFFSET = [np.nan, 0.0001, 0.05, 0.0999, 0.1, 0.1234, 1.0, 6.5535]
WITH_OFFSET = [np.nan, -0.0999, -0.05, -0.0001, 0.0, 0.0234, 0.9, 6.4535]

STAC = ("protocols", "stac")
REAL_ITEMS = [
    # (file, provider, expected): collection is read from the item itself.
    (
        ("earth-search-v1", "item_sentinel-2-l2a_S2A_13TDE_20231008_0_L2A.json"),
        "earth-search",
        NO_OFFSET,  # baseline 05.09 with earthsearch:boa_offset_applied true; raster:bands says -0.1
    ),
    (
        ("earth-search-v1", "item_sentinel-2-l2a_S2B_20EPT_20250731_0_L2A.json"),
        "earth-search",
        NO_OFFSET,  # baseline 05.11, flag true
    ),
    (
        ("earth-search-v1", "item_sentinel-2-c1-l2a_S2B_T20EPT_20250731T131905_L2A.json"),
        "earth-search",
        WITH_OFFSET,  # c1: always DN/10000 - 0.1
    ),
    (
        (
            "planetary-computer",
            "item_sentinel-2-l2a_S2B_MSIL2A_20240516T162829_R083_T31XDL_20240516T214419.json",
        ),
        "planetary-computer",
        WITH_OFFSET,  # baseline 05.10
    ),
    (
        (
            "planetary-computer",
            "item_sentinel-2-l2a_S2A_MSIL2A_20190101T000001_R116_T60VUK_20201007T214652.baseline_02.12.json",
        ),
        "planetary-computer",
        NO_OFFSET,  # baseline 02.12
    ),
]


def as_numpy(values: np.ndarray) -> np.ndarray:
    return values


def as_dask_dataarray(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(
        da.from_array(values, chunks=3), dims=("x",), attrs={"units": "DN", "foo": "bar"}
    )


BACKENDS: list[Callable[[np.ndarray], Any]] = [as_numpy, as_dask_dataarray]


def _no_compute(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("something was computed where the code must stay lazy")


def load_item(parts: tuple[str, ...]) -> dict[str, Any]:
    return json.loads(shared_file(*STAC, *parts).read_text())


@pytest.mark.parametrize("backend", BACKENDS, ids=["numpy", "dask"])
@pytest.mark.parametrize(("parts", "provider", "expected"), REAL_ITEMS, ids=lambda v: str(v)[-30:])
def test_to_reflectance_on_real_provider_items(
    parts: tuple[str, ...], provider: str, expected: list[float], backend: Callable[..., Any]
) -> None:
    item = load_item(parts)
    with dask.config.set(scheduler=_no_compute):
        out = to_reflectance(backend(DN), provider, item["collection"], item["properties"])
    values = np.asarray(out)
    assert values.dtype == np.float32
    np.testing.assert_allclose(values, np.array(expected, dtype=np.float32), rtol=1e-6, atol=1e-7)


def test_dataarray_output_has_fresh_attrs_and_keeps_coords() -> None:
    dn = as_dask_dataarray(DN).assign_coords(x=np.arange(DN.size) * 10.0, spatial_ref=0)
    props = {"s2:processing_baseline": "05.10"}
    with dask.config.set(scheduler=_no_compute):
        out = to_reflectance(dn, "planetary-computer", "sentinel-2-l2a", props)
    assert isinstance(out.data, da.Array)
    assert out.attrs["units"] == "1"
    assert "long_name" in out.attrs and "foo" not in out.attrs
    assert out.attrs["boa_offset_dn"] == 1000 and out.attrs["processing_baseline"] == "05.10"
    assert "spatial_ref" in out.coords
    np.testing.assert_array_equal(out["x"], dn["x"])


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"s2:processing_baseline": "04.00"}, (4, 0)),
        ({"s2:processing_baseline": "5.09"}, (5, 9)),
        ({"s2:processing_baseline": "5.1"}, (5, 10)),
        ({"s2:processing_baseline": 5.1}, (5, 10)),
        (
            {"s2:product_uri": "S2B_MSIL2A_20220131T100159_N0400_R122_T33UXP_20220131T121314.SAFE"},
            (4, 0),
        ),
        ({"s2:processing_baseline": None, "s2:product_uri": "X_N0213_R1_T1_Y.SAFE"}, (2, 13)),
    ],
)
def test_processing_baseline_from_property_or_product_uri(
    properties: dict[str, Any], expected: tuple[int, int]
) -> None:
    assert processing_baseline(properties) == expected


def test_missing_baseline_is_invalid_input_naming_the_property() -> None:
    with pytest.raises(InvalidInputError, match="s2:processing_baseline"):
        to_reflectance(DN, "planetary-computer", "sentinel-2-l2a", {"datetime": "2023-01-01"})


@pytest.mark.parametrize(
    ("provider", "collection"),
    [
        ("earth-search", "sentinel-2-l1c"),
        ("planetary-computer", "sentinel-2-c1-l2a"),
        ("cdse", "x"),
    ],
)
def test_unknown_provider_or_collection_is_invalid_input(provider: str, collection: str) -> None:
    with pytest.raises(InvalidInputError, match=collection):
        boa_offset_dn(provider, collection, {"s2:processing_baseline": "05.00"})


@pytest.mark.parametrize(
    ("properties", "offset"),
    [
        ({"s2:processing_baseline": "04.00", "earthsearch:boa_offset_applied": False}, 1000),
        ({"s2:processing_baseline": "04.00"}, 1000),  # flag absent: not applied
        ({"s2:processing_baseline": "05.09", "earthsearch:boa_offset_applied": True}, 0),
        ({"s2:processing_baseline": "05.09", "earthsearch:boa_offset_applied": "true"}, 0),
        ({"s2:processing_baseline": "03.01", "earthsearch:boa_offset_applied": False}, 0),
        ({"s2:processing_baseline": "02.14", "earthsearch:boa_offset_applied": False}, 0),
    ],
)
def test_earth_search_legacy_rule(properties: dict[str, Any], offset: int) -> None:
    props = {**properties, "raster:bands": [{"offset": -0.1, "scale": 0.0001}]}  # ignored
    assert boa_offset_dn("earth-search", "sentinel-2-l2a", props) == offset


def test_decided_by_baseline_not_date() -> None:
    # A 2019 acquisition reprocessed with baseline 05.00 carries the offset.
    reprocessed = {"datetime": "2019-06-01T10:00:00Z", "s2:processing_baseline": "05.00"}
    old = {"datetime": "2023-06-01T10:00:00Z", "s2:processing_baseline": "03.01"}
    assert boa_offset_dn("planetary-computer", "sentinel-2-l2a", reprocessed) == 1000
    assert boa_offset_dn("planetary-computer", "sentinel-2-l2a", old) == 0


def test_c1_needs_no_baseline() -> None:
    decision = decide_offset("earth-search", "sentinel-2-c1-l2a", {})
    assert decision.offset_dn == 1000 and decision.baseline is None


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.uint16, hnp.array_shapes(max_dims=2, max_side=20)))
def test_reflectance_properties(dn: np.ndarray) -> None:
    without = to_reflectance(
        dn, "planetary-computer", "sentinel-2-l2a", {"s2:processing_baseline": "02.12"}
    )
    with_ = to_reflectance(
        dn, "planetary-computer", "sentinel-2-l2a", {"s2:processing_baseline": "04.00"}
    )
    assert without.shape == dn.shape and without.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(without), dn == 0)
    np.testing.assert_array_equal(np.isnan(with_), dn == 0)
    np.testing.assert_allclose(without[dn > 0] - with_[dn > 0], 0.1, atol=1e-6)


# --- SCL masks ---------------------------------------------------------------------------------

ALL_CLASSES = np.arange(12, dtype=np.uint8).reshape(3, 4)


@pytest.mark.parametrize(
    ("strict", "removed"),
    [(False, {0, 1, 3, 8, 9, 10, 11}), (True, {0, 1, 2, 3, 6, 7, 8, 9, 10, 11})],
)
def test_scl_class_sets_are_exact(strict: bool, removed: set[int]) -> None:
    mask = scl_mask(ALL_CLASSES, strict=strict, dilate_px=0)
    assert set(ALL_CLASSES[mask].tolist()) == removed
    assert set(ALL_CLASSES[~mask].tolist()) == set(range(12)) - removed


def _disk_expected(shape: tuple[int, int], centre: tuple[int, int], radius: int) -> np.ndarray:
    yy, xx = np.indices(shape)
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


@pytest.mark.parametrize("cls", [3, 8, 9, 10])
@pytest.mark.parametrize("radius", [1, 2, 3])
def test_clouds_and_shadows_dilate_by_radius(cls: int, radius: int) -> None:
    scl = np.full((15, 15), 4, dtype=np.uint8)
    scl[7, 7] = cls
    np.testing.assert_array_equal(
        scl_mask(scl, dilate_px=radius), _disk_expected((15, 15), (7, 7), radius)
    )


@pytest.mark.parametrize("cls", [0, 1, 11])
def test_other_removed_classes_are_not_dilated(cls: int) -> None:
    scl = np.full((9, 9), 5, dtype=np.uint8)
    scl[4, 4] = cls
    expected = np.zeros((9, 9), dtype=bool)
    expected[4, 4] = True
    np.testing.assert_array_equal(scl_mask(scl, dilate_px=3), expected)


def test_dilation_does_not_cross_time_slices() -> None:
    scl = np.full((2, 7, 7), 4, dtype=np.uint8)
    scl[0, 3, 3] = 9
    mask = scl_mask(scl, dilate_px=2)
    assert mask[0].sum() == _disk_expected((7, 7), (3, 3), 2).sum()
    assert not mask[1].any()


def test_nan_scl_counts_as_no_data() -> None:
    scl = np.array([[4.0, np.nan], [5.0, 6.0]])
    np.testing.assert_array_equal(scl_mask(scl, dilate_px=0), [[False, True], [False, False]])


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    chunk=st.integers(2, 9),
    radius=st.integers(0, 3),
    strict=st.booleans(),
)
def test_lazy_mask_equals_numpy_across_chunk_edges(
    seed: int, chunk: int, radius: int, strict: bool
) -> None:
    rng = np.random.default_rng(seed)
    # sparse clouds in a vegetation field so dilation halos cross chunk edges
    classes = rng.choice([0, 3, 8, 9, 10, 11], size=(2, 23, 19))
    scl = np.where(rng.random((2, 23, 19)) < 0.05, classes, 4).astype(np.uint8)
    lazy = xr.DataArray(da.from_array(scl, chunks=(1, chunk, chunk)), dims=("time", "y", "x"))
    with dask.config.set(scheduler=_no_compute):
        mask = scl_mask(lazy, strict=strict, dilate_px=radius)
    assert isinstance(mask.data, da.Array) and mask.dtype == bool
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(mask.values, scl_mask(scl, strict=strict, dilate_px=radius))


def test_mask_dataarray_needs_y_x_last() -> None:
    with pytest.raises(InvalidInputError, match="transpose"):
        scl_mask(xr.DataArray(np.zeros((3, 3)), dims=("x", "y")))


def test_negative_dilation_is_invalid() -> None:
    with pytest.raises(InvalidInputError, match="dilate_px"):
        scl_mask(np.zeros((3, 3)), dilate_px=-1)


def test_upsample_nearest_numpy_and_coords() -> None:
    scl = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    np.testing.assert_array_equal(
        upsample_nearest(scl), [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    )
    # 20 m pixel centres at x=10, 30 -> 10 m centres 5, 15, 25, 35; y descending 30, 10 -> 35..5
    arr = xr.DataArray(scl, dims=("y", "x"), coords={"y": [30.0, 10.0], "x": [10.0, 30.0]})
    up = upsample_nearest(arr)
    np.testing.assert_allclose(up["x"], [5, 15, 25, 35])
    np.testing.assert_allclose(up["y"], [35, 25, 15, 5])
    lazy = upsample_nearest(da.from_array(scl, chunks=1))
    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), upsample_nearest(scl))


# --- real fixture: Western Sahara 2020-02-19, baseline 02.14, Earth Search layout ---------------


def test_real_fixture_reflectance_and_offset_check() -> None:
    rasterio = pytest.importorskip("rasterio")
    folder = ("sentinel2_l2a_29RKH_20200219",)
    item = json.loads(shared_file(*folder, "S2A_29RKH_20200219_0_L2A.json").read_text())
    with rasterio.open(shared_file(*folder, "B04.tif")) as src:
        red = src.read(1)
    with rasterio.open(shared_file(*folder, "B02.tif")) as src:
        blue = src.read(1)
    with rasterio.open(shared_file(*folder, "SCL.tif")) as src:
        scl = upsample_nearest(src.read(1), 2)  # 200 m classes onto the 100 m band grid
    assert scl.shape == red.shape
    refl = to_reflectance(red, "earth-search", item["collection"], item["properties"])
    # baseline 02.14: reflectance = DN / 10000 (hand: first pixel and the brightest one)
    assert refl[0, 0] == pytest.approx(red[0, 0] / 10000, rel=1e-6)
    assert float(np.nanmax(refl)) == pytest.approx(7818 / 10000, rel=1e-6)
    check = eo.harmonise.check_offset_state(red, blue, scl)
    assert check.verdict == "unverified"  # bright desert: no vegetation or water references
    assert check.n_reference < 1000


@pytest.mark.parametrize("module", [eo.sentinel2, eo.landsat, eo.harmonise])
def test_docstring_examples_run(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0
