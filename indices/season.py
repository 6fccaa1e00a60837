"""Weekly vegetation composites from a reflectance cube: clear-sky medians now and in the baseline.

Pure and lazy: from a mosaicked Sentinel-2 reflectance cube (time = solar day, band = ``blue, red,
nir, nir08, swir16, scl``) to the composites :func:`indices.zonal.park_statistics` needs
(DESIGN sections 4 and 7). Nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import xarray as xr

from eo.sentinel2 import scl_mask
from indices.calendar import reference_span
from indices.composite import clear_median, reference_median, window
from indices.vegetation import evi, ndmi, ndvi

SPECTRAL = ("blue", "red", "nir", "nir08", "swir16")
INDICES = ("ndvi", "ndmi", "evi")


def clear_sky(cube: xr.DataArray, *, strict: bool = True, dilate_px: int = 2) -> xr.DataArray:
    """True where a pixel is clear (SCL mask, clouds and shadows dilated) and every band is valid.

    Parameters
    ----------
    cube : DataArray (time, band, y, x)
        Reflectance with an ``scl`` band.
    strict : bool
        The strict SCL class set (vegetation ranking) instead of the default one.
    dilate_px : int
        Dilation of clouds and shadows, pixels.
    """
    removed = scl_mask(cube.sel(band="scl", drop=True), strict=strict, dilate_px=dilate_px)
    valid = cube.sel(band=list(SPECTRAL)).notnull().all("band")
    clear = valid & ~removed
    clear.attrs = {"long_name": "clear-sky observation", "units": "1", "strict": int(strict)}
    return clear


def vegetation_indices(cube: xr.DataArray) -> dict[str, xr.DataArray]:
    """NDVI (B04/B08), NDMI (B8A/B11) and EVI (B02/B04/B08, EVI2 where |EVI| > 1), lazily."""
    band = {name: cube.sel(band=name, drop=True) for name in SPECTRAL}
    return {
        "ndvi": ndvi(band["red"], band["nir"]),
        "ndmi": ndmi(band["nir08"], band["swir16"]),
        "evi": evi(band["blue"], band["red"], band["nir"]),
    }


@dataclass(frozen=True)
class WindowComposites:
    """Composites of one evaluation window: ``now`` and ``ref`` medians per index, the clear cube."""

    now: dict[str, xr.DataArray]
    ref: dict[str, xr.DataArray]
    clear_window: xr.DataArray
    days: tuple[date, ...]


def window_composites(
    current: xr.DataArray,
    reference: xr.DataArray | None,
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
    current : DataArray (time, band, y, x)
        Reflectance of the current season (at least the window).
    reference : DataArray (time, band, y, x) or None
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
    now = {k: clear_median(v, clear_now) for k, v in vegetation_indices(now_cube).items()}
    if reference is None or reference.sizes["time"] == 0:
        ref = {k: xr.full_like(v, float("nan")) for k, v in now.items()}
    else:
        ref_days, ref_end = reference_span(end, days, reference_days)
        clear_ref = clear_sky(reference)
        ref = {
            k: reference_median(v, clear_ref, ref_end, ref_days, years, min_years=min_years)
            for k, v in vegetation_indices(reference).items()
        }
    stamps = now_cube["time"].values.astype("datetime64[D]").astype(date)
    return WindowComposites(now=now, ref=ref, clear_window=clear_now, days=tuple(stamps))
