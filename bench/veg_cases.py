"""The vegetation case of the benchmark suite and its side-by-side references (issue 10).

One unit of work, done four ways on the same inputs (the same Sentinel-2 items, grid and parks):
load the items' six bands (blue, red, nir, nir08, swir16, scl) onto the output grid, convert DN to
reflectance (processing baseline 04.00 and later: offset 1000), mosaic each solar day (first valid
value in (time, id) order), mask (SCL strict classes removed, clouds and shadows dilated 2 px by a
disk, every band valid), NDVI, the clear-sky median over the period, and one NDVI median per park.

- ``decode``: the decode limit. The same COG files read and decoded by rasterio alone in two
  threads: no reprojection, no mosaic, no compute.
- ``pipeline``: geospace (``eo.scenes.load_reflectance`` on stackstac and Dask, the
  ``indices`` mask and median, exactextract coverage-weighted park medians).
- ``naive``: what a user would write: ``rioxarray`` per file (``reproject_match`` onto the grid),
  NumPy for the mosaic, mask and ``np.nanmedian``, ``rasterstats`` per park (pixel centres).
- ``odc``: ``odc.stac.load`` (``groupby="solar_day"``) then the same compute as ``pipeline``.

Each implementation returns the NDVI composite and the per-park medians, so the benchmark can
check that they did the same work (composites equal pixel for pixel; per-park medians equal to
a tolerance: rasterstats takes pixel centres, exactextract weights pixels by coverage).

Scaled inputs (``4x``, ``16x``) tile the small demo's rasters 2 x 2 and 4 x 4 (same scenes, 4 and
16 times the pixels; parks repeated in every tile); they are written once under ``inputs/`` and
reused by later runs. ``--scenes 4|16`` multiplies the items instead (copies of every item, each a
period later, on the same files): the archive grows, the grid does not. Run as a script, one implementation per process (its peak RSS is its own):
``python bench/veg_cases.py --impl pipeline --root OUT --factor 4 --repeats 3 --json FILE``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BANDS = ("blue", "red", "nir", "nir08", "swir16", "scl")
SPECTRAL = ("blue", "red", "nir", "nir08", "swir16")
PERIOD = (date(2022, 6, 1), date(2022, 8, 30))
"""The small demo season's current period (its 12 windows' span)."""


@dataclass(frozen=True)
class CaseInputs:
    """Items (STAC dicts, asset hrefs absolute), grid, parks and source of one case size."""

    items: list[dict[str, Any]]
    grid: Any  # eo.grid.OutputGrid
    parks: Any  # geopandas.GeoDataFrame, id column "id"
    source: Any  # eo.stac.StacSource
    factor: int

    def files(self) -> list[str]:
        return [str(item["assets"][b]["href"]) for item in self.items for b in BANDS]


def base_inputs(root: Path) -> CaseInputs:
    """The small demo under ``root/demo-city``: the period's items as the pipeline finds them.

    Search, duplicates and item checks are the pipeline's (``eo.scenes``), so every
    implementation reads exactly the items the product would.
    """
    from eo.item_checks import split_consistent
    from eo.scenes import find_items
    from flows.vegetation_inputs import resolve_inputs

    inputs = resolve_inputs("vienna-demo", root)
    kept, _ = find_items(inputs.source, bbox_wgs84=inputs.aoi.bbox, start=PERIOD[0], end=PERIOD[1])
    kept, _ = split_consistent(kept)
    items = []
    for item in kept:
        item = copy.deepcopy(item)
        for key in BANDS:
            asset = item["assets"][key]
            href = Path(str(asset["href"]))
            asset["href"] = str(href if href.is_absolute() else _item_dir(item, root) / href)
            asset["href"] = str(Path(os.path.normpath(asset["href"])))
        items.append(item)
    parks = inputs.parks[["id", "geometry"]].copy()
    return CaseInputs(items=items, grid=inputs.grid, parks=parks, source=inputs.source, factor=1)


def _item_dir(item: dict[str, Any], root: Path) -> Path:
    return root / "demo-city" / "stac" / "sentinel-2-l2a" / str(item["id"])


def scaled_inputs(base: CaseInputs, factor: int, folder: Path) -> CaseInputs:
    """``base`` with ``factor`` (a square: 4, 16) times the pixels, cached under ``folder``."""
    import geopandas as gpd
    import pandas as pd
    import rasterio
    from shapely.affinity import translate

    from eo.allowlist import Allowlist
    from eo.grid import OutputGrid

    if factor == 1:
        return base
    k = round(factor**0.5)
    if k * k != factor:
        raise ValueError(f"factor {factor}: must be a square (4, 16)")
    minx, miny, maxx, maxy = base.grid.bounds
    width, height = maxx - minx, maxy - miny
    grid = OutputGrid(
        base.grid.crs, base.grid.resolution, (minx, maxy - k * height, minx + k * width, maxy)
    )
    done = folder / "complete.json"
    items = []
    for item in base.items:
        item = copy.deepcopy(item)
        for key in BANDS:
            asset = item["assets"][key]
            target = folder / str(item["id"]) / Path(asset["href"]).name
            if not done.is_file():
                _tile_cog(Path(asset["href"]), target, k)
            with rasterio.open(target) as src:
                asset["proj:shape"] = list(src.shape)
                asset["proj:transform"] = list(src.transform)[:6]
            asset["href"] = str(target)
        _grow_footprint(item, k)
        items.append(item)
    if not done.is_file():
        done.write_text(json.dumps({"factor": factor, "items": len(items)}) + "\n")
    pieces = []
    for i in range(k):
        for j in range(k):
            part = base.parks.copy()
            part["geometry"] = [translate(g, j * width, -i * height) for g in part.geometry]
            part["id"] = [f"{pid}-{i}-{j}" for pid in part["id"]]
            pieces.append(part)
    parks = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=base.parks.crs)
    allow = base.source.allowlist
    source = replace(
        base.source,
        allowlist=Allowlist(hosts=allow.hosts, local_dirs=(*allow.local_dirs, folder.resolve())),
    )
    return CaseInputs(items=items, grid=grid, parks=parks, source=source, factor=factor)


def _tile_cog(src_path: Path, target: Path, k: int) -> None:
    """The raster at ``src_path`` repeated k x k, as a tiled deflate GeoTIFF (written atomically)."""
    import rasterio

    with rasterio.open(src_path) as src:
        data = src.read()
        profile = src.profile.copy()
        transform = src.transform
    profile.update(width=data.shape[2] * k, height=data.shape[1] * k, tiled=True,
                   blockxsize=256, blockysize=256, compress="deflate", transform=transform)  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        dst.write(np.tile(data, (1, k, k)))
    tmp.replace(target)


def _grow_footprint(item: dict[str, Any], k: int) -> None:
    """bbox and geometry of an item whose rasters grew k times right and down."""
    from pyproj import Transformer
    from shapely.geometry import box, mapping

    shape = item["assets"]["red"]["proj:shape"]
    t = item["assets"]["red"]["proj:transform"]
    x0, y0 = t[2], t[5]
    x1, y1 = x0 + t[0] * shape[1], y0 + t[4] * shape[0]
    epsg = int(item["properties"]["proj:epsg"])
    to_wgs = Transformer.from_crs(epsg, 4326, always_xy=True)
    xs, ys = to_wgs.transform([x0, x1, x0, x1], [y0, y0, y1, y1])
    footprint = box(min(xs), min(ys), max(xs), max(ys))
    item["bbox"] = list(footprint.bounds)
    item["geometry"] = mapping(footprint)


def input_megapixels(case: CaseInputs) -> float:
    """Source pixels the case decodes: every band file of every item, Mpx."""
    total = 0
    for item in case.items:
        for key in BANDS:
            shape = item["assets"][key].get("proj:shape")
            if shape is None:
                import rasterio

                with rasterio.open(item["assets"][key]["href"]) as src:
                    shape = src.shape
            total += int(shape[0]) * int(shape[1])
    return total / 1e6


# -- the four implementations: each returns (ndvi composite, per-park medians as {id: value}) --


def run_decode(case: CaseInputs, threads: int = 2) -> tuple[None, dict[str, float]]:
    """The decode limit: every band file read and decoded by rasterio, ``threads`` threads."""
    import rasterio

    def read(path: str) -> int:
        with rasterio.open(path) as src:
            return int(src.read().size)

    with ThreadPoolExecutor(threads) as pool:
        sum(pool.map(read, case.files()))
    return None, {}


def run_pipeline(case: CaseInputs) -> tuple[np.ndarray, dict[str, float]]:
    """geospace: stackstac + Dask loading, harmonisation, mosaic; indices mask, median; exactextract."""
    import dask

    from eo.scenes import load_reflectance
    from indices.composite import clear_median
    from indices.season import clear_sky
    from indices.vegetation import ndvi
    from indices.zonal import zonal_medians

    stack = load_reflectance(case.items, case.source, case.grid, bands=BANDS)
    cube = stack.cube
    composite = clear_median(ndvi(cube["red"], cube["nir"]), clear_sky(cube))
    (composite,) = dask.compute(composite)
    medians = zonal_medians(composite.rename("ndvi"), case.parks, "id")
    return np.asarray(composite.values), {str(k): float(v) for k, v in medians.items()}


def _offset(item: dict[str, Any]) -> int:
    """ESA's rule: processing baseline 04.00 and later add 1000 to every DN."""
    baseline = str(item["properties"].get("s2:processing_baseline", "00.00"))
    return 1000 if tuple(int(p) for p in baseline.split(".")) >= (4, 0) else 0


