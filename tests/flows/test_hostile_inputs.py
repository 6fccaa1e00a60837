"""Hostile and careless input (issue 15), table-driven: every case asserts the exit code, one
``geospace: error:`` line naming the field or argument, no traceback, nothing written under --out
(not even ``.prefect``). In-process (:func:`flows.cli.main`); no Prefect server is started."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from alerts.outbox.store import open_store
from flows.cli import main
from tests.alerts.outbox_fixtures import make_revision
from tests.flows.conftest import ProfileFactory

PERIOD = ["--start", "2022-08-17", "--end", "2022-08-30"]
# A park in projected coordinates (EPSG:31256 metres) without a 'crs' member.
PROJECTED_PARK = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"park_id": "p1", "name": "Park"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[2000, 340000], [2100, 340000], [2100, 340100], [2000, 340000]]],
            },
        }
    ],
}


def _one_line_error(err: str, code: int, rc: int, needles: tuple[str, ...]) -> None:
    assert rc == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("geospace: error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


# (case id, profile changes, extra CLI arguments, expected needles in the message)
PROFILE_CASES: list[tuple[str, dict[str, Any], list[str], tuple[str, ...]]] = [
    ("cadence-zero", {"vegetation.cadence": "0 d"}, [], ("vegetation.cadence: '0 d'",)),
    ("cadence-negative", {"vegetation.cadence": "-7 d"}, [], ("vegetation.cadence: '-7 d'",)),
    ("window-zero", {"vegetation.window": "0 d"}, [], ("vegetation.window: '0 d'",)),
    ("lease-zero", {"outbox.lease": "0 s"}, [], ("outbox.lease: '0 s'",)),
    ("lease-under-relay-minimum", {"outbox.lease": "0.2 s"}, [], ("outbox.lease: '0.2 s'", "0.5")),
    ("timeout-negative", {"http.timeout": "-1 s"}, [], ("http.timeout: '-1 s'",)),
    ("year-1", {}, ["--start", "0001-01-01", "--end", "0001-01-14"], ("0001-01-01", "supported")),
    ("year-9999", {}, ["--start", "9999-12-01", "--end", "9999-12-31"], ("9999-12-01",)),
    ("year-1900", {}, ["--start", "1900-06-01", "--end", "1900-06-14"], ("1900-06-01",)),
    (
        "reference-years-after-period",
        {},
        ["--start", "2018-06-01", "--end", "2018-06-14"],
        ("vegetation.reference_years", "2019"),
    ),
    ("end-before-start", {}, ["--start", "2022-08-30", "--end", "2022-08-01"], ("--end",)),
    (
        "sink-plain-http",
        {"sinks": [{"kind": "webhook", "url": "http://alerts.example.org/hook"}]},
        [],
        ("sinks.webhook.url", "plain http"),
    ),
    (
        "sink-host-off-allowlist",
        {"sinks": [{"kind": "open311", "url": "https://311.example.org/v2"}]},
        [],
        ("sinks.open311.url", "not on the profile's allowlist.hosts"),
    ),
    ("bad-date", {}, ["--start", "2022-02-30", "--end", "2022-03-01"], ("--start",)),
]


@pytest.mark.parametrize(
    ("changes", "extra", "needles"),
    [pytest.param(c, e, n, id=i) for i, c, e, n in PROFILE_CASES],
)
def test_profile_and_period_errors_exit_2_before_any_work(
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    changes: dict[str, Any],
    extra: list[str],
    needles: tuple[str, ...],
) -> None:
    profile = profile_copy("hostile", **changes)
    out = tmp_path / "out"
    period = extra or PERIOD
    rc = main(["run", "vegetation", "--profile", str(profile), "--out", str(out), *period])
    _one_line_error(capsys.readouterr().err, 2, rc, needles)
    assert not out.exists(), sorted(out.rglob("*"))


def _csv_parks(tmp: Path) -> dict[str, Any]:
    (tmp / "parks.csv").write_text("park_id,name\np1,Park\n")
    return {"layers.parks.path": str(tmp / "parks.csv")}


def _projected_parks(tmp: Path) -> dict[str, Any]:
    (tmp / "parks.geojson").write_text(json.dumps(PROJECTED_PARK))
    return {"layers.parks.path": str(tmp / "parks.geojson")}


LAYER_CASES: list[tuple[str, Callable[[Path], dict[str, Any]], tuple[str, ...]]] = [
    ("csv-as-parks", _csv_parks, ("layers.parks.path", "no geometries")),
    ("projected-without-crs", _projected_parks, ("layers.parks.path", "not longitude/latitude")),
]


@pytest.mark.parametrize(("make", "needles"), [pytest.param(m, n, id=i) for i, m, n in LAYER_CASES])
def test_layers_that_would_give_silent_zero_parks_are_refused(
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], dict[str, Any]],
    needles: tuple[str, ...],
) -> None:
    profile = profile_copy("layer", **make(tmp_path))
    out = tmp_path / "out"
    rc = main(["run", "vegetation", "--profile", str(profile), "--out", str(out), *PERIOD])
    _one_line_error(capsys.readouterr().err, 2, rc, needles)
    assert not out.exists()


def test_paths_of_the_wrong_kind_are_refused(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = profile_copy("paths")
    base = ["run", "vegetation", "--profile", str(profile), *PERIOD]
    rc = main([*base, "--out", str(tmp_path / "o1"), "--aoi", str(tmp_path)])
    _one_line_error(capsys.readouterr().err, 2, rc, ("--aoi", "is a folder"))
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    rc = main([*base, "--out", str(a_file)])
    _one_line_error(capsys.readouterr().err, 2, rc, ("--out", "is a file"))
    rc = main([*base, "--out", str(a_file / "below")])
    _one_line_error(capsys.readouterr().err, 2, rc, ("--out",))
    assert not (tmp_path / "o1").exists()


@contextmanager
def _read_only_folder(path: Path) -> Iterator[Path]:
    """An empty folder nobody may write into: a read-only tmpfs for root (root ignores mode
    bits, but not a read-only file system), mode 0500 for anyone else."""
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o500)
        try:
            yield path
        finally:
            path.chmod(0o700)
        return
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(
            f"root without a read-only mount ({mounted.stderr.strip()}): cannot lock a folder"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_read_only_out_is_refused_before_work(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = profile_copy("ro")
    with _read_only_folder(tmp_path / "locked") as locked:
        for out in (locked, locked / "new"):
            rc = main(["run", "vegetation", "--profile", str(profile), "--out", str(out), *PERIOD])
            _one_line_error(capsys.readouterr().err, 2, rc, ("--out", "not writable"))
        assert list(locked.iterdir()) == []


def test_read_only_commands_never_create_an_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "outt"
    for argv in (
        ["alerts", "list", "--json"],
        ["alerts", "health"],
        ["alerts", "show", "1"],
        ["alerts", "retry", "1"],
        ["deliver"],
    ):
        rc = main([*argv, "--out", str(typo)])
        _one_line_error(capsys.readouterr().err, 2, rc, ("never held a run", str(typo)))
    assert not typo.exists()


def _outbox_with_rows(out: Path) -> Path:
    store = open_store(out)
    store.add_revisions([make_revision(f"seg-{i}") for i in range(3)])
    store.close()
    return out / "alerts" / "outbox.sqlite"


@pytest.mark.parametrize("damage", ["zero-bytes", "garbage", "other-sqlite"])
def test_damaged_outbox_is_refused_with_how_to_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    path = _outbox_with_rows(tmp_path / "out")
    for extra in (path.with_name("outbox.sqlite-wal"), path.with_name("outbox.sqlite-shm")):
        extra.unlink(missing_ok=True)
    if damage == "zero-bytes":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(b"not a database at all" * 100)
    else:
        path.unlink()
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    before = path.read_bytes()
    for argv in (["alerts", "list", "--json"], ["deliver"]):
        rc = main([*argv, "--out", str(tmp_path / "out")])
        _one_line_error(capsys.readouterr().err, 1, rc, ("outbox:", "damaged", "restore"))
    assert path.read_bytes() == before, "a damaged outbox is never rewritten"


@pytest.mark.parametrize(
    ("argv", "code", "needles"),
    [
        (["alerts", "show", "99999999999999999999999"], 2, ("out of range",)),
        (["alerts", "show", "0"], 2, ("out of range",)),
        (["alerts", "show", "abc"], 2, ("not a revision id",)),
        (["alerts", "approve", "1", "--by", "Eve\x1b[2J"], 2, ("control characters",)),
        (["alerts", "reject", "1", "--by", " "], 2, ("--by",)),
        (["deliver", "--sinks", "{not json"], 2, ("--sinks", "not valid JSON")),
        (["deliver", "--sinks", "/nowhere/sinks.json"], 2, ("--sinks", "neither JSON")),
        (["deliver", "--sinks", "[1, 2]"], 2, ("--sinks",)),
        (["deliver", "--sinks", '{"a": 1}'], 2, ("--sinks", "options object")),
        (["run", "heat-wave", "--profile", "x", *PERIOD], 2, ("invalid choice",)),
    ],
)
def test_command_line_errors_are_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    needles: tuple[str, ...],
) -> None:
    out = tmp_path / "out"
    _outbox_with_rows(out)
    listing = sorted(p.name for p in out.rglob("*"))
    try:
        rc = main([*argv, "--out", str(out)])
    except SystemExit as exc:  # argparse exits itself
        rc = int(exc.code or 0)
    _one_line_error(capsys.readouterr().err, code, rc, needles)
    assert sorted(p.name for p in out.rglob("*")) == listing


def test_show_of_a_missing_revision_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _outbox_with_rows(out)
    rc = main(["alerts", "show", "424242", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("geospace: error:") and "Traceback" not in err


def test_debug_adds_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["alerts", "list", "--out", str(tmp_path / "none"), "--debug"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" in err and "geospace: error:" in err


def test_stale_staging_files_of_a_dead_run_are_removed_live_ones_kept(tmp_path: Path) -> None:
    from alerts.products.staging import clean_stale_staging

    folder = tmp_path / "vegetation" / "2022-08-30"
    folder.mkdir(parents=True)
    dead = folder / ".parks.csv.999999999-0123456789ab.tmp"
    old_style = folder / ".map.png.0123456789ab.tmp"
    live = folder / f".parks.csv.{os.getpid()}-0123456789ab.tmp"
    product = folder / "parks.csv"
    for path in (dead, old_style, live, product):
        path.write_text("x")
    removed = clean_stale_staging(tmp_path)
    assert sorted(removed) == sorted([dead, old_style])
    assert live.exists() and product.exists()
    shutil.rmtree(folder)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_plain_http_webhook_to_another_host_is_refused_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _outbox_with_rows(out)
    sinks = json.dumps({"webhook": {"type": "webhook", "url": "http://alerts.example.org/hook"}})
    rc = main(["deliver", "--sinks", sinks, "--out", str(out)])
    _one_line_error(capsys.readouterr().err, 2, rc, ("sinks.webhook.url", "plain http"))
    queued = open_store(out, create=False)
    assert queued.db.query("SELECT COUNT(*) AS n FROM outbox WHERE status = 'queued'")[0]["n"] == 3
    queued.close()


def test_deliver_reports_errors_when_every_row_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _outbox_with_rows(out)
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    sinks = json.dumps({"webhook": {"type": "webhook", "url": url}})
    store = open_store(out)
    store.add_revisions([make_revision("seg-w")], sinks=["webhook"])
    store.close()
    rc = main(["deliver", "--sinks", sinks, "--json", "--out", str(out)])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and report["sent"] == 0
    assert report["errors"] and "unreachable" in report["errors"][0]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["alerts", "reject", "1", "--by", "Ann"], "can be rejected"),
        (["alerts", "retry", "1"], "can be retried"),
        (["alerts", "approve", "1", "--by", "Ann"], "can be approved"),
    ],
)
def test_refused_operator_actions_read_as_english(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    out = tmp_path / "out"
    _outbox_with_rows(out)
    rc = main([*argv, "--out", str(out)])
    _one_line_error(capsys.readouterr().err, 2, rc, (needle,))


def test_allowlist_hint_names_the_real_field(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = profile_copy("evil", **{"sources.sentinel2.catalog": "https://stac.evil.example/v1"})
    out = tmp_path / "out"
    rc = main(["run", "vegetation", "--profile", str(profile), "--out", str(out), *PERIOD])
    _one_line_error(capsys.readouterr().err, 2, rc, ("allowlist.hosts",))
    assert "sources.allowlist" not in capsys.readouterr().err
    assert not out.exists()


def test_period_whose_reference_window_crosses_29_february_runs(
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    prefect_server: None,
) -> None:
    # The reported crash: --start 2024-02-16 --end 2024-02-22 (reference window up to 29 February).
    profile = profile_copy("leap")
    out = tmp_path / "out"
    argv = ["run", "vegetation", "--profile", str(profile), "--out", str(out)]
    rc = main([*argv, "--start", "2024-02-16", "--end", "2024-02-22"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "Traceback" not in captured.err
    assert (out / "vegetation" / "2024-02-22" / "manifest.json").is_file()
    assert main(["alerts", "list", "--json", "--out", str(out)]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)


def _city_with_own_catalogue(tmp_path: Path, demo_root: Path) -> Path:
    """The demo city with a private copy of its STAC JSON (COGs and layers linked, not copied)."""
    city = tmp_path / "city"
    city.mkdir()
    for entry in demo_root.iterdir():
        if entry.name == "stac":
            shutil.copytree(entry, city / "stac")
        else:
            (city / entry.name).symlink_to(entry)
    return city


def _current_item(city: Path) -> Path:
    items = sorted((city / "stac" / "sentinel-2-l2a").glob("*_20220820_*/*.json"))
    assert items, "the small demo has an item on 2022-08-20"
    return items[0]


def _damage_item(item: Path, damage: str, assets: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Break a STAC item file (``unreadable-item``: not JSON; ``href-escapes``: the ``assets``
    hrefs, all when empty, point outside the catalogue); returns what the error must name."""
    if damage == "unreadable-item":
        item.write_text("{broken", encoding="utf-8")
        return (item.name,)
    doc = json.loads(item.read_text(encoding="utf-8"))
    for key in assets or tuple(doc["assets"]):
        doc["assets"][key]["href"] = "../../../../../../../../etc/passwd"
    item.write_text(json.dumps(doc), encoding="utf-8")
    return ("/etc/passwd", "outside the allowed local")


