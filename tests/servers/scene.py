"""A tiny two-tile Sentinel-2 scene: COGs served by the Range server and Earth Search item dicts.

Tile A (33UXP) covers x 600000..602560, tile B (33UWP) x 601280..603840, both y 5337440..5340000
in EPSG:32633 (256 x 256 px at 10 m, SCL 128 x 128 at 20 m; 128 px COG blocks, one overview). Tile A's red band has a nodata block in
its east half that tile B fills in the solar-day mosaic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from tests.servers.stac_factory import es_item, write_cog

N = 256
TOP = 5340000.0
TILES = {"A": ("33UXP", 600000.0), "B": ("33UWP", 601280.0)}
NODATA_BLOCK = (slice(0, 64), slice(192, 256))
# A WGS84 bbox inside the overlap of both tiles (UTM x 601400..602400, y 5338000..5339500).
OVERLAP_UTM = (601400.0, 5338000.0, 602400.0, 5339500.0)  # rows, cols of tile A's red set to 0


@dataclass
class Scene:
    """Arrays written per tile and band, and the item dicts of the search tests."""

    base_url: str
    arrays: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    transforms: dict[tuple[str, str], Affine] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)

    def assets(
        self, tile: str, prefix: str = "scene"
    ) -> dict[str, tuple[str, Affine, tuple[int, int]]]:
        return {
            band: (
                f"{self.base_url}/{prefix}/{tile}/{band}.tif",
                self.transforms[(tile, band)],
                self.arrays[(tile, band)].shape,
            )
            for band in ("red", "nir", "scl")
        }


def band_arrays(tile: str) -> dict[str, np.ndarray]:
    """DN arrays of one tile: distinct, non-zero values per tile and band (0 only where meant)."""
    rng = np.random.default_rng(7 if tile == "A" else 11)
    red = rng.integers(1, 10000, size=(N, N), dtype=np.uint16)
    nir = rng.integers(1, 10000, size=(N, N), dtype=np.uint16)
    scl = rng.integers(1, 12, size=(N // 2, N // 2), dtype=np.uint16).astype(np.uint8)
    if tile == "A":
        red[NODATA_BLOCK] = 0
    return {"red": red, "nir": nir, "scl": scl}


def write_tile(root: Path, prefix: str, tile: str) -> dict[str, tuple[np.ndarray, Affine]]:
    """Write the COGs of ``tile`` under ``root/prefix/tile``; return arrays and transforms."""
    x0 = TILES[tile][1]
    out = {}
    for band, data in band_arrays(tile).items():
        res = 20.0 if band == "scl" else 10.0
        transform = Affine(res, 0.0, x0, 0.0, -res, TOP)
        write_cog(root / prefix / tile / f"{band}.tif", data, transform)
        out[band] = (data, transform)
    return out


def build_scene(root: Path, base_url: str) -> Scene:
    """Write both tiles under ``root/scene`` and the items used by the search tests."""
    scene = Scene(base_url=base_url)
    for tile in TILES:
        for band, (data, transform) in write_tile(root, "scene", tile).items():
            scene.arrays[(tile, band)] = data
            scene.transforms[(tile, band)] = transform

    def item(item_id: str, tile: str, when: datetime, **kw: Any) -> dict[str, Any]:
        return es_item(item_id, when=when, assets=scene.assets(tile), tile=TILES[tile][0], **kw)

    day = datetime(2024, 6, 10, 10, 0, tzinfo=UTC)
    scene.items = [
        item("S2A_33UXP_20240610_0_L2A", "A", day, cloud=10.0),
        item("S2A_33UWP_20240610_0_L2A", "B", day.replace(second=5), cloud=20.0),
        item("S2A_33UXP_20240615_0_L2A", "A", day.replace(day=15), cloud=95.0),
        item("S2A_33UXP_20240620_0_L2A", "A", day.replace(day=20), cloud=30.0),
        item("S2A_33UXP_20240610_C1", "A", day, collection="sentinel-2-c1-l2a"),
    ]
    # Many July items for paging (rustac pages at its default limit).
    scene.items += [
        item(f"S2A_33UXP_202407{d:02d}_0_L2A", "A", day.replace(month=7, day=d), cloud=float(d))
        for d in range(1, 26)
    ]
    return scene
