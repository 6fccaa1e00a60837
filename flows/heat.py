"""The heat flow: Landsat LST hotspots + the weather forecast -> CAP heat bulletins for health services.

``geospace run heat --profile P --start D --end D`` (DESIGN sections 4-6):

1. Inputs are checked before Prefect starts (profile ``heat:`` section, AOI, districts, population by
   age, reference layer, forecast source): invalid input exits 2 with nothing written.
2. Land surface temperature: the profile's ``sources.landsat`` items of the ``lst_window`` days before
   ``--end``, ST_B10 + QA_PIXEL on a 30 m grid, clouds removed, the clear-sky median (kelvin), Gi*
   hot spots (FDR by default), district statistics (SUHI, hot share), hotspot polygons and the
   vulnerability ranking (people 65+/75+ in hot spots).
3. Each forecast issued in ``--start..--end`` (a CSV per issue day, or the GeoSphere data hub once)
   is evaluated as of its issue time (the outbox clock is set to it: :mod:`alerts.outbox.asof`):
   the Vienna health criterion (or a GeoSphere warning) on 3 days makes a bulletin finding; the
   rules (alerts/policies/heat.yaml) open, update or cancel the city's heat event. A new bulletin
   revision is archived as Draft CAP (``OUT/alerts/cap/``), waits ``pending_approval``, and an
   operator notice says so and until when; its HTML + PDF bulletin and map go to
   ``OUT/heat/<issue day>/``. Without a forecast heatwave there is no bulletin, however hot the LST.

No clear LST is a DATA_GAP of the ranking (the bulletin then covers the whole city and says so); no
forecast at all, or a forecast without felt temperature, is a DATA_GAP of the bulletin decision:
products and notices are written, the flow ends ``Completed(name="DATA_GAP")`` and exits 0.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, get_type_hints

import geopandas as gpd
import numpy as np
import pandas as pd

from core.errors import GeospaceError, InvalidInputError
from core.profile import CityProfile, HeatConfig, load_profile
from flows.progress import NullReporter
from flows.runtime import set_up_out_dir

SUBJECT_SUFFIX = "heat-bulletin"
REPLAY_AFTER = timedelta(days=1)
"""A forecast issued longer ago than this is a replay: the outbox clock is set to its issue time.
A live forecast (the daily run) leaves the outbox on the wall clock."""
FORECAST_UNAVAILABLE = "forecast unavailable"
"""Source label of a GeoSphere forecast that could not be read (timeout, HTTP 500, not JSON)."""
NO_WARNINGS = "GeoSphere heat warnings unavailable"
STREET_MIN_PIXELS = 1.0
"""A street segment needs at least one LST pixel of area on the grid to be reported."""


@dataclass(frozen=True)
class HeatInputs:
    """Everything a heat run needs, resolved and checked before Prefect starts."""

    profile: CityProfile
    heat: HeatConfig
    aoi: Any
    districts: gpd.GeoDataFrame
    population: pd.DataFrame
    reference: gpd.GeoDataFrame
    forecasts: tuple[tuple[date, Path], ...] | None  # None: the GeoSphere API
    name_field: str | None = None
    blocks: gpd.GeoDataFrame | None = None  # finer units (id in "zone_id", optional "name")
    block_population: pd.DataFrame | None = None
    streets: gpd.GeoDataFrame | None = None  # street segments ("segment_id", "line_name", lines)


def _read_layer(path: str, what: str) -> gpd.GeoDataFrame:
    """A polygon or line layer with geometries and a fitting CRS (exit 2 naming ``what``)."""
    from eo.layers import check_geometries

    if not Path(path).is_file() and "://" not in path:
        raise InvalidInputError(f"{what}: {path} does not exist; fix the path in the profile")
    try:
        frame = gpd.read_file(path)
    except Exception as exc:
        raise InvalidInputError(
            f"{what} {path} cannot be read ({type(exc).__name__}: {exc})"
        ) from None
    return check_geometries(frame, where=what)


def forecast_files(folder: Path, start: date, end: date) -> tuple[tuple[date, Path], ...]:
    """``forecast_YYYY-MM-DD.csv`` files of ``folder`` issued in ``start..end``, by issue day."""
    found = []
    for path in sorted(folder.glob("forecast_*.csv")):
        try:
            day = date.fromisoformat(path.stem.removeprefix("forecast_"))
        except ValueError:
            continue
        if start <= day <= end:
            found.append((day, path))
    return tuple(found)


def resolve_heat_inputs(profile: str | Path, start: date, end: date, out_dir: Path) -> HeatInputs:
    """Load and check the profile's heat inputs (exit 2 on anything invalid)."""
    from eo.aoi import load_aoi
    from flows.runtime import check_out_dir

    if end < start:
        raise InvalidInputError(
            f"--end {end} is before --start {start}; give an end on or after it"
        )
    check_out_dir(out_dir)
    prof = load_profile(profile, out_dir=out_dir)
    if prof.heat is None:
        raise InvalidInputError(
            f"profile {prof.name} has no heat: section; add one (see core/profiles/vienna.yaml)"
        )
    if prof.sources.landsat is None and prof.heat.lst_source is None:
        raise InvalidInputError(
            f"profile {prof.name} has no sources.landsat; the heat product needs Landsat C2 L2 "
            "(provider planetary-computer, collection landsat-c2-l2) or another LST source in "
            "heat.lst_source (provider lp-daac, collection ECO_L2T_LSTE_002)"
        )
    if prof.heat.lst_source is not None:  # refuse a non-LST collection before anything runs
        from eo.lst import lst_product
        from eo.scenes import stac_source

        lst_product(stac_source(prof, prof.heat.lst_source))
    if prof.layers.districts is None:
        raise InvalidInputError(
            f"profile {prof.name} has no layers.districts; heat ranks districts"
        )
    heat = prof.heat
    area = load_aoi(prof.resolve(prof.aoi.path), max_area_km2=prof.aoi.max_area,
                    max_vertices=prof.aoi.max_vertices)  # fmt: skip
    districts = _read_layer(prof.resolve(prof.layers.districts.path), "layers.districts")
    id_field = prof.layers.districts.id_field
    if id_field not in districts.columns:
        raise InvalidInputError(
            f"layers.districts has no id field {id_field!r}; its fields: {list(districts.columns)}"
        )
    districts = districts.to_crs(prof.grid.crs)
    pop_path = Path(prof.resolve(heat.population.path))
    if not pop_path.is_file():
        raise InvalidInputError(
            f"heat.population.path: {pop_path} is not a file; give the CSV of persons aged 65+ "
            "and 75+ per district"
        )
    population = pd.read_csv(pop_path)
    if heat.population.id_field not in population.columns:
        raise InvalidInputError(
            f"heat.population {pop_path} has no id column {heat.population.id_field!r}"
        )
    population = population.rename(columns={heat.population.id_field: "zone_id"})
    reference = _read_layer(prof.resolve(heat.reference_layer), "heat.reference_layer").to_crs(
        prof.grid.crs
    )
    forecasts: tuple[tuple[date, Path], ...] | None = None
    if heat.weather.forecasts != "geosphere":
        folder = Path(prof.resolve(heat.weather.forecasts))
        if not folder.is_dir():
            raise InvalidInputError(
                f"heat.weather.forecasts {folder} is not a folder of forecast_YYYY-MM-DD.csv files "
                "(or write 'geosphere' for the GeoSphere data hub)"
            )
        forecasts = forecast_files(folder, start, end)
    else:  # the GeoSphere APIs are reached only on https hosts of allowlist.hosts, as catalogues are
        from core.urls import LOOPBACK_HOSTS
        from eo.allowlist import Allowlist

        allowed = Allowlist(hosts=frozenset(prof.allowlist.hosts), http_hosts=LOOPBACK_HOSTS)
        for field in ("data_hub_url", "warnings_url"):
            url = getattr(heat.weather, field)
            allowed.check_service(url, what=f"heat.weather.{field}")
    # Weather files are read in the flow; a missing or unreadable one stops the run here instead.
    from eo.meteo import read_daily_csv

    if heat.weather.station is not None:
        read_daily_csv(prof.resolve(heat.weather.station))
    for _, path in forecasts or ():
        read_daily_csv(path)
    # A local LST catalogue (item JSON, asset hrefs inside the allowed folders) is checked here,
    # over the window the flow will load, not after Prefect has started.
    from eo.lst import check_local_lst_items

    first = end - timedelta(days=int(heat.lst_window) - 1)
    check_local_lst_items(prof, area.bbox, first, end)
    blocks, block_population = _blocks(prof, heat)
    return HeatInputs(
        profile=prof, heat=heat, aoi=area, districts=districts, population=population,
        reference=reference, forecasts=forecasts, name_field=prof.layers.districts.name_field,
        blocks=blocks, block_population=block_population, streets=_streets(prof, heat),
    )  # fmt: skip


