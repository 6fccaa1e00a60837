"""The ``geospace`` command line: build the demo city, run flows, deliver and operate alerts.

Exit codes (DESIGN section 8): 0 success (DATA_GAP included), 2 invalid input, 1 failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from core.errors import GeospaceError, InvalidInputError
from flows import cli_alerts
from flows.runtime import prepare_environment


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write YYYY-MM-DD") from err


def _cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo import run_demo

    return run_demo(out_dir=args.out, small=args.small, build_only=args.build_only)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise InvalidInputError(
            f"--end {args.end} is before --start {args.start}; give an end date on or after the start"
        )
    if args.process == "vegetation":
        from flows.vegetation_inputs import resolve_inputs

        # Invalid input exits 2 here, before Prefect is imported: nothing is written under --out.
        resolve_inputs(args.profile, args.out, args.aoi)
        # Prefect creates its home (PREFECT_HOME, under --out) at import, but not its parents.
        args.out.mkdir(parents=True, exist_ok=True)
        from flows.vegetation import run_vegetation_cli

        return run_vegetation_cli(
            profile=args.profile, start=args.start, end=args.end, out_dir=args.out, aoi=args.aoi
        )
    raise InvalidInputError(
        f"process {args.process!r} is not available in this version; available: vegetation"
    )


def _add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        help="folder for products, run manifests and the default SQLite outbox (default ./out)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``geospace`` command."""
    parser = argparse.ArgumentParser(
        prog="geospace",
        description="Satellite data to work in a city's queues (irrigation, deformation, heat).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo", help="build the synthetic Vienna demo city and run the flows on it"
    )
    demo.add_argument("--small", action="store_true", help="a ~5 x 5 km demo around the centre")
    demo.add_argument("--build-only", action="store_true", help="build the demo data, run no flow")
    _add_out(demo)
    demo.set_defaults(handler=_cmd_demo)

    run = sub.add_parser("run", help="run one business flow for a period")
    run.add_argument("process", choices=["vegetation", "heat", "deformation"])
    run.add_argument(
        "--profile", required=True, help="profile name (vienna-demo, vienna) or YAML path"
    )
    run.add_argument("--start", required=True, type=_date, help="first day, YYYY-MM-DD")
    run.add_argument("--end", required=True, type=_date, help="last day, YYYY-MM-DD (inclusive)")
    run.add_argument("--aoi", type=Path, default=None, help="GeoJSON AOI overriding the profile's")
    _add_out(run)
    run.set_defaults(handler=_cmd_run)

    serve = sub.add_parser("serve", help="run the flows on their schedules (Prefect serve)")
    serve.add_argument("--profile", default="vienna-demo", help="profile name or YAML path")
    _add_out(serve)
    serve.set_defaults(handler=_cmd_serve)

    bench = sub.add_parser("bench", help="run the benchmarks of a source checkout (bench/)")
    bench.add_argument("only", nargs="*", help="benchmark names (default: all)")
    _add_out(bench)
    bench.set_defaults(handler=_cmd_bench)

    cli_alerts.register(sub, _add_out)
    return parser


def _cmd_serve(args: argparse.Namespace) -> int:
    from core.profile import load_profile
    from flows.serve import serve_flows

    load_profile(args.profile, out_dir=args.out)  # invalid profile: exit 2 before serving
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
    return subprocess.run(command, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geospace`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prepare_environment(args.out)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except GeospaceError as err:
        print(f"geospace: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("geospace: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
