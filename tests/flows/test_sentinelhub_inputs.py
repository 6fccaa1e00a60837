"""A profile switched to Copernicus Data Space fails before any work when its credentials are unset."""

from __future__ import annotations

from pathlib import Path

import pytest

from eo.sentinelhub import CDSE_TOKEN_URL, CredentialsError, SentinelHubSource
from flows.vegetation_inputs import resolve_inputs
from tests.flows.conftest import ProfileFactory


def test_sentinelhub_profile_checks_credentials_at_input_resolution(
    profile_copy: ProfileFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = profile_copy(
        "cdse",
        **{
            "sources.sentinel2": {
                "provider": "sentinelhub",
                "collection": "sentinel-2-l2a",
                "catalog": "https://sh.dataspace.copernicus.eu",
                "token_url": CDSE_TOKEN_URL,
                "client_id_env": "GEOSPACE_TEST_CDSE_ID",
                "client_secret_env": "GEOSPACE_TEST_CDSE_SECRET",
            },
            "allowlist.hosts": ["sh.dataspace.copernicus.eu", "identity.dataspace.copernicus.eu"],
        },
    )
    monkeypatch.delenv("GEOSPACE_TEST_CDSE_ID", raising=False)
    monkeypatch.delenv("GEOSPACE_TEST_CDSE_SECRET", raising=False)
    out = tmp_path / "out"
    with pytest.raises(CredentialsError, match="GEOSPACE_TEST_CDSE_ID, GEOSPACE_TEST_CDSE_SECRET"):
        resolve_inputs(path, out)
    monkeypatch.setenv("GEOSPACE_TEST_CDSE_ID", "client")
    monkeypatch.setenv("GEOSPACE_TEST_CDSE_SECRET", "secret")
    inputs = resolve_inputs(path, out)
    assert isinstance(inputs.source, SentinelHubSource)
    assert inputs.source.base_url == "https://sh.dataspace.copernicus.eu"
