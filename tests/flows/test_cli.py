"""``geospace run vegetation`` refuses invalid input with exit 2, one clear message, nothing written.

Every case runs :func:`flows.cli.main` in-process on a profile copy whose ``data_root`` is the
small demo city; invalid input is caught before Prefect starts, so these tests need no server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flows.cli import main
from tests.flows.conftest import DELETE, ProfileFactory

VALID_PERIOD = ["--start", "2022-08-17", "--end", "2022-08-30"]
BOWTIE_WGS84 = [[16.37, 48.20], [16.40, 48.22], [16.40, 48.20], [16.37, 48.22], [16.37, 48.20]]
SQUARE_WGS84 = [[16.37, 48.20], [16.38, 48.20], [16.38, 48.21], [16.37, 48.21], [16.37, 48.20]]


def _run(
    profile: Path | str, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    period = [] if "--start" in extra else VALID_PERIOD
    rc = main(["run", "vegetation", "--profile", str(profile), "--out", str(out), *period, *extra])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _assert_refused(rc: int, err: str, out_dir: Path, *needles: str) -> None:
    """Exit 2, exactly one ``geospace: error:`` message naming the problem, nothing under OUT."""
    assert rc == 2, err
    assert err.count("geospace: error:") == 1, err
    assert err.startswith("geospace: error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    assert not out_dir.exists(), sorted(out_dir.rglob("*"))


def _geojson(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _features(path: Path, properties: dict[str, str], ring: list[list[float]]) -> Path:
    feature = {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    return _geojson(path, json.dumps({"type": "FeatureCollection", "features": [feature]}))


def test_profile_with_a_typo_names_the_field(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = profile_copy("typo", **{"vegetation.windw": "14 d", "vegetation.window": DELETE})
    rc, _, err = _run(profile, tmp_path / "out", capsys)
    _assert_refused(rc, err, tmp_path / "out", "vegetation.windw", "did you mean 'window'")


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("garbage", "{not json", "not valid GeoJSON"),
        (
            "bowtie",
            json.dumps({"type": "Polygon", "coordinates": [BOWTIE_WGS84]}),
            "Self-intersection",
        ),
        (
            "too-large",
            json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [[[10, 45], [20, 45], [20, 50], [10, 50], [10, 45]]],
                }
            ),
            "exceeds the cap",
        ),
        (
            "projected-without-crs",
            json.dumps(
                {
                    "type": "Polygon",
                    "coordinates": [
                        [[600000, 5338000], [604000, 5338000], [604000, 5342000], [600000, 5338000]]
                    ],
                }
            ),
            "not longitude/latitude",
        ),
        (
            "nan",
            '{"type": "Polygon", "coordinates": [[[16.37, 48.2], [NaN, 48.2], [16.38, 48.21], [16.37, 48.2]]]}',
            "NaN",
        ),
    ],
)
def test_invalid_aoi_is_refused(
    name: str,
    text: str,
    needle: str,
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    aoi = _geojson(tmp_path / f"{name}.geojson", text)
    rc, _, err = _run(profile_copy(), tmp_path / "out", capsys, "--aoi", str(aoi))
    _assert_refused(rc, err, tmp_path / "out", "AOI", needle)


@pytest.mark.parametrize(
    ("catalog", "needle"),
    [
        ("https://evil.example.com/stac", "not on the allowlist"),
        ("http://earth-search.aws.element84.com/v1", "only https"),
    ],
)
def test_catalogue_off_the_allowlist_is_refused(
    catalog: str,
    needle: str,
    profile_copy: ProfileFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = profile_copy("evil", **{"sources.sentinel2.catalog": catalog})
    rc, _, err = _run(profile, tmp_path / "out", capsys)
    _assert_refused(rc, err, tmp_path / "out", needle)


def test_end_before_start_is_refused(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = _run(
        profile_copy(), tmp_path / "out", capsys, "--start", "2022-08-30", "--end", "2022-08-01"
    )
    _assert_refused(rc, err, tmp_path / "out", "--end: 2022-08-01: before --start 2022-08-30")


def test_parks_with_invalid_geometries_are_refused(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parks = _features(tmp_path / "parks.geojson", {"park_id": "knot", "name": "Knot"}, BOWTIE_WGS84)
    profile = profile_copy("bad-parks", **{"layers.parks.path": str(parks)})
    rc, _, err = _run(profile, tmp_path / "out", capsys)
    _assert_refused(rc, err, tmp_path / "out", "layer 'parks'", "invalid geometr", "knot")


def test_parks_without_the_id_field_are_refused(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parks = _features(tmp_path / "parks.geojson", {"name": "Nameless"}, SQUARE_WGS84)
    profile = profile_copy("no-id", **{"layers.parks.path": str(parks)})
    rc, _, err = _run(profile, tmp_path / "out", capsys)
    _assert_refused(rc, err, tmp_path / "out", "layer 'parks'", "no id field 'park_id'")


def test_profile_pointing_at_a_missing_layer_is_refused(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = profile_copy("missing", **{"layers.parks.path": "layers/no-such-parks.geojson"})
    rc, _, err = _run(profile, tmp_path / "out", capsys)
    _assert_refused(rc, err, tmp_path / "out", "no-such-parks.geojson", "does not exist")


def test_unknown_profile_name_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = _run("vienna-dmo", tmp_path / "out", capsys)
    _assert_refused(rc, err, tmp_path / "out", "'vienna-dmo' not found", "vienna-demo")


def test_deformation_without_its_inputs_is_refused_before_anything_is_written(
    profile_copy: ProfileFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    profile = profile_copy("nocorridors", **{"layers.corridors.path": "missing.geojson"})
    rc = main(["run", "deformation", "--profile", str(profile), "--out", str(out), *VALID_PERIOD])
    err = capsys.readouterr().err
    _assert_refused(rc, err, out, "corridors", "missing.geojson")


def test_console_script_exit_code_is_2_for_invalid_input(
    profile_copy: ProfileFactory, tmp_path: Path
) -> None:
    """The installed ``geospace`` script propagates the exit code (no Prefect import needed)."""
    import subprocess
    import sys

    script = Path(sys.executable).with_name("geospace")
    if not script.exists():
        pytest.skip(f"{script} is not installed")
    profile = profile_copy("evil", **{"sources.sentinel2.catalog": "https://evil.example.com/x"})
    out = tmp_path / "out"
    done = subprocess.run(
        [
            str(script),
            "run",
            "vegetation",
            "--profile",
            str(profile),
            "--out",
            str(out),
            *VALID_PERIOD,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    _assert_refused(done.returncode, done.stderr, out, "not on the allowlist")


def test_in_process_call_leaves_the_environment_as_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``main([...])`` sets Prefect's home under --out for its own run only, never for the next."""
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    before = dict(os.environ)
    assert main(["alerts", "list", "--out", str(tmp_path / "never-ran")]) == 2
    assert dict(os.environ) == before


def test_alerts_list_stops_quietly_when_the_reader_closes_the_pipe(tmp_path: Path) -> None:
    """``geospace alerts list | head -1``: the rest of the list is dropped without a traceback."""
    import subprocess
    import sys

    from alerts.outbox.store import open_store
    from tests.alerts.outbox_fixtures import make_revision

    out = tmp_path / "out"
    store = open_store(out)
    try:  # far more text than a pipe buffer holds (64 KiB), so the writer meets the closed end
        for i in range(3000):
            store.add_revision(make_revision(f"park-{i}", hazard="irrigation"), ["files"])
    finally:
        store.close()
    reader = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "alerts", "list", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    first = reader.stdout.readline()
    reader.stdout.close()  # what `head -1` does after its line
    stderr = reader.stderr.read().decode()
    code = reader.wait(timeout=120)
    assert b"park-0" in first
    assert stderr == ""  # no traceback, no "Exception ignored ... BrokenPipeError"
    assert code == 141  # 128 + SIGPIPE, as a shell reports a reader that stopped early