def _streets(prof: CityProfile, heat: HeatConfig) -> gpd.GeoDataFrame | None:
    """The configured street centre lines cut into segments (grid CRS), or None."""
    from indices.deformation import segment_corridors

    if heat.streets is None:
        return None
    layer = heat.streets.layer
    lines = _read_layer(prof.resolve(layer.path), "heat.streets.layer")
    if lines.empty:
        raise InvalidInputError(f"heat.streets.layer {layer.path} has no features")
    return segment_corridors(lines, id_field=layer.id_field, name_field=layer.name_field,
                             length_m=heat.streets.segment_length, crs=prof.grid.crs)  # fmt: skip


def _blocks(
    prof: CityProfile, heat: HeatConfig
) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame | None]:
    """The configured finer units and their population (``zone_id`` columns), or (None, None)."""
    if heat.blocks is None:
        return None, None
    layer = heat.blocks.layer
    blocks = _read_layer(prof.resolve(layer.path), "heat.blocks.layer").to_crs(prof.grid.crs)
    if layer.id_field not in blocks.columns:
        raise InvalidInputError(
            f"heat.blocks.layer has no id field {layer.id_field!r}; its fields: {list(blocks.columns)}"
        )
    blocks = blocks.rename(columns={layer.id_field: "zone_id"})
    blocks["zone_id"] = blocks["zone_id"].astype(str)
    if layer.name_field and layer.name_field in blocks.columns:
        blocks["name"] = blocks[layer.name_field].astype(str)
    pop_path = Path(prof.resolve(heat.blocks.population.path))
    if not pop_path.is_file():
        raise InvalidInputError(f"heat.blocks.population {pop_path} does not exist")
    population = pd.read_csv(pop_path).rename(columns={heat.blocks.population.id_field: "zone_id"})
    if "zone_id" not in population.columns:
        raise InvalidInputError(
            f"heat.blocks.population {pop_path} has no id column {heat.blocks.population.id_field!r}"
        )
    return blocks[[c for c in ("zone_id", "name", "geometry") if c in blocks.columns]], population


