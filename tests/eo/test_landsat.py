"""Landsat C2 L2: ST_B10 -> kelvin against the scene's own MTL, QA_PIXEL bits against USGS values."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis.extra import numpy as hnp

from core.errors import InvalidInputError
from eo.landsat import cloud_mask, kelvin_to_celsius, st_to_kelvin
from tests.conftest import shared_file

SCENE = ("landsat_c2l2_001062_20201031", "LC08_L2SP_001062_20201031_20201106_02_T2_")


def as_numpy(values: np.ndarray) -> np.ndarray:
    return values


def as_dask_dataarray(values: np.ndarray) -> xr.DataArray:
    chunks = tuple(max(1, n // 3) for n in values.shape)
    dims = (
        ("y", "x")[-values.ndim :]
        if values.ndim <= 2
        else tuple(f"d{i}" for i in range(values.ndim))
    )
    return xr.DataArray(da.from_array(values, chunks=chunks), dims=dims, attrs={"units": "DN"})


BACKENDS: list[Callable[[np.ndarray], Any]] = [as_numpy, as_dask_dataarray]
BACKEND_IDS = ["numpy", "dask"]


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("computed where the code must stay lazy")


def read_band(name: str) -> np.ndarray:
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(shared_file(SCENE[0], SCENE[1] + name + ".TIF")) as src:
        return np.asarray(src.read(1))


def mtl() -> dict[str, Any]:
    doc = json.loads(shared_file(SCENE[0], SCENE[1] + "MTL.json").read_text())
    return dict(doc["LANDSAT_METADATA_FILE"])


@pytest.mark.parametrize("backend", BACKENDS, ids=BACKEND_IDS)
def test_st_b10_kelvin_matches_the_scene_mtl(backend: Callable[..., Any]) -> None:
    dn = read_band("ST_B10")
    params = mtl()["LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"]
    mult = float(params["TEMPERATURE_MULT_BAND_ST_B10"])
    add = float(params["TEMPERATURE_ADD_BAND_ST_B10"])
    with dask.config.set(scheduler=_refuse):
        kelvin = st_to_kelvin(backend(dn))
    if isinstance(kelvin, xr.DataArray):
        assert kelvin.attrs == {"units": "K", "long_name": "land surface temperature"}
        assert isinstance(kelvin.data, da.Array)
    values = np.asarray(kelvin)
    assert values.dtype == np.float32
    expected = np.where(dn == 0, np.nan, dn * mult + add)
    np.testing.assert_allclose(values, expected, rtol=1e-6, equal_nan=True)
    assert np.isnan(values[dn == 0]).all() and (dn == 0).any()


def test_st_b10_range_matches_mtl_min_and_max() -> None:
    params = mtl()["LEVEL2_SURFACE_TEMPERATURE_PARAMETERS"]
    qmin = int(params["QUANTIZE_CAL_MINIMUM_BAND_ST_B10"])
    qmax = int(params["QUANTIZE_CAL_MAXIMUM_BAND_ST_B10"])
    kelvin = st_to_kelvin(np.array([qmin, qmax], dtype=np.uint16))
    np.testing.assert_allclose(
        kelvin,
        [
            float(params["TEMPERATURE_MINIMUM_BAND_ST_B10"]),
            float(params["TEMPERATURE_MAXIMUM_BAND_ST_B10"]),
        ],
        atol=1e-4,
    )


def test_kelvin_to_celsius() -> None:
    assert kelvin_to_celsius(np.float64(273.15)) == pytest.approx(0.0)
    celsius = kelvin_to_celsius(
        st_to_kelvin(xr.DataArray(np.array([0, 36_000], np.uint16), dims="x"))
    )
    assert celsius.attrs["units"] == "degC"
    # hand: 36000 * 0.00341802 + 149.0 = 272.04872 K = -1.10128 degC
    np.testing.assert_allclose(celsius.values, [np.nan, -1.10128], atol=1e-4)
    with pytest.raises(InvalidInputError, match="units"):
        kelvin_to_celsius(xr.DataArray([300.0], dims="x", attrs={"units": "degC"}))


# Documented Landsat 8-9 C2 L2 QA_PIXEL values (USGS LSDS-1619), with their bits worked out:
#   1     = bit 0                                   fill                      -> removed
#   21824 = 2^14+2^12+2^10+2^8+2^6                  clear land, low confidences -> kept
#   21952 = 21824 + 2^7                             clear water               -> kept (strict: removed)
#   21826 = 21824 + 2^1                             dilated cloud             -> removed
#   22280 = 2^14+2^12+2^10+2^9+2^8+2^3              cloud, high confidence    -> removed
#   23888 = 2^14+2^12+2^11+2^10+2^8+2^6+2^4         cloud shadow (clear bit 6 still set!) -> removed
#   30048 = 2^14+2^13+2^12+2^10+2^8+2^6+2^5         snow/ice, high confidence -> kept (strict: removed)
#   54596 = 2^15+2^14+2^12+2^10+2^8+2^6+2^2         cirrus, high confidence   -> removed
#   55052 = 2^15+2^14+2^12+2^10+2^9+2^8+2^3+2^2     cloud + cirrus            -> removed
QA_CASES = [
    (1, True, True),
    (21824, False, False),
    (21952, False, True),
    (21826, True, True),
    (22280, True, True),
    (23888, True, True),
    (30048, False, True),
    (54596, True, True),
    (55052, True, True),
]


def test_qa_case_bits_are_as_commented() -> None:
    bits = {
        1: [0], 21824: [14, 12, 10, 8, 6], 21952: [14, 12, 10, 8, 7, 6], 21826: [14, 12, 10, 8, 6, 1],
        22280: [14, 12, 10, 9, 8, 3], 23888: [14, 12, 11, 10, 8, 6, 4], 30048: [14, 13, 12, 10, 8, 6, 5],
        54596: [15, 14, 12, 10, 8, 6, 2], 55052: [15, 14, 12, 10, 9, 8, 3, 2],
    }  # fmt: skip
    for value, set_bits in bits.items():
        assert value == sum(2**b for b in set_bits)


@pytest.mark.parametrize("backend", BACKENDS, ids=BACKEND_IDS)
def test_qa_pixel_documented_values(backend: Callable[..., Any]) -> None:
    values = np.array([[case[0] for case in QA_CASES]], dtype=np.uint16)
    with dask.config.set(scheduler=_refuse):
        default = cloud_mask(backend(values))
        strict = cloud_mask(backend(values), strict=True)
    assert np.asarray(default)[0].tolist() == [case[1] for case in QA_CASES]
    assert np.asarray(strict)[0].tolist() == [case[2] for case in QA_CASES]


def test_clear_bit_alone_is_not_enough() -> None:
    shadow = 23888
    assert shadow & (1 << 6)  # "clear" set on a shadow pixel
    assert cloud_mask(np.array([shadow]))[0]


def test_nan_qa_counts_as_fill() -> None:
    qa = xr.DataArray(np.array([21824.0, np.nan]), dims="x")
    assert cloud_mask(qa).values.tolist() == [False, True]
    assert cloud_mask(qa.values).tolist() == [False, True]


@given(hnp.arrays(np.uint16, hnp.array_shapes(max_dims=2, max_side=16)))
def test_strict_removes_a_superset(qa: np.ndarray) -> None:
    default, strict = cloud_mask(qa), cloud_mask(qa, strict=True)
    assert not (default & ~strict).any()
    np.testing.assert_array_equal(default, (qa & 0b11111) != 0)


@pytest.mark.parametrize("backend", BACKENDS, ids=BACKEND_IDS)
def test_fixture_is_almost_all_cloud(backend: Callable[..., Any]) -> None:
    qa = read_band("QA_PIXEL")
    cloud_cover = float(mtl()["IMAGE_ATTRIBUTES"]["CLOUD_COVER"])  # 99.94 %
    removed = np.asarray(cloud_mask(backend(qa)))
    not_fill = qa != 1
    assert removed[~not_fill].all()
    assert removed[not_fill].mean() == 1.0  # cloud, shadow or cirrus everywhere
    cloud_bit = ((qa & (1 << 3)) != 0)[not_fill].mean() * 100
    assert cloud_bit == pytest.approx(cloud_cover, abs=0.05)
