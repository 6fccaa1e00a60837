"""Fixtures of the eo tests: local STAC API (rustac), Range file server, fault-injecting proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.http_base import ServerWithPlan
from tests.servers.proxy import start_proxy
from tests.servers.range_server import start_range_server
from tests.servers.rustac_api import RustacApi, rustac_executable, start_rustac
from tests.servers.scene import Scene, build_scene


@pytest.fixture(scope="session")
def range_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerWithPlan]:
    """A Range-capable file server on 127.0.0.1 serving a session temporary directory."""
    server = start_range_server(tmp_path_factory.mktemp("cogs"))
    yield server
    server.stop()


@pytest.fixture
def range_server(range_server_session: ServerWithPlan) -> Iterator[ServerWithPlan]:
    """The session's Range server with no faults at the start and end of the test."""
    range_server_session.plan.clear()
    yield range_server_session
    range_server_session.plan.clear()


@pytest.fixture
def cog_root(range_server: ServerWithPlan, request: pytest.FixtureRequest) -> Path:
    """A directory served by ``range_server``, unique per test (GDAL caches by URL)."""
    root: Path = range_server.settings["root"]
    path = root / request.node.name.replace("[", "_").replace("]", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def scene(range_server_session: ServerWithPlan) -> Scene:
    """Two tiles of COGs on the Range server and the item dicts pointing at them."""
    return build_scene(range_server_session.settings["root"], range_server_session.base_url)


@pytest.fixture(scope="session")
def rustac_api(scene: Scene, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RustacApi]:
    """``rustac serve`` of the scene's items on a free 127.0.0.1 port."""
    if rustac_executable() is None:
        pytest.skip("rustac is not installed in the venv")
    api = start_rustac(scene.items, tmp_path_factory.mktemp("rustac"))
    yield api
    api.stop()


@pytest.fixture
def stac_proxy(rustac_api: RustacApi) -> Iterator[ServerWithPlan]:
    """A fault-injecting proxy in front of the rustac API (links rewritten to the proxy)."""
    proxy = start_proxy(rustac_api.url)
    yield proxy
    proxy.stop()
