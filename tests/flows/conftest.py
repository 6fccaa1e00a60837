"""Fixtures of the flow tests: an isolated Prefect server, profile copies and ONE season replay.

The season replay (windows ending 2022-06-14 .. 2022-08-30, weekly) of the vegetation flow on the
small demo city runs once per session and is shared by every acceptance test that reads products.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.profile import PACKAGED_PROFILES
from eo.demo.layout import DemoLayout
from flows.runtime import OFFLINE_ENV

SEASON_START = date(2022, 6, 14)
SEASON_END = date(2022, 8, 30)

ProfileFactory = Callable[..., Path]
DELETE = object()  # write_profile: remove this key


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Prefect home for the whole session, never the user's ~/.prefect."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture(autouse=True)
def flow_env(monkeypatch: pytest.MonkeyPatch, prefect_home: Path) -> None:
    """Environment the CLI would set (``prepare_environment``), restored after each test."""
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))


@pytest.fixture(scope="session")
def prefect_server(prefect_home: Path) -> Iterator[None]:
    """Prefect's test harness (temporary SQLite, a server on 127.0.0.1) for the session."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in OFFLINE_ENV.items():
            patch.setenv(key, value)
        patch.setenv("PREFECT_HOME", str(prefect_home))
        from prefect.settings import PREFECT_HOME, temporary_settings
        from prefect.testing.utilities import prefect_test_harness

        with (
            warnings.catch_warnings(),
            temporary_settings({PREFECT_HOME: prefect_home}),
            prefect_test_harness(server_startup_timeout=120),
        ):
            warnings.simplefilter("ignore")  # third-party start-up noise is not under test
            yield


@pytest.fixture(scope="session")
def demo_truth(demo_small: DemoLayout) -> dict[str, Any]:
    """``truth.json`` of the small demo: what was planted."""
    return json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def write_profile(folder: Path, demo_root: Path, name: str = "test", **changes: Any) -> Path:
    """A copy of the ``vienna-demo`` profile in ``folder`` with ``data_root`` = the demo city.

    ``changes`` maps dotted keys to values (``"vegetation.window": "1 d"``; ``"a.b": DELETE``
    removes the key), applied on the packaged YAML.
    """
    doc = yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text(encoding="utf-8"))
    doc["data_root"] = str(demo_root)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def profile_copy(tmp_path: Path, demo_small: DemoLayout) -> ProfileFactory:
    """``profile_copy(name, **{"dotted.key": value})`` -> path of a profile YAML in tmp_path."""

    def make(name: str = "test", **changes: Any) -> Path:
        return write_profile(tmp_path, Path(demo_small.root), name, **changes)

    return make


@dataclass(frozen=True)
class SeasonRun:
    """The season replay: output folder, final flow state, warnings raised, products by window."""

    out: Path
    state: Any
    warnings: tuple[warnings.WarningMessage, ...]
    windows: dict[str, Path] = field(default_factory=dict)

    def parks(self, end: str) -> dict[str, dict[str, Any]]:
        """Properties of every park in the GeoJSON product of the window ending ``end``."""
        doc = json.loads((self.windows[end] / "irrigation_priority.geojson").read_text("utf-8"))
        return {f["properties"]["park_id"]: f["properties"] for f in doc["features"]}

    def manifest(self, end: str) -> dict[str, Any]:
        """The manifest of the window ending ``end``."""
        return json.loads((self.windows[end] / "manifest.json").read_text("utf-8"))  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def season_run(demo_small: DemoLayout, prefect_server: None) -> SeasonRun:
    """The vegetation flow once through the demo season (12 weekly windows), products on disk."""
    from flows.vegetation import vegetation_flow

    out = Path(demo_small.root).parent
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = vegetation_flow(
            profile="vienna-demo",
            start=SEASON_START,
            end=SEASON_END,
            out_dir=str(out),
            return_state=True,
        )
    folders = sorted(p for p in (out / "vegetation").iterdir() if p.is_dir())
    return SeasonRun(
        out=out, state=state, warnings=tuple(caught), windows={p.name: p for p in folders}
    )


@pytest.fixture(scope="session")
def demo_products(
    demo_small: DemoLayout, season_run: SeasonRun, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """An output folder like ``geospace demo``'s, for the notebooks and the docs test: the season
    replay's vegetation products (linked), the heat and deformation products of the demo's own
    periods (written without Prefect, seconds), one delivery and the dashboard."""
    from alerts.outbox import commands as ops
    from flows.artifacts import refresh_dashboard
    from flows.deformation import resolve_deformation_inputs, run_releases
    from flows.demo_replay import DEFORMATION_PERIOD, HEAT_RUN
    from flows.heat import resolve_heat_inputs, run_heat

    out = tmp_path_factory.mktemp("demo-products") / "out"
    out.mkdir()
    (out / "demo-city").symlink_to(demo_small.root, target_is_directory=True)
    (out / "vegetation").symlink_to(season_run.out / "vegetation", target_is_directory=True)
    start, end = HEAT_RUN
    run_heat(resolve_heat_inputs("vienna-demo", start, end, out), start, end, out)
    start, end = DEFORMATION_PERIOD
    run_releases(resolve_deformation_inputs("vienna-demo", out), start, end, out)
    ops.deliver(out)
    refresh_dashboard(out)
    return out