def _solar_day(item: dict[str, Any]) -> np.datetime64:
    from eo.stac_items import solar_day

    return np.datetime64(solar_day(item), "D")


def _compute_numpy(
    days: list[dict[str, np.ndarray]],
) -> np.ndarray:
    """Mask, NDVI and clear-sky median of mosaicked days (dicts of band arrays), in NumPy."""
    from scipy import ndimage

    strict = np.array(sorted({0, 1, 2, 3, 6, 7, 8, 9, 10, 11}))
    clouds = np.array([3, 8, 9, 10])
    yy, xx = np.mgrid[-2:3, -2:3]
    disk = yy**2 + xx**2 <= 4
    layers = []
    for day in days:
        scl = day["scl"]
        removed = np.isin(scl, strict) | ndimage.binary_dilation(np.isin(scl, clouds), disk)
        valid = np.all([np.isfinite(day[b]) for b in SPECTRAL], axis=0)
        red, nir = day["red"], day["nir"]
        with np.errstate(invalid="ignore", divide="ignore"):
            index = (nir - red) / (nir + red)
        index[(red < 0) | (nir < 0) | (nir + red == 0)] = np.nan
        index[~valid | removed] = np.nan
        layers.append(index)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: NaN, as intended
        return np.asarray(np.nanmedian(np.stack(layers), axis=0), dtype=np.float32)


