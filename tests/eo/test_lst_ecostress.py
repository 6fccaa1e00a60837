"""ECOSTRESS L2T LSTE as a second LST source: CMR-STAC item layout (file-name asset keys, s3_ twins,
no proj extension) on a local rustac API, synthetic 70 m COGs on a Range server; read at 70 m on the
tile's own phase, float32 kelvin kept, QC / cloud / water flags honoured."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine

from core.errors import InvalidInputError
from core.profile import HeatConfig
from eo.allowlist import Allowlist
from eo.lst import canonical_items, load_lst, lst_product, product_grid
from eo.scenes import find_items
from eo.stac import StacSource
from indices.heat import clear_median, lst_hotspots
from tests.servers.http_base import ServerWithPlan
from tests.servers.rustac_api import rustac_executable, start_rustac
from tests.servers.stac_factory import wgs84_bbox

X0, Y0, RES, N = 599960.0, 5350040.0, 70.0, 40  # an MGRS-like origin: phase (60, 10) m at 70 m
TRANSFORM = Affine(RES, 0.0, X0, 0.0, -RES, Y0)
BOUNDS = (X0, Y0 - N * RES, X0 + N * RES, Y0)
COLLECTION = "ECO_L2T_LSTE_002"


def _write(path: Path, data: np.ndarray, nodata: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="COG", width=N, height=N, count=1, dtype=data.dtype,
                       crs="EPSG:32633", transform=TRANSFORM, nodata=nodata,
                       blocksize=128) as dst:  # fmt: skip
        dst.write(data, 1)


def _layers(day: int) -> dict[str, np.ndarray]:
    lst = np.full((N, N), 301.37, np.float32)
    lst[10:16, 20:26] = 318.62  # a hot block (kelvin with decimals: uint16 would truncate them)
    lst[:3, :3] = np.nan  # not produced
    qc = np.zeros((N, N), np.uint16)
    qc[:3, :3] = 3
    cloud = np.zeros((N, N), np.uint8)
    water = np.zeros((N, N), np.uint8)
    water[30:34, 30:34] = 1
    if day == 1:
        qc[20:25, :] = 0b10 | 0b0100  # mandatory QA 10 = cloud, higher bits set too
        lst[20:25, :] = 262.0  # a cold cloud top
    else:
        cloud[:, 30:] = 1  # the cloud mask says cloudy; LST there is a cold cloud top
        lst[:, 30:] = 265.0
    return {"LST": lst, "QC": qc, "cloud": cloud, "water": water}


def _item(root: Path, base_url: str, day: int) -> dict[str, Any]:
    name = f"ECOv002_L2T_LSTE_2134{day}_007_33UXP_202207{day:02d}T121314_0710_01"
    assets: dict[str, Any] = {}
    nodata = {"LST": float("nan"), "QC": 65535, "cloud": 255, "water": 255}
    for layer, data in _layers(day).items():
        _write(root / name / f"{name}_{layer}.tif", data, nodata[layer])
        href = f"{base_url}/{root.name}/{name}/{name}_{layer}.tif"
        assets[f"{name}_{layer}"] = {"href": href, "type": "image/tiff; application=geotiff"}
        assets[f"s3_{name}_{layer}"] = {"href": f"s3://lp-prod-protected/{name}_{layer}.tif"}
    west, south, east, north = wgs84_bbox(BOUNDS)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    when = datetime(2022, 7, day, 12, 13, 14, tzinfo=UTC)
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": name, "collection": COLLECTION,
        "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": [west, south, east, north],
        "properties": {"datetime": when.isoformat().replace("+00:00", "Z"),
                       "eo:cloud_cover": 20.0 + day},
        "assets": assets, "links": [],
    }  # fmt: skip


@pytest.fixture(scope="module")
def ecostress(
    range_server_session: ServerWithPlan, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    if rustac_executable() is None:
        pytest.skip("rustac is not installed in the venv")
    root = Path(range_server_session.settings["root"]) / "ecostress"
    items = [_item(root, range_server_session.base_url, d) for d in (1, 2)]
    api = start_rustac(items, tmp_path_factory.mktemp("eco-rustac"))
    source = StacSource(
        catalog=api.url, provider="lp-daac", collection=COLLECTION, retries=2,
        allowlist=Allowlist(hosts=frozenset(), http_hosts=frozenset({"127.0.0.1"})),
        max_cloud_cover=80.0, backoff_factor_s=0.001, timeout_s=5.0,
    )  # fmt: skip
    yield source
    api.stop()


def test_ecostress_read_at_70_m_on_the_tile_phase_with_its_flags(ecostress: StacSource) -> None:
    bbox = tuple(wgs84_bbox((X0 + 500, Y0 - 2500, X0 + 2500, Y0 - 100)))
    items, _ = find_items(ecostress, bbox_wgs84=bbox, start=date(2022, 7, 1), end=date(2022, 7, 2))
    assert len(items) == 2
    product = lst_product(ecostress)
    assert product.resolution_m == 70.0 and not product.is_landsat
    grid = product_grid(product, items, "EPSG:32633", BOUNDS, ecostress)
    assert grid.resolution == 70.0  # never resampled to 30 or 10 m
    assert grid.bounds[0] % 70.0 == pytest.approx(60.0) and grid.bounds[3] % 70.0 == pytest.approx(
        10.0
    )
    assert grid.shape == (N, N)  # the grid is the tile's own pixels (phase from the COG header)
    scenes = load_lst(items, grid, ecostress)
    k = scenes.kelvin.values
    removed = scenes.removed.values
    assert scenes.kelvin.attrs["units"] == "K"
    assert k[0, 12, 22] == pytest.approx(318.62, abs=1e-4)  # float32 kelvin kept, not truncated
    assert k[0, 5, 5] == pytest.approx(301.37, abs=1e-4)
    assert removed[:, :3, :3].all() and np.isnan(k[:, :3, :3]).all()  # not produced (QC 11, NaN)
    assert removed[0, 20:25, :].all() and not removed[1, 20:25, :30].any()  # QC 10: cloud
    assert removed[1, :, 30:].all() and not removed[0, :20, 30:].any()  # cloud mask
    assert not removed[0, 30:34, 30:34].any()  # water kept unless strict
    strict = load_lst(items, grid, ecostress, strict=True)
    assert strict.removed.values[0, 30:34, 30:34].all()
    lst = clear_median(scenes.kelvin, scenes.removed)
    assert float(np.nanmin(lst.values)) > 300.0  # no cloud top reached the composite
    classes = lst_hotspots(lst, 150.0, fdr=True)
    assert (classes.values[11:15, 21:25] >= 2).all()  # the hot block is a hot spot at 70 m
    assert (classes.values[30:, :10] <= 0).all()


def test_ecostress_items_map_file_name_keys_and_refuse_ambiguity() -> None:
    spec = StacSource(catalog="https://cmr.earthdata.nasa.gov/stac/LPCLOUD", provider="lp-daac",
                      collection=COLLECTION).spec  # fmt: skip
    item = {"id": "x", "assets": {f"G_{k}": {"href": f"https://h/G_{k}.tif"} for k in
                                  ("LST", "LST_err", "QC", "cloud", "water", "EmisWB")}}  # fmt: skip
    item["assets"]["s3_G_LST"] = {"href": "s3://b/G_LST.tif"}
    [mapped] = canonical_items([item], spec)
    assert set(mapped["assets"]) == {"LST", "QC", "cloud", "water"}
    assert mapped["assets"]["LST"]["href"] == "https://h/G_LST.tif"  # not LST_err, not the s3 twin
    del item["assets"]["G_QC"]
    with pytest.raises(InvalidInputError, match="_QC"):
        canonical_items([item], spec)


def test_profile_selects_ecostress_in_heat_config_and_refuses_a_non_lst_collection() -> None:
    eco = HeatConfig.model_validate({
        "reference_layer": "ref.geojson", "population": {"path": "p.csv", "id_field": "id"},
        "weather": {"forecasts": "geosphere"},
        "lst_source": {"provider": "lp-daac", "collection": COLLECTION,
                       "catalog": "https://cmr.earthdata.nasa.gov/stac/LPCLOUD"},
    })  # fmt: skip
    assert eco.lst_source is not None and eco.lst_source.provider == "lp-daac"
    s2 = StacSource(catalog="https://earth-search.aws.element84.com/v1", provider="earth-search",
                    collection="sentinel-2-l2a")  # fmt: skip
    with pytest.raises(InvalidInputError, match="not a land surface temperature product"):
        lst_product(s2)
