"""Data flows one way: flows -> alerts -> indices -> eo -> core (DESIGN section 2).

The layers are declared once, in ``pyproject.toml``'s import-linter contract (``make lint`` runs
import-linter on it); this test reads the same declaration and checks it on the source files, so the
contract is one list, checked in the suite too.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
LAYERS: list[str] = next(c for c in _CONTRACTS["contracts"] if c["type"] == "layers")["layers"]
# a package may import only those to its right


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_imports_only_go_downstream(package: str) -> None:
    forbidden = set(LAYERS[: LAYERS.index(package)])
    offenders = {
        str(path.relative_to(REPO)): sorted(_imports(path) & forbidden)
        for path in (REPO / package).rglob("*.py")
        if _imports(path) & forbidden
    }
    assert offenders == {}, f"{package} must not import {sorted(forbidden)}: {offenders}"


def test_only_flows_know_prefect() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for package in LAYERS
        if package != "flows"
        for path in (REPO / package).rglob("*.py")
        if "prefect" in _imports(path)
    ]
    assert offenders == []


def test_rule_catches_an_upstream_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from alerts.model import Revision\nimport flows.cli\n")
    assert _imports(bad) & set(LAYERS[:2]) == {"alerts", "flows"}


def test_relay_entry_point_stays_light() -> None:
    """The relay is restarted often (and killed in the chaos test): no Prefect, xarray or GDAL."""
    import subprocess
    import sys

    probe = (
        "import sys, alerts.outbox.__main__; "
        "heavy = [m for m in ('prefect', 'xarray', 'rasterio', 'geopandas', 'dask') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_core_is_the_lowest_layer() -> None:
    """The shared vocabulary (errors, quantities, profile, status) imports no other geospace package."""
    assert LAYERS[-1] == "core"
    assert LAYERS == ["flows", "alerts", "indices", "eo", "core"]


def _builds_a_notice(path: Path) -> bool:
    """True when ``path`` calls ``Revision(...)`` with hazard ``notice`` (by name or literal)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        for kw in node.keywords if name == "Revision" else ():
            value = kw.value
            if kw.arg == "hazard" and (
                (isinstance(value, ast.Name) and value.id == "NOTICE_HAZARD")
                or (isinstance(value, ast.Constant) and value.value == "notice")
            ):
                return True
    return False


def test_one_notice_builder() -> None:
    """Every operator notice (DATA_GAP, digest, dead row, approval pending) is built by
    ``alerts.decide.notices.notice_revision``; no other module assembles one (DESIGN section 5)."""
    builder = REPO / "alerts" / "decide" / "notices.py"
    assert _builds_a_notice(builder)
    builders = [
        str(path.relative_to(REPO))
        for package in LAYERS
        for path in (REPO / package).rglob("*.py")
        if path != builder and _builds_a_notice(path)
    ]
    assert builders == []


@pytest.mark.parametrize("package", LAYERS)
def test_no_twin_module_names_inside_a_package(package: str) -> None:
    """Inside one package no two modules share a name (``alerts/relay.py`` beside
    ``alerts/outbox/relay.py`` made people open the wrong one); the same product name across
    layers (``indices/vegetation.py``, ``flows/vegetation.py``) is intended."""
    seen: dict[str, list[str]] = {}
    for path in (REPO / package).rglob("*.py"):
        if path.name not in ("__init__.py", "__main__.py"):
            seen.setdefault(path.name, []).append(str(path.relative_to(REPO)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
