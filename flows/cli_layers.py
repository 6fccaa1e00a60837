"""``geospace layers fetch --profile P``: cache a profile's remote layers (WFS) under ``--out``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def _cmd_fetch(args: argparse.Namespace) -> int:
    from core.profile import load_profile
    from eo.layer_cache import fetch_profile_layers

    profile = load_profile(args.profile, out_dir=args.out)
    cached = fetch_profile_layers(profile, args.out)
    if not cached:
        print(f"profile {profile.name}: every layer is a local file; nothing to fetch")
        return 0
    for layer in cached:
        print(f"{layer.layer}: {layer.features} features ({layer.crs}) -> {layer.path}")
    print(
        f"set layers.<name>.path of a copy of the profile to these files to run without the "
        f"network ({len(cached)} layer(s), sources.json beside them)"
    )
    return 0


def register(sub: Any, add_out: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``layers fetch`` to the ``geospace`` sub-commands."""
    layers = sub.add_parser("layers", help="vector layers of a profile (parks, districts, ...)")
    actions = layers.add_subparsers(dest="action", required=True)
    fetch = actions.add_parser(
        "fetch", help="download the profile's WFS/URL layers into OUT/layers/<profile>/"
    )
    fetch.add_argument("--profile", required=True, help="profile name (vienna) or YAML path")
    add_out(fetch)
    fetch.set_defaults(handler=_cmd_fetch)
