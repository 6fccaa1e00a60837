"""Where the demo city lives on disk: the contract between the demo builder and its readers.

``geospace demo --out OUT`` builds everything under ``OUT/demo-city/``::

    demo-city/
      NOTICE                      facts used and their sources; everything here is synthetic
      truth.json                  what was planted (stressed parks, cloud-hidden park, all-cloud date,
                                  wrongly flagged item, duplicate item, ...)
      layers/districts.geojson    23 districts   (EPSG:32633; id field "district_id", name "name")
      layers/parks.geojson        named parks    (EPSG:32633; id field "park_id",     name "name")
      layers/corridors.geojson    U-Bahn lines   (EPSG:32633; id field "corridor_id", name "name")
      layers/stations.geojson     U-Bahn stations(EPSG:32633; id field "station_id",  name "name")
      layers/water.geojson        Danube, Donaukanal, Neue/Alte Donau, Donauinsel (kind attribute)
      layers/forest.geojson       Wienerwald edge and other forest
      layers/population.csv       population by district (district_id, total, age_65_plus, ...)
      stac/catalog.json           static STAC catalogue (Earth Search v1 layout)
      stac/sentinel-2-l2a/collection.json
      stac/sentinel-2-l2a/<item id>/<item id>.json
      cogs/sentinel-2-l2a/<item id>/{B02,B04,B08,B8A,B11,SCL}.tif
      insar/EGMS_L2b_<track>_0001_IW2_VV_<first>_<last>_1.csv   demo EGMS releases (eo/demo/egms_releases.py)

The packaged ``vienna-demo`` profile (``core/profiles/vienna-demo.yaml``) points at these files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO_DIRNAME = "demo-city"
S2_COLLECTION = "sentinel-2-l2a"
DEMO_SEED = 20220601


@dataclass(frozen=True)
class DemoLayout:
    """Paths of one demo city build."""

    root: Path

    @classmethod
    def under(cls, out_dir: Path) -> DemoLayout:
        return cls(Path(out_dir) / DEMO_DIRNAME)

    @property
    def layers(self) -> Path:
        return self.root / "layers"

    @property
    def stac(self) -> Path:
        return self.root / "stac"

    @property
    def catalog(self) -> Path:
        return self.stac / "catalog.json"

    @property
    def cogs(self) -> Path:
        return self.root / "cogs"

    @property
    def truth(self) -> Path:
        return self.root / "truth.json"

    @property
    def notice(self) -> Path:
        return self.root / "NOTICE"

    def layer(self, name: str) -> Path:
        return self.layers / f"{name}.geojson"
