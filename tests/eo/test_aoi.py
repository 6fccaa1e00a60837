"""AOIs are validated strictly and never repaired; the output grid snaps to the Sentinel-2 phase."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import AOIError
from eo.aoi import grid_for_aoi, load_aoi, parse_aoi

SQUARE = [[16.30, 48.18], [16.40, 48.18], [16.40, 48.24], [16.30, 48.24], [16.30, 48.18]]


def _parse(doc: object, max_area_km2: float = 2000.0):
    return parse_aoi(doc, source="aoi.geojson", max_area_km2=max_area_km2, max_vertices=1000)


def test_valid_polygon_feature_and_collection() -> None:
    polygon = {"type": "Polygon", "coordinates": [SQUARE]}
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    collection = {"type": "FeatureCollection", "features": [feature]}
    for doc in (polygon, feature, collection):
        assert _parse(doc).bbox == pytest.approx((16.30, 48.18, 16.40, 48.24))


def test_projected_file_with_declared_crs_is_transformed() -> None:
    doc = {
        "type": "Polygon",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32633"}},
        "coordinates": [
            [
                [600000, 5340000],
                [602000, 5340000],
                [602000, 5342000],
                [600000, 5342000],
                [600000, 5340000],
            ]
        ],
    }
    west, south, _, _ = _parse(doc).bbox
    # Independent value: EPSG:32633 (600000, 5340000) is about 16.35 E, 48.20 N.
    assert west == pytest.approx(16.35, abs=0.01) and south == pytest.approx(48.20, abs=0.01)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("not json at all", "not a GeoJSON object"),
        ({"type": "Point", "coordinates": [16.3, 48.2]}, "is not an area"),
        ({"type": "FeatureCollection", "features": []}, "has no features"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "Self-intersection.*not repaired",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[16.3, 48.2], [float("nan"), 48.2], [16.4, 48.3], [16.3, 48.2]]],
            },
            "NaN",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[600000, 5340000], [601000, 5340000], [601000, 5341000], [600000, 5340000]]
                ],
            },
            "not longitude/latitude",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[10, 40], [20, 40], [20, 50], [10, 50], [10, 40]]],
            },
            "exceeds the cap of 2,000 km2",
        ),
        ({"type": "Polygon", "coordinates": "oops"}, "NaN, infinity or non-numbers"),
    ],
)
def test_invalid_aoi_gives_one_clear_message(doc: object, message: str) -> None:
    with pytest.raises(AOIError, match=message):
        _parse(doc)


def test_vertex_cap() -> None:
    import math

    ring = [[16.3 + 0.05 * math.cos(t / 100), 48.2 + 0.03 * math.sin(t / 100)] for t in range(2000)]
    ring.append(ring[0])
    with pytest.raises(AOIError, match="vertices exceed the cap"):
        _parse({"type": "Polygon", "coordinates": [ring]})


def test_load_aoi_file_errors(tmp_path: Path) -> None:
    with pytest.raises(AOIError, match="file not found"):
        load_aoi(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{ this is not json")
    with pytest.raises(AOIError, match="not valid GeoJSON"):
        load_aoi(bad)
    good = tmp_path / "good.geojson"
    good.write_text(json.dumps({"type": "Polygon", "coordinates": [SQUARE]}))
    assert load_aoi(good).source == str(good)


def test_grid_snaps_to_the_sentinel2_phase() -> None:
    grid = grid_for_aoi(_parse({"type": "Polygon", "coordinates": [SQUARE]}), "EPSG:32633", 10.0)
    assert all(edge % 20 == 0 for edge in grid.bounds)
    rows, cols = grid.shape
    assert (grid.bounds[2] - grid.bounds[0]) / 10 == cols and (
        grid.bounds[3] - grid.bounds[1]
    ) / 10 == rows
    assert grid.x_centres()[0] == grid.bounds[0] + 5.0
    assert grid.y_centres()[0] == grid.bounds[3] - 5.0
