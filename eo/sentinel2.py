"""Sentinel-2 L2A: digital numbers to surface reflectance, and Scene Classification (SCL) masks.

The BOA reflectance offset introduced with processing baseline 04.00 (25 January 2022) means
reflectance = (DN - 1000) / 10000 for items that still carry it, DN / 10000 for older ones. Each
provider exposes this differently (DESIGN section 3); :func:`decide_offset` reads only the item's
STAC properties, never its pixels. The pixel check of Earth Search legacy items lives in
:mod:`eo.harmonise`.

References
----------
.. [1] ESA (2022). Sentinel-2: Processing Baseline 04.00, "Provision of negative radiometric values
   (implementing an offset)", https://sentinels.copernicus.eu/web/sentinel/-/copernicus-sentinel-2-major-products-upgrade-upcoming
.. [2] ESA. Sentinel-2 L2A Product Definition Document / Level-2A Algorithm Theoretical Basis Document:
   Scene Classification classes 0-11.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

import dask.array as da
import numpy as np
import xarray as xr
from scipy import ndimage

from core.errors import InvalidInputError
from eo.collections import collection_spec

QUANTIFICATION_VALUE = 10000.0
BOA_ADD_OFFSET_DN = 1000
_BASELINE_WITH_OFFSET = (4, 0)
_S2_RULES = ("s2-c1", "s2-baseline", "s2-baseline-flag")
_PRODUCT_URI_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")

SCL_REMOVED_DEFAULT = frozenset({0, 1, 3, 8, 9, 10, 11})
SCL_REMOVED_STRICT = frozenset({0, 1, 2, 3, 6, 7, 8, 9, 10, 11})
SCL_DILATED = frozenset({3, 8, 9, 10})
"""Cloud shadow (3), cloud medium (8) and high (9) probability, thin cirrus (10): dilated."""


def scl_mask_description(strict: bool = False, dilate_px: int = 2) -> str:
    """The mask :func:`scl_mask` applies with these settings, in words (for run manifests).

    >>> scl_mask_description(strict=True, dilate_px=2)
    'SCL strict: classes {0,1,2,3,6,7,8,9,10,11} removed; cloud and shadow classes {3,8,9,10} dilated 2 px; DN 0 = no data'
    """
    removed = SCL_REMOVED_STRICT if strict else SCL_REMOVED_DEFAULT
    codes = ",".join(map(str, sorted(removed)))
    dilated = ",".join(map(str, sorted(SCL_DILATED)))
    return (
        f"SCL {'strict' if strict else 'default'}: classes {{{codes}}} removed; "
        f"cloud and shadow classes {{{dilated}}} dilated {int(dilate_px)} px; DN 0 = no data"
    )


@dataclass(frozen=True)
class OffsetDecision:
    """How one item's DN become reflectance, decided from its STAC properties.

    Attributes
    ----------
    offset_dn : int
        DN subtracted before dividing by 10000: 0 or 1000.
    baseline : str or None
        Processing baseline as ``"NN.NN"``; None where the rule does not need it (Earth Search
        ``sentinel-2-c1-l2a``) and the item does not state it.
    rule : str
        Which metadata decided, in words (goes to attrs and the run manifest).
    """

    offset_dn: int
    baseline: str | None
    rule: str


def processing_baseline(properties: Mapping[str, Any]) -> tuple[int, int]:
    """Processing baseline of an item as (major, minor), e.g. ``"05.09"`` -> (5, 9).

    Read from ``s2:processing_baseline`` (``"04.00"``, ``"5.09"``, ``"5.1"`` meaning 05.10) or,
    failing that, from the ``_Nxxyy_`` part of ``s2:product_uri``.

    Raises
    ------
    InvalidInputError
        If neither property gives a baseline.
    """
    value = properties.get("s2:processing_baseline")
    if value is not None:
        text = f"{value:.2f}" if isinstance(value, float) else str(value).strip()
        major, sep, minor = text.partition(".")
        if sep and major.isdigit() and minor.isdigit() and len(minor) <= 2:
            return int(major), int(minor.ljust(2, "0"))
    match = _PRODUCT_URI_BASELINE.search(str(properties.get("s2:product_uri") or ""))
    if match:
        return int(match.group(1)), int(match.group(2))
    raise InvalidInputError(
        f"item {properties.get('id', '?')!r}: cannot tell its Sentinel-2 processing baseline: "
        f"property 's2:processing_baseline' is {value!r} and 's2:product_uri' has no '_Nxxyy_' part; "
        "pass the item's full STAC properties (both catalogues publish 's2:processing_baseline')"
    )


def _format_baseline(baseline: tuple[int, int]) -> str:
    return f"{baseline[0]:02d}.{baseline[1]:02d}"


def _flag(value: object) -> bool | None:
    """``earthsearch:boa_offset_applied`` as a bool (None when absent)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"true", "false"}:
        return text == "true"
    raise InvalidInputError(
        f"property 'earthsearch:boa_offset_applied' is {value!r}, expected true or false; "
        "pass the item's STAC properties unchanged"
    )


