"""Acceptance of the engineers' product: the deformation flow on the small demo city vs truth.json.

One CLI run (``geospace run deformation``, Prefect included) over both demo releases is shared by
the module; the rerun goes through :func:`flows.deformation.run_releases` (the flow's body
without Prefect), which is what a second scheduled check executes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from PIL import Image
from shapely.geometry import Point

from alerts.outbox import commands as ops
from core.errors import InvalidInputError
from eo.demo.layout import DemoLayout
from flows.cli import main
from flows.deformation import resolve_deformation_inputs, run_releases
from tests.flows.conftest import DELETE, ProfileFactory

START, END = date(2018, 1, 1), date(2023, 12, 31)
PERIOD = ["--start", START.isoformat(), "--end", END.isoformat()]

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Run:
    out: Path
    truth: dict[str, Any]
    stdout: str


@pytest.fixture(scope="module")
def run(demo_small: DemoLayout, tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("deformation") / "out"
    out.mkdir()
    (out / "demo-city").symlink_to(demo_small.root, target_is_directory=True)
    capture = out.parent / "stdout.txt"
    import contextlib

    with capture.open("w") as handle, contextlib.redirect_stdout(handle):
        rc = main(["run", "deformation", "--profile", "vienna-demo", "--out", str(out), *PERIOD])
    assert rc == 0
    truth = json.loads(demo_small.truth.read_text(encoding="utf-8"))["insar"]
    return Run(out, truth, capture.read_text())


def _site(entry: dict[str, Any]) -> Point:
    site = gpd.GeoSeries([Point(entry["lon"], entry["lat"])], crs="EPSG:4326").to_crs(3035)
    return site.iloc[0]


def _segments(run: Run, release: str) -> gpd.GeoDataFrame:
    return gpd.read_file(run.out / "deformation" / release / "corridor_segments.geojson").to_crs(
        3035
    )


def _work_orders(out: Path) -> list[dict[str, Any]]:
    return [r for r in ops.list_revisions(out) if r["hazard"] == "deformation"]


def test_only_the_planted_subsiding_stretch_opens_work_orders(run: Run) -> None:
    sub = run.truth["subsiding_stretch"]
    site = _site(sub)
    reach = sub["radius_m"] + sub["taper_m"]
    orders = _work_orders(run.out)
    assert orders, run.stdout
    segments = _segments(run, run.truth["releases"][-1]).set_index("segment_id")
    for order in orders:
        segment = order["subject"]  # velocity and distortion share the segment's work order
        assert segments.loc[segment].geometry.distance(site) <= reach, order
        assert segments.loc[segment, "corridor_id"] == sub["line"]
        assert order["level"] >= 3 and order["revision"] == 1
    core = segments[(segments.distance(site) <= sub["radius_m"] - 60) & (segments.length > 50)]
    assert len(core) >= 2
    assert set(core.index) <= {o["subject"] for o in orders}  # the whole stretch, not a part
    assert len({o["subject"] for o in orders}) == len(orders)  # one work order per segment
    assert all(o["subject"] in segments.index for o in orders)  # subjects are segments only


def test_core_segments_measure_the_planted_velocity_in_both_releases(run: Run) -> None:
    sub = run.truth["subsiding_stretch"]
    site = _site(sub)
    for release in run.truth["releases"]:
        segments = _segments(run, release)
        core = segments[segments.distance(site) <= sub["radius_m"] - 60]
        assert (core["alert"] == "warning").all(), core[["segment_id", "alert"]]
        assert (
            core["vertical_velocity"]
            .between(sub["vertical_mm_yr"] - 1.0, sub["vertical_mm_yr"] + 1.0)
            .all()
        )
        assert core["vertical_method"].eq("asc+desc decomposition").all()


def test_the_known_works_step_is_explained_not_alerted(run: Run) -> None:
    step = run.truth["step"]
    site = _site(step)
    for release in run.truth["releases"]:
        segments = _segments(run, release)
        near = segments[segments.distance(site) <= step["radius_m"] - 60]
        assert len(near) >= 1
        assert (near["alert"] == "none").all()
        assert near["known_events"].str.contains(step["date"]).all()
        fitted = near["known_event_step_mm"]
        assert ((fitted - step["step_mm"]).abs() < 3.0).all(), fitted
    orders = {o["subject"] for o in _work_orders(run.out)}
    assert not orders & set(near["segment_id"])


def test_the_sparse_stretch_is_data_gap_and_queues_notices(run: Run) -> None:
    sparse = run.truth["sparse_stretch"]
    site = _site(sparse)
    for release in run.truth["releases"]:
        segments = _segments(run, release)
        inside = segments[segments.distance(site) <= sparse["radius_m"] - 100]
        assert len(inside) >= 1
        assert (inside["alert"] == "DATA_GAP").all()
        assert inside["vertical_velocity"].isna().all()
    notices = [r for r in ops.list_revisions(run.out) if r["hazard"] == "notice"]
    assert {f"deformation/{s}" for s in inside["segment_id"]} <= {n["subject"] for n in notices}


def test_products_of_each_release(run: Run) -> None:
    for release in run.truth["releases"]:
        folder = run.out / "deformation" / release
        manifest = json.loads((folder / "manifest.json").read_text())
        segments = _segments(run, release)
        assert manifest["segments"]["count"] == len(segments)
        assert manifest["release"] == release and manifest["sources"]
        listed = {p["path"] for p in manifest["products"]}
        assert {"corridor_segments.geojson", "network_vertical_velocity.png"} <= listed
        alerted = segments[segments["alert"].isin(["watch", "warning"])]
        assert set(alerted["plot"]) <= listed and len(alerted) >= 1
        for name in listed:
            assert (folder / name).is_file()
        with Image.open(folder / "network_vertical_velocity.png") as png:
            assert png.size[0] > 500
        assert not list(folder.rglob(".*.tmp"))


def test_rerun_adds_nothing(run: Run) -> None:
    before = ops.list_revisions(run.out)
    inputs = resolve_deformation_inputs("vienna-demo", run.out)
    again = run_releases(inputs, START, END, run.out)  # the next monthly check: nothing new
    assert again["skipped"] == run.truth["releases"] and again["revisions_queued"] == 0
    forced = run_releases(inputs, START, END, run.out, force=True)  # evaluated again: keyed
    assert forced["skipped"] == [] and forced["revisions_queued"] == 0
    assert ops.list_revisions(run.out) == before


def test_a_new_rule_version_re_evaluates_and_revises_open_work_orders(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DESIGN section 5: a rule-version change is a revision. The monthly check must not skip an
    evaluated release when the rule file's version moved (the fingerprint carries it)."""
    import shutil

    from alerts.policies import BUILT_IN, OVERLAY_ENV

    out = tmp_path / "out"
    shutil.copytree(run.out, out, symlinks=True)
    orders = {r["subject"] for r in _work_orders(out) if r["msg_type"] != "Cancel"}
    assert orders, run.stdout
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (BUILT_IN / "deformation.yaml").read_text(encoding="utf-8")
    version = next(line for line in text.splitlines() if line.startswith("version:"))
    (rules / "deformation.yaml").write_text(
        text.replace(version, 'version: "deformation-99.0.0-test"'), encoding="utf-8"
    )
    monkeypatch.setenv(OVERLAY_ENV, str(rules))
    before = {r["id"] for r in ops.list_revisions(out)}
    inputs = resolve_deformation_inputs("vienna-demo", out)
    summary = run_releases(inputs, START, END, out)
    assert summary["skipped"] == []  # same files, new rule: evaluated again
    new = [r for r in _work_orders(out) if r["id"] not in before]
    assert new and {r["subject"] for r in new} <= orders
    for revision in new:  # each names the new rule version
        assert "deformation-99.0.0-test" in json.dumps(ops.show(out, revision["id"]))
    again = run_releases(inputs, START, END, out)  # the same new rule: skipped again
    assert again["skipped"] == run.truth["releases"] and again["revisions_queued"] == 0


