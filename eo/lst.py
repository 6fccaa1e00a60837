"""Land surface temperature scenes of a period: Landsat C2 L2 ST_B10 + QA_PIXEL via STAC/stackstac.

The real source is Planetary Computer's ``landsat-c2-l2`` (asset ``lwir11`` = ST_B10, ``qa_pixel``;
hrefs are signed just before reading where the source needs it); the demo city has the same item
layout with local, unsigned hrefs. Earth Search's Landsat assets are requester-pays ``s3://`` hrefs
and are not a supported source. Surface temperature is analysed on a 30 m grid whose pixel edges
sit on the Landsat phase (15 m + multiples of 30 m), never at the 10 m vegetation grid; values are
kelvin (``units="K"``), the products convert to degC.

DN are loaded with ``rescale=False`` (eo.landsat.st_to_kelvin owns the scale and offset), 0 = fill;
QA_PIXEL bits 0-4 (fill, dilated cloud, cirrus, cloud, shadow) remove a pixel (strict: also snow
and water), so a cloudy scene contributes nothing where it is cloudy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import xarray as xr

from core.errors import InvalidInputError
from core.profile import CityProfile
from eo.grid import OutputGrid
from eo.landsat import cloud_mask, st_to_kelvin
from eo.scenes import find_items, stac_source
from eo.stac_load import load_dn

LST_RESOLUTION_M = 30.0
LANDSAT_PHASE_OFFSET_M = 15.0
ST_ASSET = "lwir11"
QA_ASSET = "qa_pixel"


@dataclass(frozen=True)
class LstScenes:
    """LST observations of a period on the 30 m grid.

    Attributes
    ----------
    kelvin : xarray.DataArray
        (time, y, x) float32 land surface temperature, K; NaN for fill.
    removed : xarray.DataArray
        (time, y, x) bool, True where QA_PIXEL removes the observation (or it is fill).
    item_ids : tuple of str
        Items in time order.
    clear_fraction : dict
        Item id -> share of the grid's pixels that are clear (0..1).
    grid : OutputGrid
        The 30 m grid.
    """

    kelvin: xr.DataArray
    removed: xr.DataArray
    item_ids: tuple[str, ...]
    clear_fraction: dict[str, float]
    grid: OutputGrid


def lst_grid(crs: str, bounds: tuple[float, float, float, float]) -> OutputGrid:
    """30 m grid covering ``bounds`` with pixel edges on Landsat's phase (15 m + k x 30 m)."""
    step, off = LST_RESOLUTION_M, LANDSAT_PHASE_OFFSET_M
    minx, miny, maxx, maxy = bounds
    snapped = (
        math.floor((minx - off) / step) * step + off,
        math.floor((miny - off) / step) * step + off,
        math.ceil((maxx - off) / step) * step + off,
        math.ceil((maxy - off) / step) * step + off,
    )
    return OutputGrid(crs=crs, resolution=step, bounds=snapped)


def find_lst_items(
    profile: CityProfile, bbox_wgs84: tuple[float, float, float, float], start: date, end: date
) -> tuple[list[dict[str, Any]], Any]:
    """Landsat items of the profile's ``sources.landsat`` over the bbox in ``start..end``."""
    config = profile.sources.landsat
    if config is None:
        raise InvalidInputError(
            f"profile {profile.name} has no sources.landsat; add e.g. provider "
            "planetary-computer, collection landsat-c2-l2 and its catalogue"
        )
    if config.provider == "earth-search":
        raise InvalidInputError(
            f"profile {profile.name}: Earth Search's Landsat assets are requester-pays s3:// hrefs "
            "and are not supported; use provider planetary-computer, collection landsat-c2-l2"
        )
    source = stac_source(profile, config)
    kept, _ = find_items(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    return kept, source


def load_lst(
    items: Sequence[dict[str, Any]], grid: OutputGrid, source: Any, *, strict: bool = False
) -> LstScenes:
    """Read ST_B10 and QA_PIXEL of ``items`` on ``grid`` (computed: LST grids are small at 30 m)."""
    if not items:
        raise InvalidInputError("load_lst needs at least one item; check for [] first")
    dn = load_dn(
        list(items),
        grid,
        [ST_ASSET, QA_ASSET],
        provider=source.provider,
        allowlist=source.allowlist,
        catalog_is_local=source.is_local,
    ).compute()
    st = dn.sel(band=ST_ASSET).drop_vars("band", errors="ignore")
    qa = dn.sel(band=QA_ASSET).drop_vars("band", errors="ignore")
    kelvin = st_to_kelvin(st)
    removed = cloud_mask(qa, strict=strict) | (st == 0) | (qa == 0)
    ids = tuple(str(v) for v in dn["id"].values)
    clear = {item_id: float((~removed.isel(time=i)).mean()) for i, item_id in enumerate(ids)}
    keep = {"y", "x", "time", "id", "spatial_ref"}
    kelvin = kelvin.drop_vars([c for c in kelvin.coords if c not in keep])
    removed = removed.drop_vars([c for c in removed.coords if c not in keep])
    kelvin.attrs = {"units": "K", "long_name": "land surface temperature"}
    return LstScenes(kelvin, removed, ids, clear, grid)


def grid_values(scenes: LstScenes) -> np.ndarray:
    """The clear observations as a float64 (time, y, x) array, NaN where removed."""
    return np.where(scenes.removed.values, np.nan, scenes.kelvin.values.astype(np.float64))
