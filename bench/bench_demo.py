"""Benchmark: build the full (or --small) demo city into a temporary folder; print time, size, peak RSS.

Usage: ``python bench/bench_demo.py [--small] [--keep DIR]``. DESIGN section 7 budget: at most 3 GB
on disk and a few minutes to build (measured here, never asserted in tests).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from eo.demo.build import build_demo


def disk_size(root: Path) -> int:
    """Total bytes of the files under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="build the ~5 x 5 km variant")
    parser.add_argument("--keep", "--out", type=Path, help="build into this folder and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        out = args.keep or Path(tmp)
        start = time.perf_counter()
        layout = build_demo(out, small=args.small)
        seconds = time.perf_counter() - start
        size = disk_size(layout.root)
        n_items = len(list((layout.stac / "sentinel-2-l2a").glob("*/*.json")))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"demo {'small' if args.small else 'full'}: {seconds:.1f} s, {size / 1e9:.3f} GB on disk, "
        f"{n_items} items, peak RSS {peak_mb:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
