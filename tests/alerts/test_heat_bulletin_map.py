"""The heat bulletin's HTML map: the districts laid over the map image line up with it, hovering one
shows its row's figures and the table rows link back to the map; nothing is fetched."""

from __future__ import annotations

import io
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from PIL import Image
from shapely.geometry import box

from alerts.products.heat_bulletin import (
    bulletin_html,
    figure_png,
    map_figure,
    map_frame,
    map_frames,
    plt_close,
    table_rows,
)

TRANSFORM = Affine(30, 0, 500_000, 0, -30, 5_340_000)  # 50 x 40 cells of 30 m


def _districts() -> gpd.GeoDataFrame:
    west = box(500_000, 5_338_800, 500_750, 5_340_000)
    east = box(500_750, 5_338_800, 501_500, 5_340_000)
    return gpd.GeoDataFrame({"zone_id": ["7", "9"], "name": ["Neubau", "Josefstadt"]},
                            geometry=[west, east], crs="EPSG:32633")  # fmt: skip


def test_map_frame_locates_map_coordinates_in_the_png() -> None:
    lst = np.full((40, 50), 295.0)
    lst[8:14, 35:41] = 320.0  # a hot block: cells x 35..40, y 8..13 (centre 501_140, 5_339_667)
    fig = map_figure(lst, TRANSFORM, gpd.GeoDataFrame(geometry=[], crs="EPSG:32633"),
                     _districts(), ["9"], title="T", attribution="A")  # fmt: skip
    png, frame = figure_png(fig), map_frame(fig)
    plt_close(fig)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    height, width = image.shape[:2]
    minx, miny, maxx, maxy = frame.bounds
    assert (minx, maxx) == (500_000, 501_500) and (miny, maxy) == (5_338_800, 5_340_000)

    def pixel(x: float, y: float) -> np.ndarray:
        col = (frame.left + frame.width * (x - minx) / (maxx - minx)) * width
        row = (frame.top + frame.height * (maxy - y) / (maxy - miny)) * height
        return image[int(row), int(col)]

    hot, cool = pixel(501_140, 5_339_667), pixel(500_300, 5_339_300)
    assert hot[0] > 200 and hot[1] > 200, hot  # the top of inferno: pale yellow
    assert cool.sum() < 150, cool  # its bottom: near black
    # a quarter cell inside the block's corners is still hot, a cell outside is not
    assert pixel(501_050 + 8, 5_339_760 - 8)[1] > 200
    assert pixel(501_050 - 30, 5_339_760 + 30)[1] < 100


def test_html_overlay_hovers_district_figures_and_links_the_table() -> None:
    districts = _districts()
    lst = np.full((40, 50), 300.0)
    fig = map_figure(lst, TRANSFORM, gpd.GeoDataFrame(geometry=[], crs="EPSG:32633"),
                     districts, ["9"], title="T", attribution="A")  # fmt: skip
    png, frame = figure_png(fig), map_frame(fig)
    plt_close(fig)
    ranking = pd.DataFrame({"zone_id": ["9", "7"], "rank": [1, 2], "name": ["Josefstadt", "Neubau"],
                            "lst_median_c": [38.2, 35.1], "hot_share": [0.6, 0.1],
                            "status": ["OK", "OK"]})  # fmt: skip
    rows = table_rows(ranking)
    text = bulletin_html(title="T", headline="H", status_line="pending", map_png=png,
                         ranking_rows=rows, forecast_rows=[], notes=["n"], instruction="i",
                         map_frame=frame, districts=districts).decode()  # fmt: skip
    assert "http://" not in text and "https://" not in text  # nothing to fetch: loads offline
    assert 'src="data:image/png;base64,' in text
    zones = re.findall(r'<path class="zone" data-id="([^"]+)" d="([^"]+)"', text)
    assert sorted(z for z, _ in zones) == ["7", "9"]
    west = dict(zones)["7"]  # viewBox metres east of the left edge and south of the top edge
    assert west == "M750.0,1200.0L750.0,0.0L0.0,0.0L0.0,1200.0L750.0,1200.0Z"
    assert 'viewBox="0 0 1500.0 1200.0"' in text
    figures = json.loads(re.search(r'id="zone-data">(.*?)</script>', text, re.S).group(1))  # type: ignore[union-attr]
    assert figures["9"][0] == ["District", "Josefstadt"]
    assert ["LST median (degC)", 38.2] in figures["9"] and ["Hot-spot share", "60%"] in figures["9"]
    body = text.split("Districts by older people", 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<tr data-id="([^"]+)">', body) == ["9", "7"]  # the table's order
    assert "function select(id)" in text  # the inlined script


