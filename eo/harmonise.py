"""Harmonise a stack of Sentinel-2 L2A items to one reflectance scale, per item (DESIGN section 3).

:func:`harmonise` takes the DN cube stackstac builds (dims ``time, band, y, x``; item properties as
coordinates along ``time``), decides every item's BOA offset from its metadata
(:func:`eo.sentinel2.decide_offset`) and, for Earth Search ``sentinel-2-l2a`` items with baseline
>= 04.00 only (where ``earthsearch:boa_offset_applied`` is known to lie), checks the decision on
the pixels with :func:`check_offset_state`. That check is the one early compute the pipeline allows:
red, blue and SCL of those items on a strided sample of at most ~1e6 pixels per band (every pixel
of a small cube, every 3rd of a 3000 x 2500 one), nothing else. Striding bounds the memory of the
sample; Dask still reads the chunks it touches.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import dask
import numpy as np
import xarray as xr

from core.errors import InvalidInputError, OffsetFlagCorrectedWarning, OffsetUnverifiedWarning
from eo.collections import CollectionSpec, collection_spec
from eo.sentinel2 import (
    BOA_ADD_OFFSET_DN,
    OffsetDecision,
    decide_offset,
    dn_to_reflectance,
)

Verdict = Literal["offset_in_dn", "offset_removed", "unverified"]
SCL_VEGETATION = 4
SCL_WATER = 6
_CHECK_MAX_SAMPLES = 1_000_000


@dataclass(frozen=True)
class _BandKeys:
    """Asset keys of one provider: SCL, red, blue and every reflectance band."""

    scl: str
    red: str
    blue: str
    spectral: frozenset[str]


def _band_keys(spec: CollectionSpec) -> _BandKeys:
    """Asset keys of SCL, red, blue and every reflectance band, from the collection table."""
    return _BandKeys(
        scl=spec.asset("scl").key,
        red=spec.asset("red").key,
        blue=spec.asset("blue").key,
        spectral=frozenset(spec.keys(spec.aliases("reflectance"))),
    )


@dataclass(frozen=True)
class OffsetCheck:
    """Verdict of the pixel check of one item, with the evidence behind it.

    ``median_red``/``median_blue`` are DN medians over the reference pixels (NaN without any).
    """

    verdict: Verdict
    n_reference: int
    median_red: float
    median_blue: float


def check_offset_state(
    red_dn: Any, blue_dn: Any, scl: Any, *, min_reference_pixels: int = 1000
) -> OffsetCheck:
    """Tell from the pixels whether an item's DN still carry the +1000 BOA offset.

    Dark references are SCL vegetation (4) and water (6) pixels with valid red and blue DN: their
    reflectance is well below 0.1, so their median red and blue DN sit above 1000 when the offset
    is still in the DN and below it when it was removed.

    Parameters
    ----------
    red_dn, blue_dn, scl : array-like
        B04, B02 DN and SCL classes of one item on one grid (numpy, or computed DataArrays).
    min_reference_pixels : int
        Fewer reference pixels than this gives ``"unverified"``.

    Returns
    -------
    OffsetCheck
        ``"offset_in_dn"`` when both medians exceed 1000, ``"offset_removed"`` when both are below,
        ``"unverified"`` otherwise (too few references, or red and blue disagree). Never raises
        for lack of evidence.
    """
    red = np.asarray(red_dn, dtype=np.float64)
    blue = np.asarray(blue_dn, dtype=np.float64)
    classes = np.nan_to_num(np.asarray(scl, dtype=np.float64), nan=0.0)
    if not red.shape == blue.shape == classes.shape:
        raise InvalidInputError(
            f"red {red.shape}, blue {blue.shape} and SCL {classes.shape} differ in shape; "
            "put SCL on the band grid first (eo.sentinel2.upsample_nearest)"
        )
    valid = (red > 0) & (blue > 0)  # NaN compares False: fill excluded too
    reference = np.isin(classes, (SCL_VEGETATION, SCL_WATER)) & valid
    n_reference = int(reference.sum())
    if n_reference == 0:
        return OffsetCheck("unverified", 0, math.nan, math.nan)
    median_red = float(np.median(red[reference]))
    median_blue = float(np.median(blue[reference]))
    verdict: Verdict = "unverified"
    if n_reference >= min_reference_pixels:
        if median_red > BOA_ADD_OFFSET_DN and median_blue > BOA_ADD_OFFSET_DN:
            verdict = "offset_in_dn"
        elif median_red < BOA_ADD_OFFSET_DN and median_blue < BOA_ADD_OFFSET_DN:
            verdict = "offset_removed"
    return OffsetCheck(verdict, n_reference, median_red, median_blue)


@dataclass(frozen=True)
class ItemHarmonisation:
    """How one item was scaled: what the run manifest records about it.

    ``pixel_verdict`` is the :class:`OffsetCheck` verdict, or ``"not_needed"`` (the metadata is
    reliable for this provider and baseline) or ``"not_checked"`` (``check_pixels=False``).
    ``verified`` is True only where the pixels confirmed or corrected the offset.
    """

    id: str
    baseline: str | None
    offset_dn: int
    decided_by: Literal["metadata", "pixels"]
    verified: bool
    pixel_verdict: str
    n_reference: int


@dataclass(frozen=True)
class HarmonisationReport:
    """Per-item offset decisions of one :func:`harmonise` call."""

    provider: str
    collection: str
    items: tuple[ItemHarmonisation, ...]

    @property
    def n_corrected(self) -> int:
        """Items whose metadata decision the pixels overturned."""
        return sum(item.decided_by == "pixels" for item in self.items)

    @property
    def n_unverified(self) -> int:
        """Items whose offset flag could lie and whose pixels did not (or were not asked to) tell."""
        return sum(item.pixel_verdict in {"unverified", "not_checked"} for item in self.items)

    @classmethod
    def combine(cls, reports: Sequence[HarmonisationReport]) -> HarmonisationReport | None:
        """One report of several calls on the same provider/collection (None for no report).

        Raises
        ------
        InvalidInputError
            The reports are of different providers or collections.
        """
        if not reports:
            return None
        sources = sorted({(r.provider, r.collection) for r in reports})
        if len(sources) != 1:
            raise InvalidInputError(
                f"cannot combine harmonisation reports of several sources {sources}; "
                "keep one report per provider/collection"
            )
        provider, collection = sources[0]
        return cls(provider, collection, tuple(i for r in reports for i in r.items))

    def restricted_to(self, ids: Collection[str]) -> HarmonisationReport:
        """The decisions of the items in ``ids`` only (e.g. the items a window used)."""
        wanted = set(ids)
        return HarmonisationReport(
            self.provider, self.collection, tuple(i for i in self.items if i.id in wanted)
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict for the run manifest (no hrefs: ids and decisions only)."""
        return {
            "provider": self.provider,
            "collection": self.collection,
            "n_items": len(self.items),
            "n_corrected": self.n_corrected,
            "n_unverified": self.n_unverified,
            "items": [asdict(item) for item in self.items],
        }