def decide_offset(provider: str, collection: str, properties: Mapping[str, Any]) -> OffsetDecision:
    """Decide an item's BOA offset from its STAC properties alone (DESIGN section 3).

    Parameters
    ----------
    provider : str
        ``"earth-search"`` or ``"planetary-computer"``.
    collection : str
        Collection id as the provider names it: ``"sentinel-2-l2a"`` or (Earth Search only)
        ``"sentinel-2-c1-l2a"``.
    properties : Mapping
        The item's STAC properties. ``raster:bands`` offsets are deliberately ignored.

    Raises
    ------
    InvalidInputError
        Unknown provider or collection, or no processing baseline where one is needed.
    """
    rule = collection_spec(provider, collection).scale_rule
    if rule not in _S2_RULES:
        raise InvalidInputError(
            f"{provider} {collection!r} is not a Sentinel-2 L2A collection (its DN rule is "
            f"{rule!r}); use a sentinel-2 collection for sources.sentinel2"
        )
    if rule == "s2-c1":
        has_baseline = properties.get("s2:processing_baseline") or properties.get("s2:product_uri")
        baseline = _format_baseline(processing_baseline(properties)) if has_baseline else None
        return OffsetDecision(BOA_ADD_OFFSET_DN, baseline, "earth-search c1: offset always in DN")
    parsed = processing_baseline(properties)
    baseline = _format_baseline(parsed)
    if parsed < _BASELINE_WITH_OFFSET:
        return OffsetDecision(0, baseline, "baseline < 04.00: no offset")
    if rule == "s2-baseline":
        return OffsetDecision(BOA_ADD_OFFSET_DN, baseline, "baseline >= 04.00: offset in DN")
    if _flag(properties.get("earthsearch:boa_offset_applied")):
        return OffsetDecision(0, baseline, "earthsearch:boa_offset_applied is true")
    return OffsetDecision(BOA_ADD_OFFSET_DN, baseline, "baseline >= 04.00, offset flag not true")


def boa_offset_dn(provider: str, collection: str, properties: Mapping[str, Any]) -> int:
    """DN to subtract before scaling (0 or 1000), from metadata only; see :func:`decide_offset`."""
    return decide_offset(provider, collection, properties).offset_dn


def dn_to_reflectance(dn: Any, offset_dn: Any) -> Any:
    """(DN - offset) / 10000 as float32 with NaN where DN is 0 (nodata); negatives are kept.

    ``dn`` and ``offset_dn`` broadcast (numpy, Dask or xarray); no attrs are set here.

    References
    ----------
    .. [1] ESA, Sentinel-2 L2A PSD: BOA reflectance = (DN + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE,
       BOA_ADD_OFFSET = -1000 from baseline 04.00 on.
    """
    offset = (
        offset_dn.astype(np.float32)
        if isinstance(offset_dn, xr.DataArray)
        else np.float32(offset_dn)
    )
    if isinstance(dn, xr.DataArray):
        scaled = (dn.astype(np.float32) - offset) / np.float32(QUANTIFICATION_VALUE)
        return scaled.where(dn != 0)
    values = da.asarray(dn) if isinstance(dn, da.Array) else np.asarray(dn)
    ratio = (values.astype(np.float32) - offset) / np.float32(QUANTIFICATION_VALUE)
    where = da.where if isinstance(values, da.Array) else np.where
    return where(values == 0, np.float32(np.nan), ratio.astype(np.float32))


