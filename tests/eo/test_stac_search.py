"""STAC search through pystac-client against a real local API (rustac) and a static catalogue."""

from __future__ import annotations

import json
import warnings
from datetime import date
from pathlib import Path

import pytest

from core.errors import AllowlistError, InvalidInputError, SourceUnavailableError
from eo.allowlist import Allowlist
from eo.stac import StacSource, search_items
from tests.servers.faults import Fault
from tests.servers.http_base import ServerWithPlan
from tests.servers.rustac_api import RustacApi
from tests.servers.scene import OVERLAP_UTM, Scene
from tests.servers.stac_factory import wgs84_bbox

BBOX = tuple(wgs84_bbox(OVERLAP_UTM))  # inside both tiles
LOCAL = frozenset({"127.0.0.1"})


def _source(url: str, **kw: object) -> StacSource:
    allow = Allowlist(hosts=frozenset(), http_hosts=LOCAL)
    defaults: dict[str, object] = {"retries": 2, "backoff_factor_s": 0.001, "timeout_s": 5.0}
    defaults.update(kw)
    return StacSource(
        catalog=url,
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=allow,
        **defaults,  # type: ignore[arg-type]
    )


def _ids(items: list[dict]) -> list[str]:
    return sorted(item["id"] for item in items)


def test_scene_bbox_is_inside_both_tiles(scene: Scene) -> None:
    for item in scene.items[:2]:
        west, south, east, north = item["bbox"]
        assert west <= BBOX[0] and BBOX[2] <= east and south <= BBOX[1] and BBOX[3] <= north


def test_search_filters_collection_dates_and_cloud_client_side(rustac_api: RustacApi) -> None:
    items = search_items(
        _source(rustac_api.url), bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30)
    )
    # 15 June (95 % cloud) is dropped client-side: rustac's memory backend ignores the filter.
    assert _ids(items) == [
        "S2A_33UWP_20240610_0_L2A",
        "S2A_33UXP_20240610_0_L2A",
        "S2A_33UXP_20240620_0_L2A",
    ]


def test_search_returns_item_dicts_with_proj_epsg(rustac_api: RustacApi) -> None:
    items = search_items(
        _source(rustac_api.url), bbox_wgs84=BBOX, start=date(2024, 6, 10), end=date(2024, 6, 10)
    )
    assert all(isinstance(item, dict) for item in items)
    assert {item["properties"]["proj:epsg"] for item in items} == {32633}


def test_search_cloud_threshold_and_paging(stac_proxy: ServerWithPlan) -> None:
    # 25 July items with cloud = day of month: more than one page of rustac's default limit.
    items = search_items(
        _source(stac_proxy.base_url, max_cloud_cover=20.0),
        bbox_wgs84=BBOX,
        start=date(2024, 7, 1),
        end=date(2024, 7, 31),
    )
    assert _ids(items) == [f"S2A_33UXP_202407{d:02d}_0_L2A" for d in range(1, 21)]
    assert len(stac_proxy.plan.statuses("/search")) > 1  # followed at least one next link
    everything = search_items(
        _source(stac_proxy.base_url, max_cloud_cover=100.0),
        bbox_wgs84=BBOX,
        start=date(2024, 7, 1),
        end=date(2024, 7, 31),
    )
    assert len(everything) == 25


def test_search_elsewhere_or_another_time_is_empty(rustac_api: RustacApi) -> None:
    source = _source(rustac_api.url)
    far = search_items(
        source, bbox_wgs84=(10.0, 40.0, 10.1, 40.1), start=date(2024, 6, 1), end=date(2024, 6, 30)
    )
    late = search_items(source, bbox_wgs84=BBOX, start=date(2025, 1, 1), end=date(2025, 1, 31))
    assert far == [] and late == []


def test_end_before_start_is_invalid_input(rustac_api: RustacApi) -> None:
    with pytest.raises(InvalidInputError, match="before it starts") as info:
        search_items(
            _source(rustac_api.url), bbox_wgs84=BBOX, start=date(2024, 6, 2), end=date(2024, 6, 1)
        )
    assert info.value.exit_code == 2


def test_search_retries_429_and_503_then_succeeds(stac_proxy: ServerWithPlan) -> None:
    stac_proxy.plan.add(Fault("/search", "status", count=2, status=429, retry_after=30))
    stac_proxy.plan.add(Fault("/", "status", count=1, status=503))
    source = _source(stac_proxy.base_url, retries=3, retry_after_max_s=0.01)
    items = search_items(source, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30))
    assert len(items) == 3
    assert stac_proxy.plan.statuses("/search")[:3] == [429, 429, 200]
    assert stac_proxy.plan.statuses("/")[:2] == [503, 200]


