"""Parks-team products: every file written, readable by standard tools, attributed, atomic."""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from PIL import Image
from shapely.geometry import Polygon

import alerts.products.irrigation_run as vegetation
from alerts.detect.irrigation import irrigation_priority, load_priority_policy
from alerts.products import copernicus_attribution, write_vegetation_products
from alerts.products.staging import ProductStage, product_path, slug
from core.errors import InvalidInputError
from tests.alerts.vegetation_factories import (
    COVERAGE,
    RES,
    X0,
    Y0,
    anomaly_da,
    manifest_info,
    park_stats,
    parks_gdf,
    time_series,
)

ATTRIBUTION = "Contains modified Copernicus Sentinel data 2019-2022"
MAIN = [
    "irrigation_priority.geojson",
    "irrigation_priority.csv",
    "ndvi_anomaly.tif",
    "irrigation_priority.png",
    "irrigation_priority.html",
    "manifest.json",
]


def _parks(stats: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    stats = park_stats() if stats is None else stats
    return parks_gdf(
        irrigation_priority(stats, load_priority_policy(), coverage=COVERAGE, reference="2019-2021")
    )


def _write(out: Path, language: str = "en", **kw: Any) -> dict[str, Path]:
    args: dict[str, Any] = {
        "parks": _parks(), "da": anomaly_da(), "series": time_series(list(park_stats()["park_id"])),
    }  # fmt: skip
    args.update(kw)
    return write_vegetation_products(
        out, args["parks"], args["da"], args["series"], manifest_info(),
        language=language, attribution=ATTRIBUTION,
    )  # fmt: skip


def _all_gap_stats() -> pd.DataFrame:
    stats = park_stats()
    stats["status"] = "DATA_GAP"
    stats["clear_fraction"] = 0.0
    stats["clear_dates"] = 0
    stats["last_clear_date"] = None
    for col in ("ndvi_anomaly", "ndmi_anomaly", "evi_anomaly", "stressed_share"):
        stats[col] = math.nan
    return stats


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _write(tmp_path_factory.mktemp("veg") / "out")


def test_attribution_helper() -> None:
    assert copernicus_attribution(2019, 2022) == ATTRIBUTION
    assert copernicus_attribution(2022, 2022) == "Contains modified Copernicus Sentinel data 2022"


def test_every_product_written_manifest_last(products: dict[str, Path]) -> None:
    names = list(products)
    assert set(MAIN) <= set(names)
    assert names[-1] == "manifest.json"
    # class 1-2 parks (p-dry, p-mid) get a time-series plot, the others none
    assert {n for n in names if n.startswith("timeseries/")} == {
        "timeseries/p-dry.png",
        "timeseries/p-mid.png",
    }
    out = products["manifest.json"].parent
    assert not list(out.rglob("*.tmp")), "temporary files left behind"


def test_geojson_in_wgs84_with_priority(products: dict[str, Path]) -> None:
    path = products["irrigation_priority.geojson"]
    gdf = gpd.read_file(path)
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) == 5
    # EPSG:32633 x 600 km, y 5340 km is near 16.35 E, 48.2 N (Vienna)
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 16.3 < minx < maxx < 16.4 and 48.1 < miny < maxy < 48.3
    by_id = gdf.set_index("park_id")
    assert by_id.loc["p-dry", "priority_class"] == 1
    assert by_id.loc["p-dry", "rank"] == 1
    assert pd.isna(by_id.loc["p-gap", "priority_class"])
    assert "42 %" in by_id.loc["p-gap", "why"]
    assert by_id.loc["p-deg", "clear_fraction"] == pytest.approx(0.75)
    assert pd.Timestamp(by_id.loc["p-dry", "last_clear_date"]) == pd.Timestamp("2022-06-12")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["attribution"] == ATTRIBUTION
    assert "crs" not in doc  # RFC 7946
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert Polygon(ring).exterior.is_ccw  # RFC 7946: exterior rings counter-clockwise