def _digests(out: Path) -> list[dict[str, Any]]:
    return [
        ops.show(out, r["id"])["payload"]
        for r in ops.list_revisions(out)
        if r["hazard"] == "notice" and r["subject"].startswith("digest/deformation/")
    ]


def test_the_monthly_check_evaluates_each_new_release_once(
    run: Run, profile_copy: ProfileFactory, demo_small: DemoLayout, tmp_path: Path
) -> None:
    """Persistence: in the first release alone, the planted stretch's core segments are warnings
    on the ascending and on the descending track each on its own, so their work orders open at
    once (the tracks path, said in the work order) and the watch goes to the digest; when the
    next release appears in the source folder, the next check evaluates it alone and adds no
    duplicate (2 of the last 3 releases now hold too); a check without a new release adds
    nothing."""
    import shutil

    first, second = run.truth["releases"][:2]
    src = tmp_path / "insar"
    src.mkdir()

    def publish(release: str) -> None:
        for path in sorted((demo_small.root / "insar").iterdir()):
            if release in path.name:
                shutil.copy(path, src / path.name)

    publish(first)
    profile = str(profile_copy("monthly", **{"deformation.source": str(src)}))
    out = tmp_path / "out"
    out.mkdir()
    june = date(int(second.split("_")[1]), 6, 30)  # a check before the next release is out
    summary = run_releases(resolve_deformation_inputs(profile, out), START, june, out)
    assert summary["releases"] == [first] and summary["skipped"] == []
    early = _work_orders(out)
    sub = run.truth["subsiding_stretch"]
    segments = _segments(run, first)
    core = segments[
        (segments.distance(_site(sub)) <= sub["radius_m"] - 60) & (segments.length > 50)
    ]
    assert early and set(core["segment_id"]) <= {o["subject"] for o in early}
    for order in early:
        revision = ops.show(out, order["id"])["payload"]
        assert revision["payload"]["persistence"]["met_by"] == ["tracks"]
        assert "seen on 2 tracks on their own in this release" in revision["summary"]
    watched = set(segments.loc[segments["alert"] == "watch", "segment_id"])
    assert watched and set(summary["watch"]) == watched
    (digest,) = _digests(out)
    assert {w["subject_id"] for w in digest["payload"]["watch"]} == watched
    assert "on watch (no work order)" in digest["summary"]

    publish(second)
    again = run_releases(resolve_deformation_inputs(profile, out), START, END, out)
    assert again["releases"] == [first, second] and again["skipped"] == [first]
    orders = {o["subject"] for o in _work_orders(out)}
    assert orders and orders == {o["subject"] for o in _work_orders(run.out)}
    assert {o["subject"] for o in early} <= orders
    assert len(_digests(out)) == 2
    before = ops.list_revisions(out)
    idle = run_releases(resolve_deformation_inputs(profile, out), START, END, out)
    assert idle["skipped"] == [first, second] and idle["revisions_queued"] == 0
    assert ops.list_revisions(out) == before


