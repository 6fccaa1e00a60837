"""Process hygiene (issue 15): ``geospace run`` killed mid-run leaves no process of its group
(Prefect's ephemeral server included), no partial product, and the next run completes cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.flows.conftest import ProfileFactory

PERIOD = ["--start", "2022-08-17", "--end", "2022-08-30"]


def _group(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is ``pgid``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[2]) == pgid and stat[0] != "Z":
            found.append(int(name))
    return found


def _start(profile: Path, out: Path, home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(home)
    script = Path(sys.executable).with_name("geospace")
    return subprocess.Popen(
        [str(script), "run", "vegetation", "--profile", str(profile), "--out", str(out), *PERIOD],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so the test can find its children
    )


def _wait_for_children(proc: subprocess.Popen[bytes], timeout_s: float = 90.0) -> None:
    """Until the run has spawned a child besides the watchdog (Prefect's server)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if len(_group(proc.pid)) >= 3:  # geospace, its watchdog, Prefect's server
            return
        time.sleep(0.2)
    pytest.fail("geospace run never started a child process")


def _wait_group_gone(pgid: int, timeout_s: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _group(pgid):
        time.sleep(0.2)
    return _group(pgid)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGKILL, -9), (signal.SIGTERM, 143)])
def test_killed_run_leaves_no_process_no_partial_product_and_reruns(
    profile_copy: ProfileFactory, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    profile = profile_copy("kill")
    out = tmp_path / "out"
    proc = _start(profile, out, tmp_path / "home")
    _wait_for_children(proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err.decode()
    if sig == signal.SIGTERM:
        text = err.decode()
        assert "geospace: error: SIGTERM: stopped" in text and "Traceback" not in text, text
    left = _wait_group_gone(proc.pid)
    assert left == [], f"processes of the killed run still alive: {left}"
    for manifest in out.glob("vegetation/*/manifest.json"):
        assert manifest.stat().st_size > 0  # a window is complete (manifest last) or absent
    rerun = _start(profile, out, tmp_path / "home")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert _wait_group_gone(rerun.pid) == []
    assert list(out.rglob("*.tmp")) == [], "stale staging files were cleaned by the rerun"
    assert list(out.glob("vegetation/*/manifest.json"))
