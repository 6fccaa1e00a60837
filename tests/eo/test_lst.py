"""LST grid and sources: the Landsat 30 m phase, Earth Search refused, demo item layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rasterio

from core.errors import InvalidInputError
from core.profile import load_profile
from eo.demo.layout import DemoLayout
from eo.lst import find_lst_items, lst_grid


def test_lst_grid_sits_on_the_landsat_phase() -> None:
    grid = lst_grid("EPSG:32633", (600001.0, 5338000.0, 603000.0, 5341990.0))
    assert grid.resolution == 30.0
    for edge in grid.bounds:
        assert (edge - 15.0) % 30.0 == 0.0
    assert grid.bounds[0] <= 600001.0 and grid.bounds[2] >= 603000.0


def test_earth_search_landsat_is_not_a_supported_source(tmp_path: Path) -> None:
    profile = load_profile("vienna-demo", out_dir=tmp_path)
    source = profile.sources.landsat
    assert source is not None
    bad = profile.model_copy(
        update={"sources": profile.sources.model_copy(
            update={"landsat": source.model_copy(update={"provider": "earth-search"})})}
    )  # fmt: skip
    with pytest.raises(InvalidInputError, match="requester-pays"):
        find_lst_items(
            bad,
            (16.3, 48.1, 16.4, 48.2),
            *(__import__("datetime").date(2022, 7, d) for d in (1, 2)),
        )


@pytest.mark.slow
def test_demo_landsat_items_have_the_planetary_computer_layout(demo_small: DemoLayout) -> None:
    truth = json.loads(Path(demo_small.truth).read_text(encoding="utf-8"))["heat"]["landsat"]
    root = Path(demo_small.root)
    for item_id in truth["scenes"]:
        item = json.loads(
            (root / "stac" / "landsat-c2-l2" / item_id / f"{item_id}.json").read_text()
        )
        assert item["collection"] == "landsat-c2-l2"
        assert set(item["assets"]) == {"lwir11", "qa_pixel"}
        assert item["assets"]["lwir11"]["href"].endswith("_ST_B10.TIF")
        assert item["assets"]["lwir11"]["raster:bands"][0]["scale"] == 0.00341802
        assert item["properties"]["landsat:correction"] == "L2SP"
        st = (
            Path(root / "stac" / "landsat-c2-l2" / item_id) / item["assets"]["lwir11"]["href"]
        ).resolve()
        with rasterio.open(st) as src:
            assert src.res == (30.0, 30.0) and src.crs.to_epsg() == 32633
            assert src.dtypes[0] == "uint16" and src.nodata == 0
            assert (src.transform.c - 15.0) % 30.0 == 0.0
    cloudy = json.loads((root / "stac" / "landsat-c2-l2" / truth["cloudy_scene"] /
                         f"{truth['cloudy_scene']}.json").read_text())  # fmt: skip
    assert 30.0 < cloudy["properties"]["eo:cloud_cover"] <= 80.0  # passes the scene filter
