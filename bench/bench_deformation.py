"""Deformation at city-network scale: join 1 million InSAR points to 500 km of corridor segments and
compute every segment's figures; read a full EGMS burst (the real Ustica L2b zip when present).

Prints numbers and writes ``--out/bench_deformation.json`` (with ``ratios``: value, target, pass or
short, for ``bench/run_all.py``'s ``RESULTS.md``); asserts nothing (targets from issues 9 and 10:
under 30 s and 4 GiB for the join and the figures of 10^6 points on this machine). The burst is read
as its zip and as its CSV repeated 1 and 10 times (``--burst-copies``). Usage::

    .venv/bin/python bench/bench_deformation.py [--points 100000 1000000] [--km 500] [--epochs 100]

The synthetic network is 25 random-walk lines in EPSG:3035; 80 % of the points lie within 40 m of
a line, half ascending and half descending, each with ``--epochs`` displacement values (float64).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from eo.insar import read_egms
from indices.deformation import SegmentRules, join_points, segment_corridors, segment_figures

BURST = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "egms_l2b_ustica"
    / "EGMS_L2b_022_0845_IW2_VV_2020_2024_1.zip"
)


def peak_gib() -> float:
    """Peak resident memory of this process so far (GiB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def network(km: float, rng: np.random.Generator) -> gpd.GeoDataFrame:
    lines, n_lines = [], 25
    step, per_line = 50.0, int(km * 1000 / 25 / 50.0)
    for _ in range(n_lines):
        start = rng.uniform([4_780_000, 2_790_000], [4_820_000, 2_830_000])
        heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.05, per_line))
        xy = start + np.cumsum(np.column_stack([np.cos(heading), np.sin(heading)]) * step, axis=0)
        lines.append(LineString(np.vstack([start, xy])))
    return gpd.GeoDataFrame(
        {
            "id": [f"L{i:02d}" for i in range(n_lines)],
            "name": [f"line {i}" for i in range(n_lines)],
        },
        geometry=lines,
        crs="EPSG:3035",
    )


