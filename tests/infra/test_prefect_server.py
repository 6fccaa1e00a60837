"""Acceptance (issue 12): every deployment of infra/prefect.yaml on a real Prefect server.

``prefect server start --host 127.0.0.1`` on SQLite, then on the machine's PostgreSQL (as Prefect
recommends for production): the work pool, the tag concurrency limits and ``prefect deploy --all``
from the file; the stored schedules are the file's (cron, timezone, interval); the delivery
deployment is triggered through the API, a process worker runs it, and it ends Completed.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_service
from tests.infra.prefect_server import (
    PREFECT,
    PREFECT_YAML,
    api,
    local_prefect_yaml,
    prefect_cli,
    prefect_server,
)

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
RUN_TIMEOUT_S = 240.0


def declared() -> dict[str, Any]:
    return yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def register_and_run(env: dict[str, str], tmp_path: Path) -> None:
    doc = declared()
    pool = doc["definitions"]["work_pools"]["process"]["name"]
    prefect_cli(env, "work-pool", "create", pool, "--type", "process")
    for tag, limit in doc["definitions"]["concurrency_limits"].items():
        prefect_cli(env, "concurrency-limit", "create", tag, str(limit))
    prefect_cli(env, "deploy", "--all", "--prefect-file", str(local_prefect_yaml(tmp_path)))
    prefect_cli(
        env, "automation", "create", "--from-file", str(PREFECT_YAML.with_name("automations.yaml"))
    )

    stored = {d["name"]: d for d in api(env, "POST", "/deployments/filter", json={})}
    assert set(stored) == {d["name"] for d in doc["deployments"]}
    for want in doc["deployments"]:
        got = stored[want["name"]]
        assert got["work_pool_name"] == pool
        assert got["entrypoint"] == want["entrypoint"]
        assert got["parameters"] == want["parameters"]
        assert set(got["tags"]) == set(want.get("tags", []))
        schedules = [s["schedule"] for s in got["schedules"]]
        assert len(schedules) == len(want.get("schedules", []))
        for have, spec in zip(schedules, want.get("schedules", []), strict=True):
            if "cron" in spec:
                assert (have["cron"], have["timezone"]) == (spec["cron"], spec["timezone"])
            else:
                assert have["interval"] == spec["interval"]
    limits = {
        c["tag"]: c["concurrency_limit"]
        for c in api(env, "POST", "/concurrency_limits/filter", json={})
    }
    assert limits == doc["definitions"]["concurrency_limits"]
    automations = api(env, "POST", "/automations/filter", json={})
    zombie = {a["name"]: a for a in automations}["geospace-zombie-flow-runs"]
    assert zombie["trigger"]["posture"] == "Proactive" and zombie["enabled"]
    assert zombie["actions"][0]["type"] == "change-flow-run-state"

    # A cheap run through the API: the delivery flow on an empty outbox in tmp_path.
    from alerts.outbox.store import open_store

    out = tmp_path / "out"
    out.mkdir()
    open_store(out).close()
    deployment = stored["outbox-delivery"]
    run = api(
        env, "POST", f"/deployments/{deployment['id']}/create_flow_run",
        # profile None: the file's city (vienna) keeps its outbox in PostgreSQL through
        # $GEOSPACE_OUTBOX_DSN, which this cheap run does not set (the SQLite outbox in tmp_path).
        json={"parameters": {"out": str(out), "profile": None}},
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(PREFECT), "worker", "start", "--pool", pool, "--run-once"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = worker.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    deadline = time.monotonic() + 60
    while True:
        state = api(env, "GET", f"/flow_runs/{run['id']}")["state"]
        if state["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            break
        assert time.monotonic() < deadline, f"run still {state['type']}; worker said {output!r}"
        time.sleep(1)
    assert state["type"] == "COMPLETED", f"{state}; worker said {output.decode(errors='replace')}"
    result = (out / "alerts").exists()
    assert result, "the delivery run did not use the outbox it was given"


@pytest.mark.slow
def test_deployments_on_a_prefect_server_with_sqlite(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with prefect_server(home, f"sqlite+aiosqlite:///{home / 'prefect.db'}") as env:
        register_and_run(env, tmp_path)


@pytest.fixture
def throwaway_postgres() -> Iterator[str]:
    """A new database on the machine's PostgreSQL (trust auth), dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    name = f"geospace_prefect_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
@pytest.mark.services
def test_deployments_on_a_prefect_server_with_postgresql(
    tmp_path: Path, throwaway_postgres: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with prefect_server(home, throwaway_postgres) as env:
        register_and_run(env, tmp_path)
