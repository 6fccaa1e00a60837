"""Progress and feedback of the long commands (issue 13): ``--json``, ``--quiet``, a TTY, plain lines.

The runs are ``geospace run deformation`` on the small demo city (in-process, on the session's
Prefect server): a period without an EGMS release costs a second or two, the two demo releases a
few more. The reporter itself is checked on its own for the rich bars.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from eo.demo.layout import DemoLayout
from flows.cli import main
from flows.progress import JSON_KEYS, Reporter

NO_RELEASE = ["--start", "2017-01-01", "--end", "2017-12-31"]  # the demo's releases end 2022, 2023
RELEASES = ["--start", "2018-01-01", "--end", "2023-12-31"]

pytestmark = pytest.mark.slow


class _Terminal(io.StringIO):
    """stderr as a terminal would be: rich draws its bars on it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def out(tmp_path: Path, demo_small: DemoLayout) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "demo-city").symlink_to(demo_small.root, target_is_directory=True)
    return folder


def _deformation(out: Path, *extra: str) -> list[str]:
    return ["run", "deformation", "--profile", "vienna-demo", "--out", str(out), *extra]


def test_json_is_one_document_with_the_documented_keys(
    out: Path, prefect_server: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(_deformation(out, *RELEASES, "--json"))
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # the whole of stdout is one JSON document
    assert rc == 0 and doc["exit_status"] == 0, (doc, captured.err)
    assert set(JSON_KEYS) <= set(doc)
    assert doc["command"] == "run deformation" and doc["status"] == "Completed"
    expected = sorted(str(p) for p in (out / "deformation").iterdir() if p.is_dir())
    assert sorted(doc["products"]) == expected and len(expected) == 2
    assert doc["counts"]["releases"] == 2
    # the flow's own report and the stage lines went to stderr, plain (no bars: not a TTY)
    assert "releases evaluated and products written" in captured.err
    assert "\x1b[" not in captured.err


def test_json_of_invalid_input_still_parses_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["run", "deformation", "--profile", "no-such-city", "--out", str(tmp_path / "o"),
               *NO_RELEASE, "--json"])  # fmt: skip
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert rc == 2 and doc["exit_status"] == 2 and doc["status"] == "failed"
    assert "no-such-city" in doc["error"]
    assert captured.err.count("geospace: error:") == 1


def test_quiet_prints_only_the_final_line(
    out: Path, prefect_server: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(_deformation(out, *NO_RELEASE, "--quiet"))
    captured = capsys.readouterr()
    assert rc == 0
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 1, captured.out
    assert lines[0].startswith("geospace run deformation: DATA_GAP"), lines
    assert str(out) in lines[0]


def test_plain_run_ends_with_a_summary_of_where_the_products_are(
    out: Path, prefect_server: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(_deformation(out, *NO_RELEASE))
    captured = capsys.readouterr()
    assert rc == 0
    assert "geospace: releases evaluated and products written (0) ..." in captured.err
    last = captured.out.splitlines()[-1]  # the DATA_GAP note is the product of a run without one
    assert last.startswith("geospace run deformation: DATA_GAP; 1 product"), last


def test_a_terminal_shows_progress_bars(
    out: Path, prefect_server: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    rc = main(_deformation(out, *NO_RELEASE))
    text = terminal.getvalue()
    assert rc == 0
    assert "\x1b[" in text  # drawn by rich, not line by line
    assert "releases evaluated and products written" in text
    assert "0/0" in text  # the bar's count when it ended (no release in the period)


def test_reporter_modes_on_their_own() -> None:
    bars = _Terminal()
    reporter = Reporter("tty", bars)
    reporter.stage("windows", 3)
    for _ in range(3):
        reporter.advance("windows")
    callback = reporter.callback("decoding")
    callback(0, 4)
    callback(4, 4)
    reporter.done("decoding", "8 scenes")
    reporter.done("windows")
    reporter.close()
    assert "3/3" in bars.getvalue() and "4/4" in bars.getvalue()
    assert "decoding: 8 scenes" in bars.getvalue()

    quiet = io.StringIO()
    silent = Reporter("quiet", quiet)
    silent.stage("windows", 1)
    silent.message("hello")
    silent.done("windows")
    assert quiet.getvalue() == ""
    with pytest.raises(ValueError, match="progress mode"):
        Reporter("loud", quiet)
