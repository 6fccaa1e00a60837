"""The dashboard and the products' HTML pages in headless Chromium (Debian's, no network).

The pages: the season's dashboard and park map; a hand-made dashboard with every layer; the demo's
own products (vegetation, heat, deformation, one delivery) with the real irrigation map, the
release's network map and the heat bulletins. Each page is opened from file://; every request the
page makes is routed through the test, which lets through file: and 127.0.0.1 only and fails on
anything else. Console errors fail the test.
Screenshots are saved under the test's tmp dir. Without /usr/bin/chromium the tests skip, and
fail when CI=true (``make test`` installs it: Makefile target ``browser``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.alerts.dashboard_fixtures import revisions, write_products
from tests.flows.conftest import SeasonRun

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}

pytestmark = pytest.mark.slow


@dataclass
class Visit:
    """What one page did: console errors, uncaught errors, requests that left the machine."""

    errors: list[str] = field(default_factory=list)
    off_host: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{CHROMIUM} is missing: the browser tests need Debian's chromium (make browser)"
            )
        pytest.skip(f"{CHROMIUM} is missing (make browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open(browser: Any, path: Path) -> tuple[Any, Visit]:
    """A new page showing ``path``, with every request checked and console errors recorded."""
    visit = Visit()
    page = browser.new_page(viewport={"width": 1300, "height": 950})
    page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.errors.append(str(e)))

    def route(r: Any) -> None:
        url = urlparse(r.request.url)
        if url.scheme in ("file", "data", "blob") or url.hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            visit.off_host.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, visit


def _clean(visit: Visit) -> None:
    assert visit.errors == [], visit.errors
    assert visit.off_host == [], visit.off_host


def _ids(page: Any, selector: str) -> set[str]:
    return set(page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.id)"))


def _features(path: Path, key: str) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [f["properties"] for f in doc["features"] if f["properties"].get(key) is not None]


def _open_work(rows: list[dict[str, Any]]) -> set[int]:
    """Ids of the open alerts of products (not notices): latest revision per alert, no Cancel."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["alert_key"] not in latest or row["id"] > latest[row["alert_key"]]["id"]:
            latest[row["alert_key"]] = row
    return {
        r["id"]
        for r in latest.values()
        if r["hazard"] != "notice"
        and r["msg_type"] != "Cancel"
        and r["status"] in ("pending_approval", "queued", "sent", "dead")
    }


def test_season_dashboard_and_park_map(browser: Any, season_run: SeasonRun, tmp_path: Path) -> None:
    from alerts.outbox import commands as ops
    from alerts.products.dashboard import write_dashboard

    out = season_run.out
    assert "irrigation priority" in (out / "index.html").read_text(encoding="utf-8").lower()
    write_dashboard(out)  # other tests may have used the outbox since the season ran
    last = sorted(season_run.windows)[-1]
    parks = _features(season_run.windows[last] / "irrigation_priority.geojson", "park_id")
    expected = _open_work(ops.list_revisions(out))

    page, visit = _open(browser, out / "index.html")
    assert _ids(page, 'g[data-layer="parks"] path') == {p["park_id"] for p in parks}
    shown = page.eval_on_selector_all(
        '#alerts tbody tr:not([data-hazard="notice"])', "els => els.map(e => +e.dataset.id)"
    )
    assert set(shown) == expected
    first = parks[0]
    page.hover(f'g[data-layer="parks"] path[data-id="{first["park_id"]}"]')
    assert first["name"] in page.inner_text("#tip")
    page.screenshot(path=str(tmp_path / "dashboard.png"))
    _clean(visit)
    page.close()

    page, visit = _open(browser, season_run.windows[last] / "irrigation_priority.html")
    assert _ids(page, "svg path.park") == {p["park_id"] for p in parks}
    page.hover(f'svg path.park[data-id="{first["park_id"]}"]')
    assert first["name"] in page.inner_text("#tip")
    page.screenshot(path=str(tmp_path / "irrigation_priority.png"))
    _clean(visit)
    page.close()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_every_layer_toggle_hover_and_the_heat_bulletin(browser: Any, tmp_path: Path) -> None:
    from alerts.products.dashboard import build_model, render_dashboard
    from alerts.products.heat_bulletin import bulletin_html

    expected = write_products(tmp_path)
    (tmp_path / "index.html").write_text(render_dashboard(build_model(tmp_path, revisions())))
    page, visit = _open(browser, tmp_path / "index.html")
    assert _ids(page, 'g[data-layer="parks"] path') == expected["parks"]
    assert _ids(page, 'g[data-layer="segments"] path') == expected["segments"]
    assert _ids(page, 'g[data-layer="heat-districts"] path') == expected["districts"]
    assert len(_ids(page, 'g[data-layer="heat-hotspots"] path')) == 1
    for context in ("water", "districts", "corridors"):
        assert page.locator(f'g[data-layer="{context}"] path').count() >= 1
    statuses = page.eval_on_selector_all(
        "#alerts tbody tr", "els => els.map(e => [+e.dataset.id, e.dataset.status])"
    )
    assert statuses == [[3, "pending_approval"], [4, "dead"], [5, "queued"], [12, "queued"]]
    assert "Nebelwiese" in page.inner_text("#gaps")
    page.click('g[data-layer="segments"] path[data-id="U9-001"]', force=True)
    assert "vertical velocity -6.0" in page.inner_text("#info")
    page.uncheck('input.toggle[data-layer="parks"]')
    assert not page.locator('g[data-layer="parks"]').is_visible()
    page.check('input.toggle[data-layer="parks"]')
    assert page.locator('g[data-layer="parks"]').is_visible()
    slide = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }"
    page.eval_on_selector("#window-slider", slide, 0)  # the earlier irrigation window
    assert page.inner_text("#window-label") == "2022-08-16"
    assert page.locator('g[data-window="2022-08-16"]').is_visible()
    assert not page.locator('g[data-layer="parks"]').is_visible()
    assert _ids(page, 'g[data-window="2022-08-16"] path') == {"old-park"}
    page.eval_on_selector("#window-slider", slide, 1)
    assert page.locator('g[data-layer="parks"]').is_visible()
    before = page.get_attribute("#map", "viewBox")
    page.click("#zoom-in")
    assert page.get_attribute("#map", "viewBox") != before
    page.screenshot(path=str(tmp_path / "dashboard-all-layers.png"))
    _clean(visit)
    page.close()

    png = (tmp_path / "dashboard-all-layers.png").read_bytes()
    bulletin = tmp_path / "heat" / "2022-07-19" / "bulletin.html"
    bulletin.write_bytes(
        bulletin_html(
            title="Heat health bulletin", headline="Heatwave forecast.", status_line="pending",
            map_png=png, ranking_rows=[{"rank": 1, "name": "Margareten"}],
            forecast_rows=[{"date": "2022-07-20", "tmax_c": 36.0}], notes=["test"],
            instruction="Drink water.",
        )
    )  # fmt: skip
    page, visit = _open(browser, bulletin)
    assert page.eval_on_selector("#map", "img => img.complete && img.naturalWidth") > 0
    assert "Margareten" in page.inner_text("table")
    page.screenshot(path=str(tmp_path / "bulletin.png"))
    _clean(visit)
    page.close()


