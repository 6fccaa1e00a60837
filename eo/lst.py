"""Land surface temperature scenes of a period via STAC/stackstac: Landsat C2 L2 ST_B10 + QA_PIXEL,
or ECOSTRESS L2T LSTE where the profile's ``heat.lst_source`` names it.

The real source is Planetary Computer's ``landsat-c2-l2`` (asset ``lwir11`` = ST_B10, ``qa_pixel``;
hrefs are signed just before reading where the source needs it); the demo city has the same item
layout with local, unsigned hrefs. Earth Search's Landsat assets are requester-pays ``s3://`` hrefs
and are not a supported source. Surface temperature is analysed on a 30 m grid whose pixel edges
sit on the Landsat phase (15 m + multiples of 30 m), never at the 10 m vegetation grid; values are
kelvin (``units="K"``), the products convert to degC.

DN are loaded with ``rescale=False`` (eo.landsat.st_to_kelvin owns the scale and offset), 0 = fill;
QA_PIXEL bits 0-4 (fill, dilated cloud, cirrus, cloud, shadow) remove a pixel (strict: also snow
and water), so a cloudy scene contributes nothing where it is cloudy.

ECOSTRESS (``heat.lst_source``: provider ``lp-daac``, collection ``ECO_L2T_LSTE_002`` from NASA's
CMR-STAC ``https://cmr.earthdata.nasa.gov/stac/LPCLOUD``; reading the assets needs an Earthdata
Login, e.g. ``~/.netrc`` for ``urs.earthdata.nasa.gov``, which GDAL honours) is analysed on its own
70 m grid, phased like the tiles' own pixel edges (from ``proj:transform`` or the first LST COG's
header), never resampled to 30 or 10 m. Its LST is float32 kelvin with NaN fill, read as float32
(uint16 would truncate it); a pixel is removed where LST is missing, the QC mandatory flags (bits
0-1) say cloud (10) or not produced (11), the ``cloud`` mask is not 0 (or missing), and in strict
mode where ``water`` is 1. Items key their assets by file name (``..._LST``): the table's
``asset_key_suffix`` maps them to the aliases (``s3_`` twins are not read).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import xarray as xr

from core.errors import InvalidInputError
from core.profile import CityProfile
from eo.collections import CollectionSpec
from eo.grid import OutputGrid
from eo.landsat import cloud_mask, st_to_kelvin
from eo.scenes import find_items, stac_source
from eo.stac_load import load_dn

LST_RESOLUTION_M = 30.0
LANDSAT_PHASE_OFFSET_M = 15.0
ST_ASSET = "lwir11"
QA_ASSET = "qa_pixel"
ECO_ASSETS = ("LST", "QC", "cloud", "water")
ECO_QC_CLOUD, ECO_QC_NOT_PRODUCED = 2, 3  # mandatory QA flags (bits 0-1)


@dataclass(frozen=True)
class LstProduct:
    """The LST product a source delivers: its name for the data note and its native pixel size."""

    name: str
    resolution_m: float
    spec: CollectionSpec

    @property
    def is_landsat(self) -> bool:
        return ST_ASSET in self.spec.assets


def lst_product(source: Any) -> LstProduct:
    """The :class:`LstProduct` of a STAC source (refused when its collection has no LST asset)."""
    spec: CollectionSpec = source.spec
    if not spec.aliases("temperature") or spec.resolution_m is None:
        raise InvalidInputError(
            f"{spec.provider} {spec.collection!r} is not a land surface temperature product; use "
            "planetary-computer landsat-c2-l2 (sources.landsat) or lp-daac ECO_L2T_LSTE_002 "
            "(heat.lst_source)"
        )
    if ST_ASSET in spec.assets:
        return LstProduct("Landsat C2 L2 surface temperature", spec.resolution_m, spec)
    return LstProduct("ECOSTRESS L2T LSTE land surface temperature", spec.resolution_m, spec)


@dataclass(frozen=True)
class LstScenes:
    """LST observations of a period on the product's grid (30 m Landsat, 70 m ECOSTRESS).

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
        The product's grid.
    """

    kelvin: xr.DataArray
    removed: xr.DataArray
    item_ids: tuple[str, ...]
    clear_fraction: dict[str, float]
    grid: OutputGrid


def lst_grid(
    crs: str,
    bounds: tuple[float, float, float, float],
    resolution: float = LST_RESOLUTION_M,
    phase: tuple[float, float] = (LANDSAT_PHASE_OFFSET_M, LANDSAT_PHASE_OFFSET_M),
) -> OutputGrid:
    """Grid covering ``bounds`` with pixel edges on the product's phase (x, y offsets + k x step).

    The default is Landsat's 30 m grid (edges at 15 m + k x 30 m).
    """
    step = float(resolution)
    off_x, off_y = phase
    minx, miny, maxx, maxy = bounds
    snapped = (
        math.floor((minx - off_x) / step) * step + off_x,
        math.floor((miny - off_y) / step) * step + off_y,
        math.ceil((maxx - off_x) / step) * step + off_x,
        math.ceil((maxy - off_y) / step) * step + off_y,
    )
    return OutputGrid(crs=crs, resolution=step, bounds=snapped)


def product_grid(
    product: LstProduct, items: Sequence[dict[str, Any]], crs: str,
    bounds: tuple[float, float, float, float], source: Any = None,
) -> OutputGrid:  # fmt: skip
    """The analysis grid of ``product``: Landsat's 30 m phase, or the tiles' own phase.

    ECOSTRESS tiles sit on MGRS tile origins, so their 70 m phase differs per tile: it is taken
    from the first item's LST ``proj:transform`` (or, when the items carry none, from the COG's
    header), provided the item is in ``crs``; otherwise edges sit on multiples of 70 m.
    """
    if product.is_landsat:
        return lst_grid(crs, bounds)
    step = product.resolution_m
    phase = (0.0, 0.0)
    if items:
        transform = _item_transform(canonical_items(items[:1], product.spec)[0], crs, source)
        if transform is not None:
            phase = (transform[2] % step, transform[5] % step)
    return lst_grid(crs, bounds, resolution=step, phase=phase)


def _item_transform(item: dict[str, Any], crs: str, source: Any) -> list[float] | None:
    asset = item["assets"]["LST"]
    epsg = asset.get("proj:epsg", item.get("properties", {}).get("proj:epsg"))
    transform = asset.get("proj:transform", item.get("properties", {}).get("proj:transform"))
    if transform is not None and epsg is not None:
        return list(transform) if f"EPSG:{epsg}" == crs.upper() else None
    import rasterio

    href = str(asset["href"])
    if source is not None:
        source.allowlist.check_asset(href, catalog_is_local=source.is_local)
    try:
        with rasterio.open(href) as src:
            if src.crs is None or src.crs.to_string().upper() != crs.upper():
                return None
            t = src.transform
            return [t.a, t.b, t.c, t.d, t.e, t.f]
    except rasterio.errors.RasterioIOError as err:
        raise InvalidInputError(
            f"ECOSTRESS item {item.get('id')!r}: cannot read the LST header at {href} ({err}); "
            "LP DAAC needs an Earthdata Login (~/.netrc for urs.earthdata.nasa.gov)"
        ) from None


def canonical_items(items: Sequence[dict[str, Any]], spec: CollectionSpec) -> list[dict[str, Any]]:
    """Items with their assets under the table's aliases (file-name keys mapped by suffix)."""
    if not spec.asset_key_suffix:
        return list(items)
    out = []
    for item in items:
        assets = item.get("assets", {})
        mapped = {}
        for alias, asset_spec in spec.assets.items():
            keys = [
                k for k in assets
                if (k == asset_spec.key or k.endswith(f"_{asset_spec.key}"))
                and not k.startswith("s3_")
            ]  # fmt: skip
            if len(keys) != 1:
                raise InvalidInputError(
                    f"{spec.collection} item {item.get('id')!r} has {len(keys)} assets ending in "
                    f"'_{asset_spec.key}' (keys: {sorted(assets)}); expected exactly one"
                )
            mapped[alias] = assets[keys[0]]
        out.append({**item, "assets": mapped})
    return out


