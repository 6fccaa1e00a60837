"""Benchmark: the Sentinel-2 vegetation case side by side with its references; start-up; season.

Usage: ``python bench/bench_vegetation.py --out DIR [--quick]``. Builds the small demo city under
``DIR/demo-city`` when missing, then measures (never asserted in tests):

1. **The vegetation case** (``bench/veg_cases.py``): the small demo season's current period (every
   item 2022-06-01..08-30, six bands) -> reflectance -> solar-day mosaic -> mask -> NDVI clear-sky
   median -> one median per park, done by geospace (``pipeline``) and, in the same run on the same
   inputs, by (a) rasterio alone decoding the same files in two threads (``decode``: the limit),
   (b) rioxarray + NumPy + rasterstats (``naive``), (c) odc-stac loading + the same compute
   (``odc``). Each implementation runs in its own process (its peak RSS is its own), ``repeats``
   times; the outputs are compared (composites pixel for pixel, per-park medians) so the ratios
   compare equal work. Sizes 1x, 4x, 16x the small demo's pixels (inputs cached under
   ``DIR/inputs``); the pipeline also runs on a two-worker ``distributed`` cluster (peak RSS per
   worker against the one-machine peak, issue 12), and (``--scene-factors``, full mode) on 4x and
   16x the items at 1x pixels: peak RSS and time as the archive grows.
2. **Start-up**: ``import flows.cli`` and a ``geospace run vegetation`` of a period without scenes
   (the fixed cost of a run: Python, imports, Prefect's ephemeral server, empty products), in
   fresh processes; full mode adds the same run against a running Prefect server
   (``PREFECT_API_URL``, the documented faster path).
3. **The season** (full mode): ``geospace run vegetation`` of the small demo's 12 windows; and the
   full demo's season (``--season-demo``) against the decode limit of its whole catalogue (every
   Sentinel-2 COG read by rasterio in two threads), the issue's first target (at least 0.3).

``--quick``: 1x only, 2 repeats, no distributed cluster, no season and no run against a server
(under 5 minutes with the rest of ``geospace bench --quick`` on an idle machine). Writes ``DIR/bench_vegetation.json`` with ``ratios``
(value, target, pass/short) that ``bench/run_all.py`` puts into ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from veg_cases import case_for, compare  # noqa: E402

RUNS = {
    "empty_period": ("2022-05-07", "2022-05-14"),
    "season": ("2022-06-14", "2022-08-30"),
}
IMPLS = ("decode", "pipeline", "naive", "odc")


def ensure_demo(out: Path, small: bool) -> float:
    """Build the demo under ``out/demo-city`` unless a build of the same size is there; seconds."""
    truth = out / "demo-city" / "truth.json"
    if truth.is_file() and json.loads(truth.read_text("utf-8")).get("small") == small:
        return 0.0
    from eo.demo.build import build_demo

    start = time.perf_counter()
    build_demo(out, small=small)
    return time.perf_counter() - start


def run_measured(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv``; wall time (s), CPU (s), peak RSS (MiB, of the process and the children it
    waited for), exit code."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
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
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "stdout_head": stdout.strip().splitlines()[:1],
        "stderr_tail": stderr.strip().splitlines()[-3:] if rc else [],
    }


def _verdict(value: float | None, target: float, higher: bool = True) -> dict[str, Any]:
    if value is None or not math.isfinite(value):
        return {"value": None, "target": target, "verdict": "short"}
    ok = value >= target if higher else value <= target
    return {"value": round(value, 3), "target": target, "verdict": "pass" if ok else "short"}


def run_case(
    out: Path, impl: str, factor: int, repeats: int, distributed: bool = False, scenes: int = 1
) -> dict[str, Any]:
    """One implementation at one size in a fresh process; its JSON plus the process's figures."""
    tag = f"{impl}-x{factor}" + (f"-s{scenes}" if scenes > 1 else "")
    tag += "-distributed" if distributed else ""
    target = out / "cases" / f"{tag}.json"
    outputs = out / "cases" / f"{tag}.npz"
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, outputs):
        stale.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / "veg_cases.py"), "--impl", impl, "--root", str(out),
               "--factor", str(factor), "--repeats", str(repeats), "--json", str(target),
               "--outputs", str(outputs)]  # fmt: skip
    if distributed:
        command.append("--distributed")
    if scenes > 1:
        command += ["--scenes", str(scenes)]
    process = run_measured(command)
    result: dict[str, Any] = {"process": process}
    if process["exit_code"] == 0 and target.is_file():
        result.update(json.loads(target.read_text("utf-8")))
    print(f"  {tag}: " + (f"median {result['median_s']} s ({result['min_s']}..{result['max_s']}), "
          f"CPU {[r['cpu_seconds'] for r in result['runs']]} s, {result['mpx_per_s']} Mpx/s, "
          f"peak RSS {process['peak_rss_mib']:.0f} MiB" if "median_s" in result
          else f"failed: {process['stderr_tail']}"), flush=True)  # fmt: skip
    return result


