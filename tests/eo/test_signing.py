"""Planetary Computer signing just before each read, against a local sign endpoint + blob store."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from affine import Affine

from core.errors import DataReadError, GeospaceError, InvalidInputError
from eo.gdal_env import GdalHttpSettings
from eo.grid import OutputGrid
from eo.http import HttpPolicy
from eo.signing import SIGNING_KEY, Signer, blob_container, mark_items, signer_for_items
from eo.stac import load_dn
from tests.servers.faults import Fault
from tests.servers.http_base import ServerWithPlan
from tests.servers.pc_sign import Clock, SignState, start_sign_server
from tests.servers.scene import TILES, TOP, band_arrays, write_tile
from tests.servers.stac_factory import es_item

FAST = GdalHttpSettings(max_retry=2, retry_delay_s=0.01, timeout_s=5)
POLICY = HttpPolicy(timeout_s=5, retries=2, backoff_factor_s=0.01)
GRID = OutputGrid("EPSG:32633", 10.0, (600200.0, 5338400.0, 601200.0, 5339600.0))
ACCOUNT, CONTAINER = "sentinel2l2a01", "sentinel2-l2"


@pytest.fixture(scope="module")
def sign_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerWithPlan]:
    server = start_sign_server(tmp_path_factory.mktemp("blobs"), SignState(clock=Clock()))
    yield server
    server.stop()


@pytest.fixture
def sign_server(sign_store: ServerWithPlan) -> Iterator[tuple[ServerWithPlan, SignState]]:
    """The module's sign endpoint + store with a fresh clock and token log, no faults."""
    state = SignState(clock=Clock())
    sign_store.settings["state"] = state
    sign_store.plan.clear()
    yield sign_store, state
    sign_store.plan.clear()


def _item(server: ServerWithPlan) -> dict[str, Any]:
    """The tile's COGs under a fresh folder of the store (GDAL caches by URL) and its item."""
    root: Path = server.settings["root"]
    prefix = uuid.uuid4().hex
    write_tile(root / ACCOUNT / CONTAINER / prefix, "", "A")
    assets = {}
    for band in ("red", "nir", "scl"):
        res = 20.0 if band == "scl" else 10.0
        href = f"{server.base_url}/{ACCOUNT}/{CONTAINER}/{prefix}/A/{band}.tif"
        assets[band] = (
            href,
            Affine(res, 0.0, TILES["A"][1], 0.0, -res, TOP),
            band_arrays("A")[band].shape,
        )
    when = datetime(2024, 6, 10, 10, tzinfo=UTC)
    return es_item("S2A_MSIL2A_20240610_N0510_T33UXP", when=when, assets=assets, tile="33UXP")


def _expected(band: str) -> np.ndarray:
    data = band_arrays("A")[band]
    if band == "scl":
        data = np.repeat(np.repeat(data, 2, axis=0), 2, axis=1)
    col0 = round((GRID.bounds[0] - TILES["A"][1]) / 10.0)
    row0 = round((TOP - GRID.bounds[3]) / 10.0)
    rows, cols = GRID.shape
    return data[row0 : row0 + rows, col0 : col0 + cols].astype(np.uint16)


def _signer(server: ServerWithPlan, state: SignState) -> Signer:
    return Signer(f"{server.base_url}/api/sas/v1", policy=POLICY, clock=state.clock)


def test_blob_container_of_both_url_styles() -> None:
    assert blob_container(
        "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/33/U/XP/B04.tif"
    ) == ("sentinel2l2a01", "sentinel2-l2")
    assert blob_container("http://127.0.0.1:10000/devstore/cont/a/b.tif") == ("devstore", "cont")
    with pytest.raises(InvalidInputError, match="not a blob URL"):
        blob_container("https://example.org/b.tif")


