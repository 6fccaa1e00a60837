"""Map renderers and the raster grid they draw on."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from PIL import Image
from shapely.geometry import LineString, Polygon, box

from alerts.detect.irrigation import irrigation_priority, load_priority_policy
from alerts.products.cog import overview_factors
from alerts.products.context import MapContext
from alerts.products.deformation_release import alert_runs
from alerts.products.maps import map_view, nice_length, render_priority_png, render_timeseries_png
from alerts.products.raster import north_up, raster_crs
from alerts.products.webmap import svg_path
from core.errors import InvalidInputError
from tests.alerts.vegetation_factories import (
    COVERAGE,
    RES,
    X0,
    Y0,
    anomaly_da,
    park_stats,
    parks_gdf,
    time_series,
)

ATTRIBUTION = "Contains modified Copernicus Sentinel data 2019-2022"


@pytest.mark.parametrize(
    ("span", "length"), [(500.0, 100.0), (1234.0, 200.0), (5000.0, 1000.0), (12000.0, 2000.0)]
)
def test_scale_bar_length_is_round(span: float, length: float) -> None:
    assert nice_length(span) == length


def test_north_up_transform_from_pixel_centres() -> None:
    raster = north_up(anomaly_da())
    assert raster.transform == Affine(RES, 0.0, X0, 0.0, -RES, Y0 + 50 * RES)
    assert raster.crs.to_epsg() == 32633
    assert raster.bounds == (X0, Y0, X0 + 60 * RES, Y0 + 50 * RES)
    assert raster.data.dtype == np.float32


def test_south_up_input_is_flipped() -> None:
    da = anomaly_da()
    flipped = da.isel(y=slice(None, None, -1))
    a, b = north_up(da), north_up(flipped)
    assert a.transform == b.transform
    np.testing.assert_array_equal(a.data, b.data)


def test_crs_from_attr_and_refusals() -> None:
    da = anomaly_da().drop_vars("spatial_ref")
    with pytest.raises(InvalidInputError, match="no CRS"):
        raster_crs(da)
    assert raster_crs(da.assign_attrs(crs="EPSG:32633")).to_epsg() == 32633
    with pytest.raises(InvalidInputError, match="regularly spaced"):
        north_up(anomaly_da().isel(x=[0, 1, 3]))
    with pytest.raises(InvalidInputError, match="expected exactly"):
        north_up(anomaly_da().expand_dims(time=1))


def test_overview_factors() -> None:
    assert overview_factors((50, 60)) == [2]
    assert overview_factors((2000, 1500)) == [2, 4, 8]


def test_priority_png_renders() -> None:
    parks = parks_gdf(irrigation_priority(park_stats(), load_priority_policy(), coverage=COVERAGE))
    png = render_priority_png(parks, north_up(anomaly_da()), window="2022-06-01 to 2022-06-14",
                              attribution=ATTRIBUTION, language="de")  # fmt: skip
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        assert image.text["Copyright"] == ATTRIBUTION
        assert "Bewässerungspriorität" in image.text["Title"]
        pixels = np.asarray(image.convert("RGB"))
    # the class-1 colour (#d7191c, drawn at alpha 0.85) is on the map
    red = (pixels[..., 0] > 190) & (pixels[..., 1] < 70) & (pixels[..., 2] < 70)
    assert red.sum() > 500


def test_timeseries_png_with_missing_index() -> None:
    series = time_series(["p"])
    png = render_timeseries_png(series[series["index"] == "ndvi"], title="Park p",
                                attribution=ATTRIBUTION, reference="2019-2021")  # fmt: skip
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.text["Copyright"] == ATTRIBUTION


def test_timeseries_band_columns_accepted() -> None:
    series = time_series(["p"]).assign(ref_low=lambda d: d["ref_value"] - 0.05,
                                       ref_high=lambda d: d["ref_value"] + 0.05)  # fmt: skip
    assert (
        render_timeseries_png(series, title="p", attribution=ATTRIBUTION)[:8]
        == b"\x89PNG\r\n\x1a\n"
    )


def test_svg_path_frame_and_holes() -> None:
    bounds = (100.0, 200.0, 300.0, 400.0)
    square = Polygon([(110, 390), (120, 390), (120, 380), (110, 380)])
    assert svg_path(square, bounds) == "M10.0,10.0L20.0,10.0L20.0,20.0L10.0,20.0L10.0,10.0Z"
    holed = Polygon(
        [(100, 200), (300, 200), (300, 400), (100, 400)], [[(150, 250), (160, 250), (160, 260)]]
    )
    assert svg_path(holed, bounds).count("M") == 2
    assert svg_path(None, bounds) == ""


def _context() -> MapContext:
    """A district pair, a river across the test area and a line, in EPSG:32633."""
    crs = "EPSG:32633"
    districts = gpd.GeoDataFrame(
        {"id": ["1", "2"], "name": ["Nord", "Sued"]},
        geometry=[
            box(X0, Y0 + 500, X0 + 1200, Y0 + 1000),
            box(X0, Y0, X0 + 1200, Y0 + 500),
        ],
        crs=crs,
    )
    water = gpd.GeoDataFrame(
        {"id": ["Donau"], "name": ["Donau"]},
        geometry=[box(X0 + 500, Y0, X0 + 700, Y0 + 1000)],
        crs=crs,
    )
    line = gpd.GeoDataFrame(
        {"id": ["U1"], "name": ["U-Bahn U1"]},
        geometry=[LineString([(X0, Y0 + 300), (X0 + 1200, Y0 + 300)])],
        crs=crs,
    )
    return MapContext(districts=districts, water=water, corridors=line)


def test_priority_png_draws_the_context() -> None:
    parks = parks_gdf(irrigation_priority(park_stats(), load_priority_policy(), coverage=COVERAGE))
    args = {"window": "2022-06-01 to 2022-06-14", "attribution": ATTRIBUTION}
    with Image.open(io.BytesIO(render_priority_png(parks, None, **args))) as image:
        bare = np.asarray(image.convert("RGB"))
    png = render_priority_png(parks, None, context=_context(), **args)
    with Image.open(io.BytesIO(png)) as image:
        drawn = np.asarray(image.convert("RGB"))

    # the river (#a6cee3 at alpha 0.55 over the light grey map) is a pale blue found only with it
    def blue(p: np.ndarray) -> int:
        r, g, b = (p[..., i].astype(int) for i in range(3))
        return int(((b - r > 25) & (b > 200) & (g > 200)).sum())

    assert blue(drawn) > 20 * max(blue(bare), 1)


def test_map_view_zooms_to_small_subjects_only() -> None:
    full = (0.0, 0.0, 30_000.0, 23_000.0)
    small = gpd.GeoDataFrame(geometry=[box(14_000, 11_000, 16_000, 12_000)], crs="EPSG:32633")
    view, zoomed = map_view(small, full)
    assert zoomed
    assert view[0] <= 14_000 and view[2] >= 16_000 and view[1] <= 11_000 and view[3] >= 12_000
    assert view[2] - view[0] < 0.6 * 30_000
    spread = gpd.GeoDataFrame(geometry=[box(500, 500, 29_000, 22_000)], crs="EPSG:32633")
    assert map_view(spread, full) == (full, False)


def test_alerted_segments_are_labelled_once_per_stretch() -> None:
    rows = [("U3", 0, 100), ("U3", 100, 200), ("U3", 200, 300), ("U3", 900, 1000), ("U4", 100, 200)]
    segments = gpd.GeoDataFrame(
        {
            "segment_id": [f"{c}-{a // 100:03d}" for c, a, _ in rows],
            "corridor_id": [c for c, _, _ in rows],
            "chainage_from_m": [float(a) for _, a, _ in rows],
            "chainage_to_m": [float(b) for _, _, b in rows],
        },
        geometry=[LineString([(a, 0), (b, 0)]) for _, a, b in rows],
        crs="EPSG:3035",
    )
    runs = alert_runs(segments.sample(frac=1.0, random_state=1))
    assert [[r["segment_id"] for r in run] for run in runs] == [
        ["U3-000", "U3-001", "U3-002"],
        ["U3-009"],
        ["U4-001"],
    ]


def test_heat_map_with_context() -> None:
    from alerts.products.heat_bulletin import figure_png, map_figure, plt_close

    lst = np.full((50, 60), 305.0)
    lst[10:20, 10:20] = 315.0
    transform = Affine(RES, 0.0, X0, 0.0, -RES, Y0 + 50 * RES)
    context = _context()
    districts = context.districts.rename(columns={"id": "zone_id"})
    hot = gpd.GeoDataFrame(
        geometry=[box(X0 + 200, Y0 + 600, X0 + 400, Y0 + 800)], crs=districts.crs
    )
    fig = map_figure(lst, transform, hot, districts, ["1"], title="t", attribution="a",
                     context=context)  # fmt: skip
    names = {t.get_text() for t in fig.axes[0].texts}
    assert {"Sued", "Donau", "U-Bahn U1"} <= names  # the bulletin's district is named apart
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    plt_close(fig)


def test_network_html_map_draws_every_segment_over_the_context_and_lists_the_alerted() -> None:
    from alerts.products.deformation_release import render_network_html, segment_table

    rows = [  # id, gate, status, velocity, distortion
        ("U1-000", "none", "OK", -0.5, 1e-4),
        ("U1-001", "watch", "OK", -3.2, 2e-4),
        ("U1-002", "warning", "OK", -7.1, 2.5e-3),
        ("U1-003", "none", "DATA_GAP", None, None),
    ]
    segments = gpd.GeoDataFrame(
        {
            "segment_id": [r[0] for r in rows],
            "corridor_id": "U1",
            "line_name": "U-Bahn U1 <Nord>",
            "chainage_from_m": [100.0 * i for i in range(len(rows))],
            "chainage_to_m": [100.0 * (i + 1) for i in range(len(rows))],
            "gate": [r[1] for r in rows],
            "status": [r[2] for r in rows],
            "vertical_velocity": [r[3] for r in rows],
            "velocity_sigma": 0.3,
            "n_coherent": [12, 14, 20, 1],
            "angular_distortion": [r[4] for r in rows],
            "reason": [None, None, None, "1 coherent point (< 5)"],
        },
        geometry=[
            LineString([(X0 + 100 * i, Y0 + 300), (X0 + 100 * (i + 1), Y0 + 300)])
            for i in range(len(rows))
        ],
        crs="EPSG:32633",
    )
    page = render_network_html(
        segment_table(segments), "EGMS release 2019_2023", _context()
    ).decode()
    assert "http://" not in page and "https://" not in page  # opens offline
    assert page.count('data-layer="segments" data-id=') == 4
    for context in ("water", "districts", "corridors"):
        assert f'data-layer="{context}"' in page
    table = page[page.index('<table id="segments"') :]
    listed = [row.split('"')[0] for row in table.split('<tr data-id="')[1:]]
    assert listed == ["U1-002", "U1-001", "U1-003"]  # warning, watch, DATA_GAP; none left out
    assert '<a href="timeseries/u1-002.png">plot</a>' in table
    assert "1/400" in table and "-7.1 ± 0.3" in table
    assert "<td>U-Bahn U1 &lt;Nord&gt;</td>" in table  # escaped (hover text: JSON, textContent)