@overload
def to_reflectance(
    dn: xr.DataArray, provider: str, collection: str, properties: Mapping[str, Any]
) -> xr.DataArray: ...
@overload
def to_reflectance(
    dn: np.ndarray, provider: str, collection: str, properties: Mapping[str, Any]
) -> np.ndarray: ...
def to_reflectance(dn: Any, provider: str, collection: str, properties: Mapping[str, Any]) -> Any:
    """Surface reflectance (dimensionless, float32) of one item's DN, decided from metadata only.

    Parameters
    ----------
    dn : numpy.ndarray, dask.array.Array or xarray.DataArray
        Digital numbers of one item (uint16 or float); 0 is nodata. Lazy input stays lazy.
    provider, collection, properties
        See :func:`decide_offset`.

    Returns
    -------
    Same kind and shape as ``dn``: reflectance = (DN - offset) / 10000, NaN where DN is 0.
    Negative values (dark pixels with the offset) are legal and kept. A DataArray gets fresh attrs
    (``units="1"``, ``long_name`` and the decision), not the input's.

    Examples
    --------
    >>> import numpy as np
    >>> props = {"s2:processing_baseline": "05.10"}
    >>> to_reflectance(np.array([0, 1000, 1500]), "planetary-computer", "sentinel-2-l2a", props)
    array([ nan, 0.  , 0.05], dtype=float32)
    """
    decision = decide_offset(provider, collection, properties)
    out = dn_to_reflectance(dn, decision.offset_dn)
    if isinstance(out, xr.DataArray):
        out.attrs = {
            "units": "1",
            "long_name": "surface reflectance",
            "boa_offset_dn": decision.offset_dn,
            "processing_baseline": decision.baseline or "unknown",
            "offset_rule": decision.rule,
            "provider": provider,
            "collection": collection,
        }
    return out


def _disk(radius: int) -> np.ndarray:
    """Disk footprint: pixels whose centre lies within ``radius`` of the centre (as skimage.disk)."""
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return np.asarray(yy**2 + xx**2 <= radius**2)


def _mask_block(block: np.ndarray, removed: frozenset[int], dilate_px: int) -> np.ndarray:
    """Mask of one block whose last two axes are (y, x); NaN SCL counts as class 0 (no data)."""
    codes = np.nan_to_num(block, nan=0.0) if np.issubdtype(block.dtype, np.floating) else block
    mask = np.isin(codes, sorted(removed))
    if dilate_px > 0:
        clouds = np.isin(codes, sorted(SCL_DILATED))
        footprint = _disk(dilate_px).reshape((1,) * (block.ndim - 2) + (2 * dilate_px + 1,) * 2)
        mask |= ndimage.binary_dilation(clouds, structure=footprint)
    return np.asarray(mask)


def _mask_array(data: Any, removed: frozenset[int], dilate_px: int) -> Any:
    if isinstance(data, da.Array):
        depth = {axis: 0 for axis in range(data.ndim)}
        depth[data.ndim - 2] = depth[data.ndim - 1] = dilate_px
        return da.map_overlap(
            _mask_block,
            data,
            depth=depth,
            boundary="none",
            dtype=bool,
            meta=np.array((), dtype=bool),
            removed=removed,
            dilate_px=dilate_px,
        )
    return _mask_block(np.asarray(data), removed, dilate_px)