@pytest.mark.parametrize("damage", ["unreadable-item", "href-escapes"])
def test_catalogue_errors_are_found_before_prefect_starts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    demo_small: Any,
    damage: str,
) -> None:
    from tests.flows.conftest import write_profile

    demo_root = Path(demo_small.root)
    city = _city_with_own_catalogue(tmp_path, demo_root)
    item = _current_item(city)
    needles = _damage_item(item, damage, assets=("red",))
    profile = write_profile(
        tmp_path, city, "cat", **{"allowlist.local_dirs": [str(city), str(demo_root)]}
    )
    out = tmp_path / "out"
    rc = main(["run", "vegetation", "--profile", str(profile), "--out", str(out), *PERIOD])
    _one_line_error(capsys.readouterr().err, 2, rc, needles)
    assert not out.exists(), "nothing written, not even OUT/.prefect"


@pytest.mark.parametrize("damage", ["unreadable-item", "href-escapes"])
def test_heat_catalogue_errors_are_found_before_prefect_starts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    demo_small: Any,
    damage: str,
) -> None:
    from tests.flows.conftest import write_profile

    demo_root = Path(demo_small.root)
    city = _city_with_own_catalogue(tmp_path, demo_root)
    items = sorted((city / "stac" / "landsat-c2-l2").glob("*_20220628_*/*.json"))
    assert items, "the small demo has a Landsat item on 2022-06-28, inside the LST window"
    item = items[0]
    needles = _damage_item(item, damage)
    if damage == "unreadable-item":
        needles += ("could not be read as JSON",)
    profile = write_profile(
        tmp_path, city, "lst", **{"allowlist.local_dirs": [str(city), str(demo_root)]}
    )
    out = tmp_path / "out"
    rc = main(["run", "heat", "--profile", str(profile), "--out", str(out), *HEAT_PERIOD])
    _one_line_error(capsys.readouterr().err, 2, rc, needles)
    assert not out.exists(), "nothing written, not even OUT/.prefect"


