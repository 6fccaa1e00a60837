"""Heat exposure of the parks for the irrigation score (issue 11, DESIGN section 4).

Only when the city profile configures heat (a ``heat:`` section and an LST source: ``sources.landsat``
or ``heat.lst_source``); otherwise nothing here runs and every park's ``heat_exposure`` is NaN
(h = 0). The vegetation run loads the LST it needs itself, so it stays self-contained and
reproducible: it never reads a heat run's products. Each window ending on day E uses the clear LST
of the scenes in ``E - heat.lst_window + 1 .. E`` (the heat product's lookback on that day: a
14-day vegetation window holds one Landsat scene at best, often a cloudy one) and the heat
product's Gi* rule (``heat.hotspot_distance``, ``hotspot_confidence``, ``fdr``); a park's heat
exposure is the share of its clear area in a hot spot (:func:`indices.heat.park_heat_exposure`),
NaN where no clear LST covers it. The season's scenes are loaded once, every window selects its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from prefect import task
from prefect.cache_policies import NO_CACHE

from core.profile import CityProfile, HeatConfig
from eo.grid import OutputGrid
from flows.runtime import retry_if_source_unavailable
from flows.vegetation_inputs import HeatExposureInputs


@dataclass(frozen=True)
class SeasonLst:
    """The LST scenes of a vegetation run (the first window's lookback .. the last window's end)."""

    kelvin: xr.DataArray
    removed: xr.DataArray
    days: tuple[date, ...]
    item_ids: tuple[str, ...]
    grid: OutputGrid
    product: str


@dataclass(frozen=True)
class WindowHeat:
    """One window's heat exposure per park id (NaN: not available) and its manifest entry."""

    exposure: pd.Series
    manifest: dict[str, Any]


@task(
    name="load-lst",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=retry_if_source_unavailable,
)
def load_season_lst(
    profile: CityProfile, heat: HeatExposureInputs, ends: list[date]
) -> SeasonLst | None:
    """The LST of every scene in ``ends[0] - lst_window + 1 .. ends[-1]`` on the product's grid
    over the profile's AOI (the heat product's grid), or None when there is none."""
    from eo.lst import find_lst_items, load_lst, lst_product, product_grid

    first = ends[0] - timedelta(days=int(heat.config.lst_window) - 1)
    items, source = find_lst_items(profile, heat.bbox_wgs84, first, ends[-1])
    product = lst_product(source)
    grid = product_grid(product, items, profile.grid.crs, heat.bounds, source)
    if not items:
        return None
    scenes = load_lst(items, grid, source, strict=heat.config.strict_qa)
    days = tuple(pd.Timestamp(t).date() for t in scenes.kelvin["time"].values)
    return SeasonLst(scenes.kelvin, scenes.removed, days, scenes.item_ids, grid, product.name)


def not_configured() -> WindowHeat:
    """Heat exposure of a city without heat: every park NaN (h = 0), said in the manifest."""
    return WindowHeat(
        pd.Series(dtype=float),
        {"status": "not configured", "note": "the profile has no heat section: h = 0"},
    )


def window_heat_exposure(
    season: SeasonLst | None, heat: HeatConfig, end: date, parks: gpd.GeoDataFrame
) -> WindowHeat:
    """Heat exposure of every park for the window ending ``end`` (NaN where no clear LST)."""
    from indices.heat import clear_median, park_heat_exposure

    first = end - timedelta(days=int(heat.lst_window) - 1)
    rule = (
        f"Gi* within {heat.hotspot_distance:g} m, hot at {heat.hotspot_confidence}"
        + (" with FDR" if heat.fdr else "")
        + " (the heat product's rule)"
    )
    entry: dict[str, Any] = {
        "lst_period": {"start": str(first), "end": str(end)},
        "rule": rule,
        "note": "share of a park's clear area in an LST hot spot; empty (no clear LST) counts as "
        "h = 0",
    }
    ids = parks["id"].astype(str)
    used = [] if season is None else [i for i, d in enumerate(season.days) if first <= d <= end]
    if season is None or not used:
        entry.update(status="no LST scene in the period", scene_ids=[], parks_without_lst=len(ids))
        return WindowHeat(pd.Series(np.nan, index=pd.Index(ids), dtype=float), entry)
    lst = clear_median(season.kelvin.isel(time=used), season.removed.isel(time=used))
    exposure = park_heat_exposure(
        lst,
        parks.to_crs(season.grid.crs),
        "id",
        season.grid.transform,
        distance_m=float(heat.hotspot_distance),
        fdr=heat.fdr,
        hot_class=heat.hot_class,
    )
    missing = int(exposure.isna().sum())
    entry.update(
        status="available" if missing < len(exposure) else "no clear LST over the parks",
        product=season.product,
        scene_ids=[season.item_ids[i] for i in used],
        parks_without_lst=missing,
    )
    return WindowHeat(exposure, entry)
