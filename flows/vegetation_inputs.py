"""The vegetation flow's inputs, resolved and checked before Prefect is imported or started.

Invalid input (profile, AOI, parks layer, a catalogue off the allowlist) raises
:class:`core.errors.InvalidInputError` here, so the CLI exits 2 without starting a server or writing
anything under ``--out`` (DESIGN sections 5 and 8). This module does not import Prefect.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import geopandas as gpd

from alerts.outbox.store import open_store
from core.errors import InvalidInputError
from core.profile import CityProfile, HeatConfig, load_profile
from eo.aoi import AOI, grid_for_aoi, load_aoi
from eo.grid import OutputGrid
from eo.layers import read_layer
from eo.scenes import VEGETATION_BANDS, SceneStack, find_items, stac_source
from eo.sentinelhub import Credentials, SentinelHubSource
from eo.stac import StacSource
from flows.runtime import check_out_dir, set_up_out_dir
from indices.calendar import check_supported, evaluation_ends, reference_periods


@dataclass(frozen=True)
class HeatExposureInputs:
    """Where the parks' heat exposure comes from (:mod:`flows.vegetation_heat`): the profile's heat
    section and its AOI (always the profile's, as the heat product's, so ``--aoi`` does not move the
    hot spots), as a WGS84 bbox for the search and bounds in the grid's CRS."""

    config: HeatConfig
    bbox_wgs84: tuple[float, float, float, float]
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class VegetationInputs:
    """Everything a run needs that comes from the profile: resolved once, checked before any work."""

    profile: CityProfile
    aoi: AOI
    grid: OutputGrid
    parks: gpd.GeoDataFrame
    source: StacSource
    heat: HeatExposureInputs | None = None  # None: no heat section or no LST source (h = 0)


def heat_exposure_inputs(profile: CityProfile, area: AOI) -> HeatExposureInputs | None:
    """The heat exposure inputs when the profile configures heat and an LST source, else None
    (the default path loads no LST). ``area``: the profile's AOI."""
    heat = profile.heat
    if heat is None or (profile.sources.landsat is None and heat.lst_source is None):
        return None
    minx, miny, maxx, maxy = area.to_crs(profile.grid.crs).bounds
    return HeatExposureInputs(heat, area.bbox, (minx, miny, maxx, maxy))


def check_period(profile: CityProfile, start: date, end: date) -> list[date]:
    """The window ends of ``start..end`` under ``profile``, checked before any work (exit 2).

    Dates in the supported range, the end not before the start, every reference year before the
    first window's year, and every reference window inside the supported calendar.
    """
    check_supported(start, field="--start")
    check_supported(end, field="--end")
    veg = profile.vegetation
    ends = evaluation_ends(start, end, int(veg.cadence))
    late = sorted(y for y in veg.reference_years if y >= ends[0].year)
    if late:
        raise InvalidInputError(
            f"vegetation.reference_years: {list(veg.reference_years)}: {late} not before the "
            f"first window's year {ends[0].year}; run a later period or list earlier years"
        )
    first = ends[0] - timedelta(days=int(veg.window) - 1)
    check_supported(first, field="--start (first window day)")
    for year_start, _ in reference_periods(
        ends, int(veg.window), profile.reference_days(), veg.reference_years
    ):
        check_supported(year_start, field="vegetation.reference_years")
    return ends


def not_evaluated_reason(inputs: VegetationInputs, current: SceneStack) -> str | None:
    """Why no park can be evaluated for a reason other than clouds, or None (issue 15: never
    silence). Said in every window's manifest (``not_evaluated``), the flow state and the CLI."""
    layer = inputs.profile.layers.parks.path
    if inputs.parks.empty:
        return (
            f"no park of layers.parks ({layer}) lies in the AOI: 0 parks to evaluate; check "
            "aoi.path and layers.parks.path (and the layer's CRS)"
        )
    if current.cube is None and current.rejected:
        first_id, why = current.rejected[0]
        return (
            f"every item of the period was rejected ({len(current.rejected)} items; e.g. "
            f"{first_id}: {why}); see rejected_items in the manifest"
        )
    return None