# --- the computation (plain functions; the Prefect flow below only sequences them) ----------------


@dataclass
class HotspotResult:
    """LST analysis of one run."""

    lst_k: np.ndarray | None
    transform: Any
    crs: str
    ranking: pd.DataFrame
    hotspots: gpd.GeoDataFrame
    scenes: dict[str, float]
    suhi_reference_c: float | None
    status: str
    reason: str = ""
    map_png: bytes | None = None
    map_frame: Any = None  # where the map panels sit in map_png (the HTML's district overlay)
    blocks: pd.DataFrame | None = None  # the finer units' ranking, when configured
    streets: pd.DataFrame | None = None  # street segments by heat, when configured
    hotspots_dropped: int = 0  # hot spots below the rule's minimum area (not drawn)
    hotspots_dropped_area_m2: float = 0.0
    hotspot_rule: str = ""  # the rule's one-line description, for the data note
    product: str = "Landsat C2 L2 surface temperature"  # the LST product analysed
    resolution_m: float = 30.0  # its native grid, where Gi* ran


def analyse_lst(inputs: HeatInputs, start: date, end: date) -> HotspotResult:
    """Landsat LST of the window -> hot spots, district table and ranking (DATA_GAP if none clear)."""
    from alerts.detect.heat_hotspots import load_hotspot_rule
    from eo.lst import find_lst_items, load_lst, lst_product, product_grid
    from indices.heat import (
        clear_median,
        district_heat_table,
        hotspot_areas,
        lst_hotspots,
        rank_by_heat,
        reference_lst,
        vulnerability_ranking,
        zone_coverage,
    )

    prof, heat = inputs.profile, inputs.heat
    minx, miny, maxx, maxy = inputs.aoi.to_crs(prof.grid.crs).bounds
    first = end - timedelta(days=int(heat.lst_window) - 1)
    items, source = find_lst_items(prof, inputs.aoi.bbox, first, end)
    product = lst_product(source)
    grid = product_grid(product, items, prof.grid.crs, (minx, miny, maxx, maxy), source)
    short = product.name.split()[0]
    id_field = prof.layers.districts.id_field  # type: ignore[union-attr]
    zones = zone_coverage(inputs.districts, id_field, grid.transform, grid.shape)
    ids = zones.ids
    empty = gpd.GeoDataFrame({"hotspot_id": []}, geometry=[], crs=grid.crs)
    if not items:
        result = _gap_result(inputs, ids, grid, f"no {short} scene in the window", empty)
        result.product, result.resolution_m = product.name, product.resolution_m
        return result
    scenes = load_lst(items, grid, source, strict=heat.strict_qa)
    lst = clear_median(scenes.kelvin, scenes.removed)
    values = np.asarray(lst.values)
    if not np.isfinite(values).any():
        result = _gap_result(inputs, ids, grid, f"no clear {short} pixel in the window", empty)
        result.scenes = scenes.clear_fraction
        result.product, result.resolution_m = product.name, product.resolution_m
        return result
    classes = lst_hotspots(lst, heat.hotspot_distance, fdr=heat.fdr)
    ref_cover = zone_coverage(inputs.reference.assign(_one=1), "_one", grid.transform, grid.shape)
    ref_k = reference_lst(values, ref_cover, heat.reference_layer)
    table = district_heat_table(
        values, np.asarray(classes.values), zones, reference_k=ref_k,
        hot_class=heat.hot_class, min_clear_fraction=heat.min_clear_fraction,
        ok_clear_fraction=heat.ok_clear_fraction,
    )  # fmt: skip
    ranking = vulnerability_ranking(
        table, inputs.population, areas_km2=_areas(inputs.districts, id_field)
    )
    ranking = _with_names(ranking, inputs)
    rule = load_hotspot_rule()
    areas = hotspot_areas(np.asarray(classes.values), grid.transform, grid.crs,
                          min_class=heat.hot_class, connectivity=rule.connectivity,
                          merge_gap_m=rule.merge_gap_m, min_area_m2=rule.min_area_m2)  # fmt: skip
    blocks = None
    if inputs.blocks is not None and inputs.block_population is not None:
        block_zones = zone_coverage(inputs.blocks, "zone_id", grid.transform, grid.shape)
        block_table = district_heat_table(
            values, np.asarray(classes.values), block_zones, reference_k=ref_k,
            hot_class=heat.hot_class, min_clear_fraction=heat.min_clear_fraction,
            ok_clear_fraction=heat.ok_clear_fraction, min_pixels=4,
        )  # fmt: skip
        blocks = vulnerability_ranking(
            block_table, inputs.block_population, areas_km2=_areas(inputs.blocks, "zone_id")
        )
        if "name" in inputs.blocks.columns:
            names = inputs.blocks[["zone_id", "name"]].drop_duplicates("zone_id")
            blocks = blocks.drop(columns=[c for c in ("name",) if c in blocks.columns])
            blocks = blocks.merge(names, on="zone_id", how="left")
    streets = None
    if inputs.streets is not None and heat.streets is not None:
        corridors = inputs.streets.assign(geometry=inputs.streets.buffer(heat.streets.buffer))
        street_zones = zone_coverage(corridors, "segment_id", grid.transform, grid.shape)
        street_table = district_heat_table(
            values, np.asarray(classes.values), street_zones, reference_k=ref_k,
            hot_class=heat.hot_class, min_clear_fraction=heat.min_clear_fraction,
            ok_clear_fraction=heat.ok_clear_fraction, min_pixels=STREET_MIN_PIXELS,
        )  # fmt: skip
        names = inputs.streets[["segment_id", "line_name"]].rename(
            columns={"segment_id": "zone_id"}
        )
        street_table = street_table.merge(names, on="zone_id", how="left")
        streets = rank_by_heat(street_table.rename(columns={"line_name": "name"}))
    return HotspotResult(values, grid.transform, grid.crs, ranking, areas.polygons,
                         scenes.clear_fraction, ref_k - 273.15, "OK", blocks=blocks,
                         streets=streets, hotspots_dropped=areas.dropped,
                         hotspots_dropped_area_m2=areas.dropped_area_m2,
                         hotspot_rule=rule.describe(), product=product.name,
                         resolution_m=product.resolution_m)  # fmt: skip