def _network_gap_notices(out: Path, subject: str) -> list[dict[str, Any]]:
    return [
        ops.show(out, r["id"])
        for r in ops.list_revisions(out)
        if r["hazard"] == "notice" and r["subject"] == f"deformation/{subject}"
    ]


def test_no_release_is_one_data_gap_notice_until_a_release_arrives(
    demo_truth: dict[str, Any],
    profile_copy: ProfileFactory,
    demo_small: DemoLayout,
    tmp_path: Path,
) -> None:
    """No data is never no hazard: monthly checks of a source folder without a release write the
    DATA_GAP note and open the network's DATA_GAP event once (to the operators' sink only, in
    the first check's digest), not once per check; the first check that finds a release clears
    it (Cancel, in that run's digest) and removes the note."""
    import shutil

    from alerts.detect.deformation import NO_RELEASE, network_subject

    src = tmp_path / "insar"
    src.mkdir()
    sinks = [
        {"kind": "files", "name": "operators", "path": str(tmp_path / "operators"),
         "accepts": {"kinds": ["notice", "digest"]}},
        {"kind": "files", "name": "engineers", "path": str(tmp_path / "engineers"),
         "accepts": {"hazards": ["deformation"], "kinds": ["work_order"]}},
    ]  # fmt: skip
    profile = str(profile_copy("gap", **{"deformation.source": str(src), "sinks": sinks}))
    out = tmp_path / "out"
    out.mkdir()
    subject = network_subject(resolve_deformation_inputs(profile, out).profile.name)
    note = out / "deformation" / "data_gap.json"
    checks = [date(2023, month, 28) for month in (10, 11, 12)]  # monthly: same start, later end
    for end in checks[:2]:  # two checks while the folder holds no release
        summary = run_releases(resolve_deformation_inputs(profile, out), START, end, out)
        assert summary["releases"] == [] and summary["gap_note"] == str(note)
        doc = json.loads(note.read_text(encoding="utf-8"))
        assert doc["status"] == "DATA_GAP" and doc["reason"] == NO_RELEASE
    (opened,) = _network_gap_notices(out, subject)
    assert opened["msg_type"] == "Alert" and opened["payload"]["payload"]["gap"] == "opened"
    assert opened["payload"]["payload"]["reasons"] == [NO_RELEASE]
    assert {d["sink"] for d in opened["deliveries"]} == {"operators"}
    (digest,) = _digests(out)
    assert digest["payload"]["gaps"]["opened"] == [subject]
    assert digest["payload"]["open_gaps"] == [subject]

    first = demo_truth["insar"]["releases"][0]
    for path in sorted((demo_small.root / "insar").iterdir()):
        if first in path.name:
            shutil.copy(path, src / path.name)
    summary = run_releases(resolve_deformation_inputs(profile, out), START, checks[2], out)
    assert summary["releases"] == [first] and summary["network_gap"] == "cleared"
    assert summary["gap_note"] is None and not note.exists()
    opened_again, cleared = _network_gap_notices(out, subject)
    assert opened_again["id"] == opened["id"]
    assert cleared["msg_type"] == "Cancel" and cleared["payload"]["payload"]["gap"] == "cleared"
    assert {d["sink"] for d in cleared["deliveries"]} == {"operators"}
    digests = _digests(out)
    assert len(digests) == 2 and digests[-1]["payload"]["gaps"]["cleared"] == [subject]
    assert subject not in digests[-1]["payload"]["open_gaps"]