def _mosaic(
    per_item: list[tuple[np.datetime64, str, dict[str, np.ndarray]]],
) -> list[dict[str, np.ndarray]]:
    """First valid value per band over each solar day's items, in (time, id) order."""
    days: dict[np.datetime64, dict[str, np.ndarray]] = {}
    for day, _, bands in sorted(per_item, key=lambda t: (t[0], t[1])):
        if day not in days:
            days[day] = {k: v.copy() for k, v in bands.items()}
            continue
        out = days[day]
        for key, value in bands.items():
            missing = out[key] == 0 if key == "scl" else np.isnan(out[key])
            out[key][missing] = value[missing]
    return [days[d] for d in sorted(days)]


def run_naive(case: CaseInputs) -> tuple[np.ndarray, dict[str, float]]:
    """rioxarray per file onto the grid, NumPy mosaic, mask and nanmedian, rasterstats per park."""
    import rioxarray
    import xarray as xr
    from rasterio.enums import Resampling
    from rasterstats import zonal_stats

    grid = case.grid
    ny, nx = grid.shape
    template = xr.DataArray(np.zeros((ny, nx), np.float32), dims=("y", "x"), coords={
        "y": grid.bounds[3] - grid.resolution * (np.arange(ny) + 0.5),
        "x": grid.bounds[0] + grid.resolution * (np.arange(nx) + 0.5)}).rio.write_crs(grid.crs)  # fmt: skip
    per_item = []
    for item in sorted(case.items, key=lambda i: (i["properties"]["datetime"], i["id"])):
        bands = {}
        for key in BANDS:
            da = rioxarray.open_rasterio(item["assets"][key]["href"]).squeeze("band", drop=True)
            da = da.rio.reproject_match(template, resampling=Resampling.nearest, nodata=0)
            dn = da.values
            if key == "scl":
                bands[key] = dn.astype(np.uint8)
            else:
                refl = (dn.astype(np.float32) - _offset(item)) / 10000.0
                refl[dn == 0] = np.nan
                bands[key] = refl
        per_item.append((_solar_day(item), str(item["id"]), bands))
    composite = _compute_numpy(_mosaic(per_item))
    stats = zonal_stats(list(case.parks.geometry), composite, affine=grid.transform,
                        stats=["median"], nodata=np.nan)  # fmt: skip
    medians = {str(pid): (np.nan if s["median"] is None else float(s["median"]))
               for pid, s in zip(case.parks["id"], stats, strict=True)}  # fmt: skip
    return composite, medians