def _areas(zones: gpd.GeoDataFrame, id_field: str) -> pd.Series:
    """Polygon area (km2) by zone id, in the grid's projected CRS."""
    return pd.Series(
        (zones.geometry.area / 1e6).to_numpy(), index=zones[id_field].astype(str).to_numpy()
    )


def _with_names(ranking: pd.DataFrame, inputs: HeatInputs) -> pd.DataFrame:
    id_field = inputs.profile.layers.districts.id_field  # type: ignore[union-attr]
    names = inputs.districts[[id_field]].astype(str).rename(columns={id_field: "zone_id"})
    names["name"] = (
        inputs.districts[inputs.name_field].astype(str) if inputs.name_field else names["zone_id"]
    )
    ranking = ranking.drop(columns=[c for c in ("name",) if c in ranking.columns])
    return ranking.merge(names.drop_duplicates("zone_id"), on="zone_id", how="left")


def _gap_result(inputs: HeatInputs, ids: list[Any], grid: Any, reason: str,
                empty: gpd.GeoDataFrame) -> HotspotResult:  # fmt: skip
    from indices.heat import vulnerability_ranking

    table = pd.DataFrame({"zone_id": ids, "pixels": 0, "clear_fraction": 0.0,
                          "lst_median_c": np.nan, "lst_p90_c": np.nan, "suhi_k": np.nan,
                          "hot_share": np.nan, "hot_pixels": 0, "status": "DATA_GAP"})  # fmt: skip
    ranking = _with_names(vulnerability_ranking(table, inputs.population), inputs)
    return HotspotResult(
        None, grid.transform, grid.crs, ranking, empty, {}, None, "DATA_GAP", reason
    )


