"""Urban heat from land surface temperature: clear-sky composite, district statistics, hotspot
polygons and the vulnerability ranking (DESIGN section 4).

Everything here is pure (arrays and GeoDataFrames in, the same out) and runs at the LST product's
resolution (Landsat ST: 30 m, ECOSTRESS: 70 m; never resampled to 10 m). Temperatures are kelvin
inside (``units="K"``) and degC in the tables people read. District, block and street-segment
statistics are area-weighted by the exact share of each pixel inside the polygon (exactextract,
:func:`zone_coverage`): at 30 m a district of 1 km2 holds about 1,100 pixels, a 100 m street
segment buffered by 15 m only about 4, so edge pixels matter. Their clear coverage is reported.

- **Composite**: per pixel, the median (numpy ``linear``) of the clear observations of the period;
  a pixel never seen clear is NaN. Clouds removed by QA_PIXEL contribute nothing.
- **Surface urban heat island intensity** (SUHI): a district's median LST minus the median LST of
  the configured reference area (rural or large green areas), in K.
- **Hot share**: the share of a district's clear area in a Gi* hot spot at the configured
  confidence (default 95 %).
- **Hot spots** (:func:`hotspot_areas`): significant cells joined (8-connectivity), nearby groups
  merged, small ones dropped and counted (rule ``alerts/policies/heat_hotspots.yaml``).
- **Street segments**: the same statistics per buffered segment, ranked by heat
  (:func:`rank_by_heat`).
- **Vulnerability**: people aged 65+ and 75+ (75+ counted a second time: they are the most
  vulnerable) times the hot share, i.e. the estimated number of older people living in hot spots
  (population assumed uniform within a district); districts are ranked by it, DATA_GAP districts
  (too little clear LST) are listed last and never ranked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from rasterio import features
from scipy import ndimage
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


@dataclass(frozen=True)
class ZoneCoverage:
    """Which grid cells each zone covers, and how much of each (exact fractional coverage).

    Attributes
    ----------
    ids : list
        Zone ids in input order.
    cells : list of numpy.ndarray
        Per zone, the flat (row-major) indices of the grid cells it touches.
    weights : list of numpy.ndarray
        Per zone, the share (0..1] of each of those cells' area inside the zone polygon.
    """

    ids: list[Any]
    cells: list[np.ndarray]
    weights: list[np.ndarray]


def zone_coverage(zones: gpd.GeoDataFrame, id_field: str, transform: Affine,
                  shape_yx: tuple[int, int]) -> ZoneCoverage:  # fmt: skip
    """Exact fractional coverage of every grid cell by every zone polygon (exactextract).

    A 30 m pixel half inside a district counts half: district statistics are area-weighted, so
    small districts and blocks are not biased by where their edges cut the grid. ``transform``
    must be north-up (the LST grids are); ``zones`` must be in the grid's CRS.
    """
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    if id_field not in zones.columns:
        raise InvalidInputError(
            f"zone layer has no id field {id_field!r}; its fields: {list(zones.columns)}"
        )
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise InvalidInputError(f"zone_coverage needs a north-up grid transform, got {transform}")
    rows, cols = shape_yx
    ids = list(zones[id_field])
    cells: list[np.ndarray] = [np.zeros(0, np.int64) for _ in ids]
    weights: list[np.ndarray] = [np.zeros(0, np.float64) for _ in ids]
    present = [i for i, g in enumerate(zones.geometry) if g is not None and not g.is_empty]
    if present and rows and cols:
        xmin, ymax = transform.c, transform.f
        raster = NumPyRasterSource(
            np.zeros(shape_yx, dtype=np.float32), xmin, ymax + rows * transform.e,
            xmin + cols * transform.a, ymax,
        )  # fmt: skip
        shapes = gpd.GeoDataFrame(geometry=zones.geometry.iloc[present].to_numpy(), crs=zones.crs)
        result = exact_extract(raster, shapes, ["cell_id", "coverage"], output="pandas")
        for position, (cell, cover) in zip(
            present, zip(result["cell_id"], result["coverage"], strict=True), strict=True
        ):
            cell = np.asarray(cell, dtype=np.int64)
            cover = np.asarray(cover, dtype=np.float64)
            keep = cover > 0
            cells[position], weights[position] = cell[keep], cover[keep]
    return ZoneCoverage(ids, cells, weights)


def raster_coverage(zone_raster: np.ndarray, zone_ids: list[Any]) -> ZoneCoverage:
    """:class:`ZoneCoverage` of a zone raster (1 + position per pixel, 0 = none): full cells."""
    flat = np.asarray(zone_raster).ravel()
    cells = [np.flatnonzero(flat == position) for position in range(1, len(zone_ids) + 1)]
    return ZoneCoverage(list(zone_ids), cells, [np.ones(c.size) for c in cells])


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Quantile ``q`` (0..1) of ``values`` with area ``weights`` (the weighted inverted CDF).

    The smallest value whose cumulative weight reaches ``q`` of the total; where the cumulative
    weight meets it exactly, the mean of that value and the next. So the median of equal weights is
    numpy's median (the mean of the two middle values for an even count), and splitting a pixel's
    weight into parts, or merging equal values, changes nothing.

    Examples
    --------
    >>> weighted_quantile(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4), 0.5)
    2.5
    >>> weighted_quantile(np.array([10.0, 20.0, 30.0]), np.array([1.0, 1.0, 2.0]), 0.5)
    25.0
    >>> weighted_quantile(np.array([10.0, 20.0]), np.array([0.25, 1.0]), 0.5)
    20.0
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if v.size == 0 or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cumulative = np.cumsum(w)
    total = float(cumulative[-1])
    target, tol = q * total, 1e-9 * total
    k = min(int(np.searchsorted(cumulative, target - tol, side="left")), v.size - 1)
    if abs(cumulative[k] - target) <= tol and k + 1 < v.size:
        return float((v[k] + v[k + 1]) / 2.0)
    return float(v[k])


def district_heat_table(
    lst_k: np.ndarray,
    classes: np.ndarray,
    zone_raster: np.ndarray | ZoneCoverage,
    zone_ids: list[Any] | None = None,
    *,
    reference_k: float,
    hot_class: int = 2,
    min_clear_fraction: float = 0.5,
    ok_clear_fraction: float = 0.9,
    min_pixels: float = 100,
) -> pd.DataFrame:
    """Per-district LST statistics (degC), SUHI (K), hot share and status, area-weighted.

    ``zone_raster`` is a :class:`ZoneCoverage` (exact fractional pixel coverage, from
    :func:`zone_coverage`) or a zone raster with ``zone_ids`` (every pixel counts fully). Each
    pixel counts with the share of its area inside the district.

    Columns: ``zone_id``, ``pixels`` (covered area in pixels, fractional), ``clear_fraction``
    (clear share of the covered area), ``lst_median_c``, ``lst_p90_c`` (weighted quantiles,
    :func:`weighted_quantile`), ``suhi_k`` (median minus ``reference_k``), ``hot_share`` (share of
    the clear covered area in a hot spot of class >= ``hot_class``), ``hot_pixels`` (that area in
    pixels), ``status`` (DATA_GAP below ``min_clear_fraction``, DEGRADED below
    ``ok_clear_fraction``; also DATA_GAP with less than ``min_pixels`` pixels of area on the
    grid: a district that only touches the area of interest is not ranked).
    """
    if isinstance(zone_raster, ZoneCoverage):
        coverage = zone_raster
    else:
        if zone_ids is None:
            raise InvalidInputError("district_heat_table: a zone raster needs its zone_ids")
        coverage = raster_coverage(zone_raster, zone_ids)
    flat_lst = np.asarray(lst_k, dtype=np.float64).ravel()
    flat_hot = np.asarray(classes).ravel() >= hot_class
    rows = []
    for zone_id, cells, weights in zip(coverage.ids, coverage.cells, coverage.weights, strict=True):
        area = float(weights.sum())
        values = flat_lst[cells]
        clear = np.isfinite(values)
        clear_area = float(weights[clear].sum())
        fraction = clear_area / area if area > 0 else 0.0
        hot_area = float(weights[clear & flat_hot[cells]].sum())
        seen = clear_area > 0
        if fraction < min_clear_fraction or not seen or area < min_pixels:
            status = SubjectStatus.DATA_GAP
        elif fraction < ok_clear_fraction:
            status = SubjectStatus.DEGRADED
        else:
            status = SubjectStatus.OK
        median = weighted_quantile(values[clear], weights[clear], 0.5) if seen else np.nan
        p90 = weighted_quantile(values[clear], weights[clear], 0.9) if seen else np.nan
        rows.append(
            {
                "zone_id": zone_id,
                "pixels": round(area, 2),
                "clear_fraction": round(fraction, 4),
                "lst_median_c": round(median - ZERO_C_K, 2) if seen else np.nan,
                "lst_p90_c": round(p90 - ZERO_C_K, 2) if seen else np.nan,
                "suhi_k": round(median - reference_k, 2) if seen else np.nan,
                "hot_share": round(hot_area / clear_area, 4) if seen else np.nan,
                "hot_pixels": round(hot_area, 2),
                "status": str(status),
            }
        )
    return pd.DataFrame(rows)


def reference_lst(lst_k: np.ndarray, mask: np.ndarray | ZoneCoverage, name: str) -> float:
    """Median LST (K) of the reference area; refuses a reference with no clear pixel.

    ``mask`` is a boolean pixel mask or the reference polygons' :class:`ZoneCoverage` (every
    zone pooled, area-weighted; a cell covered by two polygons counts once, at most fully).
    """
    flat = np.asarray(lst_k, dtype=np.float64).ravel()
    if isinstance(mask, ZoneCoverage):
        weight = np.zeros(flat.size)
        for cells, weights in zip(mask.cells, mask.weights, strict=True):
            np.add.at(weight, cells, weights)
        weight = np.minimum(weight, 1.0)
    else:
        weight = np.asarray(mask, dtype=bool).ravel().astype(np.float64)
    use = (weight > 0) & np.isfinite(flat)
    if not use.any():
        raise InvalidInputError(
            f"heat reference area {name} has no clear LST pixel on the grid; configure a "
            "reference (heat.reference_layer) that lies inside the AOI"
        )
    return weighted_quantile(flat[use], weight[use], 0.5)


@dataclass(frozen=True)
class HotspotAreas:
    """Hot-spot polygons for a bulletin, and what was left out.

    Attributes
    ----------
    polygons : geopandas.GeoDataFrame
        ``hotspot_id`` (1.. by area), ``pixels``, ``area_m2``, ``max_class``, ``parts``, geometry.
    dropped : int
        Groups of significant cells smaller than the minimum area (not drawn, not counted).
    dropped_area_m2 : float
        Their area.
    significant_cells : int
        Hot cells (class >= the hot class) on the grid before grouping.
    """

    polygons: gpd.GeoDataFrame
    dropped: int
    dropped_area_m2: float
    significant_cells: int


def hotspot_areas(
    classes: np.ndarray,
    transform: Affine,
    crs: Any,
    *,
    min_class: int = 2,
    connectivity: int = 8,
    merge_gap_m: float = 0.0,
    min_area_m2: float = 0.0,
) -> HotspotAreas:
    """Group significant hot cells into hot spots a health officer can read.

    Cells of class >= ``min_class`` that touch (``connectivity`` 8: edges or corners; 4: edges)
    form one hot spot; with ``merge_gap_m`` > 0, groups separated by at most
    ``floor(merge_gap_m / pixel)`` non-significant cells (along rows, columns or diagonals: a
    Chebyshev gap) are merged into one hot spot too (the polygon stays the significant cells only,
    a MultiPolygon where parts are separate). Hot spots smaller than ``min_area_m2`` are dropped
    and counted in ``dropped``.
    """
    if connectivity not in (4, 8):
        raise InvalidInputError(f"hot-spot connectivity must be 4 or 8, got {connectivity!r}")
    if merge_gap_m < 0 or min_area_m2 < 0:
        raise InvalidInputError(
            f"hot-spot merge gap and minimum area must be >= 0, got {merge_gap_m} m and "
            f"{min_area_m2} m2"
        )
    pixel = abs(transform.a)
    pixel_area = abs(transform.a * transform.e)
    hot = np.asarray(classes) >= min_class
    gap_px = int(np.floor(merge_gap_m / pixel + 1e-9)) if pixel > 0 else 0
    grouping = hot
    if gap_px > 0 and hot.any():
        # Every cell grown to a (gap + 1)-cell square: two cells' squares touch (8-connected)
        # exactly when at most ``gap_px`` cells lie between them along rows and columns.
        grouping = ndimage.binary_dilation(hot, structure=np.ones((gap_px + 1,) * 2, bool))
    labels = label(grouping, connectivity=2 if connectivity == 8 else 1) * hot
    rows = []
    dropped, dropped_area = 0, 0.0
    if labels.max() > 0:
        sizes = np.bincount(labels.ravel())
        peak = np.zeros(sizes.size, dtype=np.int64)
        np.maximum.at(peak, labels.ravel(), np.asarray(classes).ravel().astype(np.int64))
        present = np.flatnonzero(sizes[1:] > 0) + 1
        small = present[sizes[present] * pixel_area < min_area_m2 - 1e-6]
        dropped, dropped_area = int(small.size), float(sizes[small].sum() * pixel_area)
        keep = (labels > 0) & (sizes[labels] * pixel_area >= min_area_m2 - 1e-6)
        geoms: dict[int, list[Any]] = {}
        for geom, value in features.shapes(
            labels.astype(np.int32), mask=keep, transform=transform, connectivity=connectivity
        ):
            geoms.setdefault(int(value), []).append(shape(geom))
        for value, parts in geoms.items():
            merged = parts[0] if len(parts) == 1 else gpd.GeoSeries(parts).union_all()
            rows.append(
                {
                    "pixels": int(sizes[value]),
                    "area_m2": float(sizes[value] * pixel_area),
                    "max_class": int(peak[value]),
                    "parts": len(getattr(merged, "geoms", [merged])),
                    "geometry": merged,
                }
            )
    frame = gpd.GeoDataFrame(
        rows or None, columns=["pixels", "area_m2", "max_class", "parts", "geometry"], crs=crs
    )
    frame = frame.sort_values("pixels", ascending=False, kind="stable").reset_index(drop=True)
    frame.insert(0, "hotspot_id", np.arange(1, len(frame) + 1))
    return HotspotAreas(frame, dropped, dropped_area, int(hot.sum()))


def hotspot_polygons(
    classes: np.ndarray, transform: Affine, crs: Any, *, min_class: int = 2, min_pixels: int = 4
) -> gpd.GeoDataFrame:
    """Connected hot-spot cells (8-connectivity, class >= ``min_class``) as polygons.

    Columns ``hotspot_id`` (1.. by size), ``pixels``, ``area_m2``, ``max_class``, ``parts``,
    geometry. Components smaller than ``min_pixels`` are dropped (single significant cells are
    noise). :func:`hotspot_areas` also merges nearby groups and reports what was dropped.
    """
    area = abs(transform.a * transform.e) * min_pixels
    return hotspot_areas(classes, transform, crs, min_class=min_class, min_area_m2=area).polygons


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


def rank_by_heat(table: pd.DataFrame) -> pd.DataFrame:
    """Rank units without population (street segments) by heat: hot share, then median LST.

    ``table`` is :func:`district_heat_table` output (optionally with a ``name``); returns it sorted
    with ``rank`` (1 = hottest; none for DATA_GAP, which are listed last).
    """
    gap = table["status"] == str(SubjectStatus.DATA_GAP)
    ordered = pd.concat(
        [
            table[~gap].sort_values(
                ["hot_share", "lst_median_c", "zone_id"], ascending=[False, False, True],
                kind="stable",
            ),
            table[gap].sort_values("zone_id", kind="stable"),
        ]
    ).reset_index(drop=True)  # fmt: skip
    ordered["rank"] = pd.array([pd.NA] * len(ordered), dtype="Int64")
    ordered.loc[: int((~gap).sum()) - 1, "rank"] = np.arange(1, int((~gap).sum()) + 1)
    return ordered


def lst_hotspots(lst_k: xr.DataArray, distance_m: float, *, fdr: bool) -> xr.DataArray:
    """Gi* hot/cold spot classes of an LST grid at a neighbourhood distance in metres."""
    check_plausible_kelvin(np.asarray(lst_k.values), str(lst_k.name or "LST"))
    z = getis_ord_gi_star(lst_k, distance_m)
    return hotspot_classes(z, fdr=fdr)


def zone_hot_share(
    lst_k: np.ndarray, classes: np.ndarray, coverage: ZoneCoverage, *, hot_class: int = 2
) -> pd.Series:
    """Per zone, the share (0..1) of its clear covered area in a hot spot of class >= ``hot_class``.

    Area-weighted like :func:`district_heat_table` (each cell by the share of it inside the zone);
    NaN where the zone has no clear LST cell ("not available", never "not hot"). Indexed by the
    zone ids.
    """
    flat_lst = np.asarray(lst_k, dtype=np.float64).ravel()
    flat_hot = np.asarray(classes).ravel() >= hot_class
    shares = []
    for cells, weights in zip(coverage.cells, coverage.weights, strict=True):
        clear = np.isfinite(flat_lst[cells])
        clear_area = float(weights[clear].sum())
        hot_area = float(weights[clear & flat_hot[cells]].sum())
        shares.append(hot_area / clear_area if clear_area > 0 else np.nan)
    return pd.Series(shares, index=pd.Index(coverage.ids), dtype=float, name="heat_exposure")


def park_heat_exposure(
    lst_k: xr.DataArray,
    parks: gpd.GeoDataFrame,
    id_field: str,
    transform: Affine,
    *,
    distance_m: float,
    fdr: bool,
    hot_class: int,
) -> pd.Series:
    """Each park's heat exposure: the share (0..1) of its clear area in a Gi* LST hot spot.

    The heat product's rule (:func:`lst_hotspots` within ``distance_m``, FDR or not, hot from
    ``hot_class``) on the clear-median LST grid ``lst_k`` (K, on the LST product's grid described
    by ``transform``); ``parks`` in that grid's CRS. NaN for a park without a clear LST cell, and
    for every park when no cell is clear (irrigation counts NaN as h = 0, the table shows it
    empty). Indexed by park id (str).
    """
    ids = parks[id_field].astype(str)
    values = np.asarray(lst_k.values, dtype=np.float64)
    if parks.empty or not np.isfinite(values).any():
        return pd.Series(np.nan, index=pd.Index(ids), dtype=float, name="heat_exposure")
    classes = np.asarray(lst_hotspots(lst_k, distance_m, fdr=fdr).values)
    coverage = zone_coverage(parks.assign(**{id_field: ids}), id_field, transform, values.shape)
    return zone_hot_share(values, classes, coverage, hot_class=hot_class)