def fitted_exponent(points: list[tuple[float, float]]) -> float | None:
    """Slope of log(seconds) against log(size) by least squares (None with fewer than 2 sizes)."""
    if len(points) < 2:
        return None
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def case_ratios(cases: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Each ratio of the vegetation case with its target (issue 10)."""
    ratios: dict[str, Any] = {}
    for factor, by_impl in sorted(cases.items()):
        pipe = by_impl.get("pipeline", {})
        if "median_s" not in pipe:
            ratios[f"x{factor} pipeline"] = _verdict(None, 0.6)
            continue
        for impl, target, what in (
            ("decode", 0.6, "decode limit time / pipeline time"),
            ("naive", 3.0, "naive time / pipeline time"),
            ("odc", 1.0, "odc-stac time / pipeline time"),
        ):
            ref = by_impl.get(impl, {})
            value = ref["median_s"] / pipe["median_s"] if "median_s" in ref else None
            ratios[f"x{factor} {what}"] = _verdict(value, target)
            if "median_s" in ref:
                cpu = _median([r["cpu_seconds"] for r in ref["runs"]])
                cpu_pipe = _median([r["cpu_seconds"] for r in pipe["runs"]])
                ratios[f"x{factor} {what.replace('time', 'CPU')}"] = _verdict(
                    cpu / cpu_pipe if cpu_pipe else None, target
                )
    sizes = [
        (f, c["pipeline"]["median_s"])
        for f, c in cases.items()
        if "median_s" in c.get("pipeline", {})
    ]
    exponent = fitted_exponent(sizes)
    if exponent is not None:
        ratios["pipeline time exponent over pixels x scenes"] = {
            "value": round(exponent, 3),
            "target": "1.0 +/- 0.1",
            "verdict": "pass" if abs(exponent - 1.0) <= 0.1 else "short",
        }
    if 1 in cases and 16 in cases:
        p1 = cases[1].get("pipeline", {}).get("process", {}).get("peak_rss_mib")
        p16 = cases[16].get("pipeline", {}).get("process", {}).get("peak_rss_mib")
        if p1 and p16:
            ratios["pipeline peak RSS x16 / x1"] = _verdict(p16 / p1, 1.3, higher=False)
    for factor, by_impl in sorted(cases.items()):
        dist = by_impl.get("pipeline-distributed", {})
        bound = by_impl.get("pipeline", {}).get("process", {}).get("peak_rss_mib")
        if dist.get("worker_peak_rss_mib") and bound:
            ratios[f"x{factor} distributed worker peak RSS / one-machine peak RSS"] = _verdict(
                max(dist["worker_peak_rss_mib"]) / bound, 1.0, higher=False
            )
    return ratios


def scene_ratios(by_scenes: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Memory and time of the pipeline as the items grow at 1x pixels (issue 10: peak RSS at 16x
    scenes within 1.3x of 1x; time linear in the scenes), and its decode ratio at each size."""
    ratios: dict[str, Any] = {}
    pipe = {n: c.get("pipeline", {}) for n, c in by_scenes.items()}
    base = pipe.get(1, {}).get("process", {}).get("peak_rss_mib")
    for n, r in sorted(pipe.items()):
        peak = r.get("process", {}).get("peak_rss_mib")
        if n > 1 and base and peak:
            ratios[f"pipeline peak RSS at {n}x scenes / at 1x"] = _verdict(peak / base, 1.3, False)
        decode = by_scenes[n].get("decode", {})
        if n > 1 and "median_s" in r and "median_s" in decode:
            ratios[f"{n}x scenes decode limit time / pipeline time"] = _verdict(
                decode["median_s"] / r["median_s"], 0.6
            )
    exponent = fitted_exponent([(n, r["median_s"]) for n, r in pipe.items() if "median_s" in r])
    if exponent is not None and len(pipe) > 1:
        ratios["pipeline time exponent over scenes"] = {
            "value": round(exponent, 3),
            "target": "1.0 +/- 0.1",
            "verdict": "pass" if abs(exponent - 1.0) <= 0.1 else "short",
        }
    return ratios


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def equal_work(out: Path, cases: dict[int, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Outputs of each reference this run measured against the pipeline's, per size."""
    checks: dict[str, Any] = {}
    for factor, by_impl in sorted(cases.items()):
        base = out / "cases" / f"pipeline-x{factor}.npz"
        for impl in by_impl:
            if impl in ("pipeline", "decode") or "median_s" not in by_impl[impl]:
                continue
            name = f"{impl}-x{factor}".replace("pipeline-distributed", "pipeline") + (
                "-distributed" if impl == "pipeline-distributed" else ""
            )
            path = out / "cases" / f"{name}.npz"
            if not (base.is_file() and path.is_file()):
                continue
            check = compare(base, path)
            # rasterstats takes pixel centres, exactextract weights by coverage: 0.005 NDVI.
            tolerance = 0.005 if impl == "naive" else 1e-6
            diff = check["park_median_max_abs_diff"]
            check["park_median_tolerance"] = tolerance
            check["equal"] = bool(
                check["composite_nan_equal"]
                and (check["composite_max_abs_diff"] or 0.0) <= 1e-6
                and not check["park_nan_mismatch"]
                and not check["parks_missing"]
                and diff is not None
                and diff <= tolerance
            )
            checks[f"x{factor} pipeline vs {name}"] = check
    return checks


def start_up(out: Path, script: Path, server: str | None = None) -> dict[str, Any]:
    """Fixed cost of a run: ``import flows.cli``, then ``geospace run`` of a period without scenes."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    results: dict[str, Any] = {}
    results["import_flows_cli"] = run_measured([sys.executable, "-c", "import flows.cli"], env=env)
    start, end = RUNS["empty_period"]
    command = [str(script), "run", "vegetation", "--profile", "vienna-demo", "--start", start,
               "--end", end, "--out", str(out)]  # fmt: skip
    results["empty_period_ephemeral_server"] = run_measured(command, env=env)
    if server:
        results["empty_period_running_server"] = run_measured(
            command, env={**env, "PREFECT_API_URL": server}
        )
    for name, r in results.items():
        print(f"  start-up {name}: {r['seconds']} s wall, {r['cpu_seconds']} s CPU, "
              f"peak RSS {r['peak_rss_mib']:.0f} MiB, exit {r['exit_code']}", flush=True)  # fmt: skip
    return results


DECODE_CATALOGUE = """
import sys, glob
from concurrent.futures import ThreadPoolExecutor
import rasterio
def read(path):
    with rasterio.open(path) as src:
        return int(src.read().size)
files = sorted(glob.glob(sys.argv[1] + "/**/*.tif", recursive=True))
with ThreadPoolExecutor(2) as pool:
    pixels = sum(pool.map(read, files))
print(len(files), pixels)
"""
"""Every COG of a catalogue read and decoded by rasterio in two threads (the decode limit)."""


def season_vs_decode(
    out: Path, script: Path, small: bool, repeats: int, server: str | None
) -> dict[str, Any]:
    """The demo season as one ``geospace run`` against the decode limit of its whole catalogue.

    The issue's first target: the full demo season at least 0.3 of the time rasterio alone takes
    to read and decode every Sentinel-2 COG of the demo once (all bands, every year). The demo is
    built under ``out/season-full`` (or ``season-small``); the decode limit is measured
    ``repeats`` times in fresh processes, the season once (with ``server``, against a running
    Prefect server, so Prefect's ephemeral server start is not counted as pipeline time).
    """
    root = out / ("season-small" if small else "season-full")
    root.mkdir(parents=True, exist_ok=True)
    build_s = ensure_demo(root, small=small)
    catalogue = root / "demo-city" / "cogs" / "sentinel-2-l2a"
    decodes = [
        run_measured([sys.executable, "-c", DECODE_CATALOGUE, str(catalogue)])
        for _ in range(max(1, repeats))
    ]
    files, pixels = (int(v) for v in decodes[0]["stdout_head"][0].split())
    start, end = RUNS["season"]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if server:
        env["PREFECT_API_URL"] = server
    command = [str(script), "run", "vegetation", "--profile", "vienna-demo", "--start", start,
               "--end", end, "--out", str(root)]  # fmt: skip
    season = {"start": start, "end": end, **run_measured(command, env=env)}
    decode_s = _median([d["seconds"] for d in decodes])
    decode_cpu = _median([d["cpu_seconds"] for d in decodes])
    result = {
        "demo": "small" if small else "full",
        "demo_build_seconds": round(build_s, 1),
        "catalogue_files": files,
        "catalogue_mpx": round(pixels / 1e6, 1),
        "decode": {"median_s": decode_s, "min_s": min(d["seconds"] for d in decodes),
                   "max_s": max(d["seconds"] for d in decodes), "cpu_median_s": decode_cpu, "runs": decodes,
                   "mpx_per_s": round(pixels / 1e6 / decode_s, 1) if decode_s else None},
        "season": season,
        "prefect": "running server" if server else "ephemeral server",
    }  # fmt: skip
    print(f"  season ({result['demo']} demo, {result['prefect']}): {season['seconds']} s wall, "
          f"{season['cpu_seconds']} s CPU, peak RSS {season['peak_rss_mib']:.0f} MiB, exit "
          f"{season['exit_code']}; decode limit of the catalogue ({files} files, "
          f"{result['catalogue_mpx']} Mpx): {decode_s} s", flush=True)  # fmt: skip
    return result


class PrefectServer:
    """``prefect server start`` on 127.0.0.1 (SQLite under ``home``), for the faster path."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> PrefectServer:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PREFECT_HOME": str(self.home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": "false"}  # fmt: skip
        env.pop("PREFECT_API_URL", None)
        prefect = Path(sys.executable).with_name("prefect")
        self.proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}/api"
        import urllib.request

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"prefect server did not answer on {self.url} within 180 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/bench/bench_vegetation"))
    parser.add_argument("--quick", action="store_true", help="1x, 2 repeats, no season")
    parser.add_argument("--factors", type=int, nargs="*", choices=(1, 4, 16))
    parser.add_argument("--repeats", type=int)
    parser.add_argument(
        "--scene-factors", type=int, nargs="*", choices=(4, 16),
        help="also run the pipeline on 4x / 16x the items at 1x pixels (default: 4 16 in full "
        "mode, none in --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--season-demo", choices=("full", "small", "none"), default="full",
        help="full mode: the season against its catalogue's decode limit on the full demo (default; "
        "builds it under OUT/season-full, about 2 min, once), the small demo, or none",
    )  # fmt: skip
    args = parser.parse_args(argv)
    factors = args.factors or ([1] if args.quick else [1, 4, 16])
    repeats = args.repeats or (2 if args.quick else 3)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    load_start = [round(v, 2) for v in os.getloadavg()]
    build_s = ensure_demo(out, small=True)
    script = Path(sys.executable).with_name("geospace")
    results: dict[str, Any] = {
        "demo": "small",
        "mode": "quick" if args.quick else "full",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": load_start,
        },
        "demo_build_seconds": round(build_s, 1),
        "repeats": repeats,
    }
    cases: dict[int, dict[str, dict[str, Any]]] = {}
    for factor in factors:
        start = time.perf_counter()
        case_for(out, factor)  # inputs generated once, cached under OUT/inputs
        print(
            f"vegetation case x{factor}: inputs ready ({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
        cases[factor] = {impl: run_case(out, impl, factor, repeats) for impl in IMPLS}
        if factor == max(factors) and not args.quick:
            cases[factor]["pipeline-distributed"] = run_case(
                out, "pipeline", factor, 1, distributed=True
            )
    results["case"] = {f"x{f}": c for f, c in cases.items()}
    results["equal_work"] = equal_work(out, cases)
    for name, check in results["equal_work"].items():
        print(f"  equal work {name}: {check['equal']} (composite max diff "
              f"{check['composite_max_abs_diff']}, park medians max diff "
              f"{check['park_median_max_abs_diff']})", flush=True)  # fmt: skip
    ratios = case_ratios(cases)
    scene_factors = args.scene_factors if args.scene_factors is not None else (
        [] if args.quick else [4, 16]
    )  # fmt: skip
    if scene_factors and 1 in cases:
        # The archive grows, the grid does not: pipeline (and its decode limit) at 4x, 16x items.
        by_scenes = {1: {impl: cases[1][impl] for impl in ("decode", "pipeline")}}
        for n in scene_factors:
            by_scenes[n] = {impl: run_case(out, impl, 1, repeats, scenes=n)
                            for impl in ("decode", "pipeline")}  # fmt: skip
        results["scenes"] = {f"s{n}": c for n, c in by_scenes.items()}
        ratios.update(scene_ratios(by_scenes))
    if args.quick:
        results["start_up"] = start_up(out, script)
    else:
        with PrefectServer(out / ".prefect-bench-server") as server:
            results["start_up"] = start_up(out, script, server.url)
            if args.season_demo != "none":
                results["season_vs_decode"] = season_vs_decode(
                    out, script, args.season_demo == "small", repeats, server.url
                )
        start, end = RUNS["season"]
        command = [str(script), "run", "vegetation", "--profile", "vienna-demo", "--start", start,
                   "--end", end, "--out", str(out)]  # fmt: skip
        results["season"] = {"start": start, "end": end, **run_measured(command)}
        print(f"  season: {results['season']['seconds']} s wall, {results['season']['cpu_seconds']} s CPU, "
              f"peak RSS {results['season']['peak_rss_mib']:.0f} MiB", flush=True)  # fmt: skip
    fixed = results["start_up"]["empty_period_ephemeral_server"]
    ratios["fixed start-up s (ephemeral Prefect server), wall"] = _verdict(
        fixed["seconds"], 5.0, higher=False
    )
    ratios["fixed start-up s (ephemeral Prefect server), CPU"] = _verdict(
        fixed["cpu_seconds"], 5.0, higher=False
    )
    served = results["start_up"].get("empty_period_running_server")
    if served:
        ratios["fixed start-up s (running Prefect server), wall"] = _verdict(
            served["seconds"], 5.0, higher=False
        )
    whole = results.get("season_vs_decode")
    if whole:
        season = whole["season"]
        ok = season["exit_code"] == 0 and season["seconds"]
        for what, ref, got in (("time", whole["decode"]["median_s"], season["seconds"]),
                               ("CPU", _median([d["cpu_seconds"] for d in whole["decode"]["runs"]]),
                                season["cpu_seconds"])):  # fmt: skip
            ratios[
                f"{whole['demo']} demo season: decode limit of the catalogue {what} / season {what}"
            ] = _verdict(ref / got if ok and got else None, 0.3)
    ratios["equal work (every reference matches the pipeline)"] = {
        "value": all(c["equal"] for c in results["equal_work"].values()),
        "target": True,
        "verdict": "pass" if results["equal_work"] and all(c["equal"] for c in results["equal_work"].values())
        else "short",
    }  # fmt: skip
    results["ratios"] = ratios
    results["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    target = out / "bench_vegetation.json"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    tmp.replace(target)
    print(f"results: {target}")
    failed = [
        c for by in cases.values() for c in by.values() if c.get("process", {}).get("exit_code")
    ]
    return 1 if failed or fixed["exit_code"] else 0


if __name__ == "__main__":
    sys.exit(main())
