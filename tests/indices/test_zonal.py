"""Coverage-weighted zonal statistics, clear dates, the park table and its status rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from shapely.geometry import Polygon

from core.errors import InvalidInputError
from core.status import CoverageRule
from indices.composite import any_clear, clear_median, reference_median, window
from indices.zonal import (
    PARK_COLUMNS,
    clear_dates,
    clear_fraction,
    park_statistics,
    park_status,
    park_time_series,
    zonal_medians,
    zonal_share,
    zonal_weighted_mean,
)
from tests.indices.factories import cube, parks, raster

# 2 x 2 grid of 10 m pixels, edges x 0..20, y 0..20. The polygon x 0..15 covers the west column
# fully (coverage 1) and the east column half (coverage 0.5): 3 pixels of area.
HALF = {"half": (0.0, 0.0, 15.0, 20.0)}
VALUES = [[0.2, 0.4], [0.6, 0.8]]


def _weighted_type7_median(pairs: list[tuple[float, float]]) -> float:
    """exactextract's weighted median written out: s_k = k w_k + (n - 1) sum_{i<k} w_i."""
    pairs = sorted(pairs)
    n, total = len(pairs), sum(w for _, w in pairs)
    s, cum = [], 0.0
    for k, (_, w) in enumerate(pairs):
        s.append(k * w + (n - 1) * cum)
        cum += w
    target = 0.5 * total * (n - 1)
    right = next(k for k in range(n) if s[k] > target)
    (x0, _), (x1, _) = pairs[right - 1], pairs[right]
    return x0 + (target - s[right - 1]) * (x1 - x0) / (s[right] - s[right - 1])


def test_weighted_mean_and_median_on_half_covered_pixels() -> None:
    da = raster(VALUES)
    mean = zonal_weighted_mean(da, parks(HALF), "park_id")
    assert mean["half"] == pytest.approx((0.2 * 1 + 0.4 * 0.5 + 0.6 * 1 + 0.8 * 0.5) / 3)
    median = zonal_medians(da, parks(HALF), "park_id")
    # s = [0, 3.5, 6.5, 9], target 4.5: between 0.4 and 0.6 -> 0.4 + 1 * 0.2 / 3 (unweighted: 0.5)
    expected = 0.4 + (4.5 - 3.5) * (0.6 - 0.4) / (6.5 - 3.5)
    assert median["half"] == pytest.approx(expected)
    pairs = [(0.2, 1.0), (0.4, 0.5), (0.6, 1.0), (0.8, 0.5)]
    assert _weighted_type7_median(pairs) == pytest.approx(expected)


def test_nan_pixels_are_ignored_and_empty_zones_are_nan() -> None:
    da = raster([[0.2, 0.4], [0.6, np.nan]])
    zones = parks({**HALF, "outside": (100.0, 100.0, 110.0, 110.0), "nan": (15.0, 0.0, 20.0, 10.0)})
    mean = zonal_weighted_mean(da, zones, "park_id")
    assert mean["half"] == pytest.approx((0.2 + 0.4 * 0.5 + 0.6) / 2.5)
    median = zonal_medians(da, zones, "park_id")
    assert median["half"] == pytest.approx(_weighted_type7_median([(0.2, 1), (0.4, 0.5), (0.6, 1)]))
    assert np.isnan(median["outside"]) and np.isnan(median["nan"])


def test_share_counts_valid_pixels_by_coverage() -> None:
    mask = raster([[True, False], [True, True]])
    assert zonal_share(mask, parks(HALF), "park_id")["half"] == pytest.approx(2.5 / 3)
    valid = raster([[True, True], [True, False]])
    assert zonal_share(mask, parks(HALF), "park_id", valid)["half"] == pytest.approx(2 / 2.5)


def test_clear_fraction_counts_the_park_outside_the_raster_as_not_clear() -> None:
    clear = raster([[True, False], [False, True]])
    zones = parks({**HALF, "edge": (-10.0, 0.0, 10.0, 20.0)})
    frac = clear_fraction(clear, zones, "park_id")
    assert frac["half"] == pytest.approx((1 * 1 + 1 * 0.5) / 3)
    assert frac["edge"] == pytest.approx(1 / 4)  # 2 of its 4 pixels lie west of the raster


