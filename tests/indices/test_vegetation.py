"""Vegetation indices against spyndex (an independent implementation), backends, properties, attrs."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import spyndex
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.errors import InvalidInputError
from indices.spec import index_flags
from indices.vegetation import evi, evi2, evi_substituted, ndmi, ndvi, savi
from tests.indices.factories import raster

# name: (blue, red, nir, swir16, indices whose documented value is NaN)
SURFACES = {
    "canopy": (0.03, 0.04, 0.45, 0.20, set()),
    "grass": (0.05, 0.07, 0.35, 0.25, set()),
    "drought turf": (0.08, 0.12, 0.25, 0.33, set()),
    "bare soil": (0.10, 0.18, 0.25, 0.35, set()),
    "asphalt": (0.08, 0.09, 0.10, 0.12, set()),
    "water": (0.06, 0.04, 0.02, 0.01, set()),
    "snow": (0.90, 0.88, 0.80, 0.10, set()),
    "near-zero EVI denominator": (0.5, 0.375, 0.5001, 0.2, set()),
    "N equals R": (0.05, 0.2, 0.2, 0.2, set()),
    # EVI denominator exactly 0 (all binary-exact): 0.5 + 6*0.375 - 7.5*0.5 + 1 = 0
    "zero EVI denominator": (0.5, 0.375, 0.5, 0.2, {"EVI"}),
    "all dark": (0.0, 0.0, 0.0, 0.0, {"NDVI", "NDMI"}),
    "negative red": (0.02, -0.01, 0.3, 0.1, {"NDVI", "EVI", "EVI2", "SAVI"}),
    "negative blue": (-0.02, 0.05, 0.3, 0.1, {"EVI"}),
    "negative swir": (0.02, 0.05, 0.3, -0.1, {"NDMI"}),
}
EVI_CONSTANTS = {"g": 2.5, "C1": 6.0, "C2": 7.5, "L": 1.0}


def test_spyndex_constants_are_the_design_constants() -> None:
    for name, value in EVI_CONSTANTS.items():
        assert spyndex.constants[name].default == value


def _oracle(name: str, b: float, r: float, n: float, s1: float) -> float:
    params = {"B": b, "R": r, "N": n, "S1": s1, **EVI_CONSTANTS}
    if name == "SAVI":
        params["L"] = 0.5
    if name == "EVI":
        value = spyndex.computeIndex("EVI", params=params)
        return value if abs(value) <= 1 else spyndex.computeIndex("EVI2", params=params)
    return float(spyndex.computeIndex(name, params=params))


def _ours(name: str, b: float, r: float, n: float, s1: float) -> float:
    return {
        "NDVI": lambda: ndvi(r, n),
        "EVI": lambda: evi(b, r, n),
        "EVI2": lambda: evi2(r, n),
        "NDMI": lambda: ndmi(n, s1),
        "SAVI": lambda: savi(r, n),
    }[name]()


@pytest.mark.parametrize("surface", list(SURFACES))
@pytest.mark.parametrize("name", ["NDVI", "EVI", "EVI2", "NDMI", "SAVI"])
def test_index_matches_spyndex_or_documented_nan(surface: str, name: str) -> None:
    b, r, n, s1, nan_for = SURFACES[surface]
    ours = _ours(name, b, r, n, s1)
    assert isinstance(ours, float)
    if name in nan_for:
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(_oracle(name, b, r, n, s1), rel=1e-12, abs=1e-12)


def test_evi_substitution_mask_marks_the_blown_up_pixel() -> None:
    b, r, n, _, _ = SURFACES["near-zero EVI denominator"]
    assert abs(spyndex.computeIndex("EVI", params={"B": b, "R": r, "N": n, **EVI_CONSTANTS})) > 1
    assert evi_substituted(b, r, n) is True
    b, r, n, _, _ = SURFACES["canopy"]
    assert evi_substituted(b, r, n) is False


def _bands(seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    bands = rng.uniform(-0.05, 0.6, size=(4, 6, 7))
    bands[:, 0, 0] = 0.0  # zero denominators
    bands[1, 1, 1] = np.nan
    bands[0, 2, 2] = 0.5  # strong blue: EVI blows up, EVI2 substituted
    bands[1, 2, 2], bands[2, 2, 2] = 0.375, 0.5001
    return tuple(bands)


def _all_indices(b: object, r: object, n: object, s: object) -> list[object]:
    return [ndvi(r, n), evi(b, r, n), evi2(r, n), ndmi(n, s), savi(r, n), evi_substituted(b, r, n)]


def test_numpy_and_dask_give_identical_results() -> None:
    bands = _bands()
    eager = _all_indices(*bands)
    lazy = _all_indices(*(da.from_array(x, chunks=(3, 4)) for x in bands))
    for e, lz in zip(eager, lazy, strict=True):
        assert isinstance(lz, da.Array)
        np.testing.assert_array_equal(np.asarray(lz.compute()), e)
    assert eager[-1].any()  # the substitution path was exercised


def test_dataarray_numpy_and_dask_backends_agree_and_attrs_are_declared() -> None:
    b, r, n, s = (raster(x, name=k) for x, k in zip(_bands(1), "brns", strict=True))
    r.attrs["long_name"] = "red reflectance (must not leak)"
    eager = _all_indices(b, r, n, s)
    lazy = _all_indices(*(x.chunk({"y": 3}) for x in (b, r, n, s)))
    for e, lz in zip(eager, lazy, strict=True):
        assert isinstance(lz.data, da.Array)
        xr.testing.assert_identical(lz.compute().drop_attrs(), e.drop_attrs())
        assert "spatial_ref" in e.coords
    out = eager[0]
    assert out.attrs["units"] == "1"
    assert out.attrs["long_name"] == "normalized difference vegetation index"
    assert "Rouse" in out.attrs["references"]
    negative = int(((r.values < 0) | (n.values < 0)).sum())
    assert out.attrs["n_negative_input"] == negative > 0
    assert out.attrs["n_zero_denominator"] == 1
    with np.errstate(all="ignore"):
        oracle_evi = spyndex.computeIndex(
            "EVI", params={"B": b.values, "R": r.values, "N": n.values, **EVI_CONSTANTS}
        )
    valid = (b.values >= 0) & (r.values >= 0) & (n.values >= 0)
    assert eager[1].attrs["n_substituted"] == int((valid & (np.abs(oracle_evi) > 1)).sum()) > 0
    assert "n_negative_input" not in lazy[0].attrs  # counts are never computed on Dask
    assert int(index_flags(ndvi, r.chunk(), n.chunk())["negative_input"].sum()) == negative


def test_dataarrays_on_different_grids_are_refused() -> None:
    red = raster(np.full((2, 3), 0.1))
    nir = raster(np.full((2, 3), 0.4)).assign_coords(x=[5.0, 15.0, 35.0])
    with pytest.raises(InvalidInputError, match="different grids"):
        ndvi(red, nir)


def test_non_numeric_input_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="red"):
        ndvi(np.array(["a"]), np.array([0.3]))


reflectance = st.floats(0.0, 1.0, allow_nan=False)
refl_arrays = arrays(np.float64, st.integers(1, 20), elements=reflectance)


@given(refl_arrays, refl_arrays)
def test_ndvi_is_bounded_and_antisymmetric(red: np.ndarray, nir: np.ndarray) -> None:
    size = min(red.size, nir.size)
    red, nir = red[:size], nir[:size]
    value = ndvi(red, nir)
    defined = ~np.isnan(value)
    assert np.all((value[defined] >= -1) & (value[defined] <= 1))
    np.testing.assert_array_equal(value, -ndvi(nir, red))
    assert np.array_equal(~defined, (red + nir) == 0)


@given(reflectance, reflectance, reflectance, st.sampled_from([0, 1, 2]))
def test_nan_in_gives_nan_out(b: float, r: float, n: float, which: int) -> None:
    bands = [b, r, n]
    bands[which] = math.nan
    assert math.isnan(evi(*bands))
    if which:
        assert math.isnan(ndvi(bands[1], bands[2]))
        assert math.isnan(savi(bands[1], bands[2]))


@given(reflectance, st.floats(-1.0, -1e-9), st.sampled_from([0, 1]))
def test_negative_in_gives_nan_out(good: float, negative: float, which: int) -> None:
    pair = [good, good]
    pair[which] = negative
    for func in (ndvi, evi2, savi, ndmi):
        assert math.isnan(func(*pair))
    assert math.isnan(evi(negative, good, good))


def test_unsigned_integer_inputs_do_not_wrap_around() -> None:
    red = raster(np.full((2, 2), 1000, dtype=np.uint16))
    nir = raster(np.full((2, 2), 500, dtype=np.uint16))
    expected = spyndex.computeIndex("NDVI", params={"N": 500.0, "R": 1000.0})
    np.testing.assert_allclose(ndvi(red, nir).values, expected, rtol=1e-6)
    np.testing.assert_allclose(ndvi(red.values, nir.chunk().data).compute(), expected, rtol=1e-6)
