"""Process hygiene (issue 15): ``geospace run`` killed mid-run leaves no process of its group
(Prefect's ephemeral server included), no partial product, and the next run completes cleanly."""

from __future__ import annotations

import contextlib
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


def _wait_mid_run(proc: subprocess.Popen[bytes], out: Path, timeout_s: float = 300.0) -> None:
    """Until the run has Prefect's server as a child and has started writing a window."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        # geospace, its watchdog, Prefect's server; and the first window's folder exists
        if len(_group(proc.pid)) >= 3 and any(out.glob("vegetation/*")):
            return
        time.sleep(0.05)
    pytest.fail(f"geospace run ended (code {proc.poll()}) before it could be killed mid-run")


def _wait_group_gone(pgid: int, timeout_s: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _group(pgid):
        time.sleep(0.2)
    return _group(pgid)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Test hygiene: whatever happened, nothing this test started keeps running."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _no_partial_product(out: Path) -> None:
    """Every window folder is complete (its manifest, written last, is there) or holds only
    hidden staging files of the killed run."""
    for folder in out.glob("vegetation/*"):
        visible = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
        assert not visible or (folder / "manifest.json").is_file(), sorted(visible)


def test_killed_runs_leave_no_process_no_partial_product_and_rerun_cleanly(
    profile_copy: ProfileFactory, tmp_path: Path
) -> None:
    profile = profile_copy("kill")
    out = tmp_path / "out"
    for sig, code in ((signal.SIGKILL, -9), (signal.SIGTERM, 143)):
        proc = _start(profile, out, tmp_path / "home")
        try:
            _wait_mid_run(proc, out)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        except BaseException:
            _kill_group(proc)  # the test failed: leave nothing running
            raise
        text = err.decode()
        assert proc.returncode == code, text
        if sig == signal.SIGTERM:
            assert "geospace: error: SIGTERM: stopped" in text and "Traceback" not in text, text
        left = _wait_group_gone(proc.pid)
        if left:
            _kill_group(proc)
        assert left == [], f"processes of the run killed by {sig.name} still alive: {left}"
        _no_partial_product(out)
    rerun = _start(profile, out, tmp_path / "home")
    try:
        _, err = rerun.communicate(timeout=600)
    except BaseException:
        _kill_group(rerun)
        raise
    assert rerun.returncode == 0, err.decode()
    left = _wait_group_gone(rerun.pid)
    if left:
        _kill_group(rerun)
    assert left == [], f"processes of the finished run still alive: {left}"
    assert list(out.rglob("*.tmp")) == [], "stale staging files were cleaned by the rerun"
    assert len(list(out.glob("vegetation/*/manifest.json"))) == 2  # both windows of the period