def test_crs_and_id_problems_are_refused_with_a_remedy() -> None:
    da = raster(VALUES)
    with pytest.raises(InvalidInputError, match="to_crs"):
        zonal_medians(da, parks(HALF).set_crs("EPSG:32634", allow_override=True), "park_id")
    with pytest.raises(InvalidInputError, match="no id field"):
        zonal_medians(da, parks(HALF), "fid")
    twice = pd.concat([parks(HALF), parks(HALF)])
    with pytest.raises(InvalidInputError, match="not unique"):
        zonal_medians(da, twice, "park_id")


def _clear_cube() -> xr.DataArray:
    times = [
        "2024-06-02T10:00",  # all clear
        "2024-06-05T10:00",  # west column half clear (exactly 50 %), east cloudy
        "2024-06-08T10:00",  # all cloudy
        "2024-06-10T10:00",  # west top only; the second pass of the same day adds west bottom
        "2024-06-10T10:05",
    ]
    clear = np.zeros((5, 2, 2), dtype=bool)
    clear[0] = True
    clear[1, 0, 0] = True
    clear[3, 0, 0] = True
    clear[4, 1, 0] = True
    return cube(clear, times, name="clear")


def test_clear_dates_and_last_clear_date() -> None:
    zones = parks({"west": (0.0, 0.0, 10.0, 20.0), "east": (10.0, 0.0, 20.0, 20.0)})
    out = clear_dates(_clear_cube().chunk({"time": 2}), zones, "park_id")
    assert out.loc["west", "clear_dates"] == 3  # 06-02, 06-05 (50 % counts), 06-10 (combined)
    assert out.loc["west", "last_clear_date"] == "2024-06-10"
    assert out.loc["east", "clear_dates"] == 1
    assert out.loc["east", "last_clear_date"] == "2024-06-02"
    strict = clear_dates(_clear_cube(), zones, "park_id", min_share=0.6)
    assert strict.loc["west", "clear_dates"] == 2


def test_park_time_series_masks_cloudy_dates() -> None:
    clear = _clear_cube().isel(time=[0, 1, 2])
    values = cube(np.array([0.5, 0.6, 0.7])[:, None, None] * np.ones((3, 2, 2)), clear.time.values)
    zones = parks({"west": (0.0, 0.0, 10.0, 20.0)})
    series = park_time_series(values, clear, zones, "park_id").set_index("date")
    np.testing.assert_allclose(series["value"].to_numpy(), [0.5, 0.6, np.nan])
    np.testing.assert_allclose(series["clear_share"].to_numpy(), [1.0, 0.5, 0.0])


@pytest.mark.parametrize(
    ("clear_frac", "dates", "ref", "expected"),
    [
        (1.0, 3, 0.5, "OK"),
        (0.9, 2, 0.5, "OK"),
        (0.8999, 5, 0.5, "DEGRADED"),
        (0.6, 5, 0.5, "DEGRADED"),
        (0.5999, 5, 0.5, "DATA_GAP"),
        (np.nan, 5, 0.5, "DATA_GAP"),
        (1.0, 1, 0.5, "DATA_GAP"),
        (1.0, 5, np.nan, "DATA_GAP"),
    ],
)
def test_status_rule(clear_frac: float, dates: int, ref: float, expected: str) -> None:
    table = pd.DataFrame(
        {
            "clear_fraction": [clear_frac],
            "clear_dates": [dates],
            "ndvi_ref": [ref],
            "ndvi_now": [0.4],
        }
    )
    assert park_status(table, RULE).tolist() == [expected]


END = dt.date(2024, 6, 14)
RULE = CoverageRule(minimum=0.6, degraded_below=0.9, min_dates=2)  # the packaged profiles'
REF_YEARS = [2021, 2022, 2023]
# 4 x 4 grid (x, y 0..40 m). Parks: "ok" = west half; "cloudy" = north-east quarter, clear
# on 1 of 4 pixels; "degraded" = south-east quarter, clear on 3 of 4 pixels.
ZONES = {
    "ok": (0.0, 0.0, 20.0, 40.0),
    "cloudy": (20.0, 20.0, 40.0, 40.0),
    "degraded": (20.0, 0.0, 40.0, 20.0),
}


