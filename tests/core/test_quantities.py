"""Quantities in profile and rule files carry units; bare numbers are refused with the fix."""

import pytest

from core.errors import InvalidInputError
from core.quantities import parse_quantity


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("10 m", "m", 10.0),
        ("1.5 km", "m", 1500.0),
        ("2000 km2", "km2", 2000.0),
        ("50 ha", "km2", 0.5),
        ("80 %", "1", 0.8),
        ("-0.1 1", "1", -0.1),
        ("14 d", "d", 14.0),
        ("2 h", "s", 7200.0),
        ("30 degC", "K", 303.15),
        ("300 K", "degC", 300 - 273.15),
        ("-5 mm/yr", "mm yr-1", -5.0),
        ("1e3 m", "km", 1.0),
    ],
)
def test_converts_to_the_requested_unit(text: str, unit: str, expected: float) -> None:
    assert parse_quantity(text, unit) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (80, "bare number 80 has no units; write it as a quantity, e.g. '80 %'"),
        ("80", "bare number '80' has no units"),
        ("80 parsecs", "unknown unit 'parsecs'"),
        ("10 s", "is a time, but a fraction"),
        ("ten %", "not a quantity"),
        (True, "expected a quantity"),
    ],
)
def test_refuses_what_it_cannot_read(value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_quantity(value, "%", field="max_cloud_cover")
