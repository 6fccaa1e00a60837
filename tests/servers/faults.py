"""Fault injection shared by the local test servers: N x status, delays, truncated bodies."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "delay", "truncate"]


@dataclass
class Fault:
    """One injected fault for request paths matching ``pattern`` (fnmatch, query ignored).

    ``count`` faulty answers are given, then the path behaves normally; ``count=None`` never
    stops. ``status`` answers carry ``retry_after`` (seconds) when set; ``delay`` waits
    ``delay_s`` before answering normally; ``truncate`` announces the full Content-Length but
    sends only a few bytes and closes the connection.
    """

    pattern: str
    kind: FaultKind
    count: int | None = 1
    status: int = 503
    retry_after: int | None = None
    delay_s: float = 0.0
    methods: frozenset[str] = frozenset({"GET", "HEAD", "POST"})
    min_range_start: int | None = None  # only requests with a Range starting at or after this
    hits: int = 0


@dataclass
class FaultPlan:
    """Thread-safe list of faults plus a log of (method, path, status) of every answer."""

    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.log.clear()

    def take(self, method: str, path: str, range_start: int | None = None) -> Fault | None:
        """The fault to apply to this request (consuming one of its count), or None."""
        bare = path.split("?", 1)[0]
        with self.lock:
            for fault in self.faults:
                if method not in fault.methods or not fnmatch.fnmatch(bare, fault.pattern):
                    continue
                if fault.min_range_start is not None and (
                    range_start is None or range_start < fault.min_range_start
                ):
                    continue
                if fault.count is not None and fault.hits >= fault.count:
                    continue
                fault.hits += 1
                return fault
        return None

    def record(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.log.append((method, path, status))

    def statuses(self, pattern: str = "*") -> list[int]:
        """Statuses answered for paths matching ``pattern``, in order."""
        with self.lock:
            return [s for _, p, s in self.log if fnmatch.fnmatch(p.split("?", 1)[0], pattern)]
