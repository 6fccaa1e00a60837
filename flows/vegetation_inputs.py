"""The vegetation flow's inputs, resolved and checked before Prefect is imported or started.

Invalid input (profile, AOI, parks layer, a catalogue off the allowlist) raises
:class:`core.errors.InvalidInputError` here, so the CLI exits 2 without starting a server or writing
anything under ``--out`` (DESIGN sections 5 and 8). This module does not import Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd

from core.profile import CityProfile, load_profile
from eo.aoi import AOI, grid_for_aoi, load_aoi
from eo.grid import OutputGrid
from eo.layers import read_layer
from eo.scenes import stac_source
from eo.stac import StacSource


@dataclass(frozen=True)
class VegetationInputs:
    """Everything a run needs that comes from the profile: resolved once, checked before any work."""

    profile: CityProfile
    aoi: AOI
    grid: OutputGrid
    parks: gpd.GeoDataFrame
    source: StacSource


def evaluation_ends(start: date, end: date, cadence_days: int) -> list[date]:
    """Window end dates: ``end``, then every ``cadence_days`` back while on or after ``start``."""
    ends = []
    day = end
    while day >= start:
        ends.append(day)
        day -= timedelta(days=cadence_days)
    return sorted(ends)


def resolve_inputs(profile: str | Path, out_dir: Path, aoi: Path | None = None) -> VegetationInputs:
    """Load and check the profile, AOI, grid, parks layer and catalogue (invalid input: exit 2)."""
    prof = load_profile(profile, out_dir=out_dir)
    aoi_path = aoi if aoi is not None else Path(prof.resolve(prof.aoi.path))
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
    return VegetationInputs(profile=prof, aoi=area, grid=grid, parks=parks, source=source)