def _scene(now_values: np.ndarray, now_clear: np.ndarray, now_days: tuple[int, ...] = (3, 8, 12)):
    """NDVI, NDMI and EVI cubes: 3 dates per reference year at 0.7 (0.3, 0.5), then the window."""
    ref_times = [f"{y}-06-{d:02d}" for y in REF_YEARS for d in (3, 8, 12)]
    times = ref_times + [f"2024-06-{d:02d}" for d in now_days]
    n_ref, n_now = len(ref_times), len(now_days)
    layers = {}
    for name, ref_value, offset in (("ndvi", 0.7, 0.0), ("ndmi", 0.3, -0.4), ("evi", 0.5, -0.2)):
        now = np.broadcast_to(now_values + offset, (n_now, 4, 4))
        values = np.concatenate([np.full((n_ref, 4, 4), ref_value), now])
        layers[name] = cube(values, times, name=name).chunk({"time": 3})
    clear = np.concatenate(
        [np.ones((n_ref, 4, 4), bool), np.broadcast_to(now_clear, (n_now, 4, 4))]
    )
    return layers, cube(clear, times, name="clear").chunk({"time": 3})


def _table(layers: dict, clear: xr.DataArray, **kwargs) -> pd.DataFrame:
    now = {k: clear_median(window(v, END), window(clear, END)) for k, v in layers.items()}
    ref = {k: reference_median(v, clear, END, 14, REF_YEARS) for k, v in layers.items()}
    kwargs.setdefault("coverage", RULE)
    return park_statistics(now, ref, window(clear, END), parks(ZONES), "park_id", **kwargs)


def _now_values() -> tuple[np.ndarray, np.ndarray]:
    ndvi_now = np.full((4, 4), 0.65)
    ndvi_now[:, :1] = 0.45  # west column of the "ok" park: anomaly -0.25, stressed
    clear = np.ones((4, 4), bool)
    clear[0:2, 2:4] = [[True, False], [False, False]]  # "cloudy": 1 of 4 pixels clear
    clear[2:4, 2:4] = [[True, True], [True, False]]  # "degraded": 3 of 4 pixels clear
    return ndvi_now, clear


def test_park_statistics_end_to_end_in_one_compute(count_computes: Callable[[], int]) -> None:
    layers, clear = _scene(*_now_values())
    table = _table(layers, clear, heat_exposure=pd.Series({"ok": 1.5}))
    assert count_computes() == 1
    assert list(table.columns) == [*PARK_COLUMNS, "geometry"]
    row = table.set_index("park_id")
    assert row["status"].to_dict() == {"ok": "OK", "cloudy": "DATA_GAP", "degraded": "DEGRADED"}
    assert row.loc["ok", "ndvi_ref"] == pytest.approx(0.7)
    assert row.loc["ok", "ndvi_now"] == pytest.approx(0.55)  # 0.45 and 0.65 with equal weight
    assert row.loc["ok", "ndvi_anomaly"] == pytest.approx(-0.15)
    assert row.loc["ok", "ndmi_anomaly"] == pytest.approx(0.15 - 0.3)  # now 0.05 and 0.25
    assert row.loc["ok", "evi_now"] == pytest.approx(0.35)
    assert row.loc["ok", "stressed_share"] == pytest.approx(0.5)  # 4 of 8 pixels at -0.25
    assert row.loc["degraded", "stressed_share"] == pytest.approx(0.0)
    assert row.loc["cloudy", "clear_fraction"] == pytest.approx(0.25)
    assert row.loc["degraded", "clear_fraction"] == pytest.approx(0.75)
    assert row.loc["ok", "clear_dates"] == 3 and row.loc["cloudy", "clear_dates"] == 0
    assert row.loc["ok", "last_clear_date"] == "2024-06-12"
    assert row.loc["cloudy", "last_clear_date"] is None
    assert row.loc["ok", "heat_exposure"] == 1.5 and np.isnan(row.loc["cloudy", "heat_exposure"])
    assert row.loc["ok", "area_m2"] == pytest.approx(800.0)
    assert row.loc["ok", "name"] == "Park ok"


