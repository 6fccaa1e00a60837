"""Fixtures of tests/indices: Dask schedulers that refuse or count computes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dask
import dask.local
import pytest


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a Dask compute happened before the zonal step")


@pytest.fixture
def no_compute() -> Iterator[None]:
    """Any Dask compute inside the block fails (xclim's assert_lazy idea)."""
    with dask.config.set(scheduler=_refuse):
        yield


@pytest.fixture
def count_computes() -> Iterator[Callable[[], int]]:
    """Run Dask synchronously and count scheduler calls; yields a function returning the count."""
    calls: list[int] = []

    def counting_get(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return dask.local.get_sync(dsk, keys, **kwargs)

    with dask.config.set(scheduler=counting_get):
        yield lambda: len(calls)
