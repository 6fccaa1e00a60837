"""Sentinel-2 scenes for a period, ready for indices: search, dedupe, load, harmonise, mosaic.

A thin orchestrator over the stage modules (stackstac's ``stack`` style): :mod:`eo.stac` searches,
:mod:`eo.stac_items` resolves duplicates, :mod:`eo.stac_load` loads DN lazily on the output grid,
:mod:`eo.harmonise` scales every item by its own baseline, and items of one solar day (Vienna's
two tiles) are mosaicked before any masking or date counting (DESIGN section 3). Asset keys come
from the provider/collection table (:mod:`eo.collections`); downstream code sees only the
canonical band names.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from core.errors import DuplicateItemWarning
from core.profile import CityProfile, StacSourceConfig
from eo.allowlist import Allowlist
from eo.collections import CollectionSpec
from eo.gdal_env import GdalHttpSettings
from eo.grid import OutputGrid
from eo.harmonise import HarmonisationReport, harmonise
from eo.item_checks import split_consistent
from eo.stac import StacSource, search_items
from eo.stac_items import dedupe_items
from eo.stac_load import items_by_solar_day, load_dn, mosaic_by_solar_day

VEGETATION_BANDS = ("blue", "red", "nir", "nir08", "swir16", "scl")
"""Bands loaded for vegetation, as canonical aliases of :mod:`eo.collections`."""


@dataclass(frozen=True)
class SceneStack:
    """Reflectance of a period, one time step per solar day, or ``cube=None`` when nothing was found.

    Attributes
    ----------
    cube : xarray.Dataset or None
        One variable per band on dims (time, y, x): reflectance bands (``blue, red, nir, nir08,
        swir16``; float32, dimensionless, NaN = no data) and ``scl`` (uint8 scene classification
        codes, 0 = no data). ``time`` is the solar day.
    items : tuple of str
        Ids of the items loaded, in load order.
    day_items : mapping of date to tuple of str
        The items mosaicked into each solar day.
    dropped : tuple of str
        Duplicates left out (an older processing of the same tile and day).
    rejected : tuple of (str, str)
        Items left out with the reason (e.g. ``proj:epsg`` disagreeing with the tile).
    baselines : mapping of str to str
        Processing baseline of every item loaded.
    harmonisation : HarmonisationReport or None
        The per-item offset decisions (None when nothing was loaded).
    """

    cube: xr.Dataset | None
    items: tuple[str, ...] = ()
    day_items: Mapping[date, tuple[str, ...]] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    baselines: Mapping[str, str] = field(default_factory=dict)
    harmonisation: HarmonisationReport | None = None
    rejected: tuple[tuple[str, str], ...] = ()

    @property
    def days(self) -> list[date]:
        """Solar days with data."""
        if self.cube is None:
            return []
        return [np.datetime64(t, "D").astype(date) for t in self.cube["time"].values]

    def items_on(self, days: Iterable[date]) -> tuple[str, ...]:
        """Ids of the items mosaicked into ``days``, in day order."""
        return tuple(i for d in sorted(set(days)) for i in self.day_items.get(d, ()))

    def baselines_of(self, ids: Collection[str]) -> dict[str, str]:
        """Processing baselines of the items in ``ids``."""
        return {k: v for k, v in self.baselines.items() if k in ids}

    def harmonisation_of(self, ids: Collection[str]) -> dict[str, Any]:
        """The manifest's harmonisation record of the items in ``ids`` (counts included)."""
        if self.harmonisation is None:
            return {"n_items": 0, "n_corrected": 0, "n_unverified": 0, "items": []}
        return self.harmonisation.restricted_to(ids).to_dict()

    @classmethod
    def concat(cls, stacks: Sequence[SceneStack]) -> SceneStack:
        """One stack of several periods (e.g. the reference years), in time order.

        Periods must not share a solar day (they are disjoint date ranges of one source).
        """
        full = sorted((s for s in stacks if s.cube is not None), key=lambda s: s.days[0])
        if not full:
            return cls(
                cube=None,
                dropped=tuple(i for s in stacks for i in s.dropped),
                rejected=tuple(r for s in stacks for r in s.rejected),
            )
        cubes = [s.cube for s in full if s.cube is not None]
        cube = xr.concat(cubes, dim="time", coords="minimal", compat="override", join="exact")
        return cls(
            cube=cube,
            items=tuple(i for s in full for i in s.items),
            day_items={d: ids for s in full for d, ids in s.day_items.items()},
            dropped=tuple(i for s in stacks for i in s.dropped),
            rejected=tuple(r for s in stacks for r in s.rejected),
            baselines={k: v for s in full for k, v in s.baselines.items()},
            harmonisation=HarmonisationReport.combine(
                [s.harmonisation for s in full if s.harmonisation is not None]
            ),
        )


