"""Profiles point at real providers with one change: the source kinds the profile can name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.errors import AllowlistError, ProfileError
from core.profile import PACKAGED_PROFILES, PLANETARY_COMPUTER_SIGN_ENDPOINT, load_profile
from eo.scenes import stac_source
from eo.sentinelhub import CDSE_TOKEN_URL, SentinelHubSource
from eo.signing import SIGNING_KEY


def _profile(tmp_path: Path, source: dict, hosts: list[str]) -> Path:
    data = yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text())
    data["data_root"] = "."
    data["sources"]["sentinel2"] = source
    data["allowlist"]["hosts"] = hosts
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_sentinelhub_source_kind(tmp_path: Path) -> None:
    source = {
        "provider": "sentinelhub",
        "collection": "sentinel-2-l2a",
        "catalog": "https://sh.dataspace.copernicus.eu",
        "token_url": CDSE_TOKEN_URL,
        "client_id_env": "CDSE_CLIENT_ID",
        "client_secret_env": "CDSE_CLIENT_SECRET",
    }
    hosts = ["sh.dataspace.copernicus.eu", "identity.dataspace.copernicus.eu"]
    profile = load_profile(_profile(tmp_path, source, hosts))
    built = stac_source(profile, profile.sources.sentinel2)
    assert isinstance(built, SentinelHubSource)
    assert (built.base_url, built.token_url) == (source["catalog"], CDSE_TOKEN_URL)
    assert (built.client_id_env, built.client_secret_env) == (
        "CDSE_CLIENT_ID",
        "CDSE_CLIENT_SECRET",
    )
    assert built.mosaicking_order == "leastRecent"
    # the token host must be allowed too
    profile = load_profile(_profile(tmp_path, source, hosts[:1]))
    with pytest.raises(AllowlistError):
        stac_source(profile, profile.sources.sentinel2)


def test_sentinelhub_needs_a_token_url_and_others_refuse_one(tmp_path: Path) -> None:
    source = {
        "provider": "sentinelhub",
        "collection": "sentinel-2-l2a",
        "catalog": "https://services.sentinel-hub.com",
    }
    with pytest.raises(ProfileError, match="needs token_url"):
        load_profile(_profile(tmp_path, source, []))
    source = {
        "provider": "earth-search",
        "collection": "sentinel-2-c1-l2a",
        "catalog": "https://earth-search.aws.element84.com/v1",
        "sign_endpoint": "https://planetarycomputer.microsoft.com/api/sas/v1",
    }
    with pytest.raises(ProfileError, match="planetary-computer only"):
        load_profile(_profile(tmp_path, source, []))


def test_planetary_computer_sources_sign_through_the_configured_endpoint(tmp_path: Path) -> None:
    source = {
        "provider": "planetary-computer",
        "collection": "sentinel-2-l2a",
        "catalog": "https://planetarycomputer.microsoft.com/api/stac/v1",
    }
    hosts = ["planetarycomputer.microsoft.com", "*.blob.core.windows.net"]
    profile = load_profile(_profile(tmp_path, source, hosts))
    built = stac_source(profile, profile.sources.sentinel2)
    assert built.sign_endpoint == PLANETARY_COMPUTER_SIGN_ENDPOINT
    mirror = {**source, "sign_endpoint": "https://sas.example.org/api/sas/v1", "sign_key_env": "K"}
    profile = load_profile(_profile(tmp_path, mirror, [*hosts, "sas.example.org"]))
    built = stac_source(profile, profile.sources.sentinel2)
    assert (built.sign_endpoint, built.sign_key_env) == (mirror["sign_endpoint"], "K")


def test_local_catalogues_and_earth_search_are_not_signed(tmp_path: Path) -> None:
    demo = load_profile("vienna-demo", out_dir=tmp_path)
    assert stac_source(demo, demo.sources.sentinel2).sign_endpoint is None
    real = load_profile("vienna")
    assert stac_source(real, real.sources.sentinel2).sign_endpoint is None
    assert real.sources.landsat is not None
    landsat = stac_source(real, real.sources.landsat)
    assert landsat.sign_endpoint == PLANETARY_COMPUTER_SIGN_ENDPOINT
    assert SIGNING_KEY == "geospace:signing"
