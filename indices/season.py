"""Weekly vegetation composites from a reflectance cube: clear-sky medians now and in the baseline.

Pure and lazy: from a mosaicked Sentinel-2 scene Dataset (time = solar day; reflectance variables
``blue, red, nir, nir08, swir16`` and the integer ``scl`` classes, as :mod:`eo.scenes` loads
them) to the composites :func:`indices.zonal.park_statistics` needs (DESIGN sections 4 and 7).
Nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import xarray as xr

from core.errors import InvalidInputError
from eo.sentinel2 import scl_mask, scl_mask_description
from indices.calendar import reference_span
from indices.composite import clear_median, reference_median, reference_windows, window
from indices.vegetation import evi, ndmi, ndvi

SPECTRAL = ("blue", "red", "nir", "nir08", "swir16")
INDICES = ("ndvi", "ndmi", "evi")
RANKING_STRICT = True
"""The vegetation ranking uses the strict SCL class set (DESIGN section 3)."""
RANKING_DILATE_PX = 2
"""Clouds and shadows dilated by 2 pixels (20 m) for the ranking."""


def check_scenes(scenes: xr.Dataset, needed: Sequence[str] = (*SPECTRAL, "scl")) -> None:
    """Refuse a scene Dataset that lacks a needed variable or carries SCL as anything but integers.

    Raises
    ------
    InvalidInputError
        Names the missing variables (or the SCL dtype) and how to load scenes that have them.
    """
    if not isinstance(scenes, xr.Dataset):
        raise InvalidInputError(
            f"scenes: expected an xarray.Dataset of band variables, got {type(scenes).__name__}; "
            "load scenes with eo.scenes.load_period"
        )
    missing = [v for v in needed if v not in scenes.data_vars]
    if missing:
        raise InvalidInputError(
            f"scenes: missing variable(s) {missing} (has {sorted(map(str, scenes.data_vars))}); "
            f"load the bands {list(needed)} (eo.scenes.load_period loads them by default)"
        )
    if "scl" in needed and not np.issubdtype(scenes["scl"].dtype, np.integer):
        raise InvalidInputError(
            f"scenes: 'scl' has dtype {scenes['scl'].dtype}; SCL must be integer class codes "
            "(0 = no data), as eo.scenes loads it"
        )


def clear_sky(
    scenes: xr.Dataset, *, strict: bool = RANKING_STRICT, dilate_px: int = RANKING_DILATE_PX
) -> xr.DataArray:
    """True where a pixel is clear (SCL mask, clouds and shadows dilated) and every band is valid.

    Parameters
    ----------
    scenes : Dataset of (time, y, x) variables
        Reflectance bands and the integer ``scl`` variable.
    strict : bool
        The strict SCL class set (vegetation ranking) instead of the default one.
    dilate_px : int
        Dilation of clouds and shadows, pixels.
    """
    check_scenes(scenes)
    removed = scl_mask(scenes["scl"], strict=strict, dilate_px=dilate_px)
    valid = scenes[list(SPECTRAL)].to_dataarray("band").notnull().all("band")
    clear = valid & ~removed
    clear.attrs = {"long_name": "clear-sky observation", "units": "1", "strict": int(strict)}
    return clear


def clear_sky_description(
    *, strict: bool = RANKING_STRICT, dilate_px: int = RANKING_DILATE_PX
) -> str:
    """What :func:`clear_sky` removes with these settings, in words (for the run manifest)."""
    return scl_mask_description(strict=strict, dilate_px=dilate_px)


def vegetation_indices(scenes: xr.Dataset) -> dict[str, xr.DataArray]:
    """NDVI (B04/B08), NDMI (B8A/B11) and EVI (B02/B04/B08, EVI2 where |EVI| > 1), lazily."""
    check_scenes(scenes, SPECTRAL)
    return {
        "ndvi": ndvi(scenes["red"], scenes["nir"]),
        "ndmi": ndmi(scenes["nir08"], scenes["swir16"]),
        "evi": evi(scenes["blue"], scenes["red"], scenes["nir"]),
    }


@dataclass(frozen=True)
class WindowComposites:
    """Composites of one evaluation window: ``now`` and ``ref`` medians, the clear cube.

    ``now`` and ``ref`` are Datasets with one (y, x) variable per index (``ndvi``, ``ndmi``,
    ``evi``); ``clear_window`` is the (time, y, x) clear mask of the window's days.
    """

    now: xr.Dataset
    ref: xr.Dataset
    clear_window: xr.DataArray
    days: tuple[date, ...]


def window_composites(
    current: xr.Dataset,
    reference: xr.Dataset | None,
    *,
    end: date,
    days: int,
    years: Sequence[int],
    min_years: int,
    reference_days: int | None = None,
) -> WindowComposites:
    """Clear-sky medians of the trailing ``days`` window ending ``end`` and of its baseline.

    Parameters
    ----------
    current : Dataset of (time, y, x) variables
        Scenes of the current season (at least the window), as :func:`clear_sky` takes them.
    reference : Dataset of (time, y, x) variables, or None
        Reflectance of the reference years (None: no baseline, every ``ref`` is NaN).
    end, days
        Last day (inclusive) and length of the window.
    years, min_years
        Reference years and the minimum number of them with a clear observation of a pixel.
    reference_days : int, optional
        Length of the reference-year window, centred on the evaluation window (default ``days``).
    """
    now_cube = window(current, end, days)
    clear_now = clear_sky(now_cube)
    now = xr.Dataset(
        {k: clear_median(v, clear_now) for k, v in vegetation_indices(now_cube).items()}
    )
    if reference is None or reference.sizes["time"] == 0:
        ref = xr.full_like(now, float("nan"))
    else:
        ref_days, ref_end = reference_span(end, days, reference_days)
        # Select the reference windows' days first: masks and indices are per day, and a cube
        # whose chunks hold every day (eo.scenes.decode_once) would otherwise compute them all.
        ref_cube = reference_windows(reference, ref_end, ref_days, years)
        clear_ref = clear_sky(ref_cube)
        ref = xr.Dataset(
            {
                k: reference_median(v, clear_ref, ref_end, ref_days, years, min_years=min_years)
                for k, v in vegetation_indices(ref_cube).items()
            }
        )
    stamps = now_cube["time"].values.astype("datetime64[D]").astype(date)
    return WindowComposites(now=now, ref=ref, clear_window=clear_now, days=tuple(stamps))