def points_near(
    segments: gpd.GeoDataFrame, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    near = int(n * 0.8)
    lines = np.asarray(segments.geometry.values)
    pick = rng.integers(0, len(lines), near)
    base = shapely.line_interpolate_point(lines[pick], rng.uniform(0, 1, near), normalized=True)
    x = shapely.get_x(base) + rng.uniform(-40, 40, near)
    y = shapely.get_y(base) + rng.uniform(-40, 40, near)
    minx, miny, maxx, maxy = segments.total_bounds
    x = np.concatenate([x, rng.uniform(minx, maxx, n - near)])
    y = np.concatenate([y, rng.uniform(miny, maxy, n - near)])
    return x, y


def join_and_figures(n_points: int, km: float, epochs: int, seed: int = 9) -> dict[str, Any]:
    """Join ``n_points`` synthetic points to ``km`` of corridors and compute the segment figures."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    segments = segment_corridors(network(km, rng), id_field="id", name_field="name")
    x, y = points_near(segments, n_points, rng)
    half = n_points // 2
    dates = pd.date_range("2019-01-01", "2023-12-31", periods=epochs)
    years = (dates - dates[0]).days.to_numpy() / 365.25
    displacement = rng.normal(0, 1.5, (n_points, epochs)) + np.outer(
        rng.normal(0, 0.5, n_points), years
    )
    print(
        f"synthetic input: {n_points:,} points x {epochs} epochs, "
        f"{segments.length.sum() / 1000:.0f} km in {len(segments):,} segments "
        f"({time.perf_counter() - t0:.1f} s to generate)",
        flush=True,
    )

    t1 = time.perf_counter()
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs="EPSG:3035")
    seg_of = join_points(pts, segments, buffer_m=30.0)
    lines = np.asarray(segments.geometry.values)
    hit = seg_of >= 0
    chain = np.full(n_points, np.nan)
    chain[hit] = shapely.line_locate_point(lines[seg_of[hit]], np.asarray(pts.geometry.values)[hit])
    t_join = time.perf_counter() - t1

    key = np.where(np.arange(n_points) < half, "asc", "desc")
    row = np.where(np.arange(n_points) < half, np.arange(n_points), np.arange(n_points) - half)
    table = pd.DataFrame(
        {
            "segment": seg_of,
            "geometry_key": key,
            "row": row,
            "temporal_coherence": rng.uniform(0.5, 1.0, n_points),
            "incidence_angle": np.where(key == "asc", 38.5, 40.0),
            "chainage_m": chain,
            "los_east": np.where(key == "asc", -0.61, 0.63),
            "los_north": -0.12,
            "los_up": np.where(key == "asc", 0.78, 0.77),
        }
    )[hit]
    series = {"asc": (dates, displacement[:half]), "desc": (dates, displacement[half:])}
    t2 = time.perf_counter()
    figures, _ = segment_figures(table, series, segments, SegmentRules())
    t_fig = time.perf_counter() - t2
    result = {
        "points": n_points, "epochs": epochs, "km": round(float(segments.length.sum()) / 1000),
        "segments": len(segments), "joined": int(hit.sum()), "join_s": round(t_join, 2),
        "figures_s": round(t_fig, 2), "seconds": round(t_join + t_fig, 2),
        "segments_with_figures": int((figures["status"] == "OK").sum()),
        "peak_gib_so_far": round(peak_gib(), 2),
    }  # fmt: skip
    print(
        f"join {result['joined']:,} points to segments: {t_join:.1f} s; per-segment figures: "
        f"{t_fig:.1f} s; together {t_join + t_fig:.1f} s (target < 30 s at 10^6 points); "
        f"{result['segments_with_figures']:,} segments with figures; "
        f"peak memory so far {peak_gib():.2f} GiB (target < 4 GiB)",
        flush=True,
    )
    return result


def burst_reads(copies: list[int]) -> list[dict[str, Any]]:
    """``read_egms`` of the real burst's CSV as it is and repeated ``k`` times (one header)."""
    rows: list[dict[str, Any]] = []
    if not BURST.is_file():
        print(f"real EGMS burst {BURST} absent: burst read not measured")
        return rows
    t0 = time.perf_counter()
    burst = read_egms(BURST)
    rows.append({"file": "zip", "copies": 1, "points": len(burst), "epochs": len(burst.attrs["dates"]),
                 "megabytes": round(BURST.stat().st_size / 1e6, 1),
                 "seconds": round(time.perf_counter() - t0, 2)})  # fmt: skip
    with zipfile.ZipFile(BURST) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        header, _, body = zf.read(name).partition(b"\n")
    with tempfile.TemporaryDirectory(prefix="bench-egms-") as tmp:
        for k in copies:
            path = Path(tmp) / f"burst_x{k}.csv"
            with path.open("wb") as f:
                f.write(header + b"\n")
                for _ in range(k):
                    f.write(body if body.endswith(b"\n") else body + b"\n")
            t0 = time.perf_counter()
            frame = read_egms(path)
            rows.append({"file": "csv", "copies": k, "points": len(frame),
                         "epochs": len(frame.attrs["dates"]),
                         "megabytes": round(path.stat().st_size / 1e6, 1),
                         "seconds": round(time.perf_counter() - t0, 2)})  # fmt: skip
            del frame
    for r in rows:
        print(
            f"read_egms, Ustica L2b burst {r['file']} x{r['copies']} ({r['megabytes']} MB, "
            f"{r['points']:,} points, {r['epochs']} epochs): {r['seconds']} s",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--km", type=float, default=500.0)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--burst-copies", type=int, nargs="*", default=[1, 10])
    parser.add_argument("--out", type=Path, default=Path("out/bench/bench_deformation"))
    args = parser.parse_args()
    joins = [join_and_figures(n, args.km, args.epochs) for n in args.points]
    results: dict[str, Any] = {
        "join_and_figures": joins,
        "burst_reads": burst_reads(args.burst_copies),
        "peak_gib": round(peak_gib(), 2),
        "ratios": {},
    }
    for row in joins:
        results["ratios"][f"EGMS join + figures, {row['points']:,} points, seconds"] = {
            "value": row["seconds"], "target": "< 30",
            "verdict": "pass" if row["seconds"] < 30 else "short",
        }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_deformation.json").write_text(
        json.dumps(results, indent=1) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
