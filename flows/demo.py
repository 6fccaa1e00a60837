"""``geospace demo``: build the synthetic Vienna demo city, run the flows on it, say where things are."""

from __future__ import annotations

import time
from pathlib import Path

from eo.demo.layout import DemoLayout
from flows.progress import NullReporter


def run_demo(
    *,
    out_dir: Path,
    small: bool,
    build_only: bool = False,
    progress: NullReporter | None = None,
    seed: int | None = None,
) -> int:
    """Build the demo city under ``OUT/demo-city`` and replay the demo season's flows on it.

    ``progress``: the command's reporter (:mod:`flows.progress`); silent without one.
    ``seed``: another city of the same kind (default: the README's demo, ``DEMO_SEED``).
    """
    from eo.demo.build import build_demo
    from eo.demo.layout import DEMO_SEED

    seed = DEMO_SEED if seed is None else seed
    _refuse_other_city(out_dir, seed)

    report = progress or NullReporter()
    started = time.monotonic()
    what = f"building the {'small' if small else 'full'} demo city (seed {seed})"
    report.stage(what)
    layout: DemoLayout = build_demo(out_dir, small=small, seed=seed)
    report.done(what, str(layout.root))
    print(
        f"demo city ({'small' if small else 'full'}, seed {seed}) built in {time.monotonic() - started:.0f} s: {layout.root}"
    )
    print(f"  STAC catalogue: {layout.catalog}")
    print(f"  layers:         {layout.layers}")
    print(f"  what was planted: {layout.truth}")
    if build_only:
        report.finish("Completed", [str(layout.root)], {}, f"demo city built: {layout.root}")
        return 0
    from flows.demo_replay import replay_demo_season

    return replay_demo_season(out_dir=out_dir, small=small, progress=report)


def _refuse_other_city(out_dir: Path, seed: int) -> None:
    """Exit 2 before building when ``out_dir`` holds the products of another seed's city.

    Products and the outbox of the old city would mix with the new one's (work orders for parks
    that are not stressed in this city); a rebuild of the same seed is fine (the runs are
    idempotent).
    """
    import json

    from core.errors import InvalidInputError

    truth = DemoLayout.under(out_dir).truth
    if not truth.is_file():
        return
    try:
        built = json.loads(truth.read_text(encoding="utf-8")).get("seed")
    except (OSError, ValueError):
        return
    products = [
        n for n in ("alerts", "vegetation", "heat", "deformation") if (out_dir / n).exists()
    ]
    if built != seed and products:
        raise InvalidInputError(
            f"--out {out_dir}: holds the demo city of seed {built} and its products "
            f"({', '.join(products)}); seed {seed} is another city: give a fresh --out folder "
            "(or remove that one) so the two cities' alerts do not mix"
        )
