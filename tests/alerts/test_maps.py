"""Map renderers and the raster grid they draw on."""

from __future__ import annotations

import io

import numpy as np
import pytest
from affine import Affine
from PIL import Image
from shapely.geometry import Polygon

from alerts.detect.irrigation import irrigation_priority, load_priority_policy
from alerts.products.cog import overview_factors
from alerts.products.maps import nice_length, render_priority_png, render_timeseries_png
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