def bulletin_area(
    result: HotspotResult, inputs: HeatInputs, top_n: int
) -> tuple[list[str], Any, str]:
    """(zone ids, WGS84 GeoJSON geometry, area description) of the bulletin's districts."""
    from shapely.geometry import mapping

    id_field = inputs.profile.layers.districts.id_field  # type: ignore[union-attr]
    ranked = result.ranking.dropna(subset=["rank"]).head(top_n)
    if ranked.empty:  # no LST ranking: the whole area of interest
        geom = inputs.aoi.geometry
        return [], mapping(geom), f"{inputs.profile.title} (districts not ranked: {result.reason})"
    ids = [str(z) for z in ranked["zone_id"]]
    chosen = inputs.districts[inputs.districts[id_field].astype(str).isin(ids)]
    geom = chosen.to_crs("EPSG:4326").geometry.union_all().simplify(0.0002)
    names = ", ".join(str(n) for n in ranked["name"])
    return ids, mapping(geom), f"{inputs.profile.title}: {names}"


def read_forecasts(inputs: HeatInputs) -> list[tuple[datetime, Any, Any, str]]:
    """(issued UTC, DailyWeather, HeatWarnings or None, source) for every forecast of the run."""
    from core.errors import DataReadError, SourceUnavailableError
    from eo.http import HttpPolicy
    from eo.meteo import DailyWeather, GeoSphereClient, as_of, read_daily_csv

    out: list[tuple[datetime, Any, Any, str]] = []
    if inputs.forecasts is None:
        w = inputs.heat.weather
        http = inputs.profile.http
        client = GeoSphereClient(base_url=w.data_hub_url, warnings_url=w.warnings_url,
                                 timezone=inputs.profile.timezone,
                                 policy=HttpPolicy(timeout_s=http.timeout, retries=http.retries,
                                                   retry_after_max_s=http.backoff_max))  # fmt: skip
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
        try:
            forecast = client.forecast_daily(w.lat, w.lon)
        except (SourceUnavailableError, DataReadError) as err:
            # No forecast: the bulletin decision is a DATA_GAP (operators get a notice), never a
            # bulletin, and never a silent skip.
            empty = DailyWeather(
                pd.DataFrame(columns=["tmax_c", "tmin_c", "felt_tmax_c"], dtype=float),
                "none", "GeoSphere forecast",
            )  # fmt: skip
            out.append((now, empty, None, f"{FORECAST_UNAVAILABLE}: {err}"))
            return out
        try:
            warnings = client.heat_warnings(w.lat, w.lon)
        except (SourceUnavailableError, DataReadError):
            warnings = None  # the Vienna criterion on the forecast still decides (noted)
        issued = as_of(forecast.issued, now)
        source = forecast.source if warnings is not None else f"{forecast.source} ({NO_WARNINGS})"
        out.append((issued, forecast, warnings, source))
        return out
    for day, path in inputs.forecasts:
        forecast = read_daily_csv(path)
        fallback = datetime(day.year, day.month, day.day, 6, 0)
        out.append((as_of(forecast.issued, fallback), forecast, None, path.name))
    return out


