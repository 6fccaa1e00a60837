"""Dask placement (issue 12): the environment's choice, and a distributed run equal to the local ones
(the threaded scheduler and a LocalCluster), bit for bit."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from core.errors import InvalidInputError
from core.profile import load_profile
from flows.artifacts import PARK_COLUMNS, artifact_key, ranked_parks, table_rows
from flows.dask_runtime import DaskChoice, choose, dask_scheduler, local_workers
from tests.flows.conftest import ProfileFactory

END = date(2022, 8, 30)  # a window the small demo covers (see tests/flows/conftest.py SEASON_END)


def test_default_is_the_threaded_scheduler() -> None:
    assert choose({}) == DaskChoice("threads")


def test_scheduler_address_wins_over_the_mode() -> None:
    env = {"DASK_SCHEDULER_ADDRESS": "tcp://dask:8786", "GEOSPACE_DASK": "local-cluster"}
    assert choose(env) == DaskChoice("distributed", "tcp://dask:8786")


def test_local_cluster_is_sized_for_the_machine() -> None:
    chosen = choose({"GEOSPACE_DASK": "local-cluster"})
    assert chosen.kind == "local-cluster" and chosen.workers == local_workers()
    assert local_workers(1) == 1 and local_workers(64) == 8


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GEOSPACE_DASK": "gpu"}, "GEOSPACE_DASK"),
        ({"DASK_SCHEDULER_ADDRESS": "dask:8786"}, "DASK_SCHEDULER_ADDRESS"),
        ({"GEOSPACE_DASK": "local-cluster", "GEOSPACE_DASK_DASHBOARD": ":8787"}, "DASHBOARD"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(env: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        choose(env)


def _digest(folder: Path) -> dict[str, str]:
    """Every product file's sha256; the manifest without its run timestamps."""
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.name == "manifest.json":
            doc = json.loads(data)
            for key in ("created", "generated", "run_at", "generated_at", "created_at"):
                doc.pop(key, None)
            data = json.dumps(doc, sort_keys=True).encode()
        out[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return out


@pytest.mark.slow
def test_distributed_run_equals_local_run_bit_for_bit(
    profile_copy: ProfileFactory,
    prefect_server: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from distributed import LocalCluster

    from flows.vegetation import vegetation_flow

    profile = profile_copy()
    local = tmp_path / "local"
    state = vegetation_flow(
        profile=str(profile), start=END, end=END, out_dir=str(local), return_state=True
    )
    assert state.is_completed()
    # the single machine's LocalCluster (GEOSPACE_DASK=local-cluster), which the issue compares with
    monkeypatch.setenv("GEOSPACE_DASK", "local-cluster")
    local_cluster = tmp_path / "local-cluster"
    state = vegetation_flow(
        profile=str(profile), start=END, end=END, out_dir=str(local_cluster), return_state=True
    )
    assert state.is_completed()
    monkeypatch.delenv("GEOSPACE_DASK")
    # an existing cluster: two worker processes on 127.0.0.1, no dashboard
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:  # fmt: skip
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
        with dask_scheduler() as chosen:
            assert chosen.kind == "distributed"
            assert chosen.address == cluster.scheduler_address
            assert len(cluster.scheduler_info["workers"]) == 2
        before = cluster.scheduler.transition_counter
        remote = tmp_path / "remote"
        state = vegetation_flow(
            profile=str(profile), start=END, end=END, out_dir=str(remote), return_state=True
        )
        assert state.is_completed()
        # the work really ran on the cluster's workers
        # the work really ran on the cluster: its scheduler moved tasks through their states
        assert cluster.scheduler.transition_counter > before, "no task reached the cluster"
    window = f"vegetation/{END}"
    assert _digest(remote / window) == _digest(local_cluster / window)
    assert _digest(remote / window) == _digest(local / window)
    # the runs published the ranked park table of the window as a Prefect artifact
    assert _artifact_rows(artifact_key("vegetation", load_profile(profile).name)) == table_rows(
        ranked_parks(remote / window), PARK_COLUMNS
    )


def _artifact_rows(key: str) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        (latest,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1,
            sort=ArtifactSort.CREATED_DESC,
        )  # fmt: skip
    data = latest.data
    return json.loads(data) if isinstance(data, str) else data
