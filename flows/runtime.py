"""Process-level settings for running flows: Prefect offline and silent, GDAL and Dask local.

Called once by the CLI before Prefect is imported (settings are read inside flows, never at import).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

# Prefect must never phone home (DESIGN "Pitfalls"): the server's telemetry heartbeat and the client's.
OFFLINE_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_UI_ENABLED": "false",
}


def prepare_environment(out_dir: Path) -> None:
    """Set the environment a geospace process needs; explicit user settings are kept."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value
    # Prefect's ephemeral server keeps its SQLite database under the output folder, not in $HOME.
    os.environ.setdefault("PREFECT_HOME", str((out_dir / ".prefect").resolve()))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
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