def run_odc(case: CaseInputs) -> tuple[np.ndarray, dict[str, float]]:
    """odc.stac.load (solar-day groups) onto the grid, then the pipeline's mask, median, zonal."""
    import pystac
    import xarray as xr
    from odc.geo.geobox import GeoBox
    from odc.stac import load

    from indices.composite import clear_median
    from indices.season import clear_sky
    from indices.vegetation import ndvi
    from indices.zonal import zonal_medians

    grid = case.grid
    geobox = GeoBox(grid.shape, grid.transform, grid.crs)
    items = [pystac.Item.from_dict(copy.deepcopy(i)) for i in case.items]
    offsets = {str(i["id"]): _offset(i) for i in case.items}
    if len(set(offsets.values())) != 1:
        raise ValueError("odc reference: items with different offsets in one case")
    dn = load(items, bands=list(BANDS), geobox=geobox, groupby="solar_day", chunks={},
              resampling="nearest", dtype="uint16", nodata=0)  # fmt: skip
    offset = next(iter(offsets.values()))
    variables = {}
    for key in BANDS:
        if key == "scl":
            variables[key] = dn[key].astype(np.uint8)
        else:
            variables[key] = ((dn[key].astype(np.float32) - offset) / 10000.0).where(dn[key] != 0)
    cube = xr.Dataset(variables)
    import dask

    composite = clear_median(ndvi(cube["red"], cube["nir"]), clear_sky(cube))
    (composite,) = dask.compute(composite)
    renames = {k: v for k, v in (("latitude", "y"), ("longitude", "x")) if k in composite.dims}
    composite = composite.rename(renames)
    composite = composite.rio.write_crs(grid.crs)
    medians = zonal_medians(composite.rename("ndvi"), case.parks, "id")
    return np.asarray(composite.values), {str(k): float(v) for k, v in medians.items()}


IMPLEMENTATIONS: dict[str, Callable[[CaseInputs], tuple[Any, dict[str, float]]]] = {
    "decode": run_decode,
    "pipeline": run_pipeline,
    "naive": run_naive,
    "odc": run_odc,
}


def more_scenes(base: CaseInputs, scenes: int) -> CaseInputs:
    """``base`` with ``scenes`` times its items: copy k of every item acquired k periods later.

    The copies point at the same files (the same bytes decoded again, as a longer archive of the
    same place would be) with the datetime, and the date in the id, moved by k times the period's
    length, so every copy is a scene of its own solar day and the median sees ``scenes`` times the
    observations per pixel. Memory as the archive grows (issue 10): an exact median needs every
    observation of a pixel at once.
    """
    from datetime import datetime, timedelta

    if scenes == 1:
        return base
    step = timedelta(days=(PERIOD[1] - PERIOD[0]).days + 1)
    items = []
    for k in range(scenes):
        for item in base.items:
            item = copy.deepcopy(item)
            when = datetime.fromisoformat(
                str(item["properties"]["datetime"]).replace("Z", "+00:00")
            )
            moved = when + k * step
            item["properties"]["datetime"] = moved.isoformat().replace("+00:00", "Z")
            item["id"] = str(item["id"]).replace(when.strftime("%Y%m%d"), moved.strftime("%Y%m%d"))
            items.append(item)
    return replace(base, items=items)


def case_for(root: Path, factor: int, scenes: int = 1) -> CaseInputs:
    base = base_inputs(root)
    return more_scenes(scaled_inputs(base, factor, root / "inputs" / f"x{factor}"), scenes)


