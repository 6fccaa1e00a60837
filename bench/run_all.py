"""Run every benchmark script in this folder and summarise them (``make bench``, ``geospace bench``).

Benchmarks measure time, disk and peak memory on this machine; tests never assert them. Each
``bench_*.py`` runs in its own process (its peak memory is its own) and writes its JSON under
``OUT/<script>/``; this script then writes ``OUT/results.json`` (every script's JSON, its exit code
and wall time, the machine and its load average) and ``OUT/RESULTS.md`` (the ratios with their
targets and "pass" or "short"). ``--quick`` passes each script its small settings (under 5
minutes on the 2-core machine). Results are generated: they live under ``OUT`` (``out/`` is
git-ignored), never in the source tree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

QUICK_ARGS = {
    "bench_vegetation": ["--quick"],
    "bench_relay": ["--quick", "--skip-amqp"],
    "bench_heat": ["--sizes", "1e4", "1e5", "1e6", "--esda-max", "1e4", "--no-demo"],
    "bench_deformation": [
        "--points",
        "100000",
        "--km",
        "100",
        "--epochs",
        "50",
        "--burst-copies",
        "1",
    ],
    "bench_demo": ["--small"],
    "bench_zonal": ["--repeats", "2"],
}
"""Arguments of each script in ``--quick`` mode (scripts not listed run as they are)."""

QUICK_SKIP = frozenset({"bench_dask"})
"""Scripts left out of ``--quick`` (bench_dask runs three full flow processes; the vegetation
case's distributed run in full mode reports the per-worker memory)."""


def _machine() -> dict[str, Any]:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_mib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
    }


def _ratios(name: str, data: dict[str, Any]) -> list[tuple[str, Any, Any, str]]:
    """(what, value, target, verdict) rows of one script's JSON."""
    rows: list[tuple[str, Any, Any, str]] = []
    for key, r in (data.get("ratios") or {}).items():
        if isinstance(r, dict) and {"value", "target", "verdict"} <= set(r):
            rows.append((f"{name}: {key}", r["value"], r["target"], r["verdict"]))
    if name == "bench_relay":
        for backend in ("sqlite", "postgres", "rabbitmq"):
            series = data.get(backend) or []
            for row in series:
                rate = row["relay_per_s"]
                verdict = "pass" if rate >= 1000 else "short"
                rows.append((f"relay {backend} at {row['backlog']}", rate, ">= 1000/s", verdict))
            if len(series) >= 2:
                flat = series[-1]["relay_per_s"] / max(1, series[0]["relay_per_s"])
                rows.append(
                    (
                        f"relay {backend} rate at {series[-1]['backlog']} / at {series[0]['backlog']}",
                        round(flat, 2),
                        ">= 0.8",
                        "pass" if flat >= 0.8 else "short",
                    )
                )
    return rows


def _vegetation_case_lines(data: dict[str, Any] | None) -> list[str]:
    """The vegetation case per size and implementation: medians, min/max, CPU, Mpx/s, peak RSS."""
    if not data or not data.get("case"):
        return []
    lines = [
        "",
        f"Vegetation case ({data.get('repeats')} repeats per implementation, each in its own "
        "process; wall seconds are upper bounds under load, CPU seconds compare better):",
        "",
        "| size | implementation | items | input Mpx | median s (min..max) | CPU s | Mpx/s "
        "| peak RSS MiB | load average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    scenes = [
        (f"x1, {key[1:]}x scenes", by_impl)
        for key, by_impl in (data.get("scenes") or {}).items()
        if key != "s1"
    ]
    for size, by_impl in [*data["case"].items(), *scenes]:
        for impl, r in by_impl.items():
            if "median_s" not in r:
                lines.append(f"| {size} | {impl} | failed | | | | | | |")
                continue
            cpu = "/".join(str(run["cpu_seconds"]) for run in r["runs"])
            rss = r["process"]["peak_rss_mib"]
            if r.get("worker_peak_rss_mib"):
                rss = f"{rss} (workers {r['worker_peak_rss_mib']})"
            lines.append(
                f"| {size} | {impl} | {r['items']} | {r['input_mpx']} | {r['median_s']} "
                f"({r['min_s']}..{r['max_s']}) | {cpu} | {r['mpx_per_s']} | {rss} "
                f"| {r['load_average']} |"
            )
    for name, r in (data.get("start_up") or {}).items():
        lines.append(
            f"| start-up | {name} | | | {r['seconds']} | {r['cpu_seconds']} | | "
            f"{r['peak_rss_mib']} | {r['load_average']} |"
        )
    if data.get("season"):
        r = data["season"]
        lines.append(
            f"| season {r['start']}..{r['end']} | geospace run | | | {r['seconds']} "
            f"| {r['cpu_seconds']} | | {r['peak_rss_mib']} | {r['load_average']} |"
        )
    return lines


def write_reports(out: Path, results: dict[str, Any]) -> None:
    """``results.json`` and ``RESULTS.md`` under ``out`` (each written atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {results['machine']['cpus']} CPUs, {results['machine']['memory_mib']} MiB, "
        f"Python {results['machine']['python']}; load average at start "
        f"{results['machine']['load_average_at_start']}, at end "
        f"{results['machine'].get('load_average_at_end')}; mode: {results['mode']}; "
        f"{results.get('seconds')} s in all.",
        "",
        "| script | exit | wall s |",
        "|---|---|---|",
    ]
    for name, r in results["scripts"].items():
        lines.append(f"| {name} | {r['exit_code']} | {r['seconds']} |")
    lines += _vegetation_case_lines(results["scripts"].get("bench_vegetation", {}).get("json"))
    lines += ["", "| ratio | value | target | verdict |", "|---|---|---|---|"]
    for name, r in results["scripts"].items():
        for what, value, target, verdict in _ratios(name, r.get("json") or {}):
            cells = (str(c).replace("|", "\\|") for c in (what, value, target, verdict))
            lines.append("| " + " | ".join(cells) + " |")  # a "|" in a label splits no cell
    lines.append("")
    for target, text in (
        (out / "results.json", json.dumps(results, indent=1) + "\n"),
        (out / "RESULTS.md", "\n".join(lines) + "\n"),
    ):
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    parser.add_argument("--quick", action="store_true", help="small settings, under 5 minutes")
    parser.add_argument("only", nargs="*", help="names of benchmarks to run (default: all)")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if any(name in s.stem for name in args.only)]
    elif args.quick:
        scripts = [s for s in scripts if s.stem not in QUICK_SKIP]
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": _machine(),
        "scripts": {},
    }
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
    }
    failed = 0
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        folder = args.out / script.stem
        extra = QUICK_ARGS.get(script.stem, []) if args.quick else []
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(script), "--out", str(folder), *extra], env=env, check=False
        )
        seconds = round(time.perf_counter() - start, 1)
        found = sorted(folder.glob("*.json")) if folder.is_dir() else []
        data = json.loads(found[0].read_text("utf-8")) if found else None
        results["scripts"][script.stem] = {
            "exit_code": result.returncode,
            "seconds": seconds,
            "json": data,
        }
        failed += result.returncode != 0
    results["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    results["seconds"] = round(sum(r["seconds"] for r in results["scripts"].values()), 1)
    write_reports(args.out, results)
    print(f"results: {args.out / 'results.json'} and {args.out / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
