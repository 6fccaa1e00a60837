"""Benchmark: the vegetation flow for one week and for the whole demo season; wall time, peak RSS.

Usage: ``python bench/bench_vegetation.py --out DIR [--small]``. Builds the demo city under
``DIR/demo-city`` when it is missing, then runs ``geospace run vegetation`` in a fresh process for:
an empty period (no scene: the fixed cost of Python, Prefect's ephemeral server and the products),
one week (one 14-day window ending 2022-08-30) and the whole season (12 weekly windows). Each
process's peak RSS comes from ``os.wait4`` (the process and the children it waited for, e.g.
Prefect's server). Targets (issue): under 60 s and 2 GiB per week on a 2-core machine. Writes
``DIR/bench_vegetation.json``; never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = {
    "empty_period": ("2022-05-07", "2022-05-14"),
    "one_week": ("2022-08-30", "2022-08-30"),
    "season": ("2022-06-14", "2022-08-30"),
}


def ensure_demo(out: Path, small: bool) -> float:
    """Build the demo under ``out/demo-city`` unless a build of the same size is there; seconds."""
    truth = out / "demo-city" / "truth.json"
    if truth.is_file() and json.loads(truth.read_text("utf-8")).get("small") == small:
        return 0.0
    from eo.demo.build import build_demo

    start = time.perf_counter()
    build_demo(out, small=small)
    return time.perf_counter() - start


def run_measured(argv: list[str]) -> dict[str, Any]:
    """Run ``argv``; wall time (s), peak RSS (MiB, this process tree's waited processes), rc."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    rc = os.waitstatus_to_exitcode(status)
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 0),  # KiB on Linux
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "exit_code": rc,
        "stdout_tail": stdout.strip().splitlines()[:1],
        "stderr_tail": stderr.strip().splitlines()[-3:] if rc else [],
    }


def decode_limit(demo: Path, threads: int = 2) -> dict[str, Any]:
    """Read and decode every Sentinel-2 COG of the demo catalogue once with rasterio alone.

    The reference the issue sets for the season: the same bytes decoded by rasterio in ``threads``
    threads (``GDAL_NUM_THREADS`` per file left at its default), no reprojection, no mosaic.
    """
    from concurrent.futures import ThreadPoolExecutor

    import rasterio

    files = sorted((demo / "cogs" / "sentinel-2-l2a").rglob("*.tif"))

    def read(path: Path) -> int:
        with rasterio.open(path) as src:
            return int(src.read().size)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        pixels = sum(pool.map(read, files))
    seconds = time.perf_counter() - start
    return {"files": len(files), "mpx": round(pixels / 1e6, 1), "seconds": round(seconds, 2),
            "mpx_per_s": round(pixels / 1e6 / seconds, 1), "threads": threads}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/bench/bench_vegetation"))
    parser.add_argument("--small", action="store_true", help="the ~5 x 5 km demo (default: full)")
    parser.add_argument("--quick", action="store_true", help="small demo, season and empty only")
    args = parser.parse_args(argv)
    args.small = args.small or args.quick
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    build_s = ensure_demo(out, args.small)
    script = Path(sys.executable).with_name("geospace")
    results: dict[str, Any] = {
        "demo": "small" if args.small else "full",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "demo_build_seconds": round(build_s, 1),
        "runs": {},
    }
    results["decode_limit"] = decode_limit(out / "demo-city")
    for name, (start, end) in RUNS.items():
        if args.quick and name == "one_week":
            continue
        command = [str(script), "run", "vegetation", "--profile", "vienna-demo"]
        command += ["--start", start, "--end", end, "--out", str(out)]
        result = run_measured(command)
        results["runs"][name] = {"start": start, "end": end, **result}
        print(
            f"vegetation {results['demo']} {name} ({start}..{end}): {result['seconds']:.1f} s wall, "
            f"{result['cpu_seconds']:.1f} s CPU, peak RSS {result['peak_rss_mib']:.0f} MiB, "
            f"exit {result['exit_code']}",
            flush=True,
        )
    runs = results["runs"]
    season_s = runs["season"]["seconds"]
    fixed_s = runs["empty_period"]["seconds"]
    ratio = results["decode_limit"]["seconds"] / season_s
    results["ratios"] = {
        "season_vs_decode_limit": {"value": round(ratio, 3), "target": 0.3,
                                   "verdict": "pass" if ratio >= 0.3 else "short"},
        "fixed_start_up_s": {"value": fixed_s, "target": 5.0,
                             "verdict": "pass" if fixed_s <= 5.0 else "short"},
    }  # fmt: skip
    print(f"decode limit: {results['decode_limit']}; season / decode-limit ratio {ratio:.3f}")
    target = out / "bench_vegetation.json"
    target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"results: {target}")
    return 1 if any(r["exit_code"] != 0 for r in results["runs"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
