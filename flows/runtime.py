"""Process-level settings for running flows: Prefect offline and silent, GDAL and Dask local.

Called once by the CLI before Prefect is imported (settings are read inside flows, never at import).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError, SourceUnavailableError

# Prefect must never phone home (DESIGN "Pitfalls"): the server's telemetry heartbeat and the client's.
OFFLINE_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_UI_ENABLED": "false",
}


def retry_if_source_unavailable(task: object, run: object, state: Any) -> bool:
    """Prefect ``retry_condition_fn`` of the loading tasks: retry only a transient failure (the
    source was unavailable), never an input error."""
    return isinstance(state.result(raise_on_failure=False), SourceUnavailableError)


def prepare_environment(out_dir: Path, *, debug: bool = False) -> None:
    """Set the environment a geospace process needs; explicit user settings are kept.

    Without ``debug`` Prefect logs only critical records: an operator gets geospace's one-line
    messages, not Prefect's tracebacks of a failed task (``--debug`` shows everything).
    """
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    # Prefect's ephemeral server keeps its SQLite database under the output folder, not in $HOME.
    os.environ.setdefault("PREFECT_HOME", str((out_dir / ".prefect").resolve()))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "DEBUG" if debug else "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    # stackstac 0.5.1 uses affine's deprecated `*` on every stack: noise for an operator.
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module="stackstac")
    warnings.formatwarning = _one_line_warning


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """Warnings for an operator: one line, the class and the message, no source excerpt."""
    return f"geospace: warning: {category.__name__}: {message}\n"


def check_out_dir(out_dir: Path) -> Path:
    """``--out`` as a folder geospace can write: existing and writable, or creatable (exit 2).

    Nothing is created here: a run creates the folder only after every input was checked.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(
            f"--out: {out}: is a file, not a folder; give a folder (new or existing)"
        )
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InvalidInputError(
            f"--out: {out}: {probe} is a file, so the folder cannot be created; give another path"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InvalidInputError(
            f"--out: {out}: {probe} is not writable (read-only or no permission); "
            "give a folder you can write to"
        )
    return out


def set_up_out_dir(out_dir: Path, *, dsn: str | None) -> None:
    """Set up ``--out`` for a run whose inputs were all checked, before Prefect starts.

    Create the folder and its outbox (a quiet run leaves an empty one, so ``alerts list`` prints
    ``[]`` and a missing outbox always means a folder that never held a run), and delete the
    staging files a killed run left behind (files of a run still alive are kept).
    """
    from alerts.outbox.commands import ensure_outbox
    from alerts.products.staging import clean_stale_staging

    out_dir.mkdir(parents=True, exist_ok=True)
    ensure_outbox(out_dir, dsn=dsn)
    clean_stale_staging(out_dir)


class Terminated(BaseException):
    """SIGTERM or SIGINT reached the process: unwind (abandoning the window in progress)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum
        self.name = signal.Signals(signum).name


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated(signum)


def install_signal_handlers() -> None:
    """SIGTERM and SIGINT raise :class:`Terminated` in the main thread (exit 143 / 130)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _raise_terminated)


def start_watchdog() -> subprocess.Popen[bytes] | None:
    """Start :mod:`flows.watchdog` for this process: no child outlives it, even after SIGKILL.

    Linux only (it reads /proc); elsewhere nothing is started.
    """
    if not os.path.isdir("/proc/self"):
        return None
    script = Path(__file__).with_name("watchdog.py")
    return subprocess.Popen(
        [sys.executable, "-I", "-S", str(script), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
