"""Irrigation priority for the parks teams: a weekly Prefect flow (DESIGN sections 1, 4, 6, 7).

``vegetation_flow(profile, start, end)`` loads the season's Sentinel-2 scenes once (the current
period and the same weeks of the reference years), then evaluates every weekly window ending in
``start..end`` on a trailing ``window`` (14 days): clear-sky composites, per-park statistics,
irrigation priority, products under ``OUT/vegetation/<window end>/``. Tasks are thin; the work is in
``eo`` (scenes), ``indices`` (composites, zonal statistics) and ``alerts`` (priority, products).

A period without usable data is a result: every park DATA_GAP, products written, exit 0, and the
flow ends ``Completed(name="DATA_GAP")`` (DESIGN section 5).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State

from alerts.detect.irrigation import irrigation_priority
from alerts.detect.irrigation_history import load_history
from alerts.detect.irrigation_policy import load_priority_policy
from alerts.products.context import MapContext, load_context
from alerts.products.irrigation_run import (
    copernicus_attribution,
    series_until,
    write_vegetation_products,
)
from alerts.products.manifest import vegetation_manifest_info
from core.profile import VegetationConfig
from eo.grid import OutputGrid, grid_template
from eo.scenes import SceneStack, decode_once, load_period
from eo.stac import StacSource
from flows.alerting import queue_irrigation_alerts, queue_run_digest
from flows.artifacts import publish_vegetation, refresh_dashboard
from flows.dask_runtime import with_dask
from flows.progress import NullReporter
from flows.runtime import retry_if_source_unavailable
from flows.vegetation_heat import load_season_lst, not_configured, window_heat_exposure
from flows.vegetation_inputs import (
    VegetationInputs,
    not_evaluated_reason,
    prepare_run,
    queue_not_evaluated_notice,
    resolve_inputs,
)
from indices.calendar import evaluation_ends, reference_periods, reference_span
from indices.composite import anomaly, reference_windows
from indices.season import (
    INDICES,
    clear_sky,
    clear_sky_description,
    vegetation_indices,
    window_composites,
)
from indices.zonal import park_statistics, park_time_series

SERIES_DAYS_PER_PASS = 4


@task(
    name="load-scenes",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=10,
    retry_condition_fn=retry_if_source_unavailable,
)
def load_scenes(
    source: StacSource,
    grid: OutputGrid,
    bbox: tuple[float, float, float, float],
    ends: list[date],
    *,
    veg: VegetationConfig,
    reference_days: int,
    scratch: Path | None = None,
    progress: NullReporter | None = None,
) -> tuple[SceneStack, SceneStack]:
    """The season's scenes (first window's first day .. last end) and the reference years' weeks.

    ``scratch``: a folder the caller removes after the run; every scene is then decoded once into
    it (:func:`eo.scenes.decode_once`) and every window and the time series read those bytes.
    Without it the stacks stay lazy (each use reads the COGs again). ``progress``: the command's
    reporter (scenes found, decoding).
    """
    report = progress or NullReporter()
    window = int(veg.window)
    first = ends[0] - timedelta(days=window - 1)
    current = load_period(source, grid, bbox_wgs84=bbox, start=first, end=ends[-1])
    periods = reference_periods(ends, window, reference_days, veg.reference_years)
    references = [load_period(source, grid, bbox_wgs84=bbox, start=a, end=b) for a, b in periods]
    reference = SceneStack.concat(references)
    report.message(
        f"scenes found: {len(current.items)} for the season, {len(reference.items)} for the "
        f"reference years ({len(current.rejected) + len(reference.rejected)} rejected)"
    )
    if scratch is None:
        return current, reference
    report.stage("decoding the season's scenes")
    current = decode_once(
        current, scratch / "current", report.callback("decoding the season's scenes")
    )
    report.done("decoding the season's scenes")
    report.stage("decoding the reference scenes")
    reference = decode_once(
        reference, scratch / "reference", report.callback("decoding the reference scenes")
    )
    report.done("decoding the reference scenes")
    return current, reference


@dataclass(frozen=True)
class WindowResult:
    """One evaluated window: the park table with priorities, the NDVI anomaly, the items used."""

    end: date
    parks: gpd.GeoDataFrame
    ndvi_anomaly: xr.DataArray
    days: tuple[date, ...]
    scene_ids: tuple[str, ...]
    reference_ids: tuple[str, ...] = ()


@task(name="evaluate-window", cache_policy=NO_CACHE)
def evaluate_window(
    current: SceneStack,
    reference: SceneStack,
    end: date,
    *,
    grid: OutputGrid,
    parks: gpd.GeoDataFrame,
    veg: VegetationConfig,
    reference_days: int,
    history: pd.DataFrame | None = None,
    heat_exposure: pd.Series | None = None,
) -> WindowResult:
    """Composites, per-park statistics and irrigation priority of the window ending ``end``.

    ``history``: the parks' earlier windows (persistence of the score), as
    :func:`alerts.detect.irrigation_history.load_history` reads them from the outbox.
    ``heat_exposure``: per park id, 0..1 or NaN (:mod:`flows.vegetation_heat`); None: NaN for all.
    """
    template = grid_template(grid)
    days: tuple[date, ...] = ()
    ids: tuple[str, ...] = ()
    if current.cube is None:
        now = xr.Dataset({k: template for k in INDICES})
        ref, clear = now, template.expand_dims(time=1) > 0
    else:
        comp = window_composites(
            current.cube,
            reference.cube,
            end=end,
            days=int(veg.window),
            years=veg.reference_years,
            min_years=veg.baseline_min_years,
            reference_days=reference_days,
        )
        now, ref, clear, days = comp.now, comp.ref, comp.clear_window, comp.days
        if clear.sizes["time"] == 0:
            clear = template.expand_dims(time=1) > 0
        ids = current.items_on(days)
    # Composites are small (y, x) rasters: compute them once for the statistics and the anomaly.
    now, ref, clear = dask.persist(now, ref, clear)
    stats = park_statistics(
        now,
        ref,
        clear,
        parks,
        "id",
        name_field="name",
        coverage=veg.coverage_rule(),
        stress_threshold=veg.stress_threshold,
        heat_exposure=heat_exposure,
    )
    ranked = irrigation_priority(
        stats,
        load_priority_policy(veg.policy),
        coverage=veg.coverage_rule(),
        reference=_reference_label(veg.reference_years),
        language=veg.language,
        history=history,
        window_end=end,
    )
    ndvi_anomaly = anomaly(now["ndvi"], ref["ndvi"]).compute().rio.write_crs(grid.crs)
    ndvi_anomaly.attrs["long_name"] = "NDVI anomaly (window median - reference median)"
    return WindowResult(
        end=end,
        parks=ranked,
        ndvi_anomaly=ndvi_anomaly,
        days=days,
        scene_ids=ids,
        reference_ids=_reference_items(reference, end, veg, reference_days),
    )


def _reference_items(
    reference: SceneStack, end: date, veg: VegetationConfig, reference_days: int
) -> tuple[str, ...]:
    """Ids of the reference items in the reference-year window of the window ending ``end``."""
    years = veg.reference_years
    if reference.cube is None or not years:
        return ()
    ref_days, ref_end = reference_span(end, int(veg.window), reference_days)
    used = reference_windows(reference.cube["time"], ref_end, ref_days, years)
    return reference.items_on(np.datetime64(t, "D").astype(date) for t in used.values)


def _reference_label(years: tuple[int, ...]) -> str:
    return f"{min(years)}-{max(years)}" if years else "no reference"


@task(name="season-time-series", cache_policy=NO_CACHE)
def season_time_series(parks: gpd.GeoDataFrame, current: SceneStack) -> pd.DataFrame:
    """Per park and solar day: NDVI and NDMI coverage-weighted medians of clear pixels."""
    if current.cube is None or parks.empty:
        return pd.DataFrame(columns=["park_id", "date", "index", "value"])
    series = []
    # A few solar days per pass: the season cube of a whole city does not fit in memory at once.
    for first in range(0, current.cube.sizes["time"], SERIES_DAYS_PER_PASS):
        part = current.cube.isel(time=slice(first, first + SERIES_DAYS_PER_PASS))
        # Computed once per pass: both indices use it (dilation is the costly part of the mask).
        (clear,) = dask.persist(clear_sky(part))
        for name, cube in vegetation_indices(part).items():
            if name == "evi":
                continue
            frame = park_time_series(cube, clear, parks, "id")
            series.append(frame.assign(index=name)[["park_id", "date", "index", "value"]])
    return pd.concat(series, ignore_index=True).sort_values(
        ["index", "park_id", "date"], ignore_index=True
    )


@task(name="write-products", cache_policy=NO_CACHE)
def write_products(
    result: WindowResult,
    series: pd.DataFrame,
    current: SceneStack,
    reference: SceneStack,
    out_dir: Path,
    *,
    veg: VegetationConfig,
    profile_name: str,
    synthetic: bool,
    not_evaluated: str | None = None,
    context: MapContext | None = None,
    heat: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """All products of one window under ``OUT/vegetation/<window end>/`` (written atomically).

    ``not_evaluated``: why no park could be evaluated (not clouds), stated in the manifest.
    ``heat``: where the parks' heat exposure came from (manifest ``heat_exposure``).
    """
    window_start = result.end - timedelta(days=int(veg.window) - 1)
    # Attribution: every year of Sentinel-2 data the run loaded (season and reference years).
    first_year = min((d.year for d in (*result.days, *reference.days)), default=result.end.year)
    manifest = vegetation_manifest_info(
        profile=profile_name,
        period=(window_start, result.end),
        reference=_reference_label(veg.reference_years),
        scene_ids=result.scene_ids,
        reference_ids=result.reference_ids,
        stacks=(current, reference),
        masks=clear_sky_description(),
        min_clear_fraction=veg.min_clear_fraction,
        synthetic=synthetic,
    )
    if not_evaluated:
        manifest["not_evaluated"] = not_evaluated
    if heat is not None:
        manifest["heat_exposure"] = heat
    return write_vegetation_products(
        out_dir / "vegetation" / str(result.end),
        result.parks,
        result.ndvi_anomaly,
        series_until(series, result.parks, result.end),
        manifest,
        language=veg.language,
        attribution=copernicus_attribution(first_year, result.end.year),
        context=context,
    )


@flow(name="vegetation", log_prints=False)
@with_dask
def vegetation_flow(
    profile: str,
    start: date,
    end: date,
    out_dir: str = "out",
    aoi: str | None = None,
    inputs: VegetationInputs | None = None,
    progress: NullReporter | None = None,
) -> State[Any]:
    """Irrigation priority for every weekly window ending in ``start..end``.

    ``inputs``: the run's inputs when the caller already resolved and checked them (the CLI does,
    before Prefect starts); a scheduled run passes only names and resolves them here, once.
    ``progress``: the command's reporter (:mod:`flows.progress`); silent without one.
    """
    out = Path(out_dir)
    if inputs is None:
        inputs = resolve_inputs(profile, out, Path(aoi) if aoi else None)
    ends = evaluation_ends(start, end, int(inputs.profile.vegetation.cadence))
    # Scenes are decoded once into a scratch folder of the run (TMPDIR), removed at the end.
    scratch = Path(tempfile.mkdtemp(prefix="geospace-scenes-"))
    try:
        return _season(inputs, ends, out, scratch, progress or NullReporter())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _season(
    inputs: VegetationInputs, ends: list[date], out: Path, scratch: Path, report: NullReporter
) -> State[Any]:
    """The body of :func:`vegetation_flow` once its inputs and window ends are known."""
    logger = get_run_logger()
    # The profile stops here: tasks get the sub-configs and resolved values they need.
    veg = inputs.profile.vegetation
    reference_days = inputs.profile.reference_days()
    current, reference = load_scenes(
        inputs.source,
        inputs.grid,
        inputs.aoi.bbox,
        ends,
        veg=veg,
        reference_days=reference_days,
        scratch=scratch,
        progress=report,
    )
    report.stage("park time series")
    with report.dask("park time series"):
        series = season_time_series(inputs.parks, current)
    report.done("park time series", f"{len(inputs.parks)} park(s)")
    # Heat exposure only where the profile configures heat: the default path loads no LST.
    season_lst = None if inputs.heat is None else load_season_lst(inputs.profile, inputs.heat, ends)
    not_evaluated = not_evaluated_reason(inputs, current)  # never silence (issue 15)
    gaps = 0
    written: list[str] = []
    queued = 0
    run_outcomes: list[Any] = []
    context = load_context(inputs.profile)  # districts, water, lines on the maps
    window_days = int(veg.window)
    report.stage("windows computed and products written", len(ends))
    lookback = load_priority_policy(veg.policy).persistence_full_days
    for window_end in ends:
        # Earlier windows as recorded in the outbox: a rerun or a one-week run sees the same past.
        history = load_history(
            out, dsn=inputs.profile.outbox.dsn(), before=window_end, lookback_days=lookback
        )
        heat = (
            not_configured()
            if inputs.heat is None
            else window_heat_exposure(season_lst, inputs.heat.config, window_end, inputs.parks)
        )
        result = evaluate_window(
            current,
            reference,
            window_end,
            grid=inputs.grid,
            parks=inputs.parks,
            veg=veg,
            reference_days=reference_days,
            history=history,
            heat_exposure=heat.exposure,
        )
        products = write_products(
            result,
            series,
            current,
            reference,
            out,
            veg=veg,
            profile_name=inputs.profile.name,
            synthetic=inputs.profile.synthetic,
            not_evaluated=not_evaluated,
            context=context,
            heat=heat.manifest,
        )
        written.append(str(products["manifest.json"].parent))
        gaps += bool((result.parks["status"] == "DATA_GAP").all())
        outcomes = queue_irrigation_alerts(
            inputs.profile,
            result.parks,
            window_start=window_end - timedelta(days=window_days - 1),
            window_end=window_end,
            sources=result.scene_ids,
            out_dir=out,
        )
        queued += sum(o.new_revisions for o in outcomes)
        run_outcomes += outcomes
        logger.info(
            "window ending %s: %d parks, products in %s", window_end, len(result.parks), written[-1]
        )
        report.advance("windows computed and products written")
    report.done(
        "windows computed and products written", f"last in {written[-1]}" if written else ""
    )
    digest = queue_run_digest(
        inputs.profile,
        run_outcomes,
        start=ends[0] - timedelta(days=window_days - 1),
        end=ends[-1],
        out_dir=out,
    )
    queued += digest is not None
    if not_evaluated:
        logger.warning("nothing evaluated: %s", not_evaluated)
        first_day = ends[0] - timedelta(days=window_days - 1)
        queued += (
            queue_not_evaluated_notice(inputs.profile, not_evaluated, first_day, out) is not None
        )
    publish_vegetation(inputs.profile.name, written)
    refresh_dashboard(out, inputs.profile)
    summary = {
        "windows": [str(e) for e in ends],
        "products": written,
        "all_data_gap_windows": gaps,
        "revisions_queued": queued,
        "not_evaluated": not_evaluated,
    }
    if not_evaluated:
        return Completed(name="DATA_GAP", message=not_evaluated, data=summary)
    if gaps == len(ends):
        return Completed(
            name="DATA_GAP", message="no clear observation in any window", data=summary
        )
    return Completed(message=f"{len(ends)} windows evaluated", data=summary)


def run_vegetation_cli(
    *,
    profile: str,
    start: date,
    end: date,
    out_dir: Path,
    aoi: Path | None = None,
    inputs: VegetationInputs | None = None,
    progress: NullReporter | None = None,
) -> int:
    """``geospace run vegetation``: check inputs first (exit 2), then run the flow and report.

    ``inputs``: what :func:`flows.vegetation_inputs.prepare_run` returned, when the caller already
    checked the run (the CLI); the flow then uses them instead of resolving the profile again.
    ``progress``: the command's reporter; the outcome is recorded on it.
    """
    report = progress or NullReporter()
    # Invalid input fails here, before the flow starts; then --out, the outbox, stale staging.
    if inputs is None:
        inputs = prepare_run(profile, start, end, out_dir, aoi)
    report.message("vegetation: starting the flow (Prefect's local server takes a few seconds)")
    state = vegetation_flow(
        profile=str(profile),
        start=start,
        end=end,
        out_dir=str(out_dir),
        aoi=str(aoi) if aoi else None,
        inputs=inputs,
        progress=report,
        return_state=True,
    )
    summary: dict[str, Any] = state.result(raise_on_failure=True)  # type: ignore[assignment]
    report.finish(
        str(state.name),
        list(summary["products"]),
        {"windows": len(summary["products"]), "revisions_queued": int(summary["revisions_queued"])},
        f"vegetation: {state.name}: {len(summary['products'])} window(s) under {out_dir}/vegetation",
    )
    print(f"vegetation: {state.name}: {len(summary['products'])} window(s); products:")
    for folder in summary["products"]:
        print(f"  {folder}")
    if summary.get("not_evaluated"):
        print(f"  note: nothing evaluated: {summary['not_evaluated']}")
    elif state.name == "DATA_GAP":
        print(
            "  note: no clear observation in any window: every park is DATA_GAP (not 'no stress')"
        )
    print(
        f"alerts: {summary['revisions_queued']} new revision(s) in the outbox under {out_dir}/alerts; "
        f"see `geospace alerts list --out {out_dir}`, deliver with `geospace deliver --out {out_dir}`"
    )
    return 0
