"""Urban heat from land surface temperature: clear-sky composite, district statistics, hotspot
polygons and the vulnerability ranking (DESIGN section 4).

Everything here is pure (arrays and GeoDataFrames in, the same out) and runs at the LST product's
resolution (Landsat ST: 30 m; never 10 m). Temperatures are kelvin inside (``units="K"``) and degC
in the tables people read. Districts are rasterised onto the LST grid by pixel centre (at 30 m a
district of 1 km2 holds about 1,100 pixels); their clear coverage is reported.

- **Composite**: per pixel, the median (numpy ``linear``) of the clear observations of the period;
  a pixel never seen clear is NaN. Clouds removed by QA_PIXEL contribute nothing.
- **Surface urban heat island intensity** (SUHI): a district's median LST minus the median LST of
  the configured reference area (rural or large green areas), in K.
- **Hot share**: the share of a district's clear pixels in a Gi* hot spot at the configured
  confidence (default 95 %).
- **Vulnerability**: people aged 65+ and 75+ (75+ counted a second time: they are the most
  vulnerable) times the hot share, i.e. the estimated number of older people living in hot spots
  (population assumed uniform within a district); districts are ranked by it, DATA_GAP districts
  (too little clear LST) are listed last and never ranked.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from rasterio import features
from shapely.geometry import shape
from skimage.measure import label

from core.errors import InvalidInputError
from core.status import SubjectStatus
from indices.hotspots import getis_ord_gi_star, hotspot_classes

ZERO_C_K = 273.15


def clear_median(kelvin: xr.DataArray, removed: xr.DataArray) -> xr.DataArray:
    """Median LST (K) of the clear observations per pixel over ``time``; NaN where never clear.

    Parameters
    ----------
    kelvin : xarray.DataArray
        (time, y, x) land surface temperature with ``units="K"``.
    removed : xarray.DataArray
        (time, y, x) bool, True where QA_PIXEL removes the observation.
    """
    if kelvin.attrs.get("units") not in {"K", "kelvin"}:
        raise InvalidInputError(
            f"LST has units {kelvin.attrs.get('units')!r}, expected 'K'; convert ST_B10 DN with "
            "eo.landsat.st_to_kelvin (degC values given as kelvin would invert every hotspot)"
        )
    clear = kelvin.where(~removed)
    values = np.asarray(clear.values, dtype=np.float64)
    seen = np.isfinite(values).any(axis=0)
    median = np.full(values.shape[1:], np.nan)
    if seen.any():
        median[seen] = np.nanmedian(values[:, seen], axis=0)
    out = xr.DataArray(median, coords={"y": kelvin["y"], "x": kelvin["x"]}, dims=("y", "x"))
    out.attrs = {"units": "K", "long_name": "clear-sky median land surface temperature"}
    out.name = "lst"
    if "spatial_ref" in kelvin.coords:
        out = out.assign_coords(spatial_ref=kelvin.coords["spatial_ref"])
    return out


def check_plausible_kelvin(kelvin: np.ndarray, name: str) -> None:
    """Refuse LST that is not plausibly in kelvin (e.g. degC or raw DN passed as kelvin)."""
    valid = kelvin[np.isfinite(kelvin)]
    if valid.size == 0:
        return
    median = float(np.median(valid))
    if not 200.0 <= median <= 360.0:
        hint = "degC" if -60 <= median <= 80 else "raw digital numbers"
        raise InvalidInputError(
            f"{name}: median {median:.1f} is not a land surface temperature in kelvin (it looks "
            f"like {hint}); convert ST_B10 with eo.landsat.st_to_kelvin"
        )


def district_index(districts: gpd.GeoDataFrame, id_field: str, transform: Affine,
                   shape_yx: tuple[int, int]) -> tuple[np.ndarray, list[Any]]:  # fmt: skip
    """Raster of 1 + row position of the district whose polygon holds each pixel centre (0: none)."""
    ids = list(districts[id_field])
    shapes = ((geom, i + 1) for i, geom in enumerate(districts.geometry))
    raster = features.rasterize(
        shapes, out_shape=shape_yx, transform=transform, fill=0, dtype="int32", all_touched=False
    )
    return raster, ids


def district_heat_table(
    lst_k: np.ndarray,
    classes: np.ndarray,
    zone_raster: np.ndarray,
    zone_ids: list[Any],
    *,
    reference_k: float,
    hot_class: int = 2,
    min_clear_fraction: float = 0.5,
    ok_clear_fraction: float = 0.9,
    min_pixels: int = 100,
) -> pd.DataFrame:
    """Per-district LST statistics (degC), SUHI (K), hot share and status.

    Columns: ``zone_id``, ``pixels``, ``clear_fraction``, ``lst_median_c``, ``lst_p90_c``,
    ``suhi_k`` (median minus ``reference_k``), ``hot_share`` (clear pixels in a hot spot of class
    >= ``hot_class``), ``hot_pixels``, ``status`` (DATA_GAP below ``min_clear_fraction``,
    DEGRADED below ``ok_clear_fraction``; also DATA_GAP with fewer than ``min_pixels`` pixels
    on the grid: a district that only touches the area of interest is not ranked).
    """
    rows = []
    for position, zone_id in enumerate(zone_ids, start=1):
        inside = zone_raster == position
        pixels = int(inside.sum())
        values = lst_k[inside]
        clear = np.isfinite(values)
        n_clear = int(clear.sum())
        fraction = n_clear / pixels if pixels else 0.0
        hot = int((classes[inside][clear] >= hot_class).sum())
        if fraction < min_clear_fraction or n_clear == 0 or pixels < min_pixels:
            status = SubjectStatus.DATA_GAP
        elif fraction < ok_clear_fraction:
            status = SubjectStatus.DEGRADED
        else:
            status = SubjectStatus.OK
        median = float(np.median(values[clear])) if n_clear else np.nan
        p90 = float(np.percentile(values[clear], 90, method="linear")) if n_clear else np.nan
        rows.append(
            {
                "zone_id": zone_id,
                "pixels": pixels,
                "clear_fraction": round(fraction, 4),
                "lst_median_c": round(median - ZERO_C_K, 2) if n_clear else np.nan,
                "lst_p90_c": round(p90 - ZERO_C_K, 2) if n_clear else np.nan,
                "suhi_k": round(median - reference_k, 2) if n_clear else np.nan,
                "hot_share": round(hot / n_clear, 4) if n_clear else np.nan,
                "hot_pixels": hot,
                "status": str(status),
            }
        )
    return pd.DataFrame(rows)


def reference_lst(lst_k: np.ndarray, mask: np.ndarray, name: str) -> float:
    """Median LST (K) of the reference area; refuses a reference with no clear pixel."""
    values = lst_k[mask & np.isfinite(lst_k)]
    if values.size == 0:
        raise InvalidInputError(
            f"heat reference area {name} has no clear LST pixel on the grid; configure a "
            "reference (heat.reference_layer) that lies inside the AOI"
        )
    return float(np.median(values))


def hotspot_polygons(
    classes: np.ndarray, transform: Affine, crs: Any, *, min_class: int = 2, min_pixels: int = 4
) -> gpd.GeoDataFrame:
    """Connected hot-spot cells (8-connectivity, class >= ``min_class``) as polygons.

    Columns ``hotspot_id`` (1.. by size), ``pixels``, ``area_m2``, ``max_class``, geometry.
    Components smaller than ``min_pixels`` are dropped (single significant cells are noise).
    """
    hot = classes >= min_class
    labels = label(hot, connectivity=2)
    rows = []
    if labels.max() > 0:
        sizes = np.bincount(labels.ravel())
        peak = np.zeros(sizes.size, dtype=np.int64)
        np.maximum.at(peak, labels.ravel(), classes.ravel().astype(np.int64))
        geoms: dict[int, list[Any]] = {}
        keep = (labels > 0) & (sizes[labels] >= min_pixels)
        for geom, value in features.shapes(
            labels.astype(np.int32), mask=keep, transform=transform, connectivity=8
        ):
            geoms.setdefault(int(value), []).append(shape(geom))
        pixel_area = abs(transform.a * transform.e)
        for value, parts in geoms.items():
            merged = parts[0] if len(parts) == 1 else gpd.GeoSeries(parts).union_all()
            rows.append(
                {
                    "pixels": int(sizes[value]),
                    "area_m2": float(sizes[value] * pixel_area),
                    "max_class": int(peak[value]),
                    "geometry": merged,
                }
            )
    frame = gpd.GeoDataFrame(
        rows or None, columns=["pixels", "area_m2", "max_class", "geometry"], crs=crs
    )
    frame = frame.sort_values("pixels", ascending=False).reset_index(drop=True)
    frame.insert(0, "hotspot_id", np.arange(1, len(frame) + 1))
    return frame


def vulnerability_ranking(
    heat: pd.DataFrame, population: pd.DataFrame, *, areas_km2: pd.Series | None = None
) -> pd.DataFrame:
    """Rank districts by the density of older people in hot spots, weighted by the heat island.

    score = (people 65+ + people 75+) / area (persons/km2) x hot share x max(SUHI, 0) (K): where
    many old people live close together, in hot spots, in the hottest surroundings. A density,
    not a count, so a large district is not first for its size alone; the counts of older people
    in hot spots (``exposed_65_plus``, ``exposed_75_plus``) are reported beside it.

    Parameters
    ----------
    heat : pandas.DataFrame
        :func:`district_heat_table` output.
    population : pandas.DataFrame
        ``zone_id``, ``age_65_plus``, ``age_75_plus`` (persons), optionally ``total`` and
        ``area_km2`` (the whole district's area, which wins over ``areas_km2``).
    areas_km2 : pandas.Series, optional
        District area by zone id (km2), e.g. from the polygons, where the table has none.

    Returns
    -------
    pandas.DataFrame
        ``heat`` joined with population, plus ``exposed_65_plus``, ``exposed_75_plus`` (persons),
        ``density_65_75_per_km2``, ``score`` and ``rank`` (1 = first; none for DATA_GAP or an
        unknown area), sorted by rank, DATA_GAP districts last.
    """
    needed = {"zone_id", "age_65_plus", "age_75_plus"}
    missing = needed - set(population.columns)
    if missing:
        raise InvalidInputError(
            f"population table lacks columns {sorted(missing)}; give persons aged 65+ and 75+ "
            "per district (heat.population in the profile)"
        )
    pop = population.copy()
    pop["zone_id"] = pop["zone_id"].astype(str)
    table = heat.copy()
    table["zone_id"] = table["zone_id"].astype(str)
    joined = table.merge(pop, on="zone_id", how="left", suffixes=("", "_pop"))
    gap = joined["status"] == str(SubjectStatus.DATA_GAP)
    share = joined["hot_share"].where(~gap, 0.0).fillna(0.0)
    joined["exposed_65_plus"] = (share * joined["age_65_plus"].fillna(0)).round(0)
    joined["exposed_75_plus"] = (share * joined["age_75_plus"].fillna(0)).round(0)
    area = joined["area_km2"] if "area_km2" in joined.columns else pd.Series(np.nan, joined.index)
    if areas_km2 is not None:
        by_id = {str(k): float(v) for k, v in areas_km2.items()}
        area = area.fillna(joined["zone_id"].map(by_id))
    area = area.where(area > 0)
    older = joined["age_65_plus"].fillna(0) + joined["age_75_plus"].fillna(0)
    joined["density_65_75_per_km2"] = (older / area).round(1)
    suhi = joined["suhi_k"].clip(lower=0.0).fillna(0.0) if "suhi_k" in joined.columns else 1.0
    joined["score"] = (joined["density_65_75_per_km2"] * share * suhi).round(1)
    joined.loc[gap, "score"] = np.nan
    ordered = joined.sort_values(
        ["score", "hot_share", "zone_id"], ascending=[False, False, True], na_position="last"
    ).reset_index(drop=True)
    ranked = ~ordered["score"].isna()
    ordered["rank"] = pd.array([pd.NA] * len(ordered), dtype="Int64")
    ordered.loc[ranked, "rank"] = np.arange(1, int(ranked.sum()) + 1)
    return ordered


def lst_hotspots(lst_k: xr.DataArray, distance_m: float, *, fdr: bool) -> xr.DataArray:
    """Gi* hot/cold spot classes of an LST grid at a neighbourhood distance in metres."""
    check_plausible_kelvin(np.asarray(lst_k.values), str(lst_k.name or "LST"))
    z = getis_ord_gi_star(lst_k, distance_m)
    return hotspot_classes(z, fdr=fdr)
