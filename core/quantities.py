"""Quantities with units in profile and rule files: ``"10 m"``, ``"80 %"``, ``"-5 mm yr-1"``.

Absolute values go through :func:`parse_quantity`; a *difference* (a hysteresis band, a "moved by
more than" delta) through :func:`parse_delta`, which cancels the offset of a temperature scale ("1 K"
of hysteresis is 1 degC of difference, not -272.15 degC); durations through :func:`parse_duration`.

Thresholds and sizes in YAML files must carry their units; a bare number
is refused with a message saying how to write it. Conversion covers the handful of units the
product uses; anything else is refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import timedelta

from core.errors import InvalidInputError

# unit -> (dimension, factor to the canonical unit of that dimension)
_UNITS: dict[str, tuple[str, float]] = {
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "mm": ("length", 0.001),
    "m2": ("area", 1.0),
    "ha": ("area", 1.0e4),
    "km2": ("area", 1.0e6),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "d": ("time", 86400.0),
    "%": ("fraction", 0.01),
    "1": ("fraction", 1.0),
    "degC": ("temperature", 1.0),
    "K": ("temperature", 1.0),
    "mm yr-1": ("velocity", 1.0),
    "mm yr-2": ("acceleration", 1.0),
    "px": ("pixels", 1.0),
}
_ALIASES = {
    "km²": "km2",
    "m²": "m2",
    "mm/yr": "mm yr-1",
    "mm/a": "mm yr-1",
    "mm/yr2": "mm yr-2",
    "°C": "degC",
    "days": "d",
    "day": "d",
    "percent": "%",
}
# Canonical units each target accepts (target unit -> canonical unit of its dimension).
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


def parse_quantity(value: object, unit: str, *, field: str = "value") -> float:
    """Return ``value`` (a string such as ``"2 km2"``) as a float in ``unit``.

    Parameters
    ----------
    value : str
        Number followed by a unit, e.g. ``"10 m"``, ``"80 %"``, ``"38 degC"``.
    unit : str
        The unit the caller wants the number in (one of the units above).
    field : str
        Name of the field in its file, for the error message.

    Raises
    ------
    InvalidInputError
        A bare number, an unknown unit, or a unit of another dimension.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInputError(
            f"{field}: expected a quantity with units like '10 {unit}', got {value!r}"
        )
    if isinstance(value, (int, float)):
        raise InvalidInputError(
            f"{field}: bare number {value!r} has no units; write it as a quantity, e.g. '{value} {unit}'"
        )
    match = _NUMBER.match(value)
    if match is None:
        raise InvalidInputError(f"{field}: {value!r} is not a quantity; write e.g. '10 {unit}'")
    number, given = float(match.group(1)), match.group(2)
    if not given:
        raise InvalidInputError(
            f"{field}: bare number {value!r} has no units; write it as a quantity, e.g. '{number:g} {unit}'"
        )
    given = _ALIASES.get(given, given)
    if given not in _UNITS or unit not in _UNITS:
        raise InvalidInputError(
            f"{field}: unknown unit {given!r} in {value!r}; known units: {', '.join(sorted(_UNITS))}"
        )
    dim_given, f_given = _UNITS[given]
    dim_want, f_want = _UNITS[unit]
    if dim_given != dim_want:
        raise InvalidInputError(
            f"{field}: {value!r} is a {dim_given}, but a {dim_want} in {unit!r} is expected"
        )
    if dim_given == "temperature" and given != unit:
        offset = 273.15 if given == "degC" else -273.15
        return number + offset
    return number * f_given / f_want

def parse_delta(value: object, unit: str, *, field: str = "value") -> float:
    """A difference ``value`` (e.g. ``"1 K"``, ``"0.05 1"``) in ``unit``, offsets cancelled.

    Parameters
    ----------
    value : str
        Number followed by a unit.
    unit : str
        Unit wanted (see :mod:`core.quantities`).
    field : str
        Name of the field in its file, for error messages.
    """
    absolute = parse_quantity(value, unit, field=field)
    given = str(value).strip().lstrip("+-0123456789.eE").strip()
    return absolute - parse_quantity(f"0 {given}", unit, field=field)


def parse_duration(value: object, *, field: str = "value") -> timedelta:
    """A duration quantity such as ``"7 d"`` or ``"12 h"`` as a :class:`~datetime.timedelta`."""
    seconds = parse_quantity(value, "s", field=field)
    if seconds < 0:
        raise InvalidInputError(f"{field}: duration {value!r} is negative; write e.g. '7 d'")
    return timedelta(seconds=seconds)


def value_in(value: float, units: str, unit: str, *, field: str = "value") -> float:
    """Convert a plain number ``value`` given in ``units`` to ``unit``."""
    if value != value:  # NaN stays NaN whatever the units
        return value
    return parse_quantity(f"{value!r} {units}", unit, field=field)
