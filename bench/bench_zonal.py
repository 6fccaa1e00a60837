"""Zonal statistics of 1,000 parks over a city-sized raster: geospace against rasterstats (issue 10).

Usage: ``python bench/bench_zonal.py --out DIR [--parks 1000] [--side 2938] [--repeats 3]``.

The raster is the full demo city's 10 m grid (2,938 x 2,938 pixels by default, 8.6 Mpx, float32,
5 % NaN); the parks are 1,000 irregular polygons (25 to 400 m across) scattered over it. Both sides
compute the median and the mean of every park: geospace with ``indices.zonal.zonal_medians`` and
``zonal_weighted_mean`` (exactextract, coverage-weighted), rasterstats with ``zonal_stats`` on the
same in-memory array and affine (pixel centres, ``all_touched=False``), which is how a user would
write it. The two answer slightly different questions (coverage weights against pixel centres), so
the script reports their largest difference and the parks where only one side has a value, never
asserts them. Writes ``DIR/bench_zonal.json`` with ``ratios`` (rasterstats time / geospace time,
target at least 10) that ``bench/run_all.py`` puts into ``RESULTS.md``. Never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import xarray as xr
from affine import Affine

from indices.zonal import zonal_medians, zonal_weighted_mean

RES = 10.0
X0, Y0 = 600_000.0, 5_350_000.0  # upper-left corner, EPSG:32633
CRS = "EPSG:32633"


def raster(side: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth NDVI-like field (float32) with 5 % NaN pixels."""
    coarse = rng.uniform(0.1, 0.9, (side // 64 + 2, side // 64 + 2)).astype(np.float32)
    field = np.kron(coarse, np.ones((64, 64), np.float32))[:side, :side]
    field = field + rng.normal(0, 0.05, (side, side)).astype(np.float32)
    field[rng.random((side, side)) < 0.05] = np.nan
    return field


def parks(n: int, side: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``n`` irregular polygons (12-gon with random radii 12.5..200 m), inside the raster."""
    extent = side * RES
    radius = rng.uniform(12.5, 200.0, n)
    cx = X0 + rng.uniform(250, extent - 250, n)
    cy = Y0 - rng.uniform(250, extent - 250, n)
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    polys = []
    for i in range(n):
        r = radius[i] * rng.uniform(0.6, 1.0, angles.size)
        polys.append(shapely.Polygon(np.c_[cx[i] + r * np.cos(angles), cy[i] + r * np.sin(angles)]))
    return gpd.GeoDataFrame({"park_id": [f"p{i:04d}" for i in range(n)]}, geometry=polys, crs=CRS)


def as_dataarray(values: np.ndarray) -> xr.DataArray:
    ny, nx = values.shape
    x = X0 + RES * (np.arange(nx) + 0.5)
    y = Y0 - RES * (np.arange(ny) + 0.5)
    return xr.DataArray(values, dims=("y", "x"), coords={"x": x, "y": y}, name="ndvi")


def run_geospace(da: xr.DataArray, zones: gpd.GeoDataFrame) -> tuple[float, float, dict[str, Any]]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    median = zonal_medians(da, zones, "park_id")
    mean = zonal_weighted_mean(da, zones, "park_id")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return seconds, cpu, {"median": median.to_numpy(float), "mean": mean.to_numpy(float)}


def run_rasterstats(
    values: np.ndarray, zones: gpd.GeoDataFrame
) -> tuple[float, float, dict[str, Any]]:
    from rasterstats import zonal_stats

    affine = Affine(RES, 0, X0, 0, -RES, Y0)
    cpu0, t0 = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = zonal_stats(
            list(zones.geometry), values, affine=affine, nodata=np.nan, stats=["median", "mean"]
        )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    get = lambda key: np.array([np.nan if s[key] is None else s[key] for s in stats], float)  # noqa: E731
    return seconds, cpu, {"median": get("median"), "mean": get("mean")}


def difference(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("median", "mean"):
        both = np.isfinite(a[key]) & np.isfinite(b[key])
        out[f"{key}_max_abs_diff"] = (
            float(np.max(np.abs(a[key][both] - b[key][both]))) if both.any() else None
        )
        out[f"{key}_p99_abs_diff"] = (
            float(np.quantile(np.abs(a[key][both] - b[key][both]), 0.99)) if both.any() else None
        )
        out[f"{key}_only_one_side"] = int((np.isfinite(a[key]) != np.isfinite(b[key])).sum())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/bench/bench_zonal"))
    parser.add_argument("--parks", type=int, default=1000)
    parser.add_argument("--side", type=int, default=2938, help="raster side in pixels (10 m)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(10)
    values = raster(args.side, rng)
    zones = parks(args.parks, args.side, rng)
    da = as_dataarray(values)
    load_start = [round(v, 2) for v in os.getloadavg()]
    runs: dict[str, list[tuple[float, float]]] = {"geospace": [], "rasterstats": []}
    outputs: dict[str, dict[str, Any]] = {}
    for _ in range(args.repeats):  # interleaved, so a burst of load hits both sides
        s, c, outputs["geospace"] = run_geospace(da, zones)
        runs["geospace"].append((s, c))
        s, c, outputs["rasterstats"] = run_rasterstats(values, zones)
        runs["rasterstats"].append((s, c))
    summary = {
        name: {
            "median_s": round(statistics.median(s for s, _ in r), 3),
            "min_s": round(min(s for s, _ in r), 3),
            "max_s": round(max(s for s, _ in r), 3),
            "cpu_s": [round(c, 2) for _, c in r],
        }
        for name, r in runs.items()
    }
    ratio = summary["rasterstats"]["median_s"] / max(summary["geospace"]["median_s"], 1e-9)
    cpu_ratio = statistics.median(c for _, c in runs["rasterstats"]) / max(
        statistics.median(c for _, c in runs["geospace"]), 1e-9
    )
    results = {
        "parks": args.parks,
        "raster": {"shape": list(values.shape), "megapixels": round(values.size / 1e6, 2)},
        "repeats": args.repeats,
        "load_average": [load_start, [round(v, 2) for v in os.getloadavg()]],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "runs": summary,
        "geospace_vs_rasterstats": difference(outputs["geospace"], outputs["rasterstats"]),
        "ratios": {
            f"zonal {args.parks} parks: rasterstats time / geospace time": {
                "value": round(ratio, 2),
                "target": 10.0,
                "verdict": "pass" if ratio >= 10 else "short",
            },
            f"zonal {args.parks} parks: rasterstats CPU / geospace CPU": {
                "value": round(cpu_ratio, 2),
                "target": 10.0,
                "verdict": "pass" if cpu_ratio >= 10 else "short",
            },
        },
    }
    print(json.dumps({k: results[k] for k in ("raster", "runs", "ratios")}), flush=True)
    print(json.dumps(results["geospace_vs_rasterstats"]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_zonal.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
