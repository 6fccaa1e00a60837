"""What a long ``geospace`` command tells the person (or script) running it, while it runs.

A :class:`Reporter` is created by the CLI and passed down to the flows as an argument (no global
state): the flows call :meth:`Reporter.stage` when a stage starts (scenes found, decoded, windows
computed, products written), :meth:`Reporter.advance` as it goes and :meth:`Reporter.done` at its
end; eo functions take a plain callback (``progress=``), never the reporter. How it is shown
depends on where the output goes:

``tty``    rich progress bars on stderr (a terminal);
``plain``  one line per stage on stderr (a log file, CI: no bars, no control characters);
``quiet``  nothing while running (``--quiet``: only errors and the final one-line result);
``json``   like ``plain`` on stderr, stdout keeps one JSON document (``--json``).

:class:`NullReporter` is the silent default of every flow called without one (schedules, tests).
The command's outcome (status, products, counts) is recorded with :meth:`Reporter.finish`; the
CLI prints it as the final summary line or the ``--json`` document (:func:`outcome_document`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO

MODES = ("tty", "plain", "quiet", "json")

JSON_KEYS = ("command", "exit_status", "status", "out", "products", "counts", "summary")
"""Keys of the ``--json`` document every long command prints (README, docs/operations.md)."""


@dataclass
class Outcome:
    """What a command produced: its status word, product folders/files and counts."""

    status: str = "Completed"
    products: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    summary: str = ""


class NullReporter:
    """Reports nothing; records the outcome (the default of a flow called without a reporter)."""

    mode = "quiet"

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.details: dict[str, Any] = {}  # a command's own JSON fields (deliver's report)

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage starts (``total`` steps if known)."""

    def advance(self, name: str, steps: int = 1, total: int | None = None) -> None:
        """``steps`` more steps of the stage ``name`` are done (``total`` if it became known)."""

    def done(self, name: str, note: str = "") -> None:
        """The stage ``name`` ended (``note``: what it found, shown on the stage's line)."""

    def message(self, text: str) -> None:
        """A line for the person running the command (not shown by ``quiet``)."""

    def callback(self, name: str) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback for eo functions, feeding the stage ``name``."""

        def report(done: int, total: int) -> None:
            self.advance(name, 0, total)

        return report

    @contextmanager
    def dask(self, name: str) -> Iterator[None]:
        """Count the Dask tasks computed inside the block as steps of the stage ``name``."""
        yield

    def finish(
        self,
        status: str,
        products: list[str] | None = None,
        counts: dict[str, int] | None = None,
        summary: str = "",
    ) -> None:
        """Record one flow's outcome (a demo records one per flow)."""
        self.outcomes.append(Outcome(status, list(products or []), dict(counts or {}), summary))

    def close(self) -> None:
        """Stop any live display (bars)."""


