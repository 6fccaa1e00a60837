"""Allowlist: https hosts for remote sources, local files only from local catalogues under roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import AllowlistError
from eo.allowlist import Allowlist

HOSTS = frozenset({"earth-search.aws.element84.com", "*.blob.core.windows.net"})


def _allow(*dirs: Path) -> Allowlist:
    return Allowlist(hosts=HOSTS, local_dirs=dirs)


def test_https_listed_hosts_pass() -> None:
    allow = _allow()
    assert allow.check_catalog("https://earth-search.aws.element84.com/v1")
    href = "https://sentinel2l2a01.blob.core.windows.net/x/B04.tif?sig=1"
    assert allow.check_asset(href, catalog_is_local=False) == href


def test_plain_http_is_refused_with_a_fix() -> None:
    with pytest.raises(AllowlistError, match="only https") as info:
        _allow().check_catalog("http://earth-search.aws.element84.com/v1")
    assert info.value.exit_code == 2


def test_unknown_host_is_refused_naming_host_and_fix() -> None:
    with pytest.raises(AllowlistError, match=r"'evil\.example\.org'.*add 'evil\.example\.org'"):
        _allow().check_asset("https://evil.example.org/a.tif", catalog_is_local=False)


def test_wildcard_does_not_match_the_bare_domain_or_lookalikes() -> None:
    for href in (
        "https://blob.core.windows.net/a.tif",
        "https://xblob.core.windows.net.evil.org/a",
    ):
        with pytest.raises(AllowlistError):
            _allow().check_asset(href, catalog_is_local=False)


def test_signed_query_is_redacted_in_the_error() -> None:
    with pytest.raises(AllowlistError) as info:
        _allow().check_asset("https://other.net/a.tif?sig=SECRET", catalog_is_local=False)
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    "href",
    [
        "file:///data/a.tif",
        "/data/a.tif",
        "a.tif",
        "/vsizip//data/a.zip/a.tif",
        "s3://bucket/a.tif",
    ],
)
def test_local_hrefs_from_a_remote_catalogue_are_refused(href: str, tmp_path: Path) -> None:
    with pytest.raises(AllowlistError):
        Allowlist(hosts=HOSTS, local_dirs=(Path("/data"),)).check_asset(
            href, catalog_is_local=False
        )


def test_vsicurl_is_checked_as_the_url_it_wraps() -> None:
    good = "/vsicurl/https://earth-search.aws.element84.com/a.tif"
    assert _allow().check_asset(good, catalog_is_local=False) == good
    with pytest.raises(AllowlistError, match="only https"):
        _allow().check_asset(
            "/vsicurl/http://earth-search.aws.element84.com/a", catalog_is_local=False
        )


def test_local_paths_under_local_dirs_pass(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    allow = _allow(tmp_path)
    assert allow.check_catalog(tmp_path / "cat" / "catalog.json") == str(
        (tmp_path / "cat" / "catalog.json").resolve()
    )
    uri = (tmp_path / "cat" / "a.tif").resolve().as_uri()
    assert allow.check_asset(uri, catalog_is_local=True).endswith("a.tif")
    zipped = f"/vsizip/{tmp_path}/cat/a.zip/b.tif"
    assert allow.check_asset(zipped, catalog_is_local=True) == zipped


def test_local_path_outside_local_dirs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AllowlistError, match="outside the allowed local directories"):
        _allow(tmp_path / "cat").check_catalog(tmp_path / "other" / "catalog.json")


def test_dotdot_escape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    with pytest.raises(AllowlistError, match="outside"):
        _allow(tmp_path / "cat").check_asset(
            str(tmp_path / "cat" / ".." / "secret.tif"), catalog_is_local=True
        )


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cat").mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "cat" / "link")
    with pytest.raises(AllowlistError, match="outside"):
        _allow(tmp_path / "cat").check_asset(
            str(tmp_path / "cat" / "link" / "a.tif"), catalog_is_local=True
        )


def test_other_vsi_filesystems_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AllowlistError, match="virtual file system"):
        _allow(tmp_path).check_asset("/vsis3/bucket/a.tif", catalog_is_local=True)


def test_plain_http_only_for_loopback_hosts() -> None:
    allow = Allowlist(hosts=frozenset(), http_hosts=frozenset({"127.0.0.1"}))
    assert allow.check_catalog("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/"
    with pytest.raises(AllowlistError, match="loopback"):
        Allowlist(hosts=frozenset(), http_hosts=frozenset({"example.org"}))