def lst_source(profile: CityProfile) -> Any:
    """The profile's LST source: ``heat.lst_source`` if set (e.g. ECOSTRESS), else its
    ``sources.landsat`` (refused, exit 2, when it cannot serve LST)."""
    config = profile.sources.landsat
    if profile.heat is not None and profile.heat.lst_source is not None:
        source = stac_source(profile, profile.heat.lst_source)
        lst_product(source)  # refuses a collection without LST
        return source
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
    return stac_source(profile, config)


def find_lst_items(
    profile: CityProfile, bbox_wgs84: tuple[float, float, float, float], start: date, end: date
) -> tuple[list[dict[str, Any]], Any]:
    """LST items over the bbox in ``start..end`` from :func:`lst_source`, and that source."""
    source = lst_source(profile)
    kept, _ = find_items(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    return kept, source


def check_local_lst_items(
    profile: CityProfile, bbox_wgs84: tuple[float, float, float, float], start: date, end: date
) -> int:
    """For an LST catalogue on disk: search ``start..end`` and check each item's JSON and its LST
    asset hrefs (readable, inside the allowed folders) before any work, so a broken catalogue
    stops the heat run before Prefect starts (exit 2). Returns the items seen; a STAC API is not
    searched twice (its items are checked at load)."""
    source = lst_source(profile)
    if not source.is_local:
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # items left out are reported once, by the run itself
        items, _ = find_items(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    keys = {asset.key for asset in source.spec.assets.values()}
    for item in items:
        for key, asset in item.get("assets", {}).items():
            if key in keys:
                source.allowlist.check_asset(str(asset["href"]), catalog_is_local=True)
    return len(items)


def load_lst(
    items: Sequence[dict[str, Any]], grid: OutputGrid, source: Any, *, strict: bool = False
) -> LstScenes:
    """Read the LST and its quality flags of ``items`` on ``grid`` (computed: LST grids are small).

    Landsat: ST_B10 + QA_PIXEL; ECOSTRESS: LST, QC, cloud and water (see the module docstring).
    """
    if not items:
        raise InvalidInputError("load_lst needs at least one item; check for [] first")
    if not lst_product(source).is_landsat:
        return _load_ecostress(items, grid, source, strict=strict)
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


def _load_ecostress(
    items: Sequence[dict[str, Any]], grid: OutputGrid, source: Any, *, strict: bool
) -> LstScenes:
    spec = source.spec
    cube = load_dn(
        canonical_items(items, spec),
        grid,
        list(ECO_ASSETS),
        provider=source.provider,
        allowlist=source.allowlist,
        catalog_is_local=source.is_local,
        dtype="float32",
    ).compute()
    lst = cube.sel(band="LST").drop_vars("band", errors="ignore")
    qc = cube.sel(band="QC").drop_vars("band", errors="ignore")
    cloud = cube.sel(band="cloud").drop_vars("band", errors="ignore")
    water = cube.sel(band="water").drop_vars("band", errors="ignore")
    flags = (qc.fillna(ECO_QC_NOT_PRODUCED).astype(np.uint16) & np.uint16(3)).astype(np.uint8)
    missing = lst.isnull() | (lst <= 0)
    removed = missing | qc.isnull() | (flags >= ECO_QC_CLOUD) | (cloud != 0)
    if strict:
        removed = removed | (water == 1)
    kelvin = lst.where(~missing).astype(np.float32)
    ids = tuple(str(v) for v in cube["id"].values)
    clear = {item_id: float((~removed.isel(time=i)).mean()) for i, item_id in enumerate(ids)}
    keep = {"y", "x", "time", "id", "spatial_ref"}
    kelvin = kelvin.drop_vars([c for c in kelvin.coords if c not in keep])
    removed = removed.drop_vars([c for c in removed.coords if c not in keep])
    kelvin.attrs = {"units": "K", "long_name": "land surface temperature"}
    return LstScenes(kelvin, removed, ids, clear, grid)


def grid_values(scenes: LstScenes) -> np.ndarray:
    """The clear observations as a float64 (time, y, x) array, NaN where removed."""
    return np.where(scenes.removed.values, np.nan, scenes.kelvin.values.astype(np.float64))
