"""``geospace demo``: build the synthetic Vienna demo city, run the flows on it, say where things are."""

from __future__ import annotations

import time
from pathlib import Path

from eo.demo.layout import DemoLayout


def run_demo(*, out_dir: Path, small: bool, build_only: bool = False) -> int:
    """Build the demo city under ``OUT/demo-city`` and replay the demo season's flows on it."""
    from eo.demo.build import build_demo

    started = time.monotonic()
    layout: DemoLayout = build_demo(out_dir, small=small)
    print(
        f"demo city ({'small' if small else 'full'}) built in {time.monotonic() - started:.0f} s: {layout.root}"
    )
    print(f"  STAC catalogue: {layout.catalog}")
    print(f"  layers:         {layout.layers}")
    print(f"  what was planted: {layout.truth}")
    if build_only:
        return 0
    from flows.demo_replay import replay_demo_season

    return replay_demo_season(out_dir=out_dir, small=small)