def test_search_gives_up_after_the_retry_cap(stac_proxy: ServerWithPlan) -> None:
    stac_proxy.plan.add(Fault("/search", "status", count=None, status=503))
    source = _source(stac_proxy.base_url + "/?token=secret123", retries=2)
    with pytest.raises(SourceUnavailableError, match="HTTP 503") as info:
        search_items(source, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30))
    assert "secret123" not in str(info.value)
    assert info.value.exit_code == 1
    # first attempt + 2 retries
    assert stac_proxy.plan.statuses("/search") == [503, 503, 503]


def test_unreachable_api_is_source_unavailable() -> None:
    from tests.servers.rustac_api import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SourceUnavailableError, match="did not answer"):
        search_items(
            _source(url, retries=1), bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 2)
        )


def test_slow_api_times_out_as_source_unavailable(stac_proxy: ServerWithPlan) -> None:
    stac_proxy.plan.add(Fault("/", "delay", count=None, delay_s=5.0))
    with pytest.raises(SourceUnavailableError):
        search_items(
            _source(stac_proxy.base_url, retries=1, timeout_s=0.2),
            bbox_wgs84=BBOX,
            start=date(2024, 6, 1),
            end=date(2024, 6, 2),
        )


def test_remote_catalogue_with_file_asset_is_refused(scene: Scene, tmp_path: Path) -> None:
    from eo.grid import OutputGrid
    from eo.stac import load_dn
    from tests.servers.rustac_api import start_rustac

    bad = json.loads(json.dumps(scene.items[0]))
    bad["assets"]["red"]["href"] = "file:///etc/passwd.tif"
    api = start_rustac([bad], tmp_path / "api")
    try:
        source = _source(api.url)
        items = search_items(source, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30))
    finally:
        api.stop()
    grid = OutputGrid("EPSG:32633", 10.0, (601400.0, 5338000.0, 602400.0, 5339500.0))
    with pytest.raises(AllowlistError, match="remote catalogue"):
        load_dn(items, grid, ["red"], allowlist=source.allowlist, catalog_is_local=source.is_local)


def test_http_catalogue_off_loopback_is_refused() -> None:
    source = StacSource(
        catalog="http://earth-search.aws.element84.com/v1",
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(hosts=frozenset({"earth-search.aws.element84.com"})),
    )
    with pytest.raises(AllowlistError, match="only https"):
        search_items(source, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 2))


# --- static catalogues -------------------------------------------------------------------------


def _write_static(root: Path, scene: Scene) -> Path:
    """catalog.json -> collection.json -> items/<id>.json with relative asset hrefs."""
    (root / "items").mkdir(parents=True)
    links = []
    for item in scene.items[:5]:
        local = json.loads(json.dumps(item))
        for key, asset in local["assets"].items():
            asset["href"] = f"../data/{item['id']}_{key}.tif"
        local.pop("collection")
        (root / "items" / f"{item['id']}.json").write_text(json.dumps(local))
        links.append({"rel": "item", "href": f"./items/{item['id']}.json"})
    collection = {"type": "Collection", "id": "sentinel-2-l2a", "links": links}
    (root / "collection.json").write_text(json.dumps(collection))
    catalog = {
        "type": "Catalog",
        "id": "root",
        "links": [{"rel": "child", "href": "collection.json"}],
    }
    (root / "catalog.json").write_text(json.dumps(catalog))
    return root / "catalog.json"


def test_static_catalogue_filters_and_resolves_hrefs(scene: Scene, tmp_path: Path) -> None:
    catalog = _write_static(tmp_path / "cat", scene)
    source = StacSource(
        catalog=str(catalog),
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(hosts=frozenset(), local_dirs=(tmp_path,)),
    )
    items = search_items(source, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30))
    # the c1 item has no collection field here: it is reached through sentinel-2-l2a -> kept,
    # the 95 % cloud item is dropped.
    assert _ids(items) == [
        "S2A_33UWP_20240610_0_L2A",
        "S2A_33UXP_20240610_0_L2A",
        "S2A_33UXP_20240610_C1",
        "S2A_33UXP_20240620_0_L2A",
    ]
    href = items[0]["assets"]["red"]["href"]
    assert Path(href).is_absolute() and Path(href).parent == (tmp_path / "cat" / "data").resolve()


