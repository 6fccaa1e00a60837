"""The operations dashboard's page model and page, from hand-written products and outbox rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from shapely.geometry import LineString, Polygon

from alerts.products.dashboard import (
    alert_rows,
    build_model,
    latest_runs,
    render_dashboard,
    scan_runs,
    svg_d,
    write_dashboard,
)
from tests.alerts.dashboard_fixtures import revisions, write_products


@pytest.fixture
def out(tmp_path: Path) -> Path:
    write_products(tmp_path)
    return tmp_path


def test_runs_come_from_the_manifests_newest_first(out: Path) -> None:
    runs = scan_runs(out)
    assert [(r.product, r.key) for r in runs] == [
        ("deformation", "2019_2023"),
        ("heat", "2022-07-19"),
        ("vegetation", "2022-08-30"),
        ("vegetation", "2022-08-16"),
    ]
    latest = latest_runs(runs)
    assert latest["vegetation"].key == "2022-08-30"
    late = latest["vegetation"]
    assert late.manifest == "vegetation/2022-08-30/manifest.json"
    assert "vegetation/2022-08-30/irrigation_priority.geojson" in late.files
    assert not any(".tmp" in f for f in late.files)  # a half-written file is not a product
    assert latest["deformation"].when == "2026-01-02T03:04:05+00:00"
    assert "2022-08-17 to 2022-08-30" in late.summary


def test_open_alerts_and_data_gaps_from_outbox_rows() -> None:
    alerts, gaps = alert_rows(revisions(), out_arg="out")
    # pending approval first, then dead, then queued; cancelled, rejected, digests left out
    assert [(a.id, a.status) for a in alerts] == [
        (3, "pending_approval"),
        (4, "dead"),
        (5, "queued"),
        (12, "queued"),
    ]  # a sent notice is done; one not yet delivered is listed
    assert alerts[0].action == "geospace alerts approve 3 --by NAME --out out"
    assert alerts[1].action == "geospace alerts retry 4 --out out"
    assert alerts[0].name == "Vienna heat"
    assert [(g.revision_id, g.subject, g.name, g.reasons) for g in gaps] == [
        (6, "nebelwiese", "Nebelwiese", "few_clear_dates")
    ]
    assert gaps[0].about == "irrigation" and gaps[0].since.startswith("2022-08-17")


def test_map_layers_of_the_latest_products(out: Path) -> None:
    model = build_model(out, revisions())
    layers = {layer.key: layer for layer in model.layers}
    assert set(layers) == {
        "water", "districts", "corridors", "heat-districts", "heat-hotspots", "parks", "segments",
        "parks@2022-08-16",
    }  # fmt: skip
    earlier = layers["parks@2022-08-16"]  # the slider's earlier window, hidden at first
    assert not earlier.visible and earlier.group == "parks" and earlier.window == "2022-08-16"
    assert [f.fid for f in earlier.features] == ["old-park"]
    parks = {f.fid: f for f in layers["parks"].features}
    assert set(parks) == {"rosengarten", "lindenhof", "nebelwiese"}  # not the older window's
    assert parks["rosengarten"].style["fill"] == "#d7191c"  # class 1 red
    assert parks["lindenhof"].style["fill"] == "#2c7bb6"  # class 4 blue
    assert parks["nebelwiese"].style["fill"] == "url(#gap)"
    assert "rank 1" in parks["rosengarten"].lines and "DATA_GAP" in parks["nebelwiese"].lines
    segments = {f.fid: f for f in layers["segments"].features}
    red, _, blue = (int(segments["U9-001"].style["stroke"][i : i + 2], 16) for i in (1, 3, 5))
    assert red > blue  # subsidence of 6 mm/yr is drawn red
    assert segments["U9-003"].style["stroke"] == "#bdbdbd"  # DATA_GAP grey
    assert segments["U9-001"].style["class"] == "warning"
    assert "vertical velocity -6.0 ± 0.4 mm/yr" in segments["U9-001"].lines
    districts = {f.fid: f for f in layers["heat-districts"].features}
    assert districts["5"].style["class"] == "bulletin" and districts["6"].style["class"] == "ranked"
    assert districts["5"].name == "Margareten"
    # the first view frames the subjects, inside the whole map
    fx0, fy0, fx1, fy1 = model.frame
    vx0, vy0, vx1, vy1 = model.view
    assert fx0 <= vx0 < vx1 <= fx1 and fy0 <= vy0 < vy1 <= fy1
    assert (vx1 - vx0) < (fx1 - fx0)


def test_svg_path_in_the_frame() -> None:
    frame = (100.0, 200.0, 110.0, 210.0)  # x east of 100, y south of 210
    square = Polygon([(101, 201), (102, 201), (102, 202), (101, 202)])
    assert svg_d(square, frame) == "M1.0,9.0L2.0,9.0L2.0,8.0L1.0,8.0L1.0,9.0Z"
    assert svg_d(LineString([(100, 210), (110, 200)]), frame) == "M0.0,0.0L10.0,10.0"
    assert svg_d(None, frame) == ""


def test_page_is_offline_and_escapes_names(out: Path) -> None:
    rows = revisions()
    rows[2]["payload"] = {"subject_name": "<script>alert(1)</script>"}
    page = render_dashboard(build_model(out, rows))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing loaded from a host
    assert 'href="vegetation/2022-08-30/manifest.json"' in page
    assert 'href="vegetation/2022-08-30/irrigation_priority.html"' in page


def test_write_dashboard_reads_the_outbox_and_replaces_the_page(out: Path) -> None:
    from alerts.outbox import admin
    from alerts.outbox.store import open_store
    from tests.alerts.outbox_fixtures import make_revision

    pending = make_revision("rosengarten", hazard="irrigation", status="pending_approval")
    queued = make_revision("U9-001")
    store = open_store(out, create=True)
    try:
        store.add_revisions([pending, queued])
    finally:
        store.close()
    (out / "index.html").write_text("old page")
    page = write_dashboard(out)
    assert page == out / "index.html"
    text = page.read_text(encoding="utf-8")
    assert 'data-status="pending_approval"' in text and 'data-status="queued"' in text
    assert "geospace alerts approve 1 --by NAME" in text
    assert not list(out.glob(".index.html*"))  # no temporary file left
    store = open_store(out, create=False)
    try:
        admin.approve(store, 1, "Dr. Berger")
    finally:
        store.close()
    text = write_dashboard(out).read_text(encoding="utf-8")
    assert 'data-status="pending_approval"' not in text and "by Dr. Berger" in text


def test_dashboard_never_creates_an_outbox(out: Path) -> None:
    text = write_dashboard(out).read_text(encoding="utf-8")
    assert not (out / "alerts" / "outbox.sqlite").exists()
    assert "no outbox yet" in text and 'id="no-alerts"' in text


def test_refresh_warns_and_never_raises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flows.artifacts import refresh_dashboard

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    refresh_dashboard(not_a_folder)
    assert "geospace: warning: dashboard" in capsys.readouterr().err


def test_operator_commands_rewrite_the_dashboard(
    out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alerts.outbox.store import open_store
    from flows.cli import main
    from tests.alerts.outbox_fixtures import make_revision

    store = open_store(out, create=True)
    try:
        store.add_revisions(
            [
                make_revision("rosengarten", hazard="irrigation", status="pending_approval"),
                make_revision("U9-001"),
            ]
        )
    finally:
        store.close()
    assert main(["alerts", "reject", "1", "--by", "Ann", "--json", "--out", str(out)]) == 0
    text = (out / "index.html").read_text(encoding="utf-8")
    assert 'data-id="1" data-status' not in text and 'data-id="2" data-status="queued"' in text
    assert main(["deliver", "--json", "--out", str(out)]) == 0
    text = (out / "index.html").read_text(encoding="utf-8")
    assert 'data-id="2" data-status="sent"' in text
    assert "warning" not in capsys.readouterr().err


def test_the_relay_process_rewrites_an_existing_dashboard(out: Path) -> None:
    from alerts.outbox.__main__ import main as relay_main
    from alerts.outbox.store import open_store
    from tests.alerts.outbox_fixtures import make_revision

    store = open_store(out, create=True)
    try:
        store.add_revisions([make_revision("U9-001")])
    finally:
        store.close()
    assert relay_main(["--out", str(out), "--once"]) == 0
    assert not (out / "index.html").exists()  # no run wrote a dashboard here: none is made
    store = open_store(out, create=False)
    try:
        store.add_revisions([make_revision("U9-002")])
    finally:
        store.close()
    write_dashboard(out, title="geospace operations: Wien")
    assert 'data-status="queued"' in (out / "index.html").read_text(encoding="utf-8")
    assert relay_main(["--out", str(out), "--once"]) == 0
    text = (out / "index.html").read_text(encoding="utf-8")
    assert 'data-id="2" data-status="sent"' in text and 'data-status="queued"' not in text
    assert "<title>geospace operations: Wien</title>" in text  # the run's title is kept
