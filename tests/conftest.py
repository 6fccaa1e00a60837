"""Test-session wide settings: no network but loopback, Prefect isolated and silent, shared data path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from eo.demo.layout import DemoLayout

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# Prefect must never phone home (DESIGN "Pitfalls"); set before any test imports prefect.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Never let GDAL list remote directories or wait long in tests.
os.environ.setdefault("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The optional real test data folder ``../shared/data``; tests using it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent: real-data test skipped")
    return SHARED_DATA


def shared_file(*parts: str) -> Path:
    """Path of one file under ../shared/data, skipping the calling test if it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: real-data test skipped")
    return path


def require_service(name: str, host: str, port: int) -> None:
    """Fail in CI (CI=true), skip elsewhere, when a service the test needs is not listening."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as err:
        message = f"{name} is not reachable on {host}:{port} ({err}); .ci/run starts it"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory: pytest.TempPathFactory) -> DemoLayout:
    """The ``--small`` demo city (about 5 x 5 km), built once per test session (~10 s)."""
    from eo.demo.build import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-small"), small=True)
