"""The ``geospace`` command line: build the demo city, run flows, deliver and operate alerts.

Exit codes (DESIGN section 8, README): 0 success (DATA_GAP included), 2 invalid input, 1 failure
(a source, sink or the disk); 130 / 143 stopped by SIGINT / SIGTERM; 141 stdout closed (``| head``).
Every error is one line ``geospace: error: ...`` on stderr; ``--debug`` (anywhere on the command
line) adds the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from core.errors import GeospaceError, InvalidInputError
from flows import cli_alerts, cli_layers
from flows.progress import NullReporter, final_line, make_reporter, outcome_document
from flows.runtime import (
    Terminated,
    check_out_dir,
    install_signal_handlers,
    prepare_environment,
    start_watchdog,
)
from indices.calendar import FIRST_SUPPORTED, LAST_SUPPORTED


def _date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from err
    if not FIRST_SUPPORTED <= day <= LAST_SUPPORTED:
        raise argparse.ArgumentTypeError(
            f"{text}: outside the supported dates {FIRST_SUPPORTED}..{LAST_SUPPORTED}"
        )
    return day


def _seed(text: str) -> int:
    """``--seed``: a non-negative integer (each one a different demo city; DESIGN section 7)."""
    try:
        seed = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer; give a non-negative whole number such as 7"
        ) from err
    if seed < 0:
        raise argparse.ArgumentTypeError(f"{seed} is negative; give a seed of 0 or more")
    return seed


def _cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo import run_demo

    check_out_dir(args.out)  # a read-only or file --out: exit 2 before the build writes anything

    return run_demo(
        out_dir=args.out,
        small=args.small,
        build_only=args.build_only,
        progress=args.progress,
        seed=args.seed,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise InvalidInputError(
            f"--end: {args.end}: before --start {args.start}; give an end on or after the start"
        )
    if args.aoi is not None and args.process != "vegetation":
        raise InvalidInputError(
            f"--aoi: {args.aoi}: only `run vegetation` takes an AOI; `run {args.process}` works "
            "on the profile's aoi.path: set it there or leave --aoi out"
        )
    if args.process == "vegetation":
        from flows.vegetation_inputs import prepare_run

        # Invalid input exits 2 here, before Prefect is imported: nothing is written under --out.
        inputs = prepare_run(args.profile, args.start, args.end, args.out, args.aoi)
        from flows.vegetation import run_vegetation_cli

        return run_vegetation_cli(
            profile=args.profile,
            start=args.start,
            end=args.end,
            out_dir=args.out,
            aoi=args.aoi,
            inputs=inputs,  # resolved once: the flow does not load the profile again
            progress=args.progress,
        )
    if args.process == "heat":
        from flows.heat import run_heat_cli

        return run_heat_cli(
            profile=args.profile,
            start=args.start,
            end=args.end,
            out_dir=args.out,
            progress=args.progress,
        )
    if args.process == "deformation":
        from flows.deformation import run_deformation_cli

        return run_deformation_cli(
            profile=args.profile,
            start=args.start,
            end=args.end,
            out_dir=args.out,
            progress=args.progress,
        )
    raise InvalidInputError(
        f"process {args.process!r} is not available in this version; available: vegetation, heat, deformation"
    )


class _Parser(argparse.ArgumentParser):
    """argparse with geospace's one-line error (argparse prints usage and the error on two)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"geospace: error: {self.prog}: {message}; see `{self.prog} --help`\n")


def _add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        help="folder for products, run manifests and the default SQLite outbox (default ./out)",
    )


