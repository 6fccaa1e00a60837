"""A real ``prefect server start`` on 127.0.0.1 for the infra tests (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from flows.runtime import OFFLINE_ENV

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "infra" / "prefect.yaml"
PREFECT = Path(sys.executable).with_name("prefect")
STARTUP_S = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(home: Path, database_url: str) -> dict[str, str]:
    """Environment of the server, the CLI calls and the worker: isolated home, telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(OFFLINE_ENV)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_DATABASE_CONNECTION_URL=database_url,
        # the test triggers its one run itself; scheduled runs would compete for the worker
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    return env


@contextmanager
def prefect_server(home: Path, database_url: str) -> Iterator[dict[str, str]]:
    """Start ``prefect server start --host 127.0.0.1`` and yield the environment pointing at it."""
    port = free_port()
    env = server_env(home, database_url)
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited {proc.returncode}: {read_log(home)}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not up in {STARTUP_S} s: {read_log(home)}")
            time.sleep(0.5)
        yield {**env, "PREFECT_API_URL": api}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        log.close()


def read_log(home: Path) -> str:
    return (home / "server.log").read_text(errors="replace")[-3000:]


def prefect_cli(env: dict[str, str], *args: str, cwd: Path = REPO) -> str:
    """Run ``prefect ARGS`` against the server; raise with its output when it fails."""
    done = subprocess.run(
        [str(PREFECT), "--no-prompt", *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"prefect {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def local_prefect_yaml(folder: Path) -> Path:
    """``infra/prefect.yaml`` with the pull step pointing at this checkout instead of /opt/geospace."""
    doc = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    doc["pull"] = [{"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}]
    path = folder / "prefect.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def api(env: dict[str, str], method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, env["PREFECT_API_URL"] + path, timeout=30, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None