class Reporter(NullReporter):
    """Progress of one command on ``stream`` (stderr) in one of :data:`MODES`."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r}: not one of {', '.join(MODES)}")
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr
        self._started: dict[str, float] = {}
        self._done: dict[str, int] = {}
        self._total: dict[str, int | None] = {}
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}

    # -- display back-ends -------------------------------------------------------------------
    def _line(self, text: str) -> None:
        if self.mode in ("plain", "json", "tty"):
            if self._bars is not None:
                self._bars.console.print(text, markup=False, highlight=False)
            else:
                self.stream.write(f"{text}\n")
                self.stream.flush()

    def _progress(self) -> Any:
        if self._bars is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            console = Console(file=self.stream, force_terminal=True)
            self._bars = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
                # stdout to a file or a pipe stays there; on the same terminal rich keeps the
                # flows' prints above the bars.
                redirect_stdout=sys.stdout.isatty(),
                redirect_stderr=False,
            )
            self._bars.start()
        return self._bars

    # -- the reporter interface --------------------------------------------------------------
    def stage(self, name: str, total: int | None = None) -> None:
        self._started[name] = time.monotonic()
        self._done[name] = 0
        self._total[name] = total
        if self.mode == "tty":
            bars = self._progress()
            self._tasks[name] = bars.add_task(name, total=total)
        elif self.mode in ("plain", "json"):
            size = f" ({total})" if total is not None else ""
            self._line(f"geospace: {name}{size} ...")

    def advance(self, name: str, steps: int = 1, total: int | None = None) -> None:
        if name not in self._started:
            self.stage(name, total)
        self._done[name] = self._done.get(name, 0) + steps
        if total is not None:
            self._total[name] = total
        if self.mode == "tty" and name in self._tasks:
            self._bars.update(self._tasks[name], advance=steps, total=self._total[name])

    def done(self, name: str, note: str = "") -> None:
        if name not in self._started:  # a stage announced only when it ends (no line before)
            self._started[name] = time.monotonic()
            if self.mode == "tty":
                self._tasks[name] = self._progress().add_task(name, total=None)
        elapsed = time.monotonic() - self._started.pop(name)
        count = self._done.pop(name, 0)
        total = self._total.pop(name, None)
        tail = f": {note}" if note else ""
        if self.mode == "tty" and name in self._tasks:
            task = self._tasks.pop(name)
            final = total if total is not None else max(count, 1)
            self._bars.update(task, total=final, completed=final, description=f"{name}{tail}")
        elif self.mode in ("plain", "json"):
            self._line(f"geospace: {name}: done in {elapsed:.0f} s{tail}")

    def message(self, text: str) -> None:
        if self.mode != "quiet":
            self._line(text)

    def callback(self, name: str) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            self.advance(name, done - self._done.get(name, 0), total)

        return report

    @contextmanager
    def dask(self, name: str) -> Iterator[None]:
        if self.mode != "tty":
            yield
            return
        from dask.callbacks import Callback

        reporter = self

        class _Tasks(Callback):  # type: ignore[misc]
            """Dask's local schedulers call these per graph and per finished task."""

            def _start_state(self, dsk: Any, state: Any) -> None:
                reporter.advance(name, 0, (reporter._total.get(name) or 0) + len(dsk))

            def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker: Any) -> None:
                reporter.advance(name, 1)

        if name not in self._started:
            self.stage(name, 0)
        with _Tasks():
            yield

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None


def make_reporter(
    *, quiet: bool = False, as_json: bool = False, stream: TextIO | None = None
) -> Reporter:
    """The reporter of a CLI command: ``--json`` and ``--quiet`` first, else TTY or plain lines."""
    stream = stream if stream is not None else sys.stderr
    if as_json:
        return Reporter("quiet" if quiet else "json", stream)
    if quiet:
        return Reporter("quiet", stream)
    return Reporter("tty" if stream.isatty() else "plain", stream)


def overall_status(outcomes: list[Outcome]) -> str:
    """One status word for a command of several flows: the first not ``Completed`` wins."""
    for outcome in outcomes:
        if outcome.status != "Completed":
            return outcome.status
    return "Completed" if outcomes else "nothing run"


def outcome_document(command: str, code: int, out: str, reporter: NullReporter,
                     error: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The ``--json`` document: :data:`JSON_KEYS` (and ``error`` when the command failed)."""
    products: list[str] = []
    counts: dict[str, int] = {}
    for outcome in reporter.outcomes:
        products += outcome.products
        for key, value in outcome.counts.items():
            counts[key] = counts.get(key, 0) + value
    doc: dict[str, Any] = {
        **reporter.details,
        "command": command,
        "exit_status": code,
        "status": "failed" if error else overall_status(reporter.outcomes),
        "out": out,
        "products": products,
        "counts": counts,
        "summary": [o.summary for o in reporter.outcomes if o.summary],
    }
    if error:
        doc["error"] = error
    return doc


def final_line(command: str, code: int, out: str, reporter: NullReporter) -> str:
    """The one-line result (``--quiet`` prints only this; other modes end with it)."""
    doc = outcome_document(command, code, out, reporter)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(doc["counts"].items()))
    parts = [
        f"geospace {command}: {doc['status']}",
        f"{len(doc['products'])} product(s) under {out}",
    ]
    if counts:
        parts.append(counts)
    return "; ".join(parts)
