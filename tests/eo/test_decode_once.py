"""Scenes decoded once (issue 10): same values, coordinates and attributes as the lazy cube."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from eo.scenes import SceneStack, decode_once, decoded_chunks


def _lazy_stack(days: int = 5, ny: int = 40, nx: int = 30) -> SceneStack:
    rng = np.random.default_rng(7)
    time = pd.date_range("2022-06-01", periods=days, freq="5D")
    coords = {"time": time, "y": np.arange(ny) + 0.5, "x": np.arange(nx) + 0.5}
    red = rng.random((days, ny, nx), dtype=np.float32)
    red[0, :3, :3] = np.nan
    scl = rng.integers(0, 12, (days, ny, nx)).astype(np.uint8)
    cube = xr.Dataset(
        {
            "red": (("time", "y", "x"), da.from_array(red, chunks=(1, 16, 16)), {"units": "1"}),
            "scl": (("time", "y", "x"), da.from_array(scl, chunks=(1, 16, 16)), {"nodata": 0}),
        },
        coords=coords,
        attrs={"provider": "earth-search"},
    )
    return SceneStack(cube=cube, items=("a", "b"), baselines={"a": "05.00"})


def test_decode_once_keeps_values_coords_and_metadata(tmp_path: Path) -> None:
    stack = _lazy_stack()
    decoded = decode_once(stack, tmp_path / "scenes")
    assert decoded.cube is not None and stack.cube is not None
    xr.testing.assert_identical(decoded.cube.compute(), stack.cube.compute())
    assert decoded.items == stack.items and decoded.baselines == stack.baselines
    assert sorted(p.name for p in (tmp_path / "scenes").iterdir()) == ["red.npy", "scl.npy"]
    # Still lazy (Dask), with every day of a pixel in one chunk: a median needs no rechunk.
    chunks = decoded.cube["red"].chunks
    assert chunks is not None and chunks[0] == (stack.cube.sizes["time"],)


def test_decode_once_leaves_empty_and_in_memory_stacks_alone(tmp_path: Path) -> None:
    assert decode_once(SceneStack(cube=None), tmp_path).cube is None
    eager = _lazy_stack()
    assert eager.cube is not None
    in_memory = SceneStack(cube=eager.cube.compute())
    assert decode_once(in_memory, tmp_path / "x") is in_memory
    assert not (tmp_path / "x").exists()


def test_decoded_chunks_are_bounded_and_keep_time_whole() -> None:
    budget = 64 * 2**20
    for days in (8, 40, 160):
        shape = (days, 2938, 2284)
        chunks = decoded_chunks(shape, 4, budget)
        assert chunks[0] == days
        assert chunks[1] % 256 == 0 and chunks[2] % 256 == 0
        if chunks[1] > 256:  # at the 256-pixel floor only, a chunk may exceed the budget
            assert days * chunks[1] * chunks[2] * 4 <= budget
    assert decoded_chunks((3, 100, 120), 4, budget) == (3, 100, 120)