def item_properties(cube: xr.DataArray, index: int) -> dict[str, Any]:
    """STAC properties of item ``index`` as stackstac stores them: scalar coords (shared by all
    items) plus the coords along ``time`` (one value per item; None where an item lacks one)."""
    props: dict[str, Any] = {}
    for name, coord in cube.coords.items():
        if name in cube.dims or coord.dims not in {(), ("time",)}:
            continue
        value = coord.values if coord.dims == () else coord.values[index]
        value = value.item() if isinstance(value, np.generic | np.ndarray) else value
        if value is not None:
            props[str(name)] = value
    return props


def _needs_pixel_check(spec: CollectionSpec, decision: OffsetDecision) -> bool:
    return spec.pixel_check and decision.baseline is not None and decision.baseline >= "04.00"


def _check_stride(ny: int, nx: int) -> int:
    """Stride of the check sample in both axes, so that it holds at most ~``_CHECK_MAX_SAMPLES``."""
    return max(1, math.ceil(math.sqrt(ny * nx / _CHECK_MAX_SAMPLES)))


def _pixel_checks(
    cube: xr.DataArray, indices: list[int], keys: _BandKeys
) -> dict[int, OffsetCheck]:
    """Run :func:`check_offset_state` on a strided sample of items ``indices`` (one compute)."""
    bands = [str(b) for b in cube["band"].values]
    if not indices:
        return {}
    if not {keys.red, keys.blue, keys.scl} <= set(bands):
        return {i: OffsetCheck("unverified", 0, math.nan, math.nan) for i in indices}
    stride = _check_stride(cube.sizes["y"], cube.sizes["x"])
    sample = cube.isel(
        time=indices,
        band=[bands.index(k) for k in (keys.red, keys.blue, keys.scl)],
        y=slice(None, None, stride),
        x=slice(None, None, stride),
    )
    (values,) = dask.compute(sample.data)
    values = np.asarray(values)
    return {i: check_offset_state(*values[n]) for n, i in enumerate(indices)}


def _item_record(
    item_id: str, decision: OffsetDecision, check: OffsetCheck | None, needed: bool
) -> ItemHarmonisation:
    """Record of one item; warns where the pixels corrected the flag or could not tell."""
    offset = decision.offset_dn
    if not needed or check is None:
        verdict = "not_needed" if not needed else "not_checked"
        return ItemHarmonisation(item_id, decision.baseline, offset, "metadata", False, verdict, 0)
    if check.verdict == "unverified":
        warnings.warn(
            f"item {item_id}: BOA offset state unverified on its pixels ({check.n_reference} dark "
            f"reference pixels in the sample); kept the metadata decision offset_dn={offset}",
            OffsetUnverifiedWarning,
            stacklevel=4,
        )
        return ItemHarmonisation(
            item_id, decision.baseline, offset, "metadata", False, "unverified", check.n_reference
        )
    corrected = BOA_ADD_OFFSET_DN if check.verdict == "offset_in_dn" else 0
    if corrected != offset:
        warnings.warn(
            f"item {item_id}: metadata ({decision.rule}) gives offset_dn={offset} but its pixels "
            f"say {check.verdict} (median red {check.median_red:.0f}, blue "
            f"{check.median_blue:.0f} DN over {check.n_reference} vegetation/water pixels); "
            f"corrected to offset_dn={corrected}",
            OffsetFlagCorrectedWarning,
            stacklevel=4,
        )
    decided_by: Literal["metadata", "pixels"] = "pixels" if corrected != offset else "metadata"
    return ItemHarmonisation(
        item_id, decision.baseline, corrected, decided_by, True, check.verdict, check.n_reference
    )