def test_tokens_are_cached_per_container_until_they_near_expiry(
    sign_server: tuple[ServerWithPlan, SignState],
) -> None:
    server, state = sign_server
    signer = _signer(server, state)
    href = f"{server.base_url}/{ACCOUNT}/{CONTAINER}/x.tif"
    first, token = signer.sign_href(href)
    assert signer.sign_href(href)[0] == first  # cached
    assert state.token_requests == 1
    state.clock.advance(50.0)  # 10 s left of 60: inside the margin (a quarter of the lifetime)
    assert not signer.is_fresh(token)
    second, _ = signer.sign_href(href)
    assert second != first and state.token_requests == 2
    assert "sig=" in second and "sig=" not in repr(token)


def test_a_read_longer_than_the_token_lifetime_re_signs_and_returns_the_file_values(
    sign_server: tuple[ServerWithPlan, SignState],
) -> None:
    server, state = sign_server
    state.advance_per_blob_s = 7.0  # every blob answer costs 7 s: 60 s tokens expire mid-read
    item = _item(server)
    cube = load_dn(
        [item],
        GRID,
        ["red", "nir", "scl"],
        chunksize=32,
        gdal=FAST,
        provider="planetary-computer",
        signer=_signer(server, state),
    ).compute(scheduler="threads")
    for band in ("red", "nir", "scl"):
        np.testing.assert_array_equal(cube.sel(band=band).isel(time=0).values, _expected(band))
    # How many blocks GDAL fetches (and so how long the simulated read lasts) varies with its
    # caches and threads; what must hold whatever it is: the read outlived a token, and every
    # blob answered (at clock 0, 7, ..., span - 7 s) was covered by a token issued before it
    # and valid for 60 s, so at least 1 + (span - 7) // 60 tokens were issued.
    span = state.clock() - 1_780_000_000.0
    assert span > state.lifetime_s
    assert state.token_requests >= 2
    assert state.token_requests >= 1 + int((span - state.advance_per_blob_s) // state.lifetime_s)


def test_a_revoked_token_is_re_signed_once_on_403(
    sign_server: tuple[ServerWithPlan, SignState],
) -> None:
    server, state = sign_server
    item = _item(server)
    signer = _signer(server, state)
    signer.sign_href(item["assets"]["red"]["href"])  # a cached token ...
    state.revoke_all()  # ... that the store no longer accepts
    cube = load_dn(
        [item],
        GRID,
        ["red"],
        chunksize=256,
        gdal=FAST,
        provider="planetary-computer",
        signer=signer,
    ).compute(scheduler="sync")
    np.testing.assert_array_equal(cube.isel(time=0, band=0).values, _expected("red"))
    assert state.denied >= 1 and state.token_requests == 2


def test_a_store_that_keeps_refusing_fails_loudly_without_the_token(
    sign_server: tuple[ServerWithPlan, SignState],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, state = sign_server
    state.lifetime_s = -1.0  # every token issued is already expired at the store
    item = _item(server)
    signer = _signer(server, state)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DataReadError, match="403") as info:
        load_dn(
            [item],
            GRID,
            ["red"],
            chunksize=256,
            gdal=FAST,
            provider="planetary-computer",
            signer=signer,
        ).compute(scheduler="sync")
    assert 2 <= state.token_requests <= 3  # one re-sign, no storm
    issued = list(state.issued)
    assert issued
    texts = [str(info.value), repr(info.value.__cause__), caplog.text]
    for sig in issued:
        assert all(sig not in text for text in texts)
    assert "sig=" not in caplog.text.replace("sig=REDACTED", "")


def test_sign_endpoint_faults(sign_server: tuple[ServerWithPlan, SignState]) -> None:
    server, state = sign_server
    href = f"{server.base_url}/{ACCOUNT}/{CONTAINER}/x.tif"
    server.plan.add(Fault("/api/sas/v1/token/*", "status", count=1, status=429, retry_after=0))
    assert "sig=" in _signer(server, state).sign_href(href)[0]  # 429 with Retry-After: retried
    server.plan.add(Fault("/api/sas/v1/token/*", "status", count=None, status=503))
    with pytest.raises(GeospaceError, match="HTTP 503") as info:
        _signer(server, state).sign_href(href)
    assert info.value.__class__.__name__ == "SourceUnavailableError"
    server.plan.clear()
    server.plan.add(Fault("/api/sas/v1/token/*", "truncate", count=1))
    with pytest.raises(DataReadError, match="without a token"):
        _signer(server, state).sign_href(href)
    server.plan.add(Fault("/api/sas/v1/token/*", "status", count=1, status=401))
    with pytest.raises(InvalidInputError, match="refused the token request"):
        _signer(server, state).sign_href(href)


def test_marked_items_get_a_signer_and_keep_their_unsigned_hrefs(
    sign_server: tuple[ServerWithPlan, SignState],
) -> None:
    server, state = sign_server
    state.clock.now = datetime.now(UTC).timestamp()  # the marked path signs on the wall clock
    item = _item(server)
    marked = mark_items([item], f"{server.base_url}/api/sas/v1")
    assert marked[0][SIGNING_KEY] == {"endpoint": f"{server.base_url}/api/sas/v1"}
    assert "?" not in json.dumps(marked)
    assert signer_for_items([item]) is None
    with pytest.raises(InvalidInputError, match="mix"):
        signer_for_items([*marked, item])
    cube = load_dn(marked, GRID, ["nir"], gdal=FAST, provider="planetary-computer").compute()
    np.testing.assert_array_equal(cube.isel(time=0, band=0).values, _expected("nir"))
    assert state.token_requests == 1


def test_no_token_reaches_logs_manifests_or_the_scene_stack(
    sign_server: tuple[ServerWithPlan, SignState],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from alerts.products.manifest import scenes_manifest
    from eo.allowlist import Allowlist
    from eo.scenes import load_reflectance
    from eo.stac import StacSource

    server, state = sign_server
    state.clock.now = datetime.now(UTC).timestamp()
    caplog.set_level(logging.DEBUG)
    endpoint = f"{server.base_url}/api/sas/v1"
    source = StacSource(
        catalog="https://example.org/stac",
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(frozenset(), http_hosts=frozenset({"127.0.0.1"})),
        sign_endpoint=endpoint,
    )
    items = mark_items([_item(server)], endpoint)
    stack = load_reflectance(
        items, source, GRID, bands=("red", "nir", "scl"), chunksize=64, check_pixels=False
    )
    assert stack.cube is not None
    stack.cube.load()
    manifest = json.dumps(scenes_manifest([stack], stack.items), default=str)
    attrs = json.dumps(
        [stack.cube.attrs, *[v.attrs for v in stack.cube.data_vars.values()]], default=str
    )
    coords = " ".join(str(c.values) for c in stack.cube.coords.values())
    assert state.token_requests >= 1 and state.issued
    for sig in state.issued:
        for text in (manifest, attrs, coords, caplog.text, repr(stack)):
            assert sig not in text
    assert "sig=" not in caplog.text.replace("sig=REDACTED", "")


def test_a_signed_source_marks_what_it_finds_and_keeps_hrefs_unsigned(rustac_api: Any) -> None:
    from datetime import date

    from eo.allowlist import Allowlist
    from eo.stac import StacSource, search_items
    from tests.servers.scene import OVERLAP_UTM
    from tests.servers.stac_factory import wgs84_bbox

    endpoint = "https://planetarycomputer.microsoft.com/api/sas/v1"
    source = StacSource(
        catalog=rustac_api.url,
        provider="earth-search",
        collection="sentinel-2-l2a",
        allowlist=Allowlist(frozenset(), http_hosts=frozenset({"127.0.0.1"})),
        retries=1,
        timeout_s=5.0,
        sign_endpoint=endpoint,
        sign_key_env="GEOSPACE_TEST_PC_KEY",
    )
    bbox = tuple(wgs84_bbox(OVERLAP_UTM))
    items = search_items(source, bbox_wgs84=bbox, start=date(2024, 6, 10), end=date(2024, 6, 10))
    assert items
    for item in items:
        assert item[SIGNING_KEY] == {"endpoint": endpoint, "key_env": "GEOSPACE_TEST_PC_KEY"}
        assert all("?" not in asset["href"] for asset in item["assets"].values())
    signer = signer_for_items(items)
    assert signer is not None and signer.endpoint == endpoint