def test_static_catalogue_outside_local_dirs_is_refused(scene: Scene, tmp_path: Path) -> None:
    catalog = _write_static(tmp_path / "cat", scene)
    source = StacSource(
        catalog=str(catalog),
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(hosts=frozenset(), local_dirs=(tmp_path / "elsewhere",)),
    )
    with pytest.raises(AllowlistError, match="outside the allowed local directories"):
        search_items(source, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30))


def test_static_asset_escaping_with_dotdot_is_refused(scene: Scene, tmp_path: Path) -> None:
    catalog = _write_static(tmp_path / "cat", scene)
    item_file = tmp_path / "cat" / "items" / f"{scene.items[0]['id']}.json"
    item = json.loads(item_file.read_text())
    item["assets"]["red"]["href"] = "../../../../../../etc/passwd"
    item_file.write_text(json.dumps(item))
    source = StacSource(
        catalog=str(catalog),
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(hosts=frozenset(), local_dirs=(tmp_path / "cat",)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AllowlistError, match="passwd"):
            search_items(source, bbox_wgs84=BBOX, start=date(2024, 6, 1), end=date(2024, 6, 30))


def test_static_catalogue_without_matches_is_empty(scene: Scene, tmp_path: Path) -> None:
    catalog = _write_static(tmp_path / "cat", scene)
    source = StacSource(
        catalog=str(catalog),
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(hosts=frozenset(), local_dirs=(tmp_path,)),
    )
    assert search_items(source, bbox_wgs84=BBOX, start=date(2023, 1, 1), end=date(2023, 1, 2)) == []


class _Conforms:
    def __init__(self, *classes: str) -> None:
        self.classes = set(classes)

    def conforms_to(self, conformance: object) -> bool:
        return getattr(conformance, "name", "") in self.classes


def test_cloud_filter_is_sent_where_the_api_supports_it() -> None:
    from eo.stac import _cloud_filter_args

    cql = _cloud_filter_args(_Conforms("FILTER", "QUERY"), 40.0)
    assert cql == {
        "filter": {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 40.0]},
        "filter_lang": "cql2-json",
    }
    assert _cloud_filter_args(_Conforms("QUERY"), 40.0) == {
        "query": {"eo:cloud_cover": {"lte": 40.0}}
    }
    assert _cloud_filter_args(_Conforms(), 40.0) == {}


def test_recorded_earth_search_responses(shared_data: Path) -> None:
    """Golden files: a recorded Earth Search search replayed locally (two pages, two collections)."""
    from tests.servers.replay import Route, start_replay

    folder = shared_data / "protocols" / "stac" / "earth-search-v1"
    page = "search_s2l2a+landsat_point_2023-10-08"
    if not (folder / f"{page}.page1.json").exists():
        pytest.skip("recorded Earth Search responses are absent")
    routes = [
        Route("GET", "/v1", folder / "landing_page.json"),
        Route("POST", "/v1/search", folder / f"{page}.page2_empty.json", body_has='"next"'),
        Route("POST", "/v1/search", folder / f"{page}.page1.json"),
    ]
    server = start_replay(routes, "https://earth-search.aws.element84.com")
    try:
        source = StacSource(
            catalog=f"{server.base_url}/v1",
            provider="earth-search",
            collection="sentinel-2-l2a",
            allowlist=Allowlist(
                hosts=frozenset({"sentinel-cogs.s3.us-west-2.amazonaws.com"}), http_hosts=LOCAL
            ),
            retries=0,
        )
        point = (-105.1019, 40.1672, -105.1019, 40.1672)
        items = search_items(
            source, bbox_wgs84=point, start=date(2023, 10, 8), end=date(2023, 10, 8)
        )
        bodies = [json.loads(b) for m, _, b in server.settings["bodies"] if m == "POST"]
    finally:
        server.stop()
    # the landsat item of page 1 is another collection: dropped client-side
    assert [item["id"] for item in items] == ["S2A_13TDE_20231008_0_L2A"]
    assert items[0]["properties"]["proj:epsg"] == 32613  # dicts: not rewritten to proj:code
    # Earth Search declares the query extension (not filter): the cloud filter goes as a query
    assert bodies[0]["query"] == {"eo:cloud_cover": {"lte": 80.0}}
    assert bodies[0]["collections"] == ["sentinel-2-l2a"]
    assert len(bodies) == 2  # followed the next link to the (empty) second page