# --- bad input: clear messages, nothing written -------------------------------------------------


def _corridors_in(demo: DemoLayout, tmp_path: Path, crs: str, declare: str) -> Path:
    layer = gpd.read_file(demo.layer("corridors")).to_crs(crs).set_crs(declare, allow_override=True)
    path = tmp_path / f"corridors-{crs.replace(':', '')}-as-{declare.replace(':', '')}.geojson"
    layer.to_file(path, driver="GeoJSON")
    return path


def test_corridor_layer_in_another_crs_is_reprojected(
    profile_copy: ProfileFactory, demo_small: DemoLayout, tmp_path: Path
) -> None:
    path = _corridors_in(demo_small, tmp_path, "EPSG:31256", "EPSG:31256")
    profile = profile_copy("gk", **{"layers.corridors.path": str(path)})
    reference = resolve_deformation_inputs("vienna-demo", demo_small.root.parent).segments
    got = resolve_deformation_inputs(str(profile), tmp_path / "out").segments
    assert got.crs == "EPSG:3035" and abs(len(got) - len(reference)) <= 2
    assert abs(got.length.sum() - reference.length.sum()) < 0.002 * reference.length.sum()
    assert not (tmp_path / "out").exists()


def test_corridor_layer_declaring_the_wrong_crs_is_refused(
    profile_copy: ProfileFactory, demo_small: DemoLayout, tmp_path: Path
) -> None:
    path = _corridors_in(demo_small, tmp_path, "EPSG:31256", "EPSG:32633")
    profile = profile_copy("mislabelled", **{"layers.corridors.path": str(path)})
    with pytest.raises(InvalidInputError, match="declared CRS"):
        resolve_deformation_inputs(str(profile), tmp_path / "out")


def test_missing_section_and_source_are_refused(
    profile_copy: ProfileFactory, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInputError, match="no 'deformation' section"):
        resolve_deformation_inputs(str(profile_copy("none", deformation=DELETE)), tmp_path)
    missing = profile_copy("nosource", **{"deformation.source": "nowhere"})
    with pytest.raises(InvalidInputError, match="nowhere is not a folder"):
        resolve_deformation_inputs(str(missing), tmp_path)


def test_work_orders_carry_the_figures_and_link_the_plot(run: Run) -> None:
    from urllib.parse import unquote, urlsplit

    orders = _work_orders(run.out)
    assert orders
    for order in orders:
        payload = ops.show(run.out, order["id"])["payload"]["payload"]  # the revision's payload
        details = payload["details"]
        release = details["release"]["value"]
        segment = order["subject"]
        row = _segments(run, release).set_index("segment_id").loc[segment]
        velocity = details["vertical_velocity"]
        assert velocity["units"] == "mm/yr" and velocity["sigma"] > 0
        assert velocity["value"] == pytest.approx(row["vertical_velocity"], abs=1e-9)
        assert velocity["sigma"] == pytest.approx(row["velocity_sigma"], abs=1e-9)
        assert details["n_coherent"]["value"] == row["n_coherent"] >= 5
        assert details["line"]["value"] == row["line_name"]
        a, b = row["chainage_from_m"] / 1000, row["chainage_to_m"] / 1000
        assert details["chainage"]["value"] == f"km {a:.3f}-{b:.3f}"
        for key in ("acceleration", "seasonal_amplitude", "angular_distortion", "n_points"):
            assert key in details
        plot = urlsplit(payload["links"]["plot"])  # no products_url in the demo: a file:// URL
        assert plot.scheme == "file"
        path = Path(unquote(plot.path))
        assert (
            path.is_file()
            and path.parent == run.out.resolve() / "deformation" / release / "timeseries"
        )
        assert row["plot"] == f"timeseries/{path.name}"