@overload
def scl_mask(scl: xr.DataArray, strict: bool = ..., dilate_px: int = ...) -> xr.DataArray: ...
@overload
def scl_mask(scl: np.ndarray, strict: bool = ..., dilate_px: int = ...) -> np.ndarray: ...
def scl_mask(scl: Any, strict: bool = False, dilate_px: int = 2) -> Any:
    """Pixels to remove by Sentinel-2 Scene Classification (True = removed).

    Parameters
    ----------
    scl : numpy.ndarray, dask.array.Array or xarray.DataArray
        SCL class codes with the last two axes (y, x); a DataArray must have dims ``(..., "y", "x")``.
        NaN (a float cube's fill) counts as class 0, no data. Already on the analysis grid: on the
        10 m cube a 2-pixel dilation is 20 m.
    strict : bool
        False removes {0,1,3,8,9,10,11} (no data, saturated, cloud shadow, cloud medium/high, cirrus,
        snow); True (vegetation ranking) also removes 2 (dark/topographic shadow), 6 (water) and
        7 (unclassified).
    dilate_px : int
        Radius in pixels of the disk by which cloud shadow, clouds and cirrus (3, 8, 9, 10) are
        dilated on every 2-D slice (SCL misses cloud edges); 0 disables dilation.

    Returns
    -------
    Boolean mask of the same kind and shape; lazy input stays lazy (Dask ``map_overlap`` with a halo
    of ``dilate_px`` so dilation is exact across chunk edges).

    References
    ----------
    .. [1] ESA, Sentinel-2 L2A Algorithm Theoretical Basis Document, Scene Classification.
    """
    if not isinstance(dilate_px, int | np.integer) or dilate_px < 0:
        raise InvalidInputError(f"dilate_px={dilate_px!r} must be a non-negative integer (pixels)")
    removed = SCL_REMOVED_STRICT if strict else SCL_REMOVED_DEFAULT
    if isinstance(scl, xr.DataArray):
        if scl.ndim < 2 or scl.dims[-2:] != ("y", "x"):
            raise InvalidInputError(
                f"SCL DataArray has dims {scl.dims}; expected (..., 'y', 'x'): transpose it first"
            )
        data = _mask_array(scl.data, removed, int(dilate_px))
        attrs = {
            "units": "1",
            "long_name": "SCL mask (True = removed)",
            "scl_removed_classes": ",".join(map(str, sorted(removed))),
            "scl_dilated_classes": ",".join(map(str, sorted(SCL_DILATED))),
            "dilate_px": int(dilate_px),
        }
        return xr.DataArray(data, coords=scl.coords, dims=scl.dims, name="scl_mask", attrs=attrs)
    if np.ndim(scl) < 2:
        raise InvalidInputError(f"SCL array has {np.ndim(scl)} dimensions; expected (..., y, x)")
    return _mask_array(scl, removed, int(dilate_px))


def upsample_nearest(
    scl20: Any, factor: int = 2, xy_coords: Literal["center", "topleft"] = "center"
) -> Any:
    """Repeat each pixel ``factor`` x ``factor`` times on the last two axes (nearest neighbour).

    For SCL (20 m) onto a 10 m grid whose pixels nest in the 20 m ones; never interpolate classes.
    DataArray x/y coordinates are recomputed for pixel ``xy_coords`` labels ("center": rioxarray
    and odc-stac; "topleft": stackstac's default); other coordinates are kept.
    """
    if factor < 1:
        raise InvalidInputError(f"factor={factor!r} must be a positive integer")
    if not isinstance(scl20, xr.DataArray):
        lib: Any = da if isinstance(scl20, da.Array) else np
        return lib.repeat(lib.repeat(scl20, factor, axis=-1), factor, axis=-2)
    if scl20.dims[-2:] != ("y", "x"):
        raise InvalidInputError(f"SCL DataArray has dims {scl20.dims}; expected (..., 'y', 'x')")
    data = upsample_nearest(scl20.data, factor)
    coords = {k: v for k, v in scl20.coords.items() if "x" not in v.dims and "y" not in v.dims}
    for dim in ("y", "x"):
        centres = scl20[dim].values.astype(float)
        step = (centres[1] - centres[0]) if centres.size > 1 else 0.0
        sub = np.arange(factor) * step / factor
        if xy_coords == "center":
            sub = sub - step / 2 + step / (2 * factor)
        coords[dim] = (centres[:, None] + sub[None, :]).ravel()
    return xr.DataArray(data, coords=coords, dims=scl20.dims, attrs=dict(scl20.attrs))
