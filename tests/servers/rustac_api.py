"""A real STAC API on 127.0.0.1: ``rustac serve`` (memory backend) on an item collection file.

Its memory backend applies bbox, datetime, collections and paging but ignores property filters
(``eo:cloud_cover``): DESIGN section 3, "Pitfalls".
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def rustac_executable() -> str | None:
    """``rustac`` beside the running Python (the project venv), else on PATH."""
    beside = Path(sys.executable).with_name("rustac")
    return str(beside) if beside.exists() else shutil.which("rustac")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RustacApi:
    """A running ``rustac serve`` process."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_rustac(items: list[dict[str, Any]], workdir: Path, timeout_s: float = 30.0) -> RustacApi:
    """Serve ``items`` (collections created from their ``collection`` field); wait until healthy."""
    exe = rustac_executable()
    if exe is None:
        raise RuntimeError("rustac is not installed in the venv (pip install rustac)")
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "items.json"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    port = free_port()
    log = workdir / "rustac.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [exe, "serve", str(source), "--create-collections", "-a", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    api = RustacApi(process=process, port=port, log=log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rustac serve exited: {log.read_text()}")
        if _healthy(port):
            return api
        time.sleep(0.05)
    api.stop()
    raise RuntimeError(f"rustac serve not healthy after {timeout_s} s: {log.read_text()}")


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()
