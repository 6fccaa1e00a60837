"""The notebooks (notebooks/*.ipynb) execute without error against the small demo city's products.

Each notebook reads ``$GEOSPACE_OUT``: here the ``demo_products`` fixture (the session's season
replay and the heat and deformation products of the demo's own periods, written without Prefect).
The kernel is this interpreter (a kernelspec in a temporary ``JUPYTER_PATH``), so the notebooks
import the checkout's packages from the venv.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``JUPYTER_PATH`` whose ``python3`` kernel is this interpreter (the project's venv)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "geospace (venv)", "language": "python"}),
        encoding="utf-8",
    )
    return root


def test_there_is_a_notebook_per_product_and_one_for_real_providers() -> None:
    names = {p.stem for p in NOTEBOOKS}
    assert {
        "irrigation_priority_demo",
        "heat_bulletin_demo",
        "deformation_corridor_demo",
        "real_providers",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs_or_logic(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.outputs and cell.execution_count is None, f"{path.name}: stored outputs"
        lines = cell.source.splitlines()
        assert not [s for s in lines if s.lstrip().startswith(("def ", "class "))], path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_on_the_demo_products(
    path: Path,
    demo_products: Path,
    kernel_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", str(kernel_path))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("GEOSPACE_OUT", str(demo_products))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(REPO)}}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jupyter_client's start-up notes are not under test
        client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    shown = [o for c in nb.cells for o in c.get("outputs", [])]
    assert shown, "the notebook showed nothing"