def queue_not_evaluated_notice(
    profile: CityProfile, reason: str, first_day: date, out_dir: Path
) -> int | None:
    """ONE operator notice (DATA_GAP topic, about the whole parks layer) saying why nothing was
    evaluated; its key is the layer and the run's first day, so a rerun queues nothing new.
    Returns the new revision id, or None when it was queued before or no sink takes notices."""
    from alerts.decide.notices import NoticeTopic, gap_key, notice_revision, notice_subject
    from alerts.decide.policy import load_notice_policy
    from alerts.decide.revisions import SubjectInfo
    from alerts.model import RevisionKind
    from alerts.sinks.routing import Routing

    # Its own subject: distinct from the every-park DATA_GAP event of flows.alerting.
    layer = f"{profile.name}:all-parks:not-evaluated"
    start = datetime.combine(first_day, time.min, UTC)
    revision = notice_revision(
        key=gap_key("irrigation", layer, start),
        number=1,
        kind=RevisionKind.NOTICE,
        topic=NoticeTopic.DATA_GAP,
        about_hazard="irrigation",
        subject_id=notice_subject("irrigation", layer),
        event_start=start,
        now=datetime.now(UTC).replace(microsecond=0),
        summary=f"Nothing evaluated for {profile.title}: {reason}",
        payload={"not_evaluated": reason},
        notice_policy=load_notice_policy(),
        subject=SubjectInfo(name=f"all parks of {profile.title}"),
    )
    sinks = Routing.from_profile(profile.sinks).sinks_for(revision)
    if not sinks:
        return None
    store = open_store(out_dir, dsn=profile.outbox.dsn())
    try:
        return store.add_revision(revision, sinks)
    finally:
        store.close()


def check_local_items(inputs: VegetationInputs, ends: list[date]) -> int:
    """For a catalogue on disk: search every period the run will load and check each item's
    JSON and asset hrefs (readable, inside the allowed folders) before any work; return the
    number of items seen. A STAC API is not searched twice (its items are checked at load)."""
    source = inputs.source
    if not source.is_local:
        return 0
    veg = inputs.profile.vegetation
    first = ends[0] - timedelta(days=int(veg.window) - 1)
    periods = [(first, ends[-1])]
    periods += reference_periods(
        ends, int(veg.window), inputs.profile.reference_days(), veg.reference_years
    )
    keys = source.spec.keys(VEGETATION_BANDS)
    seen = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicates are reported once, by the run itself
        for a, b in periods:
            kept, _ = find_items(source, bbox_wgs84=inputs.aoi.bbox, start=a, end=b)
            for item in kept:
                for key in keys:
                    asset = item.get("assets", {}).get(key)
                    if asset is not None:
                        source.allowlist.check_asset(str(asset["href"]), catalog_is_local=True)
                seen += 1
    return seen


def prepare_run(
    profile: str | Path, start: date, end: date, out_dir: Path, aoi: Path | None = None
) -> VegetationInputs:
    """Check every input of a run (exit 2, nothing written), then set up its output folder.

    Only after the profile, AOI, layers, catalogue, dates and ``--out`` passed: create ``--out``,
    create the outbox (a quiet run leaves an empty one, so ``alerts list`` prints ``[]``) and
    delete staging files a killed run left behind.
    """
    check_out_dir(out_dir)
    inputs = resolve_inputs(profile, out_dir, aoi)
    ends = check_period(inputs.profile, start, end)
    check_local_items(inputs, ends)
    set_up_out_dir(out_dir, dsn=inputs.profile.outbox.dsn())
    return inputs


def resolve_inputs(profile: str | Path, out_dir: Path, aoi: Path | None = None) -> VegetationInputs:
    """Load and check the profile, AOI, grid, parks layer and catalogue (invalid input: exit 2)."""
    prof = load_profile(profile, out_dir=out_dir)
    city_aoi = Path(prof.resolve(prof.aoi.path))
    aoi_path = aoi if aoi is not None else city_aoi
    area = load_aoi(aoi_path, max_area_km2=prof.aoi.max_area, max_vertices=prof.aoi.max_vertices)
    grid = grid_for_aoi(area, prof.grid.crs, prof.grid.resolution)
    layer = prof.layers.parks
    parks = read_layer(
        prof.resolve(layer.path),
        id_field=layer.id_field,
        name_field=layer.name_field,
        crs=prof.grid.crs,
        layer="parks",
    )
    parks = parks[parks.intersects(area.to_crs(prof.grid.crs))].reset_index(drop=True)
    source = stac_source(prof, prof.sources.sentinel2)
    source.allowlist.check_catalog(source.catalog)  # off the allowlist: AllowlistError, exit 2
    if isinstance(source, SentinelHubSource):  # credentials unset: CredentialsError, exit 2
        Credentials.from_env(source.client_id_env, source.client_secret_env)
    heat = None
    if prof.heat is not None:
        city = area if aoi is None else load_aoi(city_aoi, max_area_km2=prof.aoi.max_area,
                                                 max_vertices=prof.aoi.max_vertices)  # fmt: skip
        heat = heat_exposure_inputs(prof, city)
    return VegetationInputs(
        profile=prof, aoi=area, grid=grid, parks=parks, source=source, heat=heat
    )
