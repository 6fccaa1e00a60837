"""The provider/collection table: one entry per source, in odc-stac's configuration shape."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.profile import StacSourceConfig
from eo.collections import COLLECTIONS, collection_spec, provider_of_hosts, providers
from eo.landsat import st_to_kelvin
from eo.sentinel2 import to_reflectance
from eo.stac import StacSource


def test_the_profiles_providers_are_the_tables() -> None:
    literal = StacSourceConfig.model_fields["provider"].annotation
    assert set(typing.get_args(literal)) == set(providers())


def test_required_sources_are_in_the_table() -> None:
    assert {
        ("earth-search", "sentinel-2-c1-l2a"),
        ("earth-search", "sentinel-2-l2a"),
        ("planetary-computer", "sentinel-2-l2a"),
        ("planetary-computer", "landsat-c2-l2"),
    } <= set(COLLECTIONS)


def test_asset_keys_follow_each_providers_naming() -> None:
    es = collection_spec("earth-search", "sentinel-2-l2a")
    pc = collection_spec("planetary-computer", "sentinel-2-l2a")
    aliases = ("blue", "red", "nir", "nir08", "swir16", "scl")
    assert es.keys(aliases) == list(aliases)
    assert pc.keys(aliases) == ["B02", "B04", "B08", "B8A", "B11", "SCL"]
    assert pc.alias_of("B8A") == "nir08" and es.alias_of("swir16") == "swir16"
    for spec in (es, pc):
        assert spec.asset("scl").role == "classification"
        assert spec.asset("scl").data_type == "uint8" and spec.asset("scl").nodata == 0
        assert all(spec.asset(a).nodata == 0 for a in spec.aliases("reflectance"))
        assert len(spec.aliases("reflectance")) == 12


def test_odc_stac_configuration_shape() -> None:
    cfg = collection_spec("planetary-computer", "sentinel-2-l2a").odc_stac_config()
    (entry,) = cfg.values()
    assert set(cfg) == {"sentinel-2-l2a"} and set(entry) == {"assets", "aliases"}
    assert entry["aliases"]["red"] == "B04" and entry["aliases"]["scl"] == "SCL"
    assert entry["assets"]["B04"] == {
        "data_type": "uint16",
        "nodata": 0,
        "unit": "1",
        "scale": pytest.approx(1e-4),
        "offset": 0.0,
    }
    # Earth Search keys are the aliases themselves: nothing to alias.
    es = collection_spec("earth-search", "sentinel-2-c1-l2a").odc_stac_config()
    assert es["sentinel-2-c1-l2a"]["aliases"] == {}


def test_scaling_rules_per_provider_and_baseline() -> None:
    dn = np.array([1500], dtype=np.uint16)
    new, old = {"s2:processing_baseline": "05.10"}, {"s2:processing_baseline": "03.01"}
    flagged = {**new, "earthsearch:boa_offset_applied": True}
    assert to_reflectance(dn, "planetary-computer", "sentinel-2-l2a", new)[0] == pytest.approx(0.05)
    assert to_reflectance(dn, "planetary-computer", "sentinel-2-l2a", old)[0] == pytest.approx(0.15)
    assert to_reflectance(dn, "earth-search", "sentinel-2-l2a", flagged)[0] == pytest.approx(0.15)
    assert to_reflectance(dn, "earth-search", "sentinel-2-c1-l2a", old)[0] == pytest.approx(0.05)
    assert collection_spec("earth-search", "sentinel-2-l2a").pixel_check
    assert not collection_spec("planetary-computer", "sentinel-2-l2a").pixel_check


def test_landsat_surface_temperature_uses_the_tables_scale() -> None:
    st = collection_spec("planetary-computer", "landsat-c2-l2").asset("lwir11")
    assert (st.scale, st.offset, st.units) == (0.00341802, 149.0, "K")
    assert st_to_kelvin(np.array([0, 1000]))[1] == pytest.approx(1000 * st.scale + st.offset)
    with pytest.raises(InvalidInputError, match="not a Sentinel-2"):
        to_reflectance(np.array([1]), "planetary-computer", "landsat-c2-l2", {})


def test_unknown_pairs_are_invalid_input_naming_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="sentinel-2-l1c") as info:
        collection_spec("earth-search", "sentinel-2-l1c")
    assert "planetary-computer: sentinel-2-l2a" in str(info.value)
    with pytest.raises(InvalidInputError, match="cdse"):
        StacSource(catalog="https://x.example/stac", provider="cdse", collection="s2")
    with pytest.raises(InvalidInputError, match="no band 'tir'"):
        collection_spec("earth-search", "sentinel-2-l2a").asset("tir")


def test_provider_is_recognised_from_hosts() -> None:
    assert provider_of_hosts("https://planetarycomputer.microsoft.com/api/stac/v1") == (
        "planetary-computer"
    )
    assert provider_of_hosts("https://earth-search.aws.element84.com/v1") == "earth-search"
    assert provider_of_hosts("https://example.org/stac") is None
