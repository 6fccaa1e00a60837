"""Scheduled runs derive their window from the scheduled time, never from a watermark."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flows.serve import window_end_for


def test_window_ends_the_day_before_the_scheduled_run() -> None:
    monday = datetime(2022, 8, 29, 6, 0, tzinfo=UTC)
    # a run that starts late (Wednesday) still evaluates the window of its schedule
    assert window_end_for(monday, today=date(2022, 8, 31)) == date(2022, 8, 28)


def test_manual_run_without_schedule_uses_today() -> None:
    assert window_end_for(None, today=date(2022, 9, 5)) == date(2022, 9, 4)
