"""``geospace alerts list|show|approve|reject|retry|health`` and ``geospace deliver``.

With ``--json`` stdout carries only the JSON document; messages go to stderr. The PostgreSQL
outbox is used when ``--dsn`` or ``GEOSPACE_OUTBOX_DSN`` is set; sink configuration comes from
``--sinks`` (JSON text or file) or ``GEOSPACE_SINKS``; credentials only from the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alerts.sinks.urls import check_sink_urls
from core.errors import InvalidInputError

AddOut = Callable[[argparse.ArgumentParser], None]


def _default_add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (./out)")


# SQLite and PostgreSQL ids are signed 64-bit integers.
_MAX_ID = 2**63 - 1


def _revision_id(text: str) -> int:
    """A revision id: a whole number 1..2**63-1 (argparse turns the error into exit 2)."""
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a revision id; give a number") from err
    if not 1 <= value <= _MAX_ID:
        raise argparse.ArgumentTypeError(
            f"{text}: out of range: revision ids are 1..{_MAX_ID}; see `geospace alerts list`"
        )
    return value


def _person(text: str) -> str:
    """A name for ``--by``: printable, no control characters (they would be stored as given)."""
    name = text.strip()
    if not name or any(not ch.isprintable() for ch in name):
        raise argparse.ArgumentTypeError(
            f"{text!r}: empty or with control characters; give the person's name as plain text"
        )
    return name


def _common(parser: argparse.ArgumentParser, add_out: AddOut) -> None:
    add_out(parser)
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    parser.add_argument("--dsn", default=None, help="PostgreSQL outbox DSN")


def register(sub: Any, add_out: AddOut | None = None) -> None:
    """Add ``alerts`` (with its actions) and ``deliver`` to the ``geospace`` sub-commands."""
    add_out = add_out or _default_add_out
    alerts = sub.add_parser("alerts", help="list and operate alert revisions in the outbox")
    actions = alerts.add_subparsers(dest="action", required=True)
    for name, help_text in (
        ("list", "one line per revision"),
        ("show", "one revision with its deliveries"),
        ("approve", "approve a pending bulletin"),
        ("reject", "reject a pending bulletin"),
        ("retry", "requeue a dead revision"),
        ("health", "queue depth, oldest unsent, dead, redeliveries"),
    ):
        p = actions.add_parser(name, help=help_text)
        _common(p, add_out)
        if name == "list":
            p.add_argument("--status", default=None, help="only revisions with this status")
        elif name != "health":
            p.add_argument("id", type=_revision_id, help="revision id (see `geospace alerts list`)")
        if name in ("approve", "reject"):
            p.add_argument("--by", required=True, type=_person, help="name of the person deciding")
        if name == "reject":
            p.add_argument("--reason", default="", help="why it is rejected")
        p.set_defaults(handler=run)
    deliver = sub.add_parser("deliver", help="drain the outbox into the sinks once")
    _common(deliver, add_out)
    deliver.add_argument("--sinks", default=None, help="sink configuration: JSON text or file")
    deliver.add_argument(
        "--profile", default=None, help="take the sinks from this profile (name or YAML path)"
    )
    deliver.add_argument(
        "--quiet", action="store_true", help="print only errors and the final one-line result"
    )
    deliver.set_defaults(handler=run, action="deliver")


def _sink_config(text: str | None) -> dict[str, Any] | None:
    """Sink configuration from ``--sinks`` or ``GEOSPACE_SINKS``: JSON text or a JSON file."""
    source = "--sinks" if text else "GEOSPACE_SINKS"
    text = text or os.environ.get("GEOSPACE_SINKS")
    if not text:
        return None
    if not text.lstrip().startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise InvalidInputError(
                f"{source}: {text}: neither JSON text nor an existing file; give a JSON object "
                'like \'{"files": {"type": "files"}}\' or the path of a JSON file'
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidInputError(f"{source}: {path}: cannot be read ({err})") from err
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInputError(
            f"{source}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
            "fix the JSON"
        ) from err
    if not isinstance(config, dict) or not all(isinstance(v, dict) for v in config.values()):
        raise InvalidInputError(
            f"{source}: must be a JSON object of sink name -> options object, e.g. "
            '\'{"files": {"type": "files"}}\''
        )
    return dict(config)


_CHANGES_STATE = ("approve", "reject", "retry", "deliver")


def _dispatch(args: argparse.Namespace) -> Any:
    """Run the action; an action that changes what the dashboard shows rewrites it."""
    result = _operate(args)
    if args.action in _CHANGES_STATE:
        from flows.artifacts import refresh_dashboard

        refresh_dashboard(args.out, dsn=args.dsn or os.environ.get("GEOSPACE_OUTBOX_DSN"))
    return result


def _operate(args: argparse.Namespace) -> Any:
    # Imported here: the operator commands pull in the product writers (geopandas, matplotlib);
    # every other `geospace` command would pay for them at start (issue 10).
    from alerts.outbox import commands as ops

    out = args.out
    dsn = args.dsn or os.environ.get("GEOSPACE_OUTBOX_DSN")
    action = args.action
    if action == "list":
        return ops.list_revisions(out, status=args.status, dsn=dsn)
    if action == "show":
        return ops.show(out, args.id, dsn=dsn)
    if action == "approve":
        return ops.approve(out, args.id, args.by, dsn=dsn)
    if action == "reject":
        return ops.reject(out, args.id, args.by, args.reason, dsn=dsn)
    if action == "retry":
        return ops.retry(out, args.id, dsn=dsn)
    if action == "health":
        return ops.health(out, dsn=dsn)
    config = _sink_config(args.sinks)
    hosts: frozenset[str] | None = None
    if args.profile is not None:
        from alerts.sinks import profile_sinks
        from core.profile import load_profile

        profile_config, hosts = profile_sinks(load_profile(args.profile, out_dir=out))
        if config is None:
            config = profile_config
    check_sink_urls(config or {}, hosts)
    return ops.deliver(out, sink_config=config, dsn=dsn)


def _print_text(action: str, result: Any) -> None:
    if action == "list":
        for r in result:
            print(
                f"{r['id']:>5}  {r['status']:<16} {r['hazard']:<12} {r['subject']:<24} "
                f"L{r['level']} rev {r['revision']} {r['msg_type']:<6} {r['message_key'][:12]}"
            )
        return
    print(json.dumps(result, indent=2, default=str))


def run(args: argparse.Namespace) -> int:
    """Execute one parsed command; errors propagate as GeospaceError to the caller's handler."""
    progress = getattr(args, "progress", None)  # geospace deliver: the CLI's reporter
    if progress is not None and args.action == "deliver":
        # No line before: an invalid --sinks or a missing outbox stays one error line.
        result = _dispatch(args)
        sent, dead = int(result.get("sent", 0)), int(result.get("dead", 0))
        progress.done("delivering the outbox", f"{sent} sent, {dead} dead")
        counts = {k: int(result[k]) for k in ("sent", "retried", "dead") if k in result}
        progress.finish(
            "Completed" if not result.get("errors") else "errors",
            [str(args.out / "alerts")],
            counts,
            f"deliver: {sent} message(s) sent, {dead} dead",
        )
        progress.details = result
        if progress.mode in ("json", "quiet"):
            return 0  # the CLI prints the JSON document or the one-line result
        _print_text(args.action, result)
        return 0
    result = _dispatch(args)
    if args.json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        _print_text(args.action, result)
    return 0