def test_demo_dashboard_with_every_product_and_the_real_html_pages(
    browser: Any, demo_products: Path, tmp_path: Path
) -> None:
    """The demo's own products (vegetation season, heat, deformation, one delivery) as a run
    leaves them: every product layer holds the product's subjects, the alert table its open work
    (the heat bulletin waiting for approval among it), and every HTML product page (the park map,
    the release's network map, the heat bulletins) opens clean."""
    from alerts.outbox import commands as ops
    from core.profile import load_profile
    from flows.artifacts import refresh_dashboard

    out = demo_products
    refresh_dashboard(out, load_profile("vienna-demo", out_dir=out))  # as a run does: its context
    veg = sorted(p for p in (out / "vegetation").iterdir() if p.is_dir())[-1]
    release = sorted(p for p in (out / "deformation").iterdir() if p.is_dir())[-1]
    heat = sorted(p for p in (out / "heat").iterdir() if (p / "manifest.json").is_file())[-1]
    parks = _features(veg / "irrigation_priority.geojson", "park_id")
    segments = _features(release / "corridor_segments.geojson", "segment_id")
    listed = json.loads((heat / "manifest.json").read_text(encoding="utf-8"))["bulletin_districts"]
    rows = ops.list_revisions(out)
    expected = _open_work(rows)
    assert any(r["status"] == "pending_approval" and r["id"] in expected for r in rows)

    page, visit = _open(browser, out / "index.html")
    assert _ids(page, 'g[data-layer="parks"] path') == {p["park_id"] for p in parks}
    assert _ids(page, 'g[data-layer="segments"] path') == {s["segment_id"] for s in segments}
    assert {str(d) for d in listed} <= _ids(page, 'g[data-layer="heat-districts"] path')
    for context in ("districts", "corridors"):
        assert page.locator(f'g[data-layer="{context}"] path').count() >= 1
    shown = page.eval_on_selector_all(
        '#alerts tbody tr:not([data-hazard="notice"])', "els => els.map(e => +e.dataset.id)"
    )
    assert set(shown) == expected
    assert "geospace alerts approve" in page.inner_text("#alerts")
    worst = max(segments, key=lambda s: abs(s.get("vertical_velocity") or 0.0))
    page.click(f'g[data-layer="segments"] path[data-id="{worst["segment_id"]}"]', force=True)
    assert "vertical velocity" in page.inner_text("#info")
    page.screenshot(path=str(tmp_path / "demo-dashboard.png"), full_page=True)
    _clean(visit)
    page.close()

    page, visit = _open(browser, release / "network_vertical_velocity.html")
    assert _ids(page, 'g[data-layer="segments"] path') == {s["segment_id"] for s in segments}
    assert page.locator('g[data-layer="districts"] path').count() >= 1
    alerted = {s["segment_id"] for s in segments if s["alert"] in ("warning", "watch", "DATA_GAP")}
    assert _ids(page, "#segments tbody tr") == alerted
    page.click(f'g[data-layer="segments"] path[data-id="{worst["segment_id"]}"]', force=True)
    assert "vertical velocity" in page.inner_text("#info")
    page.screenshot(path=str(tmp_path / "network_vertical_velocity.png"))
    _clean(visit)
    page.close()

    pages = [veg / "irrigation_priority.html", *sorted((out / "heat").glob("*/bulletin.html"))]
    assert len(pages) >= 2, "no heat bulletin page in the demo's products"
    for html_page in pages:
        page, visit = _open(browser, html_page)
        assert page.locator("table").count() >= 1
        assert page.locator("svg path.park, #map").count() >= 1  # the map is there
        page.screenshot(path=str(tmp_path / f"{html_page.parent.name}-{html_page.stem}.png"))
        _clean(visit)
        page.close()
    assert (tmp_path / "demo-dashboard.png").stat().st_size > 10_000
