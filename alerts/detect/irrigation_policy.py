"""The irrigation priority rule file: parsed once, validated strictly, held in a frozen value.

``alerts/policies/irrigation_priority.yaml`` holds the weights and class thresholds of
:func:`alerts.detect.irrigation.irrigation_priority`. Every value is a quantity with its unit
(``"-0.10 1"``, ``"60 %"``); a bare number or an unknown key is refused with a message saying how to
fix it. The file is read by the one policy loader (:func:`alerts.policies.read_policy`); what
makes a park a DATA_GAP is not here but in the city profile (:mod:`indices.park_table`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from alerts.policies import read_policy
from core.errors import InvalidInputError
from core.quantities import parse_quantity

_SECTIONS: dict[str, tuple[str, ...]] = {
    "full_stress": (
        "ndmi_anomaly",
        "ndvi_anomaly",
        "evi_anomaly",
        "stressed_share",
        "heat_exposure",
    ),
    "weights": ("moisture", "greenness", "stressed_share", "heat"),
    "classes": ("urgent", "high", "watch"),
}
_TOP_KEYS = ("version", *_SECTIONS)
_NEGATIVE = ("ndmi_anomaly", "ndvi_anomaly", "evi_anomaly")


@dataclass(frozen=True)
class IrrigationPolicy:
    """Weights and thresholds of the irrigation priority score (all dimensionless).

    Attributes
    ----------
    version : str
        Rule version recorded in every product, e.g. ``"irrigation-priority-1.0.0"``.
    full_stress : dict of str to float
        Value at which each input counts as a full (1.0) stress component; negative for anomalies.
    weights : dict of str to float
        ``moisture``, ``greenness``, ``stressed_share`` (summing to 1) and the ``heat`` bonus.
    class_thresholds : tuple of float
        Minimum score of class 1 (urgent), 2 (high) and 3 (watch), strictly decreasing.
    source : str
        Where the policy came from, for messages.
    """

    version: str
    full_stress: Mapping[str, float]
    weights: Mapping[str, float]
    class_thresholds: tuple[float, float, float]
    source: str = "<memory>"

    @property
    def urgent(self) -> float:
        """Minimum score of class 1 (urgent): the work-order rule refers to it (``same_as``)."""
        return self.class_thresholds[0]


def _section(raw: Mapping[str, object], name: str, source: str) -> dict[str, float]:
    """Parse one section of quantities, refusing unknown or missing keys."""
    known = _SECTIONS[name]
    body = raw.get(name)
    if not isinstance(body, Mapping):
        raise InvalidInputError(
            f"{source}: section {name!r} is missing or not a mapping; it needs the keys {', '.join(known)}"
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
    return {key: parse_quantity(body[key], "1", field=f"{source}: {name}.{key}") for key in known}


def _check_values(
    stress: Mapping[str, float],
    weights: Mapping[str, float],
    classes: Mapping[str, float],
    source: str,
) -> None:
    """Refuse signs, sums and orderings that would make the score meaningless."""
    for key, value in stress.items():
        wrong = value >= 0 if key in _NEGATIVE else value <= 0
        if wrong or not math.isfinite(value):
            sign = "negative (an anomaly below the median)" if key in _NEGATIVE else "positive"
            raise InvalidInputError(f"{source}: full_stress.{key} = {value:g} must be {sign}")
    if any(w < 0 for w in weights.values()):
        raise InvalidInputError(f"{source}: weights must not be negative, got {dict(weights)}")
    core = weights["moisture"] + weights["greenness"] + weights["stressed_share"]
    if abs(core - 1.0) > 1e-6:
        raise InvalidInputError(
            f"{source}: weights moisture + greenness + stressed_share sum to {core:g}; make them sum to 1"
        )
    urgent, high, watch = classes["urgent"], classes["high"], classes["watch"]
    if not urgent > high > watch > 0:
        raise InvalidInputError(
            f"{source}: class thresholds must fall strictly, urgent > high > watch > 0; "
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
        Unknown or missing keys, bare numbers, wrong signs, core weights not summing to 1,
        class thresholds not strictly decreasing.
    """
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{source}: expected a mapping of {', '.join(_TOP_KEYS)}")
    if "data_gap" in raw:
        raise InvalidInputError(
            f"{source}: the 'data_gap' section moved to the city profile "
            "(vegetation.min_clear_fraction, vegetation.min_clear_dates); delete it here"
        )
    unknown = sorted(set(map(str, raw)) - set(_TOP_KEYS))
    if unknown:
        raise InvalidInputError(
            f"{source}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(_TOP_KEYS)}"
        )
    version = raw.get("version")
    if not isinstance(version, str) or not version.strip():
        raise InvalidInputError(
            f"{source}: 'version' must be a string such as 'irrigation-priority-1.0.0'"
        )
    stress = _section(raw, "full_stress", source)
    weights = _section(raw, "weights", source)
    classes = _section(raw, "classes", source)
    _check_values(stress, weights, classes, source)
    return IrrigationPolicy(
        version=version.strip(),
        full_stress=stress,
        weights=weights,
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