def decode_once(
    stack: SceneStack, folder: Path, progress: Callable[[int, int], None] | None = None
) -> SceneStack:
    """The same stack with every scene read, decoded, harmonised and mosaicked once, into ``folder``.

    The lazy cube re-reads and re-decodes its COGs every time a graph touches them: each weekly
    window, each reference window and the time series did so again (issue 10). This computes the
    cube once, chunk by chunk (memory stays at a few chunks), into one uncompressed ``.npy`` file
    per variable, and returns a cube whose Dask chunks are memory-mapped views of those files:
    the values are the same bytes, windows read them at page-cache speed, and memory stays bounded
    by the operating system (the files, not the process, hold the season). ``folder`` must outlive
    every use of the returned cube (the flow owns it and removes it at its end).
    ``progress(done, total)`` is called after each pass (a few days of one variable).
    """
    import dask
    import dask.array as da

    cube = stack.cube
    if cube is None or not any(dask.is_dask_collection(v) for v in cube.data_vars.values()):
        return stack
    if _cluster_client():
        return stack  # workers elsewhere cannot map this machine's files: stay lazy there
    folder.mkdir(parents=True, exist_ok=True)
    cube = cube.transpose("time", ...)
    names = [str(n) for n in cube.data_vars]
    targets = []
    for name in names:
        var = cube[name]
        targets.append(
            np.lib.format.open_memmap(
                folder / f"{name}.npy", mode="w+", dtype=var.dtype, shape=var.shape
            )
        )
    # One variable and a few days at a time: a single graph over every band and day let Dask's
    # ordering hold many decoded source chunks at once (6.8 GB anonymous on the full demo).
    days = cube.sizes["time"]
    passes = len(names) * len(range(0, days, DECODE_DAYS_PER_PASS))
    done = 0
    if progress is not None:
        progress(done, passes)
    for name, target in zip(names, targets, strict=True):
        data = da.asarray(cube[name].data)
        for first in range(0, days, DECODE_DAYS_PER_PASS):
            last = min(days, first + DECODE_DAYS_PER_PASS)
            da.store(data[first:last], target[first:last], lock=False)
            done += 1
            if progress is not None:
                progress(done, passes)
    variables = {}
    for name, target in zip(names, targets, strict=True):
        target.flush()
        var = cube[name]
        chunks = decoded_chunks(var.shape, var.dtype.itemsize)
        mapped = _MappedArray(np.load(folder / f"{name}.npy", mmap_mode="r"))
        variables[name] = var.copy(
            data=da.from_array(mapped, chunks=chunks, name=f"decoded-{name}-{folder.name}")
        )
    decoded = xr.Dataset(variables, attrs=dict(cube.attrs))
    return SceneStack(
        cube=decoded,
        items=stack.items,
        day_items=stack.day_items,
        dropped=stack.dropped,
        baselines=stack.baselines,
        harmonisation=stack.harmonisation,
        rejected=stack.rejected,
    )


class _MappedArray:
    """A memory-mapped array Dask reads chunk by chunk (``da.from_array`` copies a NumPy array,
    memmap included, into its graph at once: the whole season in anonymous memory)."""

    def __init__(self, mapped: np.ndarray) -> None:
        self._mapped = mapped
        self.shape = mapped.shape
        self.dtype = mapped.dtype
        self.ndim = mapped.ndim

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.array(self._mapped[key])


DECODE_DAYS_PER_PASS = 4
"""Solar days decoded per pass of :func:`decode_once` (memory: their source chunks only)."""

DECODED_CHUNK_BYTES = 64 * 2**20
"""Target size of one chunk of a decoded variable (all its days over a square of pixels)."""


def decoded_chunks(
    shape: tuple[int, ...], itemsize: int, budget: int = DECODED_CHUNK_BYTES
) -> tuple[int, ...]:
    """Chunks of a decoded (time, y, x) variable: every day in one chunk, squares of ``budget`` bytes.

    A median needs every observation of a pixel, so time is never split; the square edge (a
    multiple of 256 pixels, at least 256) keeps a chunk near ``budget`` however many days a season
    holds, so memory per worker thread stays bounded while the task count stays small.
    """
    time, ny, nx = shape[0], shape[-2], shape[-1]
    edge = int((budget / max(1, time * itemsize)) ** 0.5) // 256 * 256
    edge = max(256, edge)
    return (time, *shape[1:-2], min(ny, edge), min(nx, edge))


def _cluster_client() -> bool:
    """True when a ``distributed`` client is the scheduler of the current context."""
    try:
        from distributed import default_client
    except ImportError:
        return False
    try:
        default_client()
    except ValueError:
        return False
    return True


