"""The heat bulletin's HTML map in headless Chromium (no network): hovering a district over the map
image shows its figures, clicking it selects its table row (the browser helpers of
``test_dashboard_browser``: requests off the machine and console errors fail the test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import box

from tests.flows.test_dashboard_browser import _clean, _open, browser  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


def test_bulletin_map_hover_shows_a_district_and_click_selects_its_row(
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    from alerts.products.heat_bulletin import (
        bulletin_html,
        figure_png,
        map_figure,
        map_frame,
        plt_close,
        table_rows,
    )

    districts = gpd.GeoDataFrame(
        {"zone_id": ["7", "9"], "name": ["Neubau", "Josefstadt"]},
        geometry=[box(500_000, 5_338_800, 500_750, 5_340_000),
                  box(500_750, 5_338_800, 501_500, 5_340_000)],
        crs="EPSG:32633",
    )  # fmt: skip
    lst = 300.0 + np.random.default_rng(3).normal(0, 2, (40, 50))
    fig = map_figure(lst, Affine(30, 0, 500_000, 0, -30, 5_340_000),
                     gpd.GeoDataFrame(geometry=[], crs="EPSG:32633"), districts, ["9"],
                     title="T", attribution="A")  # fmt: skip
    png, frame = figure_png(fig), map_frame(fig)
    plt_close(fig)
    ranking = pd.DataFrame({"zone_id": ["9", "7"], "rank": [1, 2], "name": ["Josefstadt", "Neubau"],
                            "lst_median_c": [38.2, 35.1], "hot_share": [0.6, 0.1],
                            "status": ["OK", "OK"]})  # fmt: skip
    page_file = tmp_path / "bulletin.html"
    page_file.write_bytes(
        bulletin_html(
            title="T",
            headline="H",
            status_line="pending",
            map_png=png,
            ranking_rows=table_rows(ranking),
            forecast_rows=[],
            notes=["n"],
            instruction="i",
            map_frame=frame,
            districts=districts,
        )
    )
    page, visit = _open(browser, page_file)
    image = page.eval_on_selector("#map", "el => el.getBoundingClientRect().toJSON()")
    zone = page.eval_on_selector(
        'path.zone[data-id="9"]', "el => el.getBoundingClientRect().toJSON()"
    )
    # the eastern district is the right half of the map axes, inside the image as laid out
    assert image["x"] < zone["x"] and zone["x"] + zone["width"] < image["x"] + image["width"]
    assert image["y"] < zone["y"] and zone["y"] + zone["height"] < image["y"] + image["height"]
    right = image["x"] + (frame.left + frame.width) * image["width"]
    assert abs(zone["x"] + zone["width"] - right) < 2.0
    assert abs(zone["width"] - frame.width * image["width"] / 2) < 2.0
    page.hover('path.zone[data-id="9"]')
    tip = page.inner_text("#tip")
    assert page.is_visible("#tip") and "Josefstadt" in tip and "LST median (degC): 38.2" in tip
    page.click('path.zone[data-id="7"]')
    assert page.eval_on_selector_all("tr.sel", "rows => rows.map(r => r.dataset.id)") == ["7"]
    page.click('tr[data-id="9"]')
    selected = page.eval_on_selector_all(".sel", "els => els.map(e => e.tagName + e.dataset.id)")
    assert sorted(selected) == ["TR9", "path9"]
    page.screenshot(path=str(tmp_path / "bulletin.png"))
    _clean(visit)
    page.close()
