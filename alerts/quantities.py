"""Quantities in rule files: absolute values and differences, always with units.

Absolute values go through :func:`eo.units.parse_quantity`. A *difference* (a hysteresis band, a
"moved by more than" delta) must not take the offset of a temperature scale: "1 K" of hysteresis is
1 degC of difference, not -272.15 degC. :func:`parse_delta` handles that.
"""

from __future__ import annotations

from datetime import timedelta

from eo.errors import InvalidInputError
from eo.units import parse_quantity

__all__ = ["parse_delta", "parse_duration", "parse_quantity", "value_in"]


def parse_delta(value: object, unit: str, *, field: str = "value") -> float:
    """A difference ``value`` (e.g. ``"1 K"``, ``"0.05 1"``) in ``unit``, offsets cancelled.

    Parameters
    ----------
    value : str
        Number followed by a unit.
    unit : str
        Unit wanted (see :mod:`eo.units`).
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