def stac_source(profile: CityProfile, config: StacSourceConfig) -> StacSource:
    """The :class:`StacSource` a profile entry describes, with the profile's allowlist and HTTP policy.

    ``provider: sentinelhub`` gives an :class:`eo.sentinelhub.SentinelHubSource` (a StacSource
    whose ``catalog`` is the service base URL; :func:`load_period` reads it through the Process
    API); a remote ``planetary-computer`` source carries its ``sign_endpoint``.
    """
    allowlist = Allowlist(hosts=frozenset(profile.allowlist.hosts), local_dirs=profile.local_dirs())
    common: dict[str, Any] = {
        "catalog": profile.resolve(config.catalog),
        "provider": config.provider,
        "collection": config.collection,
        "allowlist": allowlist,
        "max_cloud_cover": config.max_cloud_cover * 100.0,
        "timeout_s": profile.http.timeout,
        "retries": profile.http.retries,
        "retry_after_max_s": profile.http.backoff_max,
    }
    if config.provider == "sentinelhub":
        from eo.sentinelhub import SentinelHubSource

        allowlist.check_catalog(str(config.token_url))
        return SentinelHubSource(
            **common,
            token_url=str(config.token_url),
            client_id_env=config.client_id_env,
            client_secret_env=config.client_secret_env,
            mosaicking_order=config.mosaicking_order,
        )
    endpoint = config.signing_endpoint()
    if endpoint is not None:
        allowlist.check_catalog(endpoint)
    return StacSource(**common, sign_endpoint=endpoint, sign_key_env=config.sign_key_env)


def find_items(
    source: StacSource, *, bbox_wgs84: tuple[float, float, float, float], start: date, end: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Items over the bbox in ``start..end`` (UTC days), duplicates resolved: (kept, dropped)."""
    items = search_items(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    return dedupe_items(items)


def band_dataset(reflectance: xr.DataArray, dn: xr.DataArray, spec: CollectionSpec) -> xr.Dataset:
    """Split a harmonised (time, band, y, x) cube into one variable per band under its alias.

    Reflectance bands stay float32; the classification band (SCL) is taken from the DN as uint8
    class codes (0 = no data), never as float codes.
    """
    variables: dict[str, xr.DataArray] = {}
    for key in [str(b) for b in dn["band"].values]:
        alias = spec.alias_of(key)
        asset = spec.asset(alias)
        if asset.role == "classification":
            var = dn.sel(band=key, drop=True).astype(np.uint8)
            var.attrs = {"units": "1", "long_name": "scene classification (SCL)", "nodata": 0}
        else:
            var = reflectance.sel(band=key, drop=True)
            var.attrs = {"units": asset.units, "long_name": f"surface reflectance ({alias})"}
        variables[alias] = var.drop_vars(
            [c for c in ("boa_offset_dn", "offset_decided_by") if c in var.coords]
        )
    out = xr.Dataset(variables)
    out.attrs = {"provider": spec.provider, "collection": spec.collection}
    return out


def load_reflectance(
    items: list[dict[str, Any]],
    source: StacSource,
    grid: OutputGrid,
    *,
    bands: Sequence[str] = VEGETATION_BANDS,
    chunksize: int = 1024,
    check_pixels: bool = True,
) -> SceneStack:
    """Lazy reflectance of ``items`` on ``grid``, harmonised per item and mosaicked per solar day.

    ``bands`` are canonical aliases (:mod:`eo.collections`); the source's table entry maps them to
    asset keys.
    """
    if not items:
        return SceneStack(cube=None)
    spec = source.spec
    dn = load_dn(
        items,
        grid,
        spec.keys(tuple(bands)),
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
    cube = mosaic_by_solar_day(band_dataset(reflectance, dn, spec))
    return SceneStack(
        cube=cube,
        items=tuple(str(item["id"]) for item in items),
        day_items=items_by_solar_day(dn),
        baselines={
            str(item["id"]): str(item["properties"].get("s2:processing_baseline", ""))
            for item in items
        },
        harmonisation=report,
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
    """Search, dedupe and load one period; an empty period gives ``SceneStack(cube=None)``.

    A Sentinel Hub source (:class:`eo.sentinelhub.SentinelHubSource`) is read through its
    Catalog and Process APIs instead, into the same stack.
    """
    from eo.sentinelhub import SentinelHubSource
    from eo.sentinelhub import load_period as load_sentinelhub_period

    if isinstance(source, SentinelHubSource):
        return load_sentinelhub_period(source, grid, bbox_wgs84=bbox_wgs84, start=start, end=end)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DuplicateItemWarning)
        kept, dropped = find_items(source, bbox_wgs84=bbox_wgs84, start=start, end=end)
    for warning in caught:  # re-emit: duplicates are reported, not hidden
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    kept, rejected = split_consistent(kept)  # never silently: listed in the manifest
    stack = load_reflectance(kept, source, grid, chunksize=chunksize)
    return SceneStack(
        cube=stack.cube,
        items=stack.items,
        day_items=stack.day_items,
        dropped=tuple(str(item["id"]) for item in dropped),
        rejected=tuple(rejected),
        baselines=stack.baselines,
        harmonisation=stack.harmonisation,
    )