def decide_forecast(
    inputs: HeatInputs, result: HotspotResult, issued: datetime, forecast: Any, warnings: Any,
    source: str, out_dir: Path,
) -> dict[str, Any]:  # fmt: skip
    """One forecast through the heat rule into the outbox, as of its issue time (a JSON-ready
    summary of the decision)."""
    return _decide_forecast(inputs, result, issued, forecast, warnings, source, out_dir)[0]


def _decide_forecast(
    inputs: HeatInputs, result: HotspotResult, issued: datetime, forecast: Any, warnings: Any,
    source: str, out_dir: Path,
) -> tuple[dict[str, Any], Any]:  # fmt: skip
    """:func:`decide_forecast` and the rules' outcome (for the run's digest)."""
    from alerts.decide.pipeline import apply_findings
    from alerts.decide.policy import load_policy
    from alerts.decide.revisions import SubjectInfo
    from alerts.detect.heat import bulletin_finding, heat_outlook
    from alerts.detect.heat_notice import approval_notice
    from alerts.model import RevisionStatus
    from alerts.outbox.asof import set_as_of
    from alerts.outbox.store import open_store
    from alerts.products.heat_run import write_heat_products
    from alerts.sinks.routing import Routing

    prof = inputs.profile
    outlook = heat_outlook(forecast, issued=issued, warnings=warnings, timezone=prof.timezone)
    if source.startswith(FORECAST_UNAVAILABLE):
        outlook = replace(outlook, reasons=("forecast_unavailable",))
    elif NO_WARNINGS in source:
        outlook = replace(outlook, reasons=(*outlook.reasons, "warnings_unavailable"))
    subject_id = f"{prof.name}:{SUBJECT_SUFFIX}"
    top_ids, geometry, area_name = bulletin_area(result, inputs, inputs.heat.bulletin_districts)
    sources = (source, *result.scenes)
    finding = bulletin_finding(outlook, subject_id, sources=sources, timezone=prof.timezone)
    if datetime.now(UTC).replace(tzinfo=None) - issued > REPLAY_AFTER:
        set_as_of(out_dir, issued)  # a replay: the outbox reads the replayed time from now on
    now = issued.replace(tzinfo=UTC)
    policy = load_policy("heat")
    routing = Routing.from_profile(prof.sinks)
    info = SubjectInfo(name=f"{prof.title} heat", geometry=geometry, area_name=area_name)
    store = open_store(out_dir, dsn=prof.outbox.dsn())
    try:
        outcome = apply_findings(store, [finding], policy, now=now, sinks=routing,
                                 subjects={subject_id: info}, out_dir=out_dir)[0]  # fmt: skip
        revision = None
        if outcome.message_key is not None:
            rows = store.db.query("SELECT id, payload FROM revisions WHERE message_key = ?",
                                  (outcome.message_key,))  # fmt: skip
            if rows:
                revision = {**json.loads(str(rows[0]["payload"])), "id": int(rows[0]["id"])}
        notice_id = outcome.gap_revision_id  # a DATA_GAP notice of the bulletin decision
        if revision is not None and revision.get("hazard") != policy.hazard:
            revision = None  # the decision was a notice, not a bulletin revision
        if revision is not None and revision.get("status") == RevisionStatus.PENDING_APPROVAL:
            notice = approval_notice(revision, now=now, timezone=prof.timezone)
            notice_id = store.add_revision(notice, routing.sinks_for(notice))
    finally:
        store.close()
    products = write_heat_products(
        out_dir, issued, profile=prof, heat=inputs.heat, districts=inputs.districts,
        name_field=inputs.name_field, result=result, outlook=outlook, revision=revision,
        top_ids=top_ids,
    )  # fmt: skip
    return {
        "issued": issued.isoformat(timespec="seconds"),
        "heatwave": outlook.wave is not None,
        "status": str(outlook.status),
        "reasons": list(outlook.reasons),
        "source": source,
        "action": outcome.action,
        "reason": outcome.reason,
        "revision_id": None if revision is None else revision["id"],
        "revision": None if revision is None else revision.get("revision"),
        "msg_type": None if revision is None else revision.get("msg_type"),
        "revision_status": None if revision is None else revision.get("status"),
        "onset": None if revision is None else revision.get("onset"),
        "notice_id": notice_id,
        "products": products,
    }, outcome


