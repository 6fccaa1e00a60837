"""City profiles: typed, validated, with errors naming the field, the value and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.errors import ProfileError
from core.profile import PACKAGED_PROFILES, load_profile


def _demo_profile_dict() -> dict:
    return yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text())


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def test_packaged_profiles_load_and_resolve_under_out(tmp_path: Path) -> None:
    demo = load_profile("vienna-demo", out_dir=tmp_path)
    assert demo.base_dir == (tmp_path / "demo-city").resolve()
    assert demo.resolve(demo.layers.parks.path) == str(tmp_path / "demo-city/layers/parks.geojson")
    assert demo.grid.resolution == 10.0 and demo.grid.crs == "EPSG:32633"
    assert demo.sources.sentinel2.max_cloud_cover == pytest.approx(0.8)
    assert demo.vegetation.min_clear_fraction == pytest.approx(0.6)
    assert demo.vegetation.window == 14.0
    real = load_profile("vienna")
    assert real.sources.sentinel2.catalog.startswith("https://")
    assert real.resolve(real.layers.parks.path).startswith("https://data.wien.gv.at/")


def test_profile_file_resolves_relative_to_itself(tmp_path: Path) -> None:
    data = _demo_profile_dict() | {"data_root": "."}
    profile = load_profile(_write(tmp_path, data))
    assert profile.resolve("layers/parks.geojson") == str(tmp_path / "layers/parks.geojson")


def test_typo_names_the_field_and_suggests_the_fix(tmp_path: Path) -> None:
    data = _demo_profile_dict()
    data["sources"]["sentinel2"]["max_clod_cover"] = data["sources"]["sentinel2"].pop(
        "max_cloud_cover"
    )
    with pytest.raises(
        ProfileError,
        match=r"sources\.sentinel2\.max_clod_cover: unknown field; did you mean 'max_cloud_cover'",
    ):
        load_profile(_write(tmp_path, data))


def test_bare_number_is_refused_with_the_unit_to_add(tmp_path: Path) -> None:
    data = _demo_profile_dict()
    data["grid"]["resolution"] = 10
    with pytest.raises(
        ProfileError, match=r"grid\.resolution: 10: .*write it as a quantity, e\.g\. '10 m'"
    ):
        load_profile(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("grid", "crs"), "WGS84", "not an 'EPSG:nnnn' code"),
        (("sources", "sentinel2", "provider"), "google", "sources.sentinel2.provider: 'google'"),
        (("vegetation", "reference_years"), [2020], "list at least that many years"),
        (("name",), "Vienna Demo", "name: 'Vienna Demo'"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, path: tuple, value: object, message: str) -> None:
    data = _demo_profile_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ProfileError, match=message.replace(".", r"\.")):
        load_profile(_write(tmp_path, data))


def test_missing_field_and_missing_file(tmp_path: Path) -> None:
    data = _demo_profile_dict()
    del data["layers"]["parks"]
    with pytest.raises(ProfileError, match=r"layers\.parks: required field is missing"):
        load_profile(_write(tmp_path, data))
    with pytest.raises(ProfileError, match="not found: give a path to a YAML file or one of"):
        load_profile(tmp_path / "nowhere.yaml")
    (tmp_path / "broken.yaml").write_text("name: [unclosed")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(tmp_path / "broken.yaml")


def test_sink_specs_name_secrets_by_environment_variable(tmp_path: Path) -> None:
    data = _demo_profile_dict()
    data["sinks"] = [
        {"kind": "files"},
        {
            "kind": "open311",
            "url": "https://311.example.org/api/v2",
            "api_key_env": "OPEN311_KEY",
            "service_code": "irrigation",
        },
        {"kind": "rabbitmq", "name": "broker", "url_env": "GEOSPACE_AMQP_URL"},
    ]
    # A sink's host must be on allowlist.hosts, as deliver --profile requires (issue 15).
    with pytest.raises(ProfileError, match=r"sinks\.open311\.url: .*'311\.example\.org' is not on"):
        load_profile(_write(tmp_path, data))
    data["allowlist"] = {**data.get("allowlist", {}), "hosts": ["311.example.org"]}
    sinks = load_profile(_write(tmp_path, data)).sinks
    assert [s.key for s in sinks] == ["files", "open311", "broker"]
    assert sinks[1].spec() == {
        "type": "open311",
        "endpoint": "https://311.example.org/api/v2",
        "api_key_env": "OPEN311_KEY",
        "service_code": "irrigation",
    }
    assert sinks[2].spec() == {"type": "rabbitmq", "url_env": "GEOSPACE_AMQP_URL"}
    data["sinks"] = [{"kind": "open311", "api_key": "secret-in-the-file"}]
    with pytest.raises(
        ProfileError, match=r"sinks\.0\.api_key: unknown field; did you mean 'api_key_env'"
    ):
        load_profile(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("vegetation", "cadence"),
            "0 d",
            "vegetation.cadence: '0 d': must be a whole number of 1..366 d",
        ),
        (("vegetation", "cadence"), "-7 d", "vegetation.cadence: '-7 d': must be a whole number"),
        (("vegetation", "cadence"), "1.5 d", "vegetation.cadence: '1.5 d': must be a whole number"),
        (("vegetation", "window"), "0 d", "vegetation.window: '0 d': must be a whole number"),
        (("vegetation", "window"), "inf d", "vegetation.window: 'inf d'"),
        (("vegetation", "reference_window"), "400 d", "vegetation.reference_window: '400 d'"),
        (("outbox", "lease"), "0 s", "outbox.lease: '0 s': must be a finite value in 0.5..86400 s"),
        (("outbox", "lease"), "-5 s", "outbox.lease: '-5 s': must be a finite value in 0.5"),
        (("outbox", "max_attempts"), 0, "outbox.max_attempts: 0:"),
        (("http", "timeout"), "0 s", "http.timeout: '0 s': must be a positive"),
        (("grid", "resolution"), "-10 m", "grid.resolution: '-10 m': must be a positive"),
        (("sources", "sentinel2", "max_cloud_cover"), "180 %", "max_cloud_cover: '180 %'"),
        (("vegetation", "min_clear_dates"), 0, "vegetation.min_clear_dates: 0:"),
    ],
)
def test_quantities_out_of_range_are_refused_on_one_line(
    tmp_path: Path, path: tuple, value: object, message: str
) -> None:
    data = _demo_profile_dict()
    target = data
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    with pytest.raises(ProfileError, match=message.replace(".", r"\.")) as err:
        load_profile(_write(tmp_path, data))
    assert "\n" not in str(err.value)
