"""The irrigation priority rule file: parsed once, validated strictly, held in a frozen value.

``alerts/policies/irrigation_priority.yaml`` holds the evidence units, weights, persistence and heat
gains and class thresholds of :func:`alerts.detect.irrigation.irrigation_priority`. Every value is
a quantity with its unit (``"-0.10 1"``, ``"60 %"``, ``"28 d"``); a bare number or an unknown key is
refused with a message saying how to fix it. The file is read by the one policy loader
(:func:`alerts.policies.read_policy`); what makes a park a DATA_GAP is not here but in the city
profile (:mod:`indices.park_table`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from alerts.policies import read_policy
from core.errors import InvalidInputError
from core.quantities import parse_quantity

# section -> key -> unit the value is read in
_SECTIONS: dict[str, dict[str, str]] = {
    "unit_evidence": {
        "ndmi_anomaly": "1",
        "ndvi_anomaly": "1",
        "evi_anomaly": "1",
        "stressed_share": "1",
        "heat_exposure": "1",
    },
    "weights": {"moisture": "1", "greenness": "1", "stressed_share": "1"},
    "persistence": {"full": "d", "gain": "1"},
    "heat": {"gain": "1"},
    "classes": {"urgent": "1", "high": "1", "watch": "1"},
}
_TOP_KEYS = ("version", *_SECTIONS)
_NEGATIVE = ("ndmi_anomaly", "ndvi_anomaly", "evi_anomaly")
_MOVED = {
    "data_gap": "the 'data_gap' section moved to the city profile "
    "(vegetation.min_clear_fraction, vegetation.min_clear_dates); delete it here",
    "full_stress": "'full_stress' (irrigation-priority-1, components clipped at 1) became "
    "'unit_evidence' in irrigation-priority-2 (one unit of evidence, never clipped); rename it "
    "and move weights.heat to heat.gain (see alerts/policies/irrigation_priority.yaml)",
}


@dataclass(frozen=True)
class IrrigationPolicy:
    """Evidence units, weights, gains and thresholds of the irrigation priority score.

    Attributes
    ----------
    version : str
        Rule version recorded in every product, e.g. ``"irrigation-priority-2.0.0"``.
    unit_evidence : dict of str to float
        Value of each input that counts as one unit of evidence; negative for anomalies.
    weights : dict of str to float
        ``moisture``, ``greenness`` and ``stressed_share``, summing to 1.
    persistence_full_days : float
        Days at watch or worse after which persistence counts fully.
    persistence_gain, heat_gain : float
        Evidence is multiplied by ``1 + gain x term`` (term 0..1 for persistence, >= 0 for heat).
    class_thresholds : tuple of float
        Minimum score of class 1 (urgent), 2 (high) and 3 (watch), strictly decreasing, in 0..1.
    source : str
        Where the policy came from, for messages.
    """

    version: str
    unit_evidence: Mapping[str, float]
    weights: Mapping[str, float]
    persistence_full_days: float
    persistence_gain: float
    heat_gain: float
    class_thresholds: tuple[float, float, float]
    source: str = "<memory>"

    @property
    def urgent(self) -> float:
        """Minimum score of class 1 (urgent): the work-order rule refers to it (``same_as``)."""
        return self.class_thresholds[0]

    @property
    def watch(self) -> float:
        """Minimum score of class 3 (watch): earlier windows at or above it count as persistence."""
        return self.class_thresholds[2]


def _section(raw: Mapping[str, object], name: str, source: str) -> dict[str, float]:
    """Parse one section of quantities, refusing unknown or missing keys."""
    known = _SECTIONS[name]
    body = raw.get(name)
    if not isinstance(body, Mapping):
        raise InvalidInputError(
            f"{source}: section {name!r} is missing or not a mapping; "
            f"it needs the keys {', '.join(known)}"
        )
    unknown = sorted(set(map(str, body)) - set(known))
    if unknown:
        raise InvalidInputError(
            f"{source}: unknown key(s) {', '.join(unknown)} in section {name!r}; "
            f"known keys: {', '.join(known)} (check the spelling)"
        )
    missing = [key for key in known if key not in body]
    if missing:
        raise InvalidInputError(f"{source}: section {name!r} lacks {', '.join(missing)}")
    # "1" (dimensionless) also accepts "%", converted to a fraction
    return {
        key: parse_quantity(body[key], unit, field=f"{source}: {name}.{key}")
        for key, unit in known.items()
    }


def _check_values(sections: Mapping[str, Mapping[str, float]], source: str) -> None:
    """Refuse signs, sums and orderings that would make the score meaningless."""
    for key, value in sections["unit_evidence"].items():
        wrong = value >= 0 if key in _NEGATIVE else value <= 0
        if wrong or not math.isfinite(value):
            sign = "negative (an anomaly below the median)" if key in _NEGATIVE else "positive"
            raise InvalidInputError(f"{source}: unit_evidence.{key} = {value:g} must be {sign}")
    weights = sections["weights"]
    if any(w < 0 or not math.isfinite(w) for w in weights.values()):
        raise InvalidInputError(f"{source}: weights must not be negative, got {dict(weights)}")
    total = sum(weights.values())
    if abs(total - 1.0) > 1e-6:
        raise InvalidInputError(
            f"{source}: weights moisture + greenness + stressed_share sum to {total:g}; "
            "make them sum to 1"
        )
    for name in ("persistence", "heat"):
        gain = sections[name]["gain"]
        if gain < 0 or not math.isfinite(gain):
            raise InvalidInputError(f"{source}: {name}.gain = {gain:g} must be 0 or more")
    full = sections["persistence"]["full"]
    if not full > 0 or not math.isfinite(full):
        raise InvalidInputError(
            f"{source}: persistence.full = {full:g} d must be positive, e.g. '28 d'"
        )
    classes = sections["classes"]
    urgent, high, watch = classes["urgent"], classes["high"], classes["watch"]
    if not 1 > urgent > high > watch > 0:
        raise InvalidInputError(
            f"{source}: class thresholds must fall strictly within 0..1, "
            f"1 > urgent > high > watch > 0 (the score E / (1 + E) never reaches 1); "
            f"got {urgent:g}, {high:g}, {watch:g}"
        )


def parse_priority_policy(raw: Mapping[str, object], source: str = "<memory>") -> IrrigationPolicy:
    """Validate a policy mapping (as read from YAML) into an :class:`IrrigationPolicy`.

    Parameters
    ----------
    raw : mapping
        The parsed YAML document.
    source : str
        File name or description for error messages.

    Raises
    ------
    InvalidInputError
        Unknown or missing keys, bare numbers, wrong signs, weights not summing to 1, negative
        gains, class thresholds not strictly decreasing within 0..1, a section of version 1.
    """
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{source}: expected a mapping of {', '.join(_TOP_KEYS)}")
    for key, why in _MOVED.items():
        if key in raw:
            raise InvalidInputError(f"{source}: {why}")
    unknown = sorted(set(map(str, raw)) - set(_TOP_KEYS))
    if unknown:
        raise InvalidInputError(
            f"{source}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(_TOP_KEYS)}"
        )
    version = raw.get("version")
    if not isinstance(version, str) or not version.strip():
        raise InvalidInputError(
            f"{source}: 'version' must be a string such as 'irrigation-priority-2.0.0'"
        )
    sections = {name: _section(raw, name, source) for name in _SECTIONS}
    _check_values(sections, source)
    classes = sections["classes"]
    return IrrigationPolicy(
        version=version.strip(),
        unit_evidence=sections["unit_evidence"],
        weights=sections["weights"],
        persistence_full_days=sections["persistence"]["full"],
        persistence_gain=sections["persistence"]["gain"],
        heat_gain=sections["heat"]["gain"],
        class_thresholds=(classes["urgent"], classes["high"], classes["watch"]),
        source=source,
    )


def load_priority_policy(name_or_path: str | Path | None = None) -> IrrigationPolicy:
    """Read an irrigation priority rule file through the one policy loader.

    Parameters
    ----------
    name_or_path : str or Path
        A built-in policy name (the profile's ``vegetation.policy``; None reads
        ``"irrigation_priority"``) or a YAML rule file.

    Raises
    ------
    InvalidInputError
        The file is missing, not YAML, or fails :func:`parse_priority_policy`.
    """
    doc = read_policy("irrigation_priority" if name_or_path is None else name_or_path)
    return parse_priority_policy(doc.raw, doc.source)