def observed_heatwaves(inputs: HeatInputs, end: date, out_dir: Path) -> dict[str, Any] | None:
    """Kyselý heatwaves of the station series up to ``end`` (QC drops reported), as a product."""
    from alerts.products.heat_run import write_observed_heatwaves
    from eo.meteo import read_daily_csv
    from indices.heatwave import kysely

    if inputs.heat.weather.station is None:
        return None
    station = read_daily_csv(inputs.profile.resolve(inputs.heat.weather.station))
    series = station.series("tmax_c")
    series = series[series.index <= pd.Timestamp(end)]
    return write_observed_heatwaves(
        out_dir, end, source=station.source, waves=kysely(series), dropped=station.dropped
    )


def run_heat(
    inputs: HeatInputs,
    start: date,
    end: date,
    out_dir: Path,
    progress: NullReporter | None = None,
) -> dict[str, Any]:
    """The whole heat run without Prefect (the flow wraps it); returns a JSON-ready summary.

    ``progress``: the command's reporter (:mod:`flows.progress`); silent without one.
    """
    report = progress or NullReporter()
    observed = observed_heatwaves(inputs, end, out_dir)
    report.stage("surface temperature and hot spots (Landsat)")
    with report.dask("surface temperature and hot spots (Landsat)"):
        result = analyse_lst(inputs, start, end)
    report.done(
        "surface temperature and hot spots (Landsat)",
        f"{len(result.scenes)} scene(s), {len(result.hotspots)} hot-spot polygon(s)",
    )
    forecasts = sorted(read_forecasts(inputs), key=lambda f: f[0])
    report.stage("forecast decisions and bulletins written", len(forecasts))
    decisions, outcomes = [], []
    for issued, forecast, warnings, source in forecasts:
        decision, outcome = _decide_forecast(
            inputs, result, issued, forecast, warnings, source, out_dir
        )
        decisions.append(decision)
        outcomes.append(outcome)
        report.advance("forecast decisions and bulletins written")
    report.done("forecast decisions and bulletins written")
    # ONE digest for operators per run (gaps opened/cleared, bulletin revisions queued), as the
    # vegetation and deformation runs send; a rerun that queued nothing sends none.
    from flows.alerting import queue_run_digest

    digest = queue_run_digest.fn(
        inputs.profile, outcomes, start=start, end=end, out_dir=out_dir, hazard="heat"
    )
    ranked = result.ranking.dropna(subset=["rank"])
    blocks = [] if result.blocks is None else result.blocks.dropna(subset=["rank"])["zone_id"]
    return {
        "block_ranking": [str(b) for b in blocks],
        "lst_status": result.status,
        "lst_reason": result.reason,
        "scenes": result.scenes,
        "ranking": [str(z) for z in ranked["zone_id"]],
        "hotspots": len(result.hotspots),
        "hotspots_dropped": result.hotspots_dropped,
        "street_ranking": []
        if result.streets is None
        else [str(s) for s in result.streets.dropna(subset=["rank"])["zone_id"]],
        "forecasts": decisions,
        "digest_id": digest,
        "observed": observed,
        "data_gap": not forecasts or all(d["status"] == "DATA_GAP" for d in decisions),
    }


