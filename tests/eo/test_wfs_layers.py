"""Vienna's open-data WFS layers through the generic OGR reader, and `geospace layers fetch`.

The WFS stand-in (tests/servers/wfs.py) serves the real district and U-Bahn files of
/work/shared/data/vienna/ (skipped when absent) and PARKANLAGEOGD in its real field layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import yaml

from core.errors import DataReadError, InvalidInputError, SourceUnavailableError
from core.profile import PACKAGED_PROFILES, load_profile
from eo.allowlist import Allowlist
from eo.http import HttpPolicy
from eo.layer_cache import fetch_profile_layers
from eo.layers import read_layer
from flows.cli import main
from tests.servers.faults import Fault
from tests.servers.http_base import ServerWithPlan
from tests.servers.wfs import DISTRICTS_FILE, UBAHN_FILE, start_wfs, wfs_layers, wfs_url

pytestmark = pytest.mark.skipif(
    not (DISTRICTS_FILE.is_file() and UBAHN_FILE.is_file()),
    reason="the real Vienna files of /work/shared/data/vienna/ are absent",
)
GRID_CRS = "EPSG:32633"
LOOPBACK = Allowlist(frozenset(), http_hosts=frozenset({"127.0.0.1"}))
POLICY = HttpPolicy(timeout_s=5, retries=1, backoff_factor_s=0.01)
VIENNA_32633 = (585000.0, 5325000.0, 625000.0, 5360000.0)  # generous box around the city


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    return wfs_layers()


@pytest.fixture(scope="module")
def wfs_server(layers: dict[str, gpd.GeoDataFrame]) -> Iterator[ServerWithPlan]:
    server = start_wfs(layers)
    yield server
    server.stop()


@pytest.fixture
def wfs(wfs_server: ServerWithPlan) -> Iterator[ServerWithPlan]:
    """The module's WFS with no faults and an empty log of layers served."""
    wfs_server.plan.clear()
    wfs_server.settings["served"] = []
    yield wfs_server
    wfs_server.plan.clear()


def _inside_vienna(frame: gpd.GeoDataFrame) -> bool:
    minx, miny, maxx, maxy = frame.total_bounds
    bx0, by0, bx1, by1 = VIENNA_32633
    return bool(bx0 < minx < maxx < bx1 and by0 < miny < maxy < by1)


def test_districts_in_native_31256_and_in_4326_read_the_same(wfs: ServerWithPlan) -> None:
    url_native = wfs_url(wfs.base_url, "BEZIRKSGRENZEOGD", srs=None)
    url_wgs84 = wfs_url(wfs.base_url, "BEZIRKSGRENZEOGD", srs="EPSG:4326")
    native = read_layer(
        url_native, id_field="BEZNR", name_field="NAMEK", crs=GRID_CRS, layer="districts"
    )
    wgs84 = read_layer(
        url_wgs84, id_field="BEZNR", name_field="NAMEK", crs=GRID_CRS, layer="districts"
    )
    assert len(native) == len(wgs84) == 23
    assert set(native["id"]) == {str(n) for n in range(1, 24)}
    assert _inside_vienna(native) and _inside_vienna(wgs84)
    a = native.set_index("id").geometry.centroid
    b = wgs84.set_index("id").geometry.centroid.reindex(a.index)
    assert float(a.distance(b).max()) < 1.0  # metres: both CRS paths land on the same ground
    first = native.set_index("id").loc["1"]
    assert first["name"] == first["NAMEK"] and "STATAUSTRIA_GEM_CODE" in native.columns
    assert set(wfs.settings["served"]) == {("BEZIRKSGRENZEOGD", 31256), ("BEZIRKSGRENZEOGD", 4326)}


def test_ubahn_lines_only_with_their_real_fields(wfs: ServerWithPlan) -> None:
    lines = read_layer(
        wfs_url(wfs.base_url, "UBAHNOGD"),
        id_field="OBJECTID",
        name_field="LINFO",
        crs=GRID_CRS,
        layer="corridors",
    )
    raw = json.loads(UBAHN_FILE.read_text(encoding="utf-8"))
    expected = sum(str(f["id"]).startswith("UBAHNOGD.") for f in raw["features"])
    assert len(lines) == expected
    assert set(lines.geom_type) <= {"LineString", "MultiLineString"}
    assert {"LINFO", "EROEFFNUNG_JAHR"} <= set(lines.columns) and _inside_vienna(lines)