def _add_output_mode(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--json`` of the long commands (progress goes to stderr, flows.progress)."""
    parser.add_argument(
        "--quiet", action="store_true", help="print only errors and the final one-line result"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="stdout: one JSON document (exit_status, status, products, counts); messages on stderr",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``geospace`` command."""
    parser = _Parser(
        prog="geospace",
        description="Satellite data to work in a city's queues (irrigation, deformation, heat).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="build the synthetic Vienna demo city and run the flows on it"
    )
    demo.add_argument("--small", action="store_true", help="a ~5 x 5 km demo around the centre")
    demo.add_argument("--build-only", action="store_true", help="build the demo data, run no flow")
    demo.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="another demo city of the same kind: planted parks, dates, heat and deformation "
        "sites drawn from this seed (default: the README's demo); truth.json says what was planted",
    )
    _add_out(demo)
    _add_output_mode(demo)
    demo.set_defaults(handler=_cmd_demo)

    run = sub.add_parser("run", help="run one business flow for a period")
    run.add_argument("process", choices=["vegetation", "heat", "deformation"])
    run.add_argument(
        "--profile", required=True, help="profile name (vienna-demo, vienna) or YAML path"
    )
    run.add_argument("--start", required=True, type=_date, help="first day, YYYY-MM-DD")
    run.add_argument("--end", required=True, type=_date, help="last day, YYYY-MM-DD (inclusive)")
    run.add_argument(
        "--aoi",
        type=Path,
        default=None,
        help="GeoJSON AOI overriding the profile's (vegetation only)",
    )
    _add_out(run)
    _add_output_mode(run)
    run.set_defaults(handler=_cmd_run)

    serve = sub.add_parser("serve", help="run the flows on their schedules (Prefect serve)")
    serve.add_argument("--profile", default="vienna-demo", help="profile name or YAML path")
    _add_out(serve)
    serve.set_defaults(handler=_cmd_serve)

    bench = sub.add_parser("bench", help="run the benchmarks of a source checkout (bench/)")
    bench.add_argument("only", nargs="*", help="benchmark names (default: all)")
    bench.add_argument("--quick", action="store_true", help="small settings, under 5 minutes")
    _add_out(bench)
    _add_output_mode(bench)
    bench.set_defaults(handler=_cmd_bench)

    backtest = sub.add_parser(
        "backtest", help="replay a past period through the flows and rules, judge against truth"
    )
    backtest.add_argument("--profile", required=True, help="profile name or YAML path")
    backtest.add_argument(
        "--start", required=True, type=_date, help="first day (irrigation: window ends), YYYY-MM-DD"
    )
    backtest.add_argument("--end", required=True, type=_date, help="last day, YYYY-MM-DD")
    backtest.add_argument(
        "--truth", type=Path, default=None,
        help="demo truth.json or CSV subject_id,product,start,end (default: the demo's truth.json)",
    )  # fmt: skip
    backtest.add_argument(
        "--rules", type=Path, default=None,
        help="folder (or one file) of rule YAMLs replacing the built-in ones of the same name",
    )  # fmt: skip
    backtest.add_argument(
        "--compare-rules", type=Path, default=None,
        help="a second rule folder or file: both run, the report compares them side by side",
    )  # fmt: skip
    backtest.add_argument(
        "--products", default="irrigation",
        help="comma list of irrigation, heat, deformation (default irrigation; heat: a period of "
        "forecast issue days; deformation: one covering the EGMS releases' years)",
    )  # fmt: skip
    _add_out(backtest)
    backtest.set_defaults(handler=_cmd_backtest)

    cli_alerts.register(sub, _add_out)
    cli_layers.register(sub, _add_out)
    return parser


def _cmd_backtest(args: argparse.Namespace) -> int:
    from flows.backtest import run_backtest_cli

    return run_backtest_cli(
        profile=args.profile, start=args.start, end=args.end, out_dir=args.out,
        truth=args.truth, rules=args.rules, compare_rules=args.compare_rules,
        products=tuple(p.strip() for p in args.products.split(",") if p.strip()),
    )  # fmt: skip


def _cmd_serve(args: argparse.Namespace) -> int:
    from core.profile import load_profile

    check_out_dir(args.out)  # a file or read-only --out: exit 2, not an OSError at mkdir
    load_profile(args.profile, out_dir=args.out)  # invalid profile: exit 2 before serving
    args.out.mkdir(parents=True, exist_ok=True)  # Prefect's home (OUT/.prefect) lives in it
    from flows.serve import serve_flows

    return serve_flows(profile=args.profile, out_dir=args.out)


def _cmd_bench(args: argparse.Namespace) -> int:
    import subprocess

    script = Path(__file__).resolve().parents[1] / "bench" / "run_all.py"
    if not script.is_file():
        raise InvalidInputError(
            "geospace bench runs the benchmarks of a source checkout; bench/run_all.py was not "
            "found next to this installation: run it from a clone (make bench)"
        )
    command = [sys.executable, str(script), "--out", str(args.out / "bench"), *args.only]
    if args.quick:
        command.append("--quick")
    progress: NullReporter = args.progress
    progress.stage("benchmarks (bench/run_all.py)")
    # The benchmarks' own lines go to our stdout, which --quiet / --json redirect.
    sys.stdout.flush()
    try:
        target: int | None = sys.stdout.fileno()
    except (AttributeError, OSError):  # an in-process stdout without a file (tests)
        target = None
    code = subprocess.run(command, check=False, stdout=target).returncode
    progress.done("benchmarks (bench/run_all.py)", f"exit {code}")
    written = [args.out / "bench" / name for name in ("results.json", "RESULTS.md")]
    progress.finish(
        "Completed" if code == 0 else "failed",
        [str(p) for p in written if p.is_file()],
        {},
        f"bench: results in {args.out / 'bench'}",
    )
    return code


# Commands that start flows (and so Prefect's server and Dask): they get the child watchdog.
_SPAWNING = {"run", "demo", "serve", "bench", "backtest"}
# Long commands: progress on stderr, --quiet / --json, a final one-line result (flows.progress).
_REPORTED = {"run", "demo", "bench", "deliver"}


