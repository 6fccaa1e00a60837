"""The profile's outbox settings: where the DSN comes from, decided in one place."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from core.profile import OutboxConfig


def test_no_dsn_variable_means_the_sqlite_default() -> None:
    assert OutboxConfig().dsn() is None


def test_the_dsn_comes_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITY_OUTBOX_DSN", "postgresql://127.0.0.1/test")
    assert OutboxConfig(dsn_env="CITY_OUTBOX_DSN").dsn() == "postgresql://127.0.0.1/test"


def test_an_unset_variable_is_refused_not_replaced_by_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CITY_OUTBOX_DSN", raising=False)
    with pytest.raises(InvalidInputError, match=r"outbox.dsn_env: \$CITY_OUTBOX_DSN: not set") as info:
        OutboxConfig(dsn_env="CITY_OUTBOX_DSN").dsn()
    assert info.value.exit_code == 2