def test_csv_english(products: dict[str, Path]) -> None:
    path = products["irrigation_priority.csv"]
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == f"# {ATTRIBUTION}"
    table = pd.read_csv(path, skiprows=1)
    for header in ("Rank", "Park", "Priority", "Why", "Status", "NDMI anomaly", "Clear sky (%)",
                   "Last clear date"):  # fmt: skip
        assert header in table.columns
    assert table["Park"].tolist()[:4] == ["Dry Park", "Mid Park", "Straße Park", "Green Park"]
    assert table["Park"].iloc[-1] == "Cloudy Park"  # DATA_GAP after the ranked parks
    assert table["Rank"].tolist()[:4] == [1, 2, 3, 4] and pd.isna(table["Rank"].iloc[-1])
    assert table["Priority"].iloc[0] == "1 urgent"
    assert table["NDMI anomaly"].iloc[0] == pytest.approx(-0.12)


def test_csv_german(tmp_path: Path) -> None:
    written = _write(tmp_path, language="de")
    path = written["irrigation_priority.csv"]
    assert ATTRIBUTION in path.read_text(encoding="utf-8-sig").splitlines()[0]
    table = pd.read_csv(path, skiprows=1, sep=";", decimal=",")
    for header in ("Rang", "Park", "Priorität", "Grund", "Status", "NDMI-Anomalie",
                   "Klarsicht-Anteil (%)", "Letztes klares Datum"):  # fmt: skip
        assert header in table.columns
    assert table["Priorität"].iloc[0] == "1 dringend"
    assert table["NDMI-Anomalie"].iloc[0] == pytest.approx(-0.12)
    assert table["Klarsicht-Anteil (%)"].tolist()[2] == pytest.approx(75)
    assert "Zeitraum" in written["irrigation_priority.html"].read_text(encoding="utf-8")


def test_cog_readable_with_overviews_crs_nodata(products: dict[str, Path]) -> None:
    source = anomaly_da()
    with rasterio.open(products["ndvi_anomaly.tif"]) as ds:
        assert ds.crs.to_epsg() == 32633
        assert ds.dtypes[0] == "float32"
        assert math.isnan(ds.nodata)
        assert ds.overviews(1), "no overviews"
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.tags()["attribution"] == ATTRIBUTION
        assert ds.tags(1)["units"] == "1"
        # transform from pixel centres: top-left edge x0, y0 + 50 rows of 20 m
        assert tuple(ds.transform)[:6] == (RES, 0.0, X0, 0.0, -RES, Y0 + 50 * RES)
        data = ds.read(1)
    np.testing.assert_array_equal(data, source.values)  # NaN positions and values kept


def test_pngs_open_and_carry_attribution(products: dict[str, Path]) -> None:
    for name in ("irrigation_priority.png", "timeseries/p-dry.png"):
        with Image.open(products[name]) as image:
            image.load()
            assert image.format == "PNG" and image.size[0] > 400
            assert image.text["Copyright"] == ATTRIBUTION


