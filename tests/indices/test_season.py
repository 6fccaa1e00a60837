"""Weekly composites from a scene Dataset: reflectance variables plus the integer SCL variable."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from core.errors import InvalidInputError
from eo.sentinel2 import SCL_REMOVED_STRICT
from indices.season import INDICES, SPECTRAL, clear_sky, clear_sky_description, window_composites

VEGETATION, CLOUD_HIGH, WATER = 4, 9, 6


def _scenes(scl: np.ndarray, days: list[str]) -> xr.Dataset:
    """Scenes on a 9 x 9 grid: uniform vegetation-like reflectance, SCL as given (time, y, x)."""
    n, ny, nx = scl.shape
    coords = {
        "time": pd.to_datetime(days),
        "y": np.arange(ny)[::-1] + 0.5,
        "x": np.arange(nx) + 0.5,
    }
    values = {"blue": 0.03, "red": 0.04, "nir": 0.40, "nir08": 0.38, "swir16": 0.20}
    bands = {
        b: (("time", "y", "x"), np.full((n, ny, nx), v, np.float32), {"units": "1"})
        for b, v in values.items()
    }
    scl_var = (("time", "y", "x"), scl.astype(np.uint8), {"units": "1", "nodata": 0})
    return xr.Dataset({**bands, "scl": scl_var}, coords=coords)


def test_integer_scl_masks_removed_classes_nodata_and_dilated_clouds() -> None:
    scl = np.full((1, 9, 9), VEGETATION, np.uint8)
    scl[0, 4, 4] = CLOUD_HIGH
    scl[0, 0, 8] = 0  # no data
    scl[0, 8, 0] = WATER  # removed by the strict set
    clear = clear_sky(_scenes(scl, ["2022-06-01"]), strict=True, dilate_px=2).values[0]
    assert not clear[4, 4] and not clear[4, 6] and not clear[6, 4]  # the cloud, 2 px around it
    assert clear[4, 7] and clear[1, 1]  # 3 px away: clear
    assert not clear[0, 8] and not clear[8, 0]
    assert WATER in SCL_REMOVED_STRICT and "6" in clear_sky_description()


def test_invalid_reflectance_is_not_clear_even_under_a_clear_class() -> None:
    scenes = _scenes(np.full((1, 9, 9), VEGETATION, np.uint8), ["2022-06-01"])
    scenes["swir16"][0, 2, 2] = np.nan
    clear = clear_sky(scenes).values[0]
    assert not clear[2, 2] and clear.sum() == 80


def test_window_composites_are_datasets_of_the_indices() -> None:
    scl = np.full((3, 9, 9), VEGETATION, np.uint8)
    scl[1] = CLOUD_HIGH  # the middle day is all cloud: it must not enter the median
    scenes = _scenes(scl, ["2022-06-01", "2022-06-05", "2022-06-10"])
    scenes["red"][1] = 0.30  # a bright (cloud) red that would drag NDVI down
    comp = window_composites(scenes, None, end=date(2022, 6, 14), days=14, years=(), min_years=3)
    assert isinstance(comp.now, xr.Dataset) and isinstance(comp.ref, xr.Dataset)
    assert set(comp.now.data_vars) == set(INDICES) == set(comp.ref.data_vars)
    assert comp.days == (date(2022, 6, 1), date(2022, 6, 5), date(2022, 6, 10))
    expected = (0.40 - 0.04) / (0.40 + 0.04)
    np.testing.assert_allclose(comp.now["ndvi"].values, expected, rtol=1e-6)
    assert comp.now["ndvi"].attrs["units"] == "1"
    assert bool(comp.ref["ndvi"].isnull().all())  # no reference years: no baseline, NaN
    assert set(SPECTRAL) <= set(scenes.data_vars)


@pytest.mark.parametrize("missing", ["scl", "nir08"])
def test_a_scene_dataset_without_a_needed_variable_is_refused(missing: str) -> None:
    scenes = _scenes(np.full((1, 3, 3), VEGETATION, np.uint8), ["2022-06-01"]).drop_vars(missing)
    with pytest.raises(InvalidInputError, match=f"missing variable.*'{missing}'.*load_period"):
        window_composites(scenes, None, end=date(2022, 6, 1), days=1, years=(), min_years=3)


def test_float_scl_codes_are_refused() -> None:
    scenes = _scenes(np.full((1, 3, 3), VEGETATION, np.uint8), ["2022-06-01"])
    scenes["scl"] = scenes["scl"].astype(np.float32)
    with pytest.raises(InvalidInputError, match="integer class codes"):
        clear_sky(scenes)
