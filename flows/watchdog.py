"""Child-process watchdog of a ``geospace`` process (stdlib only; run as a script, not imported).

``python -I -S flows/watchdog.py PID``: while process PID lives, remember every descendant it has
(Prefect's ephemeral API server, Dask workers, ...) by pid and start time; once PID is gone (normal
exit, a signal, even SIGKILL), send SIGTERM to the remembered processes that still run, SIGKILL
after a grace period, and exit. Start times guard against a reused pid. It ignores SIGINT and
SIGTERM sent to its process group, so it outlives the parent long enough to clean up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

POLL_S = 0.25
GRACE_S = 3.0


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of ``pid``, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """pid -> start time of every live descendant of ``root``."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = _stat(int(name))
            if info is not None:
                children.setdefault(info[0], []).append(int(name))
                starts[int(name)] = info[1]
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child != os.getpid() and child not in found:
                found[child] = starts[child]
                todo.append(child)
    return found


def _same(pid: int, start: int) -> bool:
    info = _stat(pid)
    return info is not None and info[1] == start


def main(argv: list[str]) -> int:
    parent = int(argv[1])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    seen: dict[int, int] = {}
    while os.getppid() == parent and _stat(parent) is not None:
        seen.update(_descendants(parent))
        time.sleep(POLL_S)
    alive = {p: s for p, s in seen.items() if _same(p, s)}
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 0.0)):
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_same(p, s) for p, s in alive.items()):
            time.sleep(0.1)
        alive = {p: s for p, s in alive.items() if _same(p, s)}
        if not alive:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