def test_stress_threshold_is_a_parameter() -> None:
    layers, clear = _scene(*_now_values())
    table = _table(layers, clear, stress_threshold=-0.30).set_index("park_id")
    assert table.loc["ok", "stressed_share"] == pytest.approx(0.0)


def test_fewer_than_two_clear_dates_is_a_data_gap() -> None:
    ndvi_now, _ = _now_values()
    layers, clear = _scene(ndvi_now, np.ones((4, 4), bool), now_days=(10,))
    table = _table(layers, clear)
    assert set(table["status"]) == {"DATA_GAP"}
    assert (table["clear_fraction"] == 1.0).all() and (table["clear_dates"] == 1).all()


def test_missing_baseline_is_a_data_gap() -> None:
    layers, clear = _scene(*_now_values())
    now = {k: clear_median(window(v, END), window(clear, END)) for k, v in layers.items()}
    ref = {k: reference_median(v, clear, END, 14, REF_YEARS[:2]) for k, v in layers.items()}
    table = park_statistics(now, ref, window(clear, END), parks(ZONES), "park_id", coverage=RULE)
    assert set(table["status"]) == {"DATA_GAP"}
    assert table["ndvi_anomaly"].isna().all()


@pytest.mark.parametrize("clear_in_window", [True, False])
def test_all_nan_window_gives_data_gap_and_nan_anomalies(clear_in_window: bool) -> None:
    layers, clear = _scene(np.full((4, 4), np.nan), np.full((4, 4), clear_in_window))
    table = _table(layers, clear)
    assert set(table["status"]) == {"DATA_GAP"}
    for name in ("ndvi", "ndmi", "evi"):
        assert table[f"{name}_anomaly"].isna().all()
    assert table["stressed_share"].isna().all()


def test_single_date_and_no_reference_years_gives_data_gap_everywhere() -> None:
    times = ["2024-06-10"]
    layers = {
        k: cube(np.full((1, 4, 4), 0.5), times, name=k).chunk() for k in ("ndvi", "ndmi", "evi")
    }
    clear = cube(np.ones((1, 4, 4), bool), times, name="clear").chunk()
    now = {k: clear_median(window(v, END), window(clear, END)) for k, v in layers.items()}
    ref = {k: reference_median(v, clear, END, 14, []) for k, v in layers.items()}
    table = park_statistics(now, ref, window(clear, END), parks(ZONES), "park_id", coverage=RULE)
    assert set(table["status"]) == {"DATA_GAP"}
    assert table[["ndvi_anomaly", "ndmi_anomaly", "evi_anomaly"]].isna().all().all()
    assert (table["ndvi_now"] == 0.5).all()


def test_any_clear_feeds_clear_fraction_lazily() -> None:
    _, clear_now = _now_values()
    clear = cube(np.broadcast_to(clear_now, (2, 4, 4)), ["2024-06-03", "2024-06-08"]).chunk()
    frac = clear_fraction(any_clear(clear), parks(ZONES), "park_id")
    assert frac.to_dict() == pytest.approx({"ok": 1.0, "cloudy": 0.25, "degraded": 0.75})


def test_missing_or_empty_geometries_give_nan_rows() -> None:
    zones = parks({**HALF, "empty": (0.0, 0.0, 10.0, 10.0), "none": (0.0, 0.0, 10.0, 10.0)})
    zones.loc[1, "geometry"] = Polygon()
    zones.loc[2, "geometry"] = None
    median = zonal_medians(raster(VALUES), zones, "park_id")
    assert median["half"] == pytest.approx(0.4 + (4.5 - 3.5) * (0.6 - 0.4) / (6.5 - 3.5))
    assert median[["empty", "none"]].isna().all()
    frac = clear_fraction(raster(np.ones((2, 2), bool)), zones, "park_id")
    assert frac["half"] == pytest.approx(1.0) and frac[["empty", "none"]].isna().all()
