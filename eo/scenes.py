"""Sentinel-2 scenes for a period, ready for indices: search, dedupe, load, harmonise, mosaic.

A thin orchestrator over the stage modules (stackstac's ``stack`` style): :mod:`eo.stac` searches,
:mod:`eo.stac_items` resolves duplicates, :mod:`eo.stac_load` loads DN lazily on the output grid,
:mod:`eo.harmonise` scales every item by its own baseline, and items of one solar day (Vienna's
two tiles) are mosaicked before any masking or date counting (DESIGN section 3).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import xarray as xr

from core.errors import DuplicateItemWarning
from core.profile import CityProfile, StacSourceConfig
from eo.allowlist import Allowlist
from eo.gdal_env import GdalHttpSettings
from eo.grid import OutputGrid
from eo.harmonise import harmonise
from eo.stac import StacSource, search_items
from eo.stac_items import dedupe_items
from eo.stac_load import load_dn, mosaic_by_solar_day

#: Bands loaded for vegetation, by provider, in the canonical (Earth Search) names used downstream.
S2_BANDS: dict[str, dict[str, str]] = {
    "earth-search": {
        "blue": "blue",
        "red": "red",
        "nir": "nir",
        "nir08": "nir08",
        "swir16": "swir16",
        "scl": "scl",
    },
    "planetary-computer": {
        "blue": "B02",
        "red": "B04",
        "nir": "B08",
        "nir08": "B8A",
        "swir16": "B11",
        "scl": "SCL",
    },
}


@dataclass(frozen=True)
class SceneStack:
    """Reflectance of a period, one time step per solar day, or ``cube=None`` when nothing was found.

    ``cube`` has dims (time, band, y, x), band names ``blue, red, nir, nir08, swir16, scl``
    (reflectance, dimensionless; ``scl`` class codes as float with NaN for no data); ``items``
    are the item ids used, ``dropped`` the duplicates left out, ``harmonisation`` the per-item
    offset decisions for the run manifest.
    """

    cube: xr.DataArray | None
    items: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    baselines: dict[str, str] = field(default_factory=dict)
    harmonisation: dict[str, Any] = field(default_factory=dict)

    @property
    def days(self) -> list[date]:
        """Solar days with data."""
        if self.cube is None:
            return []
        return [np.datetime64(t, "D").astype(date) for t in self.cube["time"].values]


def stac_source(profile: CityProfile, config: StacSourceConfig) -> StacSource:
    """The :class:`StacSource` a profile entry describes, with the profile's allowlist and HTTP policy."""
    allowlist = Allowlist(hosts=frozenset(profile.allowlist.hosts), local_dirs=profile.local_dirs())
    return StacSource(
        catalog=profile.resolve(config.catalog),
        provider=config.provider,
        collection=config.collection,
        allowlist=allowlist,
        max_cloud_cover=config.max_cloud_cover * 100.0,
        timeout_s=profile.http.timeout,
        retries=profile.http.retries,
        retry_after_max_s=profile.http.backoff_max,
    )


def find_items(
    source: StacSource, *, bbox_wgs84: tuple[float, float, float, float], start: date, end: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Items over the bbox in ``start..end`` (UTC days), duplicates resolved: (kept, dropped)."""
    items = search_items(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    return dedupe_items(items)


def load_reflectance(
    items: list[dict[str, Any]],
    source: StacSource,
    grid: OutputGrid,
    *,
    chunksize: int = 1024,
    check_pixels: bool = True,
) -> SceneStack:
    """Lazy reflectance of ``items`` on ``grid``, harmonised per item and mosaicked per solar day."""
    if not items:
        return SceneStack(cube=None)
    bands = S2_BANDS[source.provider]
    dn = load_dn(
        items,
        grid,
        list(bands.values()),
        chunksize=chunksize,
        provider=source.provider,
        allowlist=source.allowlist,
        catalog_is_local=source.is_local,
        gdal=GdalHttpSettings(
            max_retry=source.retries,
            retry_delay_s=source.backoff_factor_s,
            timeout_s=source.timeout_s,
        ),
    )
    reflectance, report = harmonise(
        dn, provider=source.provider, collection=source.collection, check_pixels=check_pixels
    )
    reflectance = reflectance.assign_coords(band=list(bands))
    # SCL 0 is "no data": make it NaN so the mosaic fills it from the other tile.
    reflectance = reflectance.where(~((reflectance["band"] == "scl") & (reflectance == 0)))
    cube = mosaic_by_solar_day(reflectance)
    cube.attrs.update(units="1", long_name="surface reflectance (scl: scene classification)")
    return SceneStack(
        cube=cube,
        items=tuple(str(item["id"]) for item in items),
        baselines={
            str(item["id"]): str(item["properties"].get("s2:processing_baseline", "")) for item in items
        },
        harmonisation=report.to_dict(),
    )


def load_period(
    source: StacSource,
    grid: OutputGrid,
    *,
    bbox_wgs84: tuple[float, float, float, float],
    start: date,
    end: date,
    chunksize: int = 1024,
) -> SceneStack:
    """Search, dedupe and load one period; an empty period gives ``SceneStack(cube=None)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DuplicateItemWarning)
        kept, dropped = find_items(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    for warning in caught:  # re-emit: duplicates are reported, not hidden
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    stack = load_reflectance(kept, source, grid, chunksize=chunksize)
    return SceneStack(
        cube=stack.cube,
        items=stack.items,
        dropped=tuple(str(item["id"]) for item in dropped),
        baselines=stack.baselines,
        harmonisation=stack.harmonisation,
    )
