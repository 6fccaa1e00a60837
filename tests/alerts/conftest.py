"""Factories for the alert tests: findings, revisions and hostile text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from alerts.model import Finding

T0 = datetime(2022, 6, 6, tzinfo=UTC)
WEEK = timedelta(days=7)
HOSTILE = "Währing <b>&amp; \"x\" 'y' ]]> &lt; \x07bell\x00 ß\u2603 &#x26; %41+="
"""Markup, a CDATA end, entity-like text, quotes, control characters and non-ASCII."""
HOSTILE_CLEAN = HOSTILE.replace("\x07", "").replace("\x00", "")


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
