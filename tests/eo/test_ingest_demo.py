"""Acceptance: the small demo city through eo.scenes (search -> dedupe -> load -> harmonise -> mosaic).

Every expectation comes from the demo's ``truth.json`` or from the raw DN read by the lower stage
(:func:`eo.stac.load_dn`), never from the harmonised product itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from core.errors import DuplicateItemWarning, OffsetFlagCorrectedWarning, OffsetUnverifiedWarning
from eo.demo.layout import DemoLayout
from eo.scenes import SceneStack, load_period, load_reflectance
from eo.stac import load_dn, mosaic_by_solar_day
from indices.season import SPECTRAL, clear_sky
from indices.vegetation import ndvi
from indices.zonal import park_time_series
from tests.eo.conftest_ingest import ComputeCounter, DemoContext, demo_context

MIXED = (date(2021, 6, 1), date(2022, 6, 30))  # reference year 2021 (03.01) + June 2022 (04.00)
STEP_TOLERANCE = 0.01  # NDVI; a missing offset correction moves park NDVI by about -0.26
UXP_WEST_EDGE = 600000.0  # tile 33UXP starts here (EPSG:32633); 33UWP covers the whole demo

# affine's notice from inside stackstac: pyproject ignores it by module, but pytest.warns re-emits
# the warnings it did not match under their file name, which that module filter does not match.
pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning")


@pytest.fixture(scope="module")
def ctx(demo_small: DemoLayout) -> DemoContext:
    return demo_context(demo_small)


@dataclass(frozen=True)
class Mixed:
    """The mixed-baseline stack and the number of Dask computes its lazy build ran."""

    stack: SceneStack
    computes: int

    @property
    def cube(self) -> xr.Dataset:
        assert self.stack.cube is not None
        return self.stack.cube


@pytest.fixture(scope="module")
def mixed(ctx: DemoContext) -> Mixed:
    with ComputeCounter() as counter:
        stack = load_period(ctx.source, ctx.grid, bbox_wgs84=ctx.bbox, start=MIXED[0], end=MIXED[1])
    return Mixed(stack, counter.count)


@dataclass(frozen=True)
class Series:
    """Per-park NDVI series (clear pixels only) of the product and of the uncorrected DN."""

    product: pd.DataFrame
    uncorrected: pd.DataFrame
    dn: xr.DataArray  # mosaicked raw DN (time, band=[red, nir], y, x), computed
    reflectance: xr.Dataset  # the product's red and nir, computed


@pytest.fixture(scope="module")
def series(ctx: DemoContext, mixed: Mixed) -> Series:
    cube = mixed.cube
    parks = ctx.parks()
    parks = parks[parks["park_id"].isin(ctx.truth["unstressed_parks"])]
    clear = clear_sky(cube)
    product = park_time_series(
        ndvi(cube["red"], cube["nir"]),
        clear,
        parks,
        "park_id",
    )
    # The same items' DN, straight from the loader stage (no harmonisation): DN/10000 everywhere.
    items = list(ctx.search(*MIXED).values())
    dn = mosaic_by_solar_day(load_dn(items, ctx.grid, ["red", "nir"], provider="earth-search"))
    dn, reflectance = dask.compute(dn, cube[["red", "nir"]])
    raw = dn.astype(np.float64).where(dn != 0)
    red, nir = raw.sel(band="red", drop=True), raw.sel(band="nir", drop=True)
    uncorrected = park_time_series((nir - red) / (nir + red), clear, parks, "park_id")
    return Series(product, uncorrected, dn, reflectance)


def _period_medians(table: pd.DataFrame, days: set[pd.Timestamp]) -> pd.Series:
    """Per park, the median of its clear-date values on ``days``."""
    rows = table[table["date"].isin(days) & table["value"].notna()]
    return rows.groupby("park_id")["value"].median()


def _same_season_days(ctx: DemoContext) -> tuple[set[pd.Timestamp], set[pd.Timestamp]]:
    """2021 dates without natural late-summer drying (truth) and the June 2022 dates."""
    dryness = ctx.truth["natural_turf_dryness_by_date"]
    ref = {pd.Timestamp(d) for d in ctx.truth["years"]["2021"]["dates"] if dryness[d] == 0.0}
    now = {pd.Timestamp(d) for d in ctx.truth["years"]["2022"]["dates"] if d[:7] == "2022-06"}
    return ref, now


# --- harmonisation across the baseline change ---------------------------------------------------


def test_mixed_stack_spans_both_baselines(mixed: Mixed) -> None:
    baselines = mixed.stack.baselines
    assert mixed.stack.harmonisation is not None
    offsets = {it.id: it.offset_dn for it in mixed.stack.harmonisation.items}
    assert {b for i, b in baselines.items() if "_2021" in i} == {"03.01"}
    assert {b for i, b in baselines.items() if "_2022" in i} == {"04.00"}
    assert {o for i, o in offsets.items() if "_2021" in i} == {0}
    assert {o for i, o in offsets.items() if "_2022" in i} == {1000}


def test_reflectance_is_dn_minus_each_baselines_offset(ctx: DemoContext, series: Series) -> None:
    # truth.json: DN = reflectance*10000 (+1000 from baseline 04.00), 0 = nodata
    assert "+ 1000" in ctx.truth["encoding"]["baseline_ge_04.00"]
    years = series.dn["time"].dt.year.values
    offset = xr.DataArray(np.where(years >= 2022, 1000.0, 0.0), dims="time")
    dn = series.dn.astype(np.float64)
    expected = ((dn - offset) / 10000.0).where(series.dn != 0)
    assert np.array_equal(series.dn["time"].values, series.reflectance["time"].values)
    product = series.reflectance.to_dataarray("band").transpose("time", "band", "y", "x")
    assert list(product["band"].values) == list(series.dn["band"].values)
    np.testing.assert_allclose(product.values, expected.values, rtol=0, atol=1e-6)


def test_unstressed_parks_show_no_step_at_the_baseline_change(
    ctx: DemoContext, series: Series
) -> None:
    ref_days, now_days = _same_season_days(ctx)
    assert len(ref_days) >= 2 and len(now_days) >= 5
    ref = _period_medians(series.product, ref_days)
    now = _period_medians(series.product, now_days)
    step = (now - ref).dropna()
    assert len(step) >= 6, f"too few unstressed parks seen clear in both periods: {step}"
    assert (step.abs() < STEP_TOLERANCE).all(), f"NDVI step at the baseline change:\n{step}"
    # Without the offset correction (DN/10000 for 2022) the same parks drop by far more.
    wrong = (_period_medians(series.uncorrected, now_days) - ref).reindex(step.index)
    assert (wrong < -5 * STEP_TOLERANCE).all(), f"uncorrected step too small to test:\n{wrong}"


# --- the lazy stack ------------------------------------------------------------------------------


def test_only_the_offset_check_computes_while_building(ctx: DemoContext, mixed: Mixed) -> None:
    assert dask.is_dask_collection(mixed.cube)
    assert mixed.computes <= 1
    assert mixed.stack.harmonisation is not None
    checked = [it for it in mixed.stack.harmonisation.items if "_2022" in it.id]
    assert checked and all(it.verified for it in checked)  # the one compute was the check
    with ComputeCounter() as counter:  # pre-04.00 only: nothing to check, nothing computed
        stack = load_period(
            ctx.source, ctx.grid, bbox_wgs84=ctx.bbox, start=date(2021, 6, 1), end=date(2021, 8, 31)
        )
    assert stack.cube is not None and dask.is_dask_collection(stack.cube)
    assert counter.count == 0


def test_loaded_grid_is_the_profile_grid(ctx: DemoContext, mixed: Mixed) -> None:
    cube = mixed.cube
    assert tuple(ctx.grid.bounds) == tuple(ctx.truth["grid"]["bounds"])  # the COGs' grid
    assert np.array_equal(cube["x"].values, ctx.grid.x_centres())
    assert np.array_equal(cube["y"].values, ctx.grid.y_centres())
    assert list(cube.data_vars) == [*SPECTRAL, "scl"]
    for name in SPECTRAL:
        assert cube[name].dims == ("time", "y", "x") and cube[name].dtype == np.float32
    # SCL is its own integer variable (class codes, 0 = no data), not float codes among the bands.
    assert cube["scl"].dims == ("time", "y", "x") and cube["scl"].dtype == np.uint8


def test_loaded_cube_carries_the_profile_crs(mixed: Mixed) -> None:
    crs = mixed.cube.rio.crs
    assert crs is not None and crs.to_epsg() == 32633


def test_two_tiles_of_a_solar_day_are_one_time_step(ctx: DemoContext, mixed: Mixed) -> None:
    truth_days = [
        d for y in ("2021", "2022") for d in ctx.truth["years"][y]["dates"] if d <= "2022-06-30"
    ]
    assert [d.isoformat() for d in mixed.stack.days] == truth_days
    assert len(mixed.stack.items) == 2 * len(truth_days)
    assert [d.isoformat() for d in mixed.stack.day_items] == truth_days
    for day, ids in mixed.stack.day_items.items():
        stamp = day.isoformat().replace("-", "")
        assert isinstance(ids, tuple)
        assert sorted(i.split("_")[1] for i in ids) == ["33UWP", "33UXP"]
        assert all(f"_{stamp}_" in i for i in ids)
    assert mixed.stack.items_on(mixed.stack.days) == tuple(
        i for ids in mixed.stack.day_items.values() for i in ids
    )
    filled = bool(mixed.cube[list(SPECTRAL)].to_dataarray().notnull().all().values)
    assert filled, "the solar-day mosaic left pixels without data"


def test_mosaic_fills_where_one_tile_has_no_data(ctx: DemoContext, mixed: Mixed) -> None:
    day = date.fromisoformat(ctx.truth["years"]["2021"]["dates"][0])
    found = ctx.search(day)
    uxp = [item for i, item in found.items() if "_33UXP_" in i]
    alone = load_reflectance(uxp, ctx.source, ctx.grid)
    assert alone.cube is not None
    red_alone = alone.cube["red"].isel(time=0).values
    west = ctx.grid.x_centres() < UXP_WEST_EDGE
    assert west.any() and (~west).any()
    assert np.isnan(red_alone[:, west]).all() and np.isfinite(red_alone[:, ~west]).all()
    mosaic = mixed.cube["red"].sel(time=np.datetime64(day, "ns")).values
    assert np.isfinite(mosaic).all()
    # Where both tiles have data they carry the same overpass: the mosaic equals either.
    np.testing.assert_array_equal(mosaic[:, ~west], red_alone[:, ~west])


# --- planted cases ---------------------------------------------------------------------------------


def _entry(stack: SceneStack, item_id: str) -> dict[str, Any]:
    (entry,) = [it for it in stack.harmonisation_of({item_id})["items"] if it["id"] == item_id]
    return dict(entry)


def test_wrongly_flagged_item_is_caught_and_corrected(ctx: DemoContext) -> None:
    wrong = ctx.truth["wrong_flag_item"]
    assert wrong["flag_boa_offset_applied"] is True and wrong["offset_in_pixels"] is True
    day = date.fromisoformat(wrong["date"])
    with pytest.warns(OffsetFlagCorrectedWarning, match=wrong["id"]) as record:
        stack = load_period(ctx.source, ctx.grid, bbox_wgs84=ctx.bbox, start=day, end=day)
    flagged = [w for w in record if issubclass(w.category, OffsetFlagCorrectedWarning)]
    assert len(flagged) == 1  # only the wrongly flagged item, not its sibling tile
    entry = _entry(stack, wrong["id"])
    assert entry["decided_by"] == "pixels" and entry["offset_dn"] == 1000 and entry["verified"]
    assert stack.harmonisation is not None and stack.harmonisation.n_corrected == 1

    # The corrected item matches the other tile of the same overpass; the flag alone would not.
    found = ctx.search(day)
    sibling = next(item for i, item in found.items() if i != wrong["id"])
    with pytest.warns(OffsetFlagCorrectedWarning, match=wrong["id"]):
        fixed = _red(load_reflectance([found[wrong["id"]]], ctx.source, ctx.grid))
    flag_only = _red(
        load_reflectance([found[wrong["id"]]], ctx.source, ctx.grid, check_pixels=False)
    )
    other = _red(load_reflectance([sibling], ctx.source, ctx.grid))
    overlap = np.isfinite(fixed) & np.isfinite(other)
    assert overlap.sum() > 100_000
    np.testing.assert_allclose(fixed[overlap], other[overlap], atol=1e-6)
    np.testing.assert_allclose(flag_only[overlap] - other[overlap], 0.1, atol=1e-4)


def _red(stack: SceneStack) -> np.ndarray:
    assert stack.cube is not None
    return np.asarray(stack.cube["red"].isel(time=0).values)


def test_duplicate_keeps_the_newer_processing_and_reports_the_other(ctx: DemoContext) -> None:
    dup = ctx.truth["duplicate"]
    day = date.fromisoformat(dup["date"])
    with pytest.warns(DuplicateItemWarning, match=dup["dropped"]) as record:
        stack = load_period(ctx.source, ctx.grid, bbox_wgs84=ctx.bbox, start=day, end=day)
    messages = [str(w.message) for w in record if issubclass(w.category, DuplicateItemWarning)]
    assert any(dup["kept"] in m and dup["dropped"] in m for m in messages)
    assert stack.dropped == (dup["dropped"],)
    assert dup["dropped"] not in stack.items and dup["kept"] in stack.items
    assert stack.cube is not None and stack.cube.sizes["time"] == 1
    assert dup["kept"] in stack.items_on(stack.days)
    assert dup["dropped"] not in stack.items_on(stack.days)
    # The kept (05.00) item is the correct processing: it matches the other tile, the dropped
    # older one is 3 % brighter (truth.json).
    found = ctx.search(day)  # search alone does not de-duplicate
    kept = _red(load_reflectance([found[dup["kept"]]], ctx.source, ctx.grid))
    dropped = _red(load_reflectance([found[dup["dropped"]]], ctx.source, ctx.grid))
    other = _red(
        load_reflectance(
            [item for i, item in found.items() if dup["tile"] not in i], ctx.source, ctx.grid
        )
    )
    overlap = np.isfinite(kept) & np.isfinite(other)
    np.testing.assert_allclose(kept[overlap], other[overlap], atol=1e-6)
    assert np.nanmedian(dropped[overlap] / other[overlap]) == pytest.approx(1.03, abs=0.005)


def test_all_cloud_date_contributes_no_clear_pixel(ctx: DemoContext) -> None:
    cloud = ctx.truth["all_cloud_date"]
    day = date.fromisoformat(cloud["date"])
    # The profile's loose scene filter (80 %) already drops the 100 % cloudy items ...
    assert load_period(ctx.source, ctx.grid, bbox_wgs84=ctx.bbox, start=day, end=day).cube is None
    # ... and without it the date is a time step without a single clear pixel (DATA_GAP, no error).
    loose = dataclasses.replace(ctx.source, max_cloud_cover=100.0)
    with pytest.warns(OffsetUnverifiedWarning) as record:
        stack = load_period(loose, ctx.grid, bbox_wgs84=ctx.bbox, start=day, end=day)
    unverified = " ".join(str(w.message) for w in record)
    assert all(i in unverified for i in cloud["item_ids"])
    assert sorted(stack.items) == sorted(cloud["item_ids"])
    assert stack.cube is not None and stack.cube.sizes["time"] == 1
    assert not bool(clear_sky(stack.cube).any().values)
    assert stack.harmonisation is not None
    assert all(not it.verified for it in stack.harmonisation.items)


def test_valid_period_without_scenes_is_an_empty_stack(ctx: DemoContext) -> None:
    stack = load_period(
        ctx.source, ctx.grid, bbox_wgs84=ctx.bbox, start=date(2022, 5, 1), end=date(2022, 5, 10)
    )
    assert stack.cube is None
    assert stack.items == () and stack.dropped == () and stack.days == []
