"""``geospace serve`` as a process (issue 12): it starts, lists its schedules, registers the
deployments with Prefect, and stops cleanly on SIGTERM and on SIGINT (exit 143 / 130, no child left
behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flows.serve import SCHEDULES
from tests.flows.test_process_hygiene import _group, _kill_group, _wait_group_gone

SERVING = "Your deployments are being served"
STARTUP_S = 300.0  # Prefect's own server starts first (a subprocess); slow on a busy 2-core box


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_lists_schedules_and_stops_cleanly_on_a_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("geospace")), "serve", "--profile", "vienna-demo",
         "--out", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: the test finds every child
    )  # fmt: skip
    lines: list[str] = []
    serving = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if SERVING in line:
                serving.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not serving.wait(STARTUP_S):
            pytest.fail(
                f"serve not serving (code {proc.poll()}): {lines} {proc.stderr.read() if proc.poll() is not None else ''}"
            )  # type: ignore[union-attr]
        assert len(_group(proc.pid)) >= 2  # geospace and Prefect's server (and the watchdog)
        os.kill(proc.pid, signum)
        code = proc.wait(timeout=120)
        reader.join(timeout=30)
        stderr = proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            _kill_group(proc)
    assert code == 128 + signum, stderr
    assert signum.name in stderr and "Traceback" not in stderr
    assert _wait_group_gone(proc.pid) == []
    # the schedules it listed: every served deployment, cron in the profile's timezone
    listed = [line.strip() for line in lines if line.startswith("  ") and ": " in line]
    assert len(listed) == len(SCHEDULES)
    for spec, line in zip(SCHEDULES, listed, strict=True):
        assert spec.suffix in line
        assert (
            f"cron '{spec.cron}' Europe/Vienna" if spec.cron else f"every {spec.interval_s} s"
        ) in line
