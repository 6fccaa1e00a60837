"""Acceptance: demo items served by a real STAC API (rustac) with their COGs on a Range server.

The demo catalogue's item JSON (Earth Search v1 layout) is served unchanged except for the asset
hrefs, which point at the fault-injecting Range server on 127.0.0.1. Search goes through
pystac-client (eo.stac), loading and harmonising through eo.scenes; the static catalogue of the
same demo is the reference.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.errors import DataReadError, GeospaceError, SourceUnavailableError
from eo.allowlist import Allowlist
from eo.demo.layout import DemoLayout
from eo.scenes import SceneStack, find_items, load_period, load_reflectance
from eo.stac import StacSource
from tests.eo.conftest_ingest import S2_COLLECTION, DemoContext, demo_context
from tests.servers.faults import Fault
from tests.servers.http_base import ServerWithPlan
from tests.servers.rustac_api import RustacApi, rustac_executable, start_rustac

pytestmark = pytest.mark.filterwarnings("ignore:Use `@` matmul:PendingDeprecationWarning")

DAY = date(2022, 6, 11)
PERIOD = (DAY, date(2022, 7, 1))
TARGETS = ("S2A_33UWP_20220611_0_L2A", "S2A_33UXP_20220611_0_L2A")
CLOUDY = "S2A_33UWP_20220701_0_L2A"  # the all-cloud date: eo:cloud_cover 100 %
EARLIER = "S2B_33UWP_20220606_0_L2A"  # before the period
OTHER_COLLECTION = "S2A_33UXP_20220611_0_C1"
ELSEWHERE = "S2A_33UWP_20220611_7_L2A"  # footprint moved 3 degrees east, off the AOI


@dataclass(frozen=True)
class ServedDemo:
    """The demo behind a STAC API: how to publish items' COGs under a fresh URL prefix."""

    ctx: DemoContext
    api: RustacApi
    server: ServerWithPlan
    root: Path

    def source(self, **overrides: Any) -> StacSource:
        fields: dict[str, Any] = {
            "catalog": self.api.url,
            "provider": "earth-search",
            "collection": S2_COLLECTION,
            "allowlist": Allowlist(hosts=frozenset(), http_hosts=frozenset({"127.0.0.1"})),
            "retries": 2,
            "backoff_factor_s": 0.01,
            "timeout_s": 10.0,
        }
        fields.update(overrides)
        return StacSource(**fields)

    def publish(self, items: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
        """Copies of ``items`` whose COGs are served under a fresh prefix."""
        return _publish(self.ctx, self.server, self.root, items, prefix)


def _publish(
    ctx: DemoContext,
    server: ServerWithPlan,
    root: Path,
    items: list[dict[str, Any]],
    prefix: str,
) -> list[dict[str, Any]]:
    """Copies of ``items`` whose COGs are served by ``server`` under ``/ingest_api/<prefix>/``.

    GDAL caches by URL, so every scenario with faults needs URLs of its own. Items straight from
    the demo catalogue take their COGs from disk, already published ones from the served folder.
    """
    out = []
    for item in items:
        item = copy.deepcopy(item)
        folder = ctx.layout.stac / S2_COLLECTION / _source_id(item)
        for asset in item["assets"].values():
            href = str(asset["href"])
            name = Path(href).name
            if "/ingest_api/" in href:
                local = root / href.split("/ingest_api/", 1)[1]
            else:
                local = (folder / href).resolve()
            target = root / prefix / str(item["id"]) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
            asset["href"] = f"{server.base_url}/ingest_api/{prefix}/{item['id']}/{name}"
        out.append(item)
    return out


def _source_id(item: dict[str, Any]) -> str:
    return str(item.get("geospace:source_id", item["id"]))


def _served_items(ctx: DemoContext) -> list[dict[str, Any]]:
    items = [ctx.item_json(i) for i in (*TARGETS, CLOUDY, EARLIER)]
    other = ctx.item_json(TARGETS[1])
    other.update(id=OTHER_COLLECTION, collection="sentinel-2-c1-l2a")
    far = ctx.item_json(TARGETS[0])
    far["id"] = ELSEWHERE
    far["bbox"] = [v + 3.0 if i % 2 == 0 else v for i, v in enumerate(far["bbox"])]
    far["geometry"]["coordinates"] = [
        [[x + 3.0, y] for x, y in ring] for ring in far["geometry"]["coordinates"]
    ]
    for item, source_id in ((other, TARGETS[1]), (far, TARGETS[0])):
        item["geospace:source_id"] = source_id
    return [*items, other, far]


@pytest.fixture(scope="module")
def served(
    demo_small: DemoLayout,
    range_server_session: ServerWithPlan,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedDemo]:
    if rustac_executable() is None:
        pytest.skip("rustac is not installed in the venv")
    ctx = demo_context(demo_small)
    root: Path = range_server_session.settings["root"] / "ingest_api"
    items = _publish(ctx, range_server_session, root, _served_items(ctx), "api")
    for item in items:
        item.pop("geospace:source_id", None)
    api = start_rustac(items, tmp_path_factory.mktemp("rustac-ingest"))
    yield ServedDemo(ctx, api=api, server=range_server_session, root=root)
    api.stop()


@pytest.fixture(scope="module")
def static_stack(served: ServedDemo) -> SceneStack:
    """The reference: the same day from the static catalogue on disk."""
    ctx = served.ctx
    return load_period(ctx.source, ctx.grid, bbox_wgs84=ctx.bbox, start=DAY, end=DAY)


@pytest.fixture(scope="module")
def found(served: ServedDemo) -> list[dict[str, Any]]:
    kept, dropped = find_items(
        served.source(), bbox_wgs84=served.ctx.bbox, start=PERIOD[0], end=PERIOD[1]
    )
    assert dropped == []
    return kept


def _values(stack: SceneStack) -> np.ndarray:
    assert stack.cube is not None
    return np.asarray(stack.cube.to_dataarray("band").values)


def test_search_filters_bbox_period_collection_and_cloud(
    served: ServedDemo, found: list[dict[str, Any]]
) -> None:
    from pystac_client import Client

    everything = Client.open(served.api.url).search(
        collections=[S2_COLLECTION, "sentinel-2-c1-l2a"], max_items=50
    )
    served_ids = {item["id"] for item in everything.items_as_dicts()}
    assert served_ids == {*TARGETS, CLOUDY, EARLIER, OTHER_COLLECTION, ELSEWHERE}
    assert sorted(item["id"] for item in found) == sorted(TARGETS)
    assert all(item["assets"]["red"]["href"].startswith(served.server.base_url) for item in found)
    # rustac's memory backend ignores the cloud filter: the client drops the 100 % cloudy item.
    loose, _ = find_items(
        served.source(max_cloud_cover=100.0),
        bbox_wgs84=served.ctx.bbox,
        start=PERIOD[0],
        end=PERIOD[1],
    )
    assert sorted(item["id"] for item in loose) == sorted([*TARGETS, CLOUDY])


def test_api_items_give_the_static_catalogues_reflectance(
    served: ServedDemo, found: list[dict[str, Any]], static_stack: SceneStack
) -> None:
    stack = load_reflectance(found, served.source(), served.ctx.grid)
    assert stack.cube is not None and static_stack.cube is not None
    assert sorted(stack.items) == sorted(static_stack.items)
    assert stack.harmonisation == static_stack.harmonisation
    assert np.array_equal(stack.cube["x"].values, served.ctx.grid.x_centres())
    assert np.array_equal(stack.cube["y"].values, served.ctx.grid.y_centres())
    got, expected = _values(stack), _values(static_stack)
    assert np.isfinite(expected[:, :5]).all()  # a real comparison, not NaN against NaN
    np.testing.assert_array_equal(got, expected)


def test_transient_429_and_503_on_the_cogs_change_nothing(
    served: ServedDemo,
    range_server: ServerWithPlan,
    found: list[dict[str, Any]],
    static_stack: SceneStack,
) -> None:
    items = served.publish(found, "transient")
    range_server.plan.add(Fault("/ingest_api/transient/*/B04.tif", "status", count=2, status=503))
    range_server.plan.add(
        Fault("/ingest_api/transient/*/B08.tif", "status", count=2, status=429, retry_after=0)
    )
    got = _values(load_reflectance(items, served.source(), served.ctx.grid))
    np.testing.assert_array_equal(got, _values(static_stack))
    assert range_server.plan.statuses("/ingest_api/transient/*/B04.tif").count(503) == 2
    assert range_server.plan.statuses("/ingest_api/transient/*/B08.tif").count(429) == 2


@pytest.mark.parametrize(
    ("fault", "errors"),
    [
        (
            Fault("/ingest_api/persistent/S2A_33UXP_*/B04.tif", "status", count=None, status=503),
            (SourceUnavailableError,),
        ),
        (
            Fault(
                "/ingest_api/truncated/S2A_33UWP_*/B08.tif",
                "truncate",
                count=None,
                min_range_start=1024,  # the header opens; the pixel tiles come back short
            ),
            (DataReadError, SourceUnavailableError),
        ),
    ],
    ids=["persistent-503", "truncated-body"],
)
def test_failing_cogs_fail_the_load_loudly(
    served: ServedDemo,
    range_server: ServerWithPlan,
    found: list[dict[str, Any]],
    fault: Fault,
    errors: tuple[type[GeospaceError], ...],
) -> None:
    prefix = fault.pattern.split("/")[2]
    items = served.publish(found, prefix)
    range_server.plan.add(dataclasses.replace(fault))
    source = served.source(retries=1)
    with pytest.raises(GeospaceError) as info:
        stack = load_reflectance(items, source, served.ctx.grid)
        _values(stack)  # a lazy failure must surface on compute, never as NaN or zeros
    assert isinstance(info.value, errors)
    assert Path(fault.pattern).name in str(info.value)
    assert range_server.plan.statuses(fault.pattern), "the fault was never hit"