def heat_flow_impl(profile: str, start: date, end: date, out_dir: str,
                   inputs: HeatInputs | None = None,
                   progress: NullReporter | None = None) -> Any:  # fmt: skip
    from prefect.states import Completed

    from flows.artifacts import publish_heat, refresh_dashboard

    out = Path(out_dir)
    if inputs is None:
        inputs = resolve_heat_inputs(profile, start, end, out)
    summary = run_heat(inputs, start, end, out, progress)
    publish_heat(inputs.profile.name, summary)
    refresh_dashboard(out, inputs.profile)
    if summary["data_gap"]:
        return Completed(
            name="DATA_GAP", message="no forecast heat decision possible", data=summary
        )
    return Completed(message=f"{len(summary['forecasts'])} forecast(s) evaluated", data=summary)


def _flow() -> Any:
    from prefect import flow

    from flows.dask_runtime import with_dask

    body = with_dask(heat_flow_impl)
    # Prefect validates parameters from the annotations; resolve them here, in this module (the
    # wrapper lives in flows.dask_runtime, where ``date`` and ``HeatInputs`` are unknown names).
    body.__annotations__ = get_type_hints(heat_flow_impl)
    return flow(name="heat", log_prints=False)(body)


def run_heat_cli(*, profile: str, start: date, end: date, out_dir: Path,
                 progress: NullReporter | None = None) -> int:  # fmt: skip
    """``geospace run heat``: check inputs (exit 2), run the flow, print where things are."""
    report = progress or NullReporter()
    inputs = resolve_heat_inputs(profile, start, end, out_dir)  # exit 2 before Prefect starts
    set_up_out_dir(out_dir, dsn=inputs.profile.outbox.dsn())
    report.message("heat: starting the flow (Prefect's local server takes a few seconds)")
    state = _flow()(profile=str(profile), start=start, end=end, out_dir=str(out_dir),
                    inputs=inputs, progress=report, return_state=True)  # fmt: skip
    try:
        summary: dict[str, Any] = state.result(raise_on_failure=True)
    except GeospaceError:
        raise
    issued = sorted({str(d["issued"])[:10] for d in summary["forecasts"]})
    report.finish(
        str(state.name),
        [str(out_dir / "heat" / day) for day in issued if (out_dir / "heat" / day).is_dir()],
        {
            "forecasts": len(summary["forecasts"]),
            "bulletins_pending_approval": sum(
                d["revision_status"] == "pending_approval" for d in summary["forecasts"]
            ),
            "hotspots": int(summary["hotspots"]),
        },
        f"heat: {state.name}: {len(summary['forecasts'])} forecast(s) under {out_dir}/heat",
    )
    print(f"heat: {state.name}: LST {summary['lst_status']}, {summary['hotspots']} hot spot(s) "
          f"({summary['hotspots_dropped']} below the minimum area not drawn); districts first: "
          f"{', '.join(summary['ranking'][:3]) or 'none'}")  # fmt: skip
    if summary.get("observed"):
        waves = summary["observed"]["kysely_heatwaves"]
        print(f"  station: {len(waves)} Kysely heatwave(s) observed so far: {waves}")
    if not summary["forecasts"]:
        print("  note: no forecast issued in the period: no bulletin decision (DATA_GAP)")
    for d in summary["forecasts"]:
        what = (
            "heatwave"
            if d["heatwave"]
            else ("DATA_GAP" if d["status"] == "DATA_GAP" else "no heatwave")
        )
        line = f"  forecast {d['issued']}: {what}; {d['action']}"
        if d["status"] == "DATA_GAP":
            line += f" ({', '.join(d['reasons'])}; source: {d['source']})"
        if d["revision_id"] is not None:
            line += (f"; bulletin revision {d['revision']} ({d['msg_type']}) id {d['revision_id']} "
                     f"is {d['revision_status']}")  # fmt: skip
        print(line)
        if d["revision_status"] == "pending_approval":
            print(f"    approve it: geospace alerts approve {d['revision_id']} --by NAME --out {out_dir}"
                  f" (before its onset {d['onset']})")  # fmt: skip
    sys.stdout.flush()
    return 0