def test_the_operators_digest_lists_the_watched_segments(run: Run) -> None:
    latest = _segments(run, run.truth["releases"][-1])
    expected = set(latest.loc[latest["alert"] == "watch", "segment_id"])
    digests = [
        ops.show(run.out, r["id"])["payload"]["payload"]
        for r in ops.list_revisions(run.out)
        if r["hazard"] == "notice" and r["subject"].startswith("digest/deformation/")
    ]
    assert len(digests) == 1, digests  # one digest for the run
    watch = digests[0].get("watch", [])
    assert {w["subject_id"] for w in watch} == expected
    orders = {o["subject"] for o in _work_orders(run.out)}
    assert not expected & orders  # a watch opens no work order
    for entry in watch:
        row = latest.set_index("segment_id").loc[entry["subject_id"]]
        assert entry["vertical_velocity_mm_yr"] == pytest.approx(row["vertical_velocity"])
        assert entry["line"] == row["line_name"] and "mm/yr" in entry["text"]


def _bad_source(demo: DemoLayout, tmp_path: Path, name: str, edit: Callable[[str], str]) -> Path:
    """A copy of the demo's EGMS folder with file ``name`` changed by ``edit`` (its text)."""
    import shutil

    src = tmp_path / "insar"
    if not src.exists():
        shutil.copytree(demo.root / "insar", src)
    target = src / name
    target.write_text(edit(target.read_text(encoding="utf-8")), encoding="utf-8")
    return src


def _header_edit(change: Callable[[list[str]], list[str]]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        header, rest = text.split("\n", 1)
        return ",".join(change(header.split(","))) + "\n" + rest

    return edit


def test_bad_egms_headers_stop_the_run_before_prefect(
    profile_copy: ProfileFactory, demo_small: DemoLayout, tmp_path: Path
) -> None:
    name = "EGMS_L2b_124_0001_IW2_VV_2019_2023_1.csv"
    renamed = _header_edit(
        lambda cols: ["coherence" if c == "temporal_coherence" else c for c in cols]
    )
    src = _bad_source(demo_small, tmp_path, name, renamed)
    profile = str(profile_copy("badheader", **{"deformation.source": str(src)}))
    with pytest.raises(
        InvalidInputError, match=rf"{name}: required column\(s\) \['temporal_coherence'\]"
    ):
        resolve_deformation_inputs(profile, tmp_path / "out")

    def swap(cols: list[str]) -> list[str]:  # restore the column, then swap two dates
        cols = ["temporal_coherence" if c == "coherence" else c for c in cols]
        i = next(k for k, c in enumerate(cols) if c.isdigit())
        cols[i], cols[i + 1] = cols[i + 1], cols[i]
        return cols

    _bad_source(demo_small, tmp_path, name, _header_edit(swap))
    with pytest.raises(InvalidInputError, match=rf"{name}: date columns out of order"):
        resolve_deformation_inputs(profile, tmp_path / "out")
    rc = main(["run", "deformation", "--profile", profile, "--out", str(tmp_path / "cli"), *PERIOD])
    assert rc == 2 and not (tmp_path / "cli" / "deformation").exists()


def test_a_non_numeric_displacement_writes_and_queues_nothing(
    profile_copy: ProfileFactory, demo_small: DemoLayout, tmp_path: Path
) -> None:
    name = "EGMS_L2b_124_0001_IW2_VV_2018_2022_1.csv"  # the second file read of the first release

    def text_in_a_date_cell(text: str) -> str:
        lines = text.split("\n")
        cells = lines[3].split(",")
        cells[-5] = "-1.2mm"
        lines[3] = ",".join(cells)
        return "\n".join(lines)

    src = _bad_source(demo_small, tmp_path, name, text_in_a_date_cell)
    profile = str(profile_copy("badvalue", **{"deformation.source": str(src)}))
    out = tmp_path / "out"
    out.mkdir()
    inputs = resolve_deformation_inputs(profile, out)  # the header is fine
    with pytest.raises(InvalidInputError, match=rf"{name}: column '\d{{8}}' row 3 holds '-1.2mm'"):
        run_releases(inputs, START, END, out)
    assert not (out / "deformation").exists()  # nothing partial: no products, no evaluated.json
    assert not (out / "alerts" / "outbox.sqlite").exists()  # no outbox opened: nothing queued
