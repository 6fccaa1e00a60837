"""The profile's ``deformation`` section: quantities with units, known events, ordering checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import ProfileError
from core.profile import PACKAGED_PROFILES, load_profile, parse_profile


def _demo(**deformation: Any) -> dict[str, Any]:
    doc = yaml.safe_load((PACKAGED_PROFILES / "vienna-demo.yaml").read_text(encoding="utf-8"))
    doc["deformation"] = {**doc["deformation"], **deformation}
    return dict(doc)


def test_packaged_profiles_carry_the_section() -> None:
    demo = load_profile("vienna-demo").deformation
    assert demo is not None and demo.segment_length == 100.0 and demo.buffer == 30.0
    assert demo.min_coherence == pytest.approx(0.7) and demo.warning_velocity == 5.0
    (event,) = demo.known_events
    assert event.date == date(2021, 3, 15) and event.radius == 200.0
    assert load_profile("vienna").deformation is not None


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"segment_length": 100}, "deformation.segment_length"),
        ({"warning_velocity": "5 m"}, "deformation.warning_velocity"),
        ({"watch_velocity": "6 mm/yr"}, "warning_velocity 5 mm/yr is below watch_velocity"),
        ({"known_events": [{"name": "x", "date": "2021-13-01", "lon": 16.3, "lat": 48.2}]}, "date"),
        ({"sorce": "insar"}, "did you mean 'source'"),
    ],
)
def test_bad_values_are_refused_with_the_field(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(ProfileError, match=needle):
        parse_profile(_demo(**change), base_dir=Path("."), source="test.yaml")


def test_products_url_must_be_http() -> None:
    url = "https://maps.example.org/geospace"
    profile = parse_profile(_demo(products_url=url), base_dir=Path("."), source="test.yaml")
    assert profile.deformation is not None and profile.deformation.products_url == url
    assert load_profile("vienna-demo").deformation.products_url is None  # type: ignore[union-attr]
    with pytest.raises(ProfileError, match="products_url 'ftp://x' is not an http"):
        parse_profile(_demo(products_url="ftp://x"), base_dir=Path("."), source="test.yaml")