@pytest.mark.parametrize(
    ("error", "code", "needles"),
    [
        (OSError(28, "No space left on device", "/full/out/x.tmp"), 1, ("No space left",)),
        (OSError(30, "Read-only file system", "/ro/out"), 1, ("Read-only file system",)),
        (RuntimeError("boom"), 1, ("internal error: RuntimeError: boom", "--debug")),
    ],
)
def test_environment_failures_are_one_line_with_their_code(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
    code: int,
    needles: tuple[str, ...],
) -> None:
    from alerts.outbox import commands  # imported by the command when it runs

    def fail(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr(commands, "list_revisions", fail)
    rc = main(["alerts", "list", "--out", str(tmp_path)])
    _one_line_error(capsys.readouterr().err, code, rc, needles)


def test_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "out"
    store = open_store(out)
    store.add_revisions([make_revision(f"seg-{i}") for i in range(3000)])
    store.close()
    script = Path(sys.executable).with_name("geospace")
    done = subprocess.run(
        f"'{script}' alerts list --out '{out}' | head -n 1",
        shell=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.count(b"\n") == 1
    assert done.stderr == b"", done.stderr.decode()


def test_an_aoi_without_parks_says_so_in_manifest_and_output(
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    prefect_server: None,
) -> None:
    ring = [[16.20, 48.10], [16.21, 48.10], [16.21, 48.11], [16.20, 48.11], [16.20, 48.10]]
    aoi = tmp_path / "empty.geojson"
    aoi.write_text(json.dumps({"type": "Polygon", "coordinates": [ring]}))
    profile = profile_copy("noparks")
    out = tmp_path / "out"
    argv = ["run", "vegetation", "--profile", str(profile), "--out", str(out), "--aoi", str(aoi)]
    rc = main([*argv, "--start", "2022-08-30", "--end", "2022-08-30"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "nothing evaluated: no park of layers.parks" in captured.out
    assert "no clear observation" not in captured.out
    manifest = json.loads((out / "vegetation" / "2022-08-30" / "manifest.json").read_text())
    assert manifest["not_evaluated"].startswith("no park of layers.parks")
    assert main(["alerts", "list", "--json", "--out", str(out)]) == 0
    notices = [
        r
        for r in json.loads(capsys.readouterr().out)
        if r["hazard"] == "notice" and "all-parks" in r["subject"]
    ]
    assert len(notices) == 1, "one operator notice says why nothing was evaluated"
    assert main(["alerts", "show", str(notices[0]["id"]), "--json", "--out", str(out)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["payload"]["payload"]["not_evaluated"] == manifest["not_evaluated"]
    # a rerun of the same period queues no second notice
    assert main([*argv, "--start", "2022-08-30", "--end", "2022-08-30"]) == 0
    capsys.readouterr()
    assert main(["alerts", "list", "--json", "--out", str(out)]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listing if "all-parks" in r["subject"]] == [notices[0]["id"]]


def test_demo_refuses_an_out_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "out.txt"
    a_file.write_text("x")
    for out in (a_file, a_file / "below"):
        rc = main(["demo", "--small", "--build-only", "--out", str(out)])
        _one_line_error(capsys.readouterr().err, 2, rc, ("--out",))
    assert a_file.read_text() == "x"


# The same classes of bad input for `geospace run heat` and `geospace run deformation`.
HEAT_PERIOD = ["--start", "2022-07-01", "--end", "2022-07-07"]
DEFORMATION_PERIOD = ["--start", "2018-01-01", "--end", "2023-12-31"]


def _projected_districts(tmp: Path) -> dict[str, Any]:
    doc = json.loads(json.dumps(PROJECTED_PARK))
    doc["features"][0]["properties"] = {"district_id": "d1", "name": "District"}
    (tmp / "districts.geojson").write_text(json.dumps(doc))
    return {"layers.districts.path": str(tmp / "districts.geojson")}


def _csv_districts(tmp: Path) -> dict[str, Any]:
    (tmp / "districts.csv").write_text("district_id,name\nd1,District\n")
    return {"layers.districts.path": str(tmp / "districts.csv")}


def _projected_reference(tmp: Path) -> dict[str, Any]:
    (tmp / "reference.geojson").write_text(json.dumps(PROJECTED_PARK))
    return {"heat.reference_layer": str(tmp / "reference.geojson")}


def _missing_station(tmp: Path) -> dict[str, Any]:
    return {"heat.weather.station": str(tmp / "no-station.csv")}


def _event_with_negative_radius(tmp: Path) -> dict[str, Any]:
    event = {"name": "works", "date": "2021-03-15", "lon": 16.35, "lat": 48.19, "radius": "-1 m"}
    return {"deformation.known_events": [event]}


def _same(changes: dict[str, Any]) -> Callable[[Path], dict[str, Any]]:
    return lambda _tmp: changes


# (case id, process, profile changes, extra CLI arguments, expected needles in the message)
OTHER_PROCESS_CASES: list[
    tuple[str, str, Callable[[Path], dict[str, Any]], list[str], tuple[str, ...]]
] = [
    ("heat-lst-window-zero", "heat", _same({"heat.lst_window": "0 d"}), [],
     ("heat.lst_window: '0 d'",)),
    ("heat-clear-over-100", "heat", _same({"heat.ok_clear_fraction": "150 %"}), [],
     ("heat.ok_clear_fraction: '150 %'",)),
    ("heat-clear-inverted", "heat",
     _same({"heat.min_clear_fraction": "95 %", "heat.ok_clear_fraction": "50 %"}), [],
     ("min_clear_fraction 95% exceeds ok_clear_fraction 50%",)),
    ("heat-csv-as-districts", "heat", _csv_districts, [], ("layers.districts", "no geometries")),
    ("heat-projected-districts-without-crs", "heat", _projected_districts, [],
     ("layers.districts", "not longitude/latitude")),
    ("heat-projected-reference-without-crs", "heat", _projected_reference, [],
     ("heat.reference_layer", "not longitude/latitude")),
    ("heat-missing-station", "heat", _missing_station, [], ("no-station.csv", "does not exist")),
    ("heat-aoi", "heat", _same({}), ["--aoi", "aoi.geojson"], ("--aoi", "only `run vegetation`")),
    ("heat-geosphere-off-allowlist", "heat", _same({"heat.weather.forecasts": "geosphere"}), [],
     ("heat.weather.data_hub_url", "not on the allowlist")),
    ("heat-geosphere-plain-http", "heat",
     _same({"heat.weather.forecasts": "geosphere", "allowlist.hosts": ["dataset.api.hub.geosphere.at"],
            "heat.weather.warnings_url": "http://warnings.example.org/api"}), [],
     ("heat.weather.warnings_url", "only https")),
    ("heat-sink-off-allowlist", "heat",
     _same({"sinks": [{"kind": "webhook", "url": "https://hooks.example.org/heat"}]}), [],
     ("sinks.webhook.url", "allowlist.hosts")),
    ("deformation-sink-plain-http", "deformation",
     _same({"sinks": [{"kind": "open311", "url": "http://311.example.org/v2"}]}), [],
     ("sinks.open311.url", "plain http")),
    ("deformation-segment-zero", "deformation", _same({"deformation.segment_length": "0 m"}), [],
     ("deformation.segment_length: '0 m'",)),
    ("deformation-buffer-negative", "deformation", _same({"deformation.buffer": "-30 m"}), [],
     ("deformation.buffer: '-30 m'",)),
    ("deformation-coherence-over-1", "deformation", _same({"deformation.min_coherence": "2 1"}),
     [], ("deformation.min_coherence: '2 1'",)),
    ("deformation-watch-negative", "deformation",
     _same({"deformation.watch_velocity": "-2 mm/yr"}), [],
     ("deformation.watch_velocity: '-2 mm/yr'",)),
    ("deformation-bins-longer-than-reach", "deformation",
     _same({"deformation.bin_length": "80 m"}), [],
     ("deformation: bin_length 80 m exceeds max_bin_distance 50 m",)),
    ("deformation-event-radius-negative", "deformation", _event_with_negative_radius, [],
     ("deformation.known_events.0.radius: '-1 m'",)),
    ("deformation-aoi", "deformation", _same({}), ["--aoi", "aoi.geojson"],
     ("--aoi", "only `run vegetation`")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("process", "make", "extra", "needles"),
    [pytest.param(p, m, e, n, id=i) for i, p, m, e, n in OTHER_PROCESS_CASES],
)
def test_heat_and_deformation_input_errors_exit_2_before_any_work(
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    process: str,
    make: Callable[[Path], dict[str, Any]],
    extra: list[str],
    needles: tuple[str, ...],
) -> None:
    profile = profile_copy("other", **make(tmp_path))
    out = tmp_path / "out"
    period = HEAT_PERIOD if process == "heat" else DEFORMATION_PERIOD
    argv = ["run", process, "--profile", str(profile), "--out", str(out), *period]
    rc = main([*argv, *[str(tmp_path / a) if a.endswith(".geojson") else a for a in extra]])
    err = capsys.readouterr().err
    _one_line_error(err, 2, rc, needles)
    assert "{" not in err, "a section's error names its fields, not the whole section"
    assert not out.exists(), sorted(out.rglob("*"))


@pytest.mark.parametrize("process", ["heat", "deformation"])
def test_heat_and_deformation_refuse_an_out_they_cannot_write(
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    process: str,
) -> None:
    profile = profile_copy("out")
    period = HEAT_PERIOD if process == "heat" else DEFORMATION_PERIOD
    argv = ["run", process, "--profile", str(profile), *period]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for out in (a_file, a_file / "below"):
        rc = main([*argv, "--out", str(out)])
        _one_line_error(capsys.readouterr().err, 2, rc, ("--out",))
    with _read_only_folder(tmp_path / "locked") as locked:
        for out in (locked, locked / "new"):
            rc = main([*argv, "--out", str(out)])
            _one_line_error(capsys.readouterr().err, 2, rc, ("--out", "not writable"))
        assert list(locked.iterdir()) == []


def test_serve_refuses_an_out_it_cannot_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for out in (a_file, a_file / "below"):
        rc = main(["serve", "--profile", "vienna-demo", "--out", str(out)])
        _one_line_error(capsys.readouterr().err, 2, rc, ("--out",))
    assert a_file.read_text() == "x"


def test_a_deformation_run_without_a_release_queues_one_data_gap_notice(
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    prefect_server: None,
) -> None:
    """No data is never no hazard: the run says DATA_GAP, writes the note and leaves the
    network's DATA_GAP notice and the run's digest in the outbox; the same run again adds
    nothing (the gap is still the same event)."""
    profile = profile_copy("quiet")
    out = tmp_path / "out"
    argv = ["run", "deformation", "--profile", str(profile), "--out", str(out)]
    period = ["--start", "2015-01-01", "--end", "2016-12-31"]
    listed = []
    for _ in range(2):
        assert main([*argv, *period]) == 0
        said = capsys.readouterr().out
        assert "release(s) none" in said and "nothing evaluated (DATA_GAP)" in said, said
        assert str(out / "deformation" / "data_gap.json") in said
        assert main(["alerts", "list", "--json", "--out", str(out)]) == 0
        listed.append(json.loads(capsys.readouterr().out))
    assert listed[0] == listed[1]
    subjects = sorted(r["subject"] for r in listed[0])
    assert len(subjects) == 2 and {r["hazard"] for r in listed[0]} == {"notice"}
    assert subjects[0].startswith("deformation/") and subjects[0].endswith(":all-segments")
    assert subjects[1].startswith("digest/deformation/")
