"""Relay process entry point: ``python -m alerts.outbox --out OUT [--dsn DSN] [--sinks JSON]``.

Light on purpose (no Prefect, no xarray): it starts in a fraction of a second, so a supervisor
can restart it after a crash. SIGTERM/SIGINT stop it after the current batch; SIGKILL is safe too
(unconfirmed claims are redelivered once their lease expires). The PostgreSQL DSN may also come
from ``GEOSPACE_OUTBOX_DSN``; sink credentials come from the environment variables named in the
sink configuration. When ``OUT/index.html`` exists (a run wrote the operations dashboard), the
relay rewrites it whenever the queue goes idle after rows were sent, retried or went dead, so the
page shows what was delivered (its map modules are imported then, not at start-up).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from alerts.outbox.relay import Backoff, check_relay_settings, run_relay
from alerts.outbox.store import open_store
from alerts.sinks import build_sinks
from alerts.sinks.routing import Routing
from alerts.sinks.urls import check_sink_urls
from core.errors import GeospaceError, InvalidInputError


class _Parser(argparse.ArgumentParser):
    """argparse with the relay's one-line error (argparse prints usage and the error on two)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"relay: error: {message}; see `{self.prog} --help`\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the relay."""
    p = _Parser(prog="python -m alerts.outbox", description=__doc__)
    p.add_argument("--out", default="out", help="output folder holding alerts/outbox.sqlite")
    p.add_argument("--dsn", default=None, help="PostgreSQL DSN (default $GEOSPACE_OUTBOX_DSN)")
    p.add_argument("--sinks", default=None, help="sink configuration: JSON text or a JSON file")
    p.add_argument("--lease", type=float, default=30.0, help="lease of a claim, seconds")
    p.add_argument("--max-attempts", type=int, default=8)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--backoff", type=float, default=1.0, help="first retry delay, seconds")
    p.add_argument("--backoff-cap", type=float, default=300.0, help="longest retry delay, s")
    p.add_argument("--poll", type=float, default=0.5, help="idle poll interval, seconds")
    p.add_argument("--retention", type=float, default=7 * 86400.0, help="keep sent rows, s")
    p.add_argument("--once", action="store_true", help="drain what is ready, then exit")
    p.add_argument(
        "--no-dead-notices",
        action="store_true",
        help="do not queue an operator notice when a row goes dead (on by default)",
    )
    return p.parse_args(argv)


def load_sink_config(text: str | None) -> dict[str, Any] | None:
    """Sink configuration from JSON text or the path of a JSON file (None: default files sink)."""
    if not text:
        return None
    path = Path(text)
    try:
        raw = path.read_text() if not text.lstrip().startswith("{") and path.is_file() else text
        config = json.loads(raw)
    except (OSError, ValueError) as err:
        raise InvalidInputError(
            f"--sinks: {text[:60]}: not a JSON object nor a readable JSON file ({err}); "
            'give e.g. \'{"files": {"type": "files"}}\''
        ) from err
    if not isinstance(config, dict):
        raise InvalidInputError("--sinks: must be a JSON object of sink name -> options")
    return dict(config)


def dashboard_refresher(out: str, dsn: str | None) -> Callable[[], None]:
    """Rewrite ``OUT/index.html`` (keeping its title) if a run wrote one; else do nothing."""

    def refresh() -> None:
        if not (Path(out) / "index.html").is_file():
            return  # no run wrote a dashboard in this folder (e.g. a relay beside a remote outbox)
        from alerts.products.dashboard import page_title, write_dashboard

        write_dashboard(out, dsn=dsn, title=page_title(out))

    return refresh


def main(argv: list[str] | None = None) -> int:
    """Run the relay until signalled (or until idle with ``--once``); return the exit code."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s relay %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        check_relay_settings(
            lease_s=args.lease, max_attempts=args.max_attempts, batch=args.batch,
            backoff=Backoff(args.backoff, args.backoff_cap), poll_s=args.poll,
            retention_s=args.retention,
        )  # fmt: skip
        config = load_sink_config(args.sinks)
        check_sink_urls(config or {})  # https only (http to loopback test servers)
        sinks = build_sinks(config, args.out)
        dsn = args.dsn or os.environ.get("GEOSPACE_OUTBOX_DSN")
        # SQLite: the outbox a run created; a missing one (a typo in --out) is refused, never
        # replaced by a fresh empty outbox that a supervised relay would watch forever.
        store = open_store(args.out, dsn=dsn, create=False)
        store.routing = Routing.from_config(config) if config else None  # dead-row notices
        stats = run_relay(
            store, sinks, lease_s=args.lease, max_attempts=args.max_attempts, batch=args.batch,
            once=args.once, backoff=Backoff(args.backoff, args.backoff_cap), poll_s=args.poll,
            retention_s=args.retention, stop=stop, dead_notices=not args.no_dead_notices,
            on_change=dashboard_refresher(args.out, dsn),
        )  # fmt: skip
    except GeospaceError as err:
        print(f"relay: error: {' '.join(str(err).split())}", file=sys.stderr)
        return err.exit_code
    except OSError as err:  # disk full, read-only folder, permissions: one line, exit 1
        where = f"{err.filename}: " if err.filename else ""
        print(f"relay: error: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    print(json.dumps({k: v for k, v in stats.__dict__.items() if k != "errors"}))
    for sink in sinks.values():
        sink.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