def test_html_is_offline_and_complete(products: dict[str, Path]) -> None:
    page = products["irrigation_priority.html"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<link" not in page.lower()
    assert "<script src" not in page.lower()
    assert ATTRIBUTION in page
    assert "<svg" in page and page.count('class="park"') == 5
    assert page.count("<tr data-id=") == 5
    assert "Straße Park" in page and "1 urgent" in page


def test_manifest_hashes_and_run_facts(products: dict[str, Path]) -> None:
    manifest = json.loads(products["manifest.json"].read_text(encoding="utf-8"))
    listed = {p["path"]: p["sha256"] for p in manifest["products"]}
    assert set(listed) == set(products) - {"manifest.json"}
    for name, digest in listed.items():
        assert hashlib.sha256(products[name].read_bytes()).hexdigest() == digest
    assert manifest["attribution"] == ATTRIBUTION
    assert manifest["rule_version"] == "irrigation-priority-2.0.0"
    assert manifest["code_version"]
    assert manifest["scene_ids"] == manifest_info()["scene_ids"]
    assert manifest["processing_baselines"] == ["04.00"]
    assert manifest["profile"] == "demo-vienna"
    assert manifest["period"] == {"start": "2022-06-01", "end": "2022-06-14"}
    assert manifest["parks"]["clear_fractions"]["p-gap"] == pytest.approx(0.42)
    assert manifest["parks"]["by_status"] == {"DATA_GAP": 1, "DEGRADED": 1, "OK": 3}


def test_all_data_gap_week_writes_everything(tmp_path: Path) -> None:
    written = _write(tmp_path, parks=_parks(_all_gap_stats()), da=anomaly_da(all_nan=True),
                     series=time_series([])[:0])  # fmt: skip
    assert set(MAIN) == set(written)  # no class 1-2 park: no time series
    gdf = gpd.read_file(written["irrigation_priority.geojson"])
    assert gdf["priority_class"].isna().all()
    assert gdf["why"].eq("no clear observation in this window").all()
    with rasterio.open(written["ndvi_anomaly.tif"]) as ds:
        assert np.isnan(ds.read(1)).all()
    table = pd.read_csv(written["irrigation_priority.csv"], skiprows=1)
    assert len(table) == 5 and table["Rank"].isna().all()
    assert "No clear observation in this window" in written["irrigation_priority.html"].read_text(
        encoding="utf-8"
    )
    with Image.open(written["irrigation_priority.png"]) as image:
        assert image.text["Copyright"] == ATTRIBUTION
    manifest = json.loads(written["manifest.json"].read_text(encoding="utf-8"))
    assert manifest["parks"]["by_class"] == {"1": 0, "2": 0, "3": 0, "4": 0}


def test_failure_midway_keeps_previous_products(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _write(tmp_path, language="en")
    before = {name: path.read_bytes() for name, path in first.items()}

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(vegetation, "render_priority_html", broken)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        _write(tmp_path, language="de")  # CSV and GeoJSON were already staged when it failed
    after = {name: path.read_bytes() for name, path in first.items()}
    assert after == before  # still the English run, byte for byte
    assert not list(tmp_path.rglob("*.tmp"))


def test_failure_in_cog_writer_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(da: object, path: Path, **kwargs: object) -> None:
        path.write_bytes(b"II*\x00partial")
        raise OSError("disk full")

    monkeypatch.setattr(vegetation, "write_cog", half_written)
    with pytest.raises(OSError, match="disk full"):
        _write(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no temporary files


def test_invalid_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="'en' or 'de'"):
        _write(tmp_path, language="fr")
    with pytest.raises(InvalidInputError, match="irrigation_priority first"):
        _write(tmp_path, parks=parks_gdf(park_stats()))
    no_crs = _parks().set_crs(None, allow_override=True)
    with pytest.raises(InvalidInputError, match="with a CRS"):
        _write(tmp_path, parks=no_crs)


@pytest.mark.parametrize(
    "name", ["../escape.png", "/etc/passwd", "a/../../b.png", "x\\..\\y", ".."]
)
def test_path_escapes_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInputError):
        product_path(tmp_path, name)
    with ProductStage(tmp_path / "out") as stage, pytest.raises(InvalidInputError):
        stage.stage_bytes(name, b"x")


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "timeseries").symlink_to(outside)
    with pytest.raises(InvalidInputError, match="outside"):
        product_path(tmp_path / "out", "timeseries/a.png")


def test_slugs() -> None:
    assert slug("Park 7 / Süd") == "park-7-sud"
    assert slug("../../etc/passwd") == "etc-passwd"
    with pytest.raises(InvalidInputError):
        slug("///")


def test_colliding_park_ids_get_distinct_plots(tmp_path: Path) -> None:
    stats = park_stats()
    stats.loc[stats["park_id"] == "p-mid", "park_id"] = "P DRY"  # slugs like "p-dry"
    written = _write(tmp_path, parks=_parks(stats), series=time_series(["p-dry", "P DRY"]))
    plots = [n for n in written if n.startswith("timeseries/")]
    assert len(plots) == 2 and len(set(plots)) == 2
    with Image.open(io.BytesIO(written[plots[1]].read_bytes())) as image:
        assert image.format == "PNG"


def test_series_until_cuts_at_the_window_end_and_joins_each_parks_reference() -> None:
    import datetime as dt

    series = pd.DataFrame(
        {
            "park_id": ["a", "a", "b", "c"],
            "date": pd.to_datetime(["2022-06-01", "2022-06-20", "2022-06-01", "2022-06-01"]),
            "index": ["ndvi", "ndvi", "ndmi", "ndvi"],
            "value": [0.5, 0.4, 0.2, 0.6],
        }
    )
    parks = pd.DataFrame({"park_id": ["a", "b"], "ndvi_ref": [0.7, 0.65], "ndmi_ref": [0.3, 0.25]})
    out = vegetation.series_until(series, parks, dt.date(2022, 6, 14))
    assert list(out["park_id"]) == ["a", "b", "c"]  # a's 20 June value is after the window
    assert out["ref_value"].iloc[0] == 0.7 and out["ref_value"].iloc[1] == 0.25
    assert math.isnan(out["ref_value"].iloc[2])  # c is not in the window's table