def test_html_without_a_frame_stays_a_plain_image() -> None:
    rows = [{"rank": 1, "name": "Margareten", "zone_id": "5"}]
    text = bulletin_html(title="T", headline="H", status_line="s", map_png=b"\x89PNG",
                         ranking_rows=rows, forecast_rows=[], notes=[], instruction="").decode()  # fmt: skip
    assert 'class="zone"' not in text and "<script" not in text
    assert "<tbody><tr><td>1</td>" in text


def test_vulnerability_panel_colours_districts_by_score_on_the_same_extent() -> None:
    districts = pd.concat([_districts(), gpd.GeoDataFrame(
        {"zone_id": ["3"], "name": ["Landstrasse"]},
        geometry=[box(500_000, 5_338_800, 501_500, 5_339_000)], crs="EPSG:32633")],
        ignore_index=True)  # fmt: skip
    districts = gpd.GeoDataFrame(districts, crs="EPSG:32633")
    districts.loc[0, "geometry"] = box(500_000, 5_339_000, 500_750, 5_340_000)
    districts.loc[1, "geometry"] = box(500_750, 5_339_000, 501_500, 5_340_000)
    ranking = pd.DataFrame({"zone_id": ["9", "7", "3"], "rank": pd.array([1, 2, None], "Int64"),
                            "score": [900.0, 90.0, np.nan], "status": ["OK", "OK", "DATA_GAP"]})  # fmt: skip
    fig = map_figure(np.full((40, 50), 300.0), TRANSFORM,
                     gpd.GeoDataFrame(geometry=[], crs="EPSG:32633"), districts, ["9"],
                     title="T", attribution="A", vulnerability=ranking)  # fmt: skip
    png, frames = figure_png(fig), map_frames(fig)
    panel = next(ax for ax in fig.axes[1:] if ax.get_label() == "map-panel")
    labels = {t.get_text() for t in panel.texts}
    plt_close(fig)
    assert len(frames) == 2 and frames[0].bounds == frames[1].bounds  # the LST map's extent
    assert frames[1].left > frames[0].left + frames[0].width  # beside it, to the right
    assert labels == {"1", "2"}  # ranks of the ranked districts; none for the DATA_GAP one
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    height, width = image.shape[:2]
    f = frames[1]
    minx, miny, maxx, maxy = f.bounds

    def pixel(x: float, y: float) -> np.ndarray:
        col = (f.left + f.width * (x - minx) / (maxx - minx)) * width
        row = (f.top + f.height * (maxy - y) / (maxy - miny)) * height
        return image[int(row), int(col)]

    first, second = pixel(501_300, 5_339_800), pixel(500_200, 5_339_800)
    assert first[0] > 100 and first[1] < 60 and first[2] < 60, first  # the top score: dark red
    assert second[0] > 230 and second[1] > 200, second  # a tenth of it: pale yellow
    gap = pixel(500_300, 5_338_900)
    assert abs(gap[0] - gap[1]) < 20 and abs(gap[1] - gap[2]) < 20, gap  # hatched grey


def test_html_overlay_covers_both_panels() -> None:
    districts = _districts()
    ranking = pd.DataFrame({"zone_id": ["9", "7"], "rank": [1, 2], "name": ["Josefstadt", "Neubau"],
                            "score": [900.0, 90.0], "status": ["OK", "OK"]})  # fmt: skip
    fig = map_figure(np.full((40, 50), 300.0), TRANSFORM,
                     gpd.GeoDataFrame(geometry=[], crs="EPSG:32633"), districts, ["9"],
                     title="T", attribution="A", vulnerability=ranking)  # fmt: skip
    png, frames = figure_png(fig), map_frames(fig)
    plt_close(fig)
    text = bulletin_html(title="T", headline="H", status_line="s", map_png=png,
                         ranking_rows=table_rows(ranking), forecast_rows=[], notes=[],
                         instruction="", map_frame=frames, districts=districts).decode()  # fmt: skip
    svgs = re.findall(r'<svg class="overlay" style="left:([0-9.]+)%', text)
    assert [float(v) for v in svgs] == pytest.approx([100 * f.left for f in frames], abs=1e-3)
    assert text.count('<path class="zone" data-id="9"') == 2
