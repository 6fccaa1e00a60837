"""Heat benchmarks: Getis-Ord Gi* (summed-area disks) against esda from 10^4 to 10^7 cells, and the
heat run (LST analysis + forecasts + bulletins, without Prefect) on the small demo city.

Prints numbers and writes them to ``--out/bench_heat.json`` with ``ratios`` (value, target, pass or
short) for ``bench/run_all.py``'s ``RESULTS.md``; asserts nothing (issue 8 and 10 targets on this
machine: at least 100x esda at 10^5 cells, 10^7 cells in under 30 s). esda's weights are built from
cell centres with libpysal's DistanceBand, which is what a user of esda would do; its weights
construction is timed apart from ``G_Local`` itself. esda is skipped above ``--esda-max`` cells.
Usage::

    .venv/bin/python bench/bench_heat.py [--sizes 1e4 1e5 1e6 1e7] [--esda-max 1e5] [--no-demo]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np

from indices.hotspots import getis_ord_gi_star

DISTANCE_PX = 3.0  # 90 m at 30 m


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def ours(grid: np.ndarray) -> float:
    t0 = time.perf_counter()
    getis_ord_gi_star(grid, DISTANCE_PX)
    return time.perf_counter() - t0


def esda_times(grid: np.ndarray) -> tuple[float, float, float]:
    """(weights s, G_Local s, max |z difference| to ours)."""
    import esda
    from libpysal.weights import DistanceBand

    rows, cols = np.indices(grid.shape)
    coords = np.column_stack([cols.ravel(), rows.ravel()]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        w = DistanceBand(coords, threshold=DISTANCE_PX + 1e-9, binary=True, silence_warnings=True)
        t1 = time.perf_counter()
        g = esda.G_Local(grid.ravel(), w, transform="B", star=True, permutations=0)
        t2 = time.perf_counter()
    diff = float(np.nanmax(np.abs(g.Zs - getis_ord_gi_star(grid, DISTANCE_PX).ravel())))
    return t1 - t0, t2 - t1, diff


def bench_demo() -> dict[str, float]:
    from eo.demo.build import build_demo
    from flows.heat import resolve_heat_inputs, run_heat

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build_demo(Path(tmp), small=True)
        t1 = time.perf_counter()
        start, end = date(2022, 6, 20), date(2022, 7, 19)
        inputs = resolve_heat_inputs("vienna-demo", start, end, Path(tmp))
        run_heat(inputs, start, end, Path(tmp))
        t2 = time.perf_counter()
    return {"small_demo_build_s": round(t1 - t0, 2), "heat_run_small_demo_s": round(t2 - t1, 2)}


def gi_star_ratios(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """Issue 10's Gi* targets as (value, target, pass/short): esda's ``G_Local`` time over ours at
    the largest size both ran (target 100 at 10^5 cells; a quick run stops esda at 10^4, and its
    label says so), their z-scores equal, and 10^7 cells under 30 s when measured."""
    ratios: dict[str, dict[str, object]] = {}
    both = [r for r in rows if "speedup_g_local" in r]
    if both:
        row = max(both, key=lambda r: int(r["cells"]))  # type: ignore[call-overload]
        speedup = float(row["speedup_g_local"])  # type: ignore[arg-type]
        ratios[f"Gi* esda G_Local time / geospace time at {row['cells']} cells"] = {
            "value": speedup, "target": 100.0, "verdict": "pass" if speedup >= 100 else "short",
        }  # fmt: skip
        worst = max(float(r["max_abs_z_diff"]) for r in both)  # type: ignore[arg-type]
        ratios["Gi* largest abs(z - esda z) where both ran"] = {
            "value": worst, "target": "<= 1e-6", "verdict": "pass" if worst <= 1e-6 else "short",
        }  # fmt: skip
    big = [r for r in rows if int(r["cells"]) >= 9_990_000]  # 3,162^2: 10^7 to 0.02 %  # type: ignore[call-overload]
    if big:
        seconds = float(big[0]["ours_s"])  # type: ignore[arg-type]
        ratios[f"Gi* seconds at {big[0]['cells']} cells"] = {
            "value": seconds, "target": "< 30", "verdict": "pass" if seconds < 30 else "short",
        }  # fmt: skip
    return ratios


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/bench/bench_heat"))
    parser.add_argument("--sizes", nargs="*", type=float, default=[1e4, 1e5, 1e6, 1e7])
    parser.add_argument("--esda-max", type=float, default=1e5)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(8)
    rows: list[dict[str, object]] = []
    results: dict[str, object] = {"distance_px": DISTANCE_PX, "gi_star": rows}
    for size in args.sizes:
        side = round(float(np.sqrt(size)))
        grid = rng.normal(300.0, 2.0, size=(side, side))
        grid[rng.random(grid.shape) < 0.05] = np.nan
        ours_s = max(ours(grid), 1e-9)
        row: dict[str, object] = {"cells": side * side, "ours_s": round(ours_s, 3)}
        if side * side <= args.esda_max:
            w_s, g_s, diff = esda_times(np.nan_to_num(grid, nan=300.0))
            row.update(esda_weights_s=round(w_s, 3), esda_g_local_s=round(g_s, 3),
                       speedup_g_local=round(g_s / ours_s, 1),
                       speedup_total=round((w_s + g_s) / ours_s, 1),
                       max_abs_z_diff=diff)  # fmt: skip
        row["peak_gib"] = round(peak_gib(), 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    results["ratios"] = gi_star_ratios(rows)
    if not args.no_demo:
        demo = bench_demo()
        print(json.dumps(demo), flush=True)
        results["demo"] = demo
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_heat.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
