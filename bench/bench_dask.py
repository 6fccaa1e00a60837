"""Benchmark: where the vegetation flow's Dask work runs (issue 12); wall time, peak memory.

Usage: ``python bench/bench_dask.py --out DIR [--small] [--start D --end D]``. Runs
``geospace run vegetation`` in a fresh process three times on the demo city:

- ``threads``: Dask's threaded scheduler in the flow process (the default);
- ``local-cluster``: ``GEOSPACE_DASK=local-cluster`` (a LocalCluster on 127.0.0.1 per run);
- ``distributed``: ``DASK_SCHEDULER_ADDRESS`` pointing at a cluster this script starts first (two
  worker processes, one thread each, on 127.0.0.1), as an existing cluster would be.

Reports wall time, peak RSS of the flow process tree (``os.wait4``) and, for ``distributed``, the
peak RSS of each worker (``getrusage`` in the worker). Writes ``DIR/bench_dask.json``; never
asserted in tests (the measurements decide the default, README "Benchmarks").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_vegetation import ensure_demo, run_measured


def worker_peak_mib() -> float:
    """Peak RSS of the calling process (a Dask worker), MiB."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out/bench/bench_dask"))
    parser.add_argument("--small", action="store_true", help="the ~5 x 5 km demo (default: full)")
    parser.add_argument("--start", default="2022-08-17")
    parser.add_argument("--end", default="2022-08-30")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    ensure_demo(out, args.small)
    script = Path(sys.executable).with_name("geospace")
    results: dict[str, Any] = {"demo": "small" if args.small else "full", "cpus": os.cpu_count(),
                               "period": [args.start, args.end], "runs": {}}  # fmt: skip
    base = {
        k: v for k, v in os.environ.items() if k not in ("DASK_SCHEDULER_ADDRESS", "GEOSPACE_DASK")
    }

    def run(name: str, env: dict[str, str]) -> dict[str, Any]:
        command = [str(script), "run", "vegetation", "--profile", "vienna-demo", "--start",
                   args.start, "--end", args.end, "--out", str(out)]  # fmt: skip
        os.environ.clear()
        os.environ.update(env)
        try:
            result = run_measured(command)
        finally:
            os.environ.clear()
            os.environ.update(base)
        results["runs"][name] = result
        print(f"{name}: {result['seconds']:.1f} s wall, peak RSS {result['peak_rss_mib']:.0f} MiB,"
              f" exit {result['exit_code']}", flush=True)  # fmt: skip
        return result

    run("threads", {**base, "GEOSPACE_DASK": "threads"})
    run("local-cluster", {**base, "GEOSPACE_DASK": "local-cluster"})
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
        run("distributed", {**base, "DASK_SCHEDULER_ADDRESS": cluster.scheduler_address})
        peaks = client.run(worker_peak_mib)
    results["runs"]["distributed"]["worker_peak_rss_mib"] = sorted(peaks.values())
    print(f"distributed: worker peak RSS {sorted(peaks.values())} MiB")
    target = out / "bench_dask.json"
    target.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"results: {target}")
    return 1 if any(r["exit_code"] != 0 for r in results["runs"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
