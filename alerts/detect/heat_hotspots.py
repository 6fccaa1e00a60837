"""The heat hot-spot polygon rule: how significant Gi* cells become hot spots a health officer reads.

``alerts/policies/heat_hotspots.yaml`` holds the connectivity, the merge gap and the minimum area
(quantities with units); :func:`indices.heat.hotspot_areas` applies them. The file is read by the
one policy loader (:func:`alerts.policies.read_policy`); a bare number or an unknown key is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alerts.policies import read_policy
from core.errors import InvalidInputError
from core.quantities import parse_quantity

_KEYS = {"version", "connectivity", "merge_gap", "min_area"}


@dataclass(frozen=True)
class HotspotRule:
    """Connectivity (4 or 8), merge gap (m) and minimum area (m2) of bulletin hot spots."""

    version: str
    connectivity: int
    merge_gap_m: float
    min_area_m2: float
    source: str = "<memory>"

    def describe(self) -> str:
        """One line for the bulletin's data note."""
        return (
            f"hot spots: significant cells joined with {self.connectivity}-connectivity, groups "
            f"at most {self.merge_gap_m:g} m apart merged, smaller than "
            f"{self.min_area_m2 / 1e4:g} ha dropped (rule {self.version})"
        )


def parse_hotspot_rule(raw: dict[str, Any], source: str) -> HotspotRule:
    """Validate a hot-spot rule mapping (see the module docstring)."""
    unknown = set(raw) - _KEYS
    missing = _KEYS - set(raw)
    if unknown or missing:
        raise InvalidInputError(
            f"hot-spot rule {source}: unknown keys {sorted(unknown)}, missing {sorted(missing)}; "
            f"the keys are {sorted(_KEYS)}"
        )
    connectivity = raw["connectivity"]
    if isinstance(connectivity, bool) or connectivity not in (4, 8):
        raise InvalidInputError(
            f"hot-spot rule {source}: connectivity must be 4 or 8, got {connectivity!r}"
        )
    gap = parse_quantity(raw["merge_gap"], "m", field=f"{source}: merge_gap")
    area = parse_quantity(raw["min_area"], "m2", field=f"{source}: min_area")
    if gap < 0 or area < 0:
        raise InvalidInputError(
            f"hot-spot rule {source}: merge_gap and min_area must be >= 0, got {gap} m, {area} m2"
        )
    return HotspotRule(str(raw["version"]), int(connectivity), gap, area, source)


def load_hotspot_rule(name_or_path: str | Path | None = None) -> HotspotRule:
    """The built-in ``heat_hotspots`` rule, or a YAML file by path."""
    doc = read_policy("heat_hotspots" if name_or_path is None else name_or_path)
    return parse_hotspot_rule(doc.raw, doc.source)