def test_parks_in_the_real_parkanlage_layout(
    wfs: ServerWithPlan, layers: dict[str, gpd.GeoDataFrame]
) -> None:
    for srs in ("EPSG:4326", "EPSG:31256"):
        parks = read_layer(
            wfs_url(wfs.base_url, "PARKANLAGEOGD", srs=srs),
            id_field="OBJECTID",
            name_field="ANL_NAME",
            crs=GRID_CRS,
            layer="parks",
        )
        source = layers["PARKANLAGEOGD"]
        assert list(parks["name"]) == list(source["ANL_NAME"])
        assert {"BEZIRK", "FLAECHE", "OEFF_ZEITEN", "HUNDE_IM_PARK"} <= set(parks.columns)
        ratio = parks.geometry.area.to_numpy() / source.geometry.area.to_numpy()
        assert abs(ratio - 1.0).max() < 1e-4  # polygons survive both CRS round trips


def _vienna_profile(tmp_path: Path, base_url: str) -> Path:
    data = yaml.safe_load((PACKAGED_PROFILES / "vienna.yaml").read_text(encoding="utf-8"))
    data["data_root"] = "."
    data["layers"]["parks"]["path"] = wfs_url(base_url, "PARKANLAGEOGD")
    data["layers"]["districts"]["path"] = wfs_url(base_url, "BEZIRKSGRENZEOGD", srs=None)
    data["layers"]["corridors"]["path"] = wfs_url(base_url, "UBAHNOGD")
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_layers_fetch_caches_checked_copies(wfs: ServerWithPlan, tmp_path: Path) -> None:
    profile = load_profile(_vienna_profile(tmp_path, wfs.base_url))
    cached = fetch_profile_layers(profile, tmp_path / "out", allowlist=LOOPBACK, policy=POLICY)
    assert [c.layer for c in cached] == ["parks", "districts", "corridors"]
    folder = tmp_path / "out" / "layers" / "vienna"
    record = json.loads((folder / "sources.json").read_text(encoding="utf-8"))
    assert record["layers"][1]["crs"] == "EPSG:31256" and record["layers"][1]["features"] == 23
    assert all("REDACTED" in c["source"] for c in record["layers"])  # query strings never stored
    assert sorted(p.name for p in folder.iterdir()) == [
        "corridors.gpkg",
        "districts.gpkg",
        "parks.gpkg",
        "sources.json",
    ]
    again = read_layer(
        str(folder / "districts.gpkg"),
        id_field="BEZNR",
        name_field="NAMEK",
        crs=GRID_CRS,
        layer="districts",
    )
    assert len(again) == 23 and _inside_vienna(again)


def test_wfs_faults_fail_loudly(wfs: ServerWithPlan, tmp_path: Path) -> None:
    profile = load_profile(_vienna_profile(tmp_path, wfs.base_url))
    out = tmp_path / "out"
    wfs.plan.add(Fault("/daten/geo", "status", count=None, status=503))
    with pytest.raises(SourceUnavailableError, match="HTTP 503"):
        fetch_profile_layers(profile, out, allowlist=LOOPBACK, policy=POLICY)
    wfs.plan.clear()
    wfs.plan.add(Fault("/daten/geo", "truncate", count=None))
    with pytest.raises(DataReadError, match="cut off"):
        fetch_profile_layers(profile, out, allowlist=LOOPBACK, policy=POLICY)
    wfs.plan.clear()
    assert not (out / "layers" / "vienna" / "parks.gpkg").exists()  # nothing half-written
    data = yaml.safe_load(_vienna_profile(tmp_path, wfs.base_url).read_text(encoding="utf-8"))
    data["layers"]["parks"]["path"] = wfs_url(wfs.base_url, "PARKANLAGEN")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="ogdwien:PARKANLAGEN unknown"):
        fetch_profile_layers(load_profile(bad), out, allowlist=LOOPBACK, policy=POLICY)
    data["layers"]["parks"]["path"] = wfs_url(wfs.base_url, "PARKANLAGEOGD")
    data["layers"]["parks"]["id_field"] = "PARK_ID"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="no id field 'PARK_ID'"):
        fetch_profile_layers(load_profile(bad), out, allowlist=LOOPBACK, policy=POLICY)


def test_cli_layers_fetch(
    wfs: ServerWithPlan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The profile's allowlist admits https hosts only: a plain-http WFS is refused (exit 2).
    assert (
        main(
            [
                "layers",
                "fetch",
                "--profile",
                str(_vienna_profile(tmp_path, wfs.base_url)),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 2
    )
    assert "https" in capsys.readouterr().err
    assert (
        main(["layers", "fetch", "--profile", "vienna-demo", "--out", str(tmp_path / "out")]) == 0
    )
    assert "nothing to fetch" in capsys.readouterr().out
