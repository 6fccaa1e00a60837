"""Helpers of the ingestion acceptance tests: the small demo city seen through its packaged profile.

Not a conftest (nothing here is collected or auto-loaded): the test modules import what they need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import geopandas as gpd
from dask.callbacks import Callback

from core.profile import CityProfile, load_profile
from eo.aoi import AOI, grid_for_aoi, load_aoi
from eo.grid import OutputGrid
from eo.scenes import stac_source
from eo.stac import StacSource, search_items

if TYPE_CHECKING:
    from eo.demo.layout import DemoLayout

S2_COLLECTION = "sentinel-2-l2a"


@dataclass(frozen=True)
class DemoContext:
    """The small demo through the ``vienna-demo`` profile: source, AOI, output grid and truth."""

    layout: DemoLayout
    truth: dict[str, Any]
    profile: CityProfile
    source: StacSource
    aoi: AOI
    grid: OutputGrid

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """The AOI's (west, south, east, north), degrees."""
        return self.aoi.bbox

    def parks(self) -> gpd.GeoDataFrame:
        """The parks layer (EPSG:32633)."""
        return gpd.read_file(self.profile.resolve(self.profile.layers.parks.path))

    def item_json(self, item_id: str) -> dict[str, Any]:
        """An item of the static catalogue exactly as stored (relative hrefs)."""
        path = self.layout.stac / S2_COLLECTION / item_id / f"{item_id}.json"
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return document

    def search(self, start: date, end: date | None = None) -> dict[str, dict[str, Any]]:
        """Item dicts of the static catalogue taken on ``start..end`` (no de-duplication), by id."""
        items = search_items(self.source, bbox_wgs84=self.bbox, start=start, end=end or start)
        return {str(item["id"]): item for item in items}


def demo_context(layout: DemoLayout) -> DemoContext:
    """The :class:`DemoContext` of a demo build (packaged profile resolved against its parent)."""
    profile = load_profile("vienna-demo", out_dir=layout.root.parent)
    aoi = load_aoi(profile.resolve(profile.aoi.path))
    return DemoContext(
        layout=layout,
        truth=json.loads(layout.truth.read_text(encoding="utf-8")),
        profile=profile,
        source=stac_source(profile, profile.sources.sentinel2),
        aoi=aoi,
        grid=grid_for_aoi(aoi, profile.grid.crs, profile.grid.resolution),
    )


class ComputeCounter(Callback):  # type: ignore[misc]
    """Counts Dask computes (scheduler runs) while active: ``with ComputeCounter() as c: ...``."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def _start(self, dsk: Any) -> None:
        self.count += 1
