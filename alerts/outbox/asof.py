"""The outbox's clock, as of a replayed time (DESIGN section 5: expiry and approval read it).

A replay (the demo's 2022 season, a backfill) decides bulletins as of a past time. If the outbox read
the wall clock, every such bulletin would expire at once (its onset is years ago) and nobody could
approve it. A run that replays sets the folder's **as-of time**: ``OUT/alerts/clock.json`` holds the
replayed instant and the wall time it was set; from then on the outbox of that folder reads
``as_of + (now - set_at)``, so time still flows (leases, retries, a person approving an hour later)
from the replayed instant. Without the file the outbox reads the wall clock. Setting an earlier
as-of time than the stored one keeps the later (a replay never moves the clock backwards).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

CLOCK_NAME = "clock.json"


def clock_path(out_dir: str | Path) -> Path:
    """``OUT/alerts/clock.json``."""
    return Path(out_dir) / "alerts" / CLOCK_NAME


def _epoch(when: datetime) -> float:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def read_as_of(out_dir: str | Path) -> tuple[float, float] | None:
    """(as_of, set_at) POSIX seconds of the folder's replay clock, or None (wall clock)."""
    path = clock_path(out_dir)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return float(doc["as_of"]), float(doc["set_at"])
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (ValueError, KeyError, TypeError):
        return None  # a damaged clock file falls back to the wall clock


def set_as_of(
    out_dir: str | Path, as_of: datetime, *, wall: Callable[[], float] = time.time
) -> float:
    """Set the folder's outbox clock to ``as_of`` (naive = UTC) now; returns the effective as-of.

    The clock never moves backwards: an earlier ``as_of`` than the current outbox time is ignored.
    """
    now = wall()
    target = _epoch(as_of)
    current = read_as_of(out_dir)
    if current is not None:
        target = max(target, current[0] + (now - current[1]))
    path = clock_path(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    doc = {
        "as_of": target,
        "set_at": now,
        "as_of_iso": datetime.fromtimestamp(target, UTC).isoformat(timespec="seconds"),
        "note": "outbox clock of a replay: time = as_of + (wall - set_at); delete to use the wall clock",
    }
    temp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return target


def outbox_clock(
    out_dir: str | Path | None, *, wall: Callable[[], float] = time.time
) -> Callable[[], float]:
    """The clock of the outbox under ``out_dir``: the replay clock if one is set, else ``wall``."""
    if out_dir is None:
        return wall
    folder = Path(out_dir)

    def clock() -> float:
        state = read_as_of(folder)
        now = wall()
        return now if state is None else state[0] + (now - state[1])

    return clock
