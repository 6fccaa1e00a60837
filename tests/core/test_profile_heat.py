"""The profile's heat section: units required, typos named, packaged profiles carry it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.errors import ProfileError
from core.profile import PACKAGED_PROFILES, load_profile


def write(tmp_path: Path, **heat_changes: object) -> Path:
    doc = yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text(encoding="utf-8"))
    doc["heat"].update(heat_changes)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_packaged_profiles_have_heat_with_units(tmp_path: Path) -> None:
    demo = load_profile("vienna-demo", out_dir=tmp_path)
    assert demo.heat is not None and demo.heat.hotspot_distance == 90.0
    assert demo.heat.hot_class == 2 and demo.heat.lst_window == 60
    assert demo.sources.landsat is not None
    assert demo.sources.landsat.collection == "landsat-c2-l2"
    real = load_profile("vienna", out_dir=tmp_path)
    assert real.heat is not None and real.heat.weather.forecasts == "geosphere"
    assert "landsateuwest.blob.core.windows.net" in real.allowlist.hosts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hotspot_distance": 90}, "unit"),
        ({"hotspot_distance": "-30 m"}, "positive"),
        ({"hotspot_confidence": "80 %"}, "hotspot_confidence"),
        ({"hotspot_distanc": "90 m"}, "hotspot_distance"),
        ({"lst_window": "0 d"}, "lst_window"),
    ],
)
def test_bad_heat_settings_are_named(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(write(tmp_path, **change), out_dir=tmp_path)