def _validate_cube(cube: xr.DataArray, spec: CollectionSpec) -> _BandKeys:
    if cube.dims != ("time", "band", "y", "x"):
        raise InvalidInputError(
            f"DN cube has dims {cube.dims}; expected ('time', 'band', 'y', 'x') as stackstac "
            "builds it: transpose it first"
        )
    keys = _band_keys(spec)
    provider = spec.provider
    unknown = {str(b) for b in cube["band"].values} - keys.spectral - {keys.scl}
    if unknown:
        raise InvalidInputError(
            f"DN cube has bands {sorted(unknown)} that are neither {provider} reflectance assets nor "
            f"{keys.scl!r}; load only reflectance bands and SCL (asset keys as {provider} names them)"
        )
    return keys


def harmonise(
    dn_cube: xr.DataArray, *, provider: str, collection: str, check_pixels: bool = True
) -> tuple[xr.DataArray, HarmonisationReport]:
    """Reflectance cube of a stack of Sentinel-2 L2A items, each item scaled by its own offset.

    Parameters
    ----------
    dn_cube : xarray.DataArray
        DN with dims (time, band, y, x), one time entry per item, ``band`` = asset keys, item
        properties as coords along ``time`` (stackstac with ``rescale=False``); 0 or NaN = nodata.
    provider, collection : str
        As in :func:`eo.sentinel2.decide_offset`.
    check_pixels : bool
        Check Earth Search legacy items with baseline >= 04.00 on their pixels (one compute of a
        strided red/blue/SCL sample of at most ~1e6 pixels per band and item); where the pixels contradict the flag the item is
        corrected with an :class:`OffsetFlagCorrectedWarning`, where they cannot tell an
        :class:`OffsetUnverifiedWarning` is emitted and the metadata decision stands.

    Returns
    -------
    (cube, report)
        ``cube``: float32, same dims/coords, lazy where the input is; spectral bands are reflectance
        ((DN - offset) / 10000, NaN for DN 0, negatives kept), the SCL band keeps its class codes
        (integer-valued float, 0 = no data, NaN where the input was NaN). Per-item ``boa_offset_dn``
        and ``offset_decided_by`` coords along ``time`` record the decision; ``report`` lists it for
        the run manifest.
    """
    spec = collection_spec(provider, collection)
    keys = _validate_cube(dn_cube, spec)
    decisions: list[OffsetDecision] = []
    for i in range(dn_cube.sizes["time"]):
        decisions.append(decide_offset(provider, collection, item_properties(dn_cube, i)))
    needed = [_needs_pixel_check(spec, d) for d in decisions]
    to_check = [i for i, n in enumerate(needed) if n and check_pixels]
    checks = _pixel_checks(dn_cube, to_check, keys)
    ids = _item_ids(dn_cube)
    items = tuple(
        _item_record(ids[i], d, checks.get(i), needed[i]) for i, d in enumerate(decisions)
    )
    offsets = xr.DataArray(np.array([it.offset_dn for it in items]), dims="time")
    is_scl = xr.DataArray(
        np.array([str(b) == keys.scl for b in dn_cube["band"].values]), dims="band"
    )
    reflectance = dn_to_reflectance(dn_cube, offsets)
    out = xr.where(is_scl, dn_cube.astype(np.float32), reflectance, keep_attrs=True)
    out = out.transpose("time", "band", "y", "x").astype(np.float32)
    out = out.assign_coords(
        boa_offset_dn=("time", offsets.values),
        offset_decided_by=("time", np.array([it.decided_by for it in items])),
    )
    out.attrs = {
        "units": "1",
        "long_name": f"surface reflectance ({keys.scl!r} band: scene classification codes)",
        "provider": provider,
        "collection": collection,
    }
    out.name = dn_cube.name
    return out, HarmonisationReport(provider, collection, items)


def _item_ids(cube: xr.DataArray) -> list[str]:
    """Item ids from the ``id`` coord; ``item[i]`` where a cube lacks one."""
    n = cube.sizes["time"]
    if "id" not in cube.coords:
        return [f"item[{i}]" for i in range(n)]
    ids = np.broadcast_to(cube.coords["id"].values, (n,))
    return [str(v) for v in ids]