def measure(
    impl: str,
    root: Path,
    factor: int,
    repeats: int,
    outputs: Path | None,
    *,
    distributed: bool = False,
    scenes: int = 1,
) -> dict[str, Any]:
    """Run ``impl`` ``repeats`` times on the case of ``factor``; times, CPU, Mpx/s, peak RSS.

    ``distributed``: on a ``distributed`` cluster of two one-thread worker processes started here
    on 127.0.0.1 (as an existing cluster would be); the peak RSS of each worker is reported too.
    """
    if distributed:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,  # fmt: skip
            Client(cluster) as client,
        ):
            result = measure(impl, root, factor, repeats, outputs)
            peaks = client.run(_peak_rss_mib)
        result["scheduler"] = "distributed (2 workers x 1 thread, 127.0.0.1)"
        result["worker_peak_rss_mib"] = sorted(peaks.values())
        return result
    case = case_for(root, factor, scenes)
    mpx = input_megapixels(case)
    runs = []
    composite, medians = None, {}
    for _ in range(repeats):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        composite, medians = IMPLEMENTATIONS[impl](case)
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
        runs.append({"seconds": round(seconds, 3), "cpu_seconds": round(cpu, 2)})
    seconds = sorted(r["seconds"] for r in runs)
    result = {
        "impl": impl,
        "factor": factor,
        "scenes_factor": scenes,
        "items": len(case.items),
        "files": len(case.files()),
        "grid_shape": list(case.grid.shape),
        "parks": len(case.parks),
        "input_mpx": round(mpx, 1),
        "runs": runs,
        "median_s": round(float(np.median(seconds)), 3),
        "min_s": seconds[0],
        "max_s": seconds[-1],
        "mpx_per_s": round(mpx / float(np.median(seconds)), 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "scheduler": "threads" if impl != "naive" else "none (NumPy)",
    }
    if outputs is not None and composite is not None:
        outputs.parent.mkdir(parents=True, exist_ok=True)
        tmp = outputs.with_suffix(".tmp.npz")
        np.savez(tmp, composite=composite, park_ids=np.array(list(medians)),
                 medians=np.array(list(medians.values()), dtype=np.float64))  # fmt: skip
        tmp.replace(outputs)
    return result


def _peak_rss_mib() -> float:
    """Peak RSS of the calling process (a Dask worker), MiB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def compare(a: Path, b: Path) -> dict[str, Any]:
    """Equality of two implementations' outputs: composites pixel for pixel, medians per park."""
    x, y = np.load(a), np.load(b)
    ca, cb = x["composite"], y["composite"]
    same_shape = ca.shape == cb.shape
    nan_equal = bool(same_shape and np.array_equal(np.isnan(ca), np.isnan(cb)))
    both = ~np.isnan(ca) & ~np.isnan(cb) if same_shape else np.zeros(1, bool)
    composite_diff = (
        float(np.max(np.abs(ca[both] - cb[both]))) if same_shape and both.any() else None
    )
    ma = dict(zip(x["park_ids"].tolist(), x["medians"].tolist(), strict=True))
    mb = dict(zip(y["park_ids"].tolist(), y["medians"].tolist(), strict=True))
    common = sorted(set(ma) & set(mb))
    diffs = [abs(ma[k] - mb[k]) for k in common if np.isfinite(ma[k]) and np.isfinite(mb[k])]
    nan_mismatch = [k for k in common if np.isfinite(ma[k]) != np.isfinite(mb[k])]
    return {
        "composite_same_shape": same_shape,
        "composite_nan_equal": nan_equal,
        "composite_max_abs_diff": composite_diff,
        "parks_compared": len(common),
        "parks_missing": sorted(set(ma) ^ set(mb)),
        "park_nan_mismatch": nan_mismatch,
        "park_median_max_abs_diff": max(diffs) if diffs else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--impl", choices=sorted(IMPLEMENTATIONS), required=True)
    parser.add_argument("--root", type=Path, required=True, help="folder holding demo-city/")
    parser.add_argument("--factor", type=int, default=1, choices=(1, 4, 16))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--outputs", type=Path, help="write the composite and medians (.npz)")
    parser.add_argument("--distributed", action="store_true", help="on a 2-worker cluster")
    parser.add_argument(
        "--scenes", type=int, default=1, choices=(1, 4, 16), help="times the items (later copies)"
    )
    args = parser.parse_args(argv)
    from flows.runtime import prepare_environment

    prepare_environment(args.root)
    result = measure(args.impl, args.root.resolve(), args.factor, args.repeats, args.outputs,
                     distributed=args.distributed, scenes=args.scenes)  # fmt: skip
    tmp = args.json.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    tmp.replace(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