def _command_name(args: argparse.Namespace) -> str:
    return f"run {args.process}" if args.command == "run" else str(args.command)


@contextlib.contextmanager
def _stdout_for(reporter: NullReporter) -> Any:
    """Where the flows' own prints go: stderr under --json (stdout keeps the JSON document),
    nowhere under --quiet, stdout otherwise."""
    if reporter.mode == "json":
        with contextlib.redirect_stdout(sys.stderr):
            yield
    elif reporter.mode == "quiet":
        with (
            open(os.devnull, "w", encoding="utf-8") as sink,
            contextlib.redirect_stdout(sink),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            yield
    else:
        yield


def _run_reported(args: argparse.Namespace, handler: Callable[[argparse.Namespace], int]) -> int:
    """Run a long command with its reporter; print the final line or the JSON document."""
    as_json = bool(getattr(args, "json", False))
    reporter = make_reporter(quiet=bool(getattr(args, "quiet", False)), as_json=as_json)
    args.progress = reporter
    command, out = _command_name(args), str(args.out)
    try:
        with _stdout_for(reporter):
            code = handler(args)
    except BaseException as err:
        reporter.close()
        if as_json and not isinstance(err, SystemExit):
            code = _report(err, debug=os.environ.get("GEOSPACE_DEBUG") == "1")
            message = " ".join(str(err).split()) or type(err).__name__
            doc = outcome_document(command, code, out, reporter, error=message)
            sys.stdout.write(json.dumps(doc, default=str) + "\n")
            raise _Reported(code) from err
        raise
    reporter.close()
    if as_json:
        sys.stdout.write(json.dumps(outcome_document(command, code, out, reporter), default=str))
        sys.stdout.write("\n")
    else:
        print(final_line(command, code, out, reporter))
    return code


class _Reported(Exception):
    """The error was already reported (one line on stderr, the JSON document on stdout)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geospace`` console script."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_in or os.environ.get("GEOSPACE_DEBUG") == "1"
    args_in = [a for a in args_in if a != "--debug"]
    parser = build_parser()
    try:
        args = parser.parse_args(args_in)
    except SystemExit as exc:  # argparse printed its one line (or --help): keep its code
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    saved_environment = dict(os.environ)
    try:
        if (
            args.command in ("run", "demo", "backtest")
            and args.out.exists()
            and not args.out.is_dir()
        ):
            raise InvalidInputError(
                f"--out: {args.out}: is a file, not a folder; give a folder (new or existing)"
            )
        prepare_environment(args.out, debug=debug)
        if args.command in _SPAWNING and argv is None:
            install_signal_handlers()
            start_watchdog()
        handler: Callable[[argparse.Namespace], int] = args.handler
        code = _run_reported(args, handler) if args.command in _REPORTED else handler(args)
        sys.stdout.flush()
        return code
    except BaseException as err:  # every way out: one line, the documented code
        return _report(err, debug=debug)
    finally:
        if argv is not None:
            # Called in-process (tests, notebooks): leave the environment as it was found, so
            # one call's PREFECT_HOME (under its --out) never steers the next call's Prefect.
            os.environ.clear()
            os.environ.update(saved_environment)


def _ignore_unraisable(unraisable: Any) -> None:
    """Drop exceptions raised in ``__del__`` during shutdown after a signal stop."""


def _report(err: BaseException, *, debug: bool) -> int:
    """Print one ``geospace: error:`` line for ``err`` (with ``debug`` the traceback first)."""
    if isinstance(err, SystemExit):
        raise err
    if isinstance(err, _Reported):
        return err.code
    if isinstance(err, BrokenPipeError):
        # stdout closed by the reader (``geospace alerts list | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    if debug:
        traceback.print_exception(err, file=sys.stderr)
    if isinstance(err, GeospaceError):
        message, code = str(err), err.exit_code
    elif isinstance(err, Terminated | KeyboardInterrupt):
        signum = err.signum if isinstance(err, Terminated) else signal.SIGINT
        name = signal.Signals(signum).name
        message = (
            f"{name}: stopped; the window, forecast or release in progress was abandoned (no "
            "partial product is left); rerun the same command to complete it"
        )
        code = 128 + signum
        if not debug:
            # The stop interrupted whatever was running (Prefect's runner, its event loop): what
            # the half-built objects say while the interpreter tears them down is not news.
            sys.unraisablehook = _ignore_unraisable
            warnings.simplefilter("ignore")
    elif isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        message = (
            f"{where}{err.strerror or err}; check free space and permissions of the output folder "
            "(rerun with --debug for the traceback)"
        )
        code = 1
    else:
        message = (
            f"internal error: {type(err).__name__}: {err}; rerun with --debug for the traceback "
            "and report it"
        )
        code = 1
    print(f"geospace: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
