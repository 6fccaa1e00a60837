"""The flow's window arithmetic for arbitrary valid periods (issue 15): never raises, every
window and reference window has its configured length (leap years, year ends)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.profile import load_profile
from flows.vegetation_inputs import check_period
from indices.calendar import reference_periods, reference_window_spans, window_span

PROFILE = load_profile("vienna-demo", out_dir=Path("unused"))


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2022, 1, 1), max_value=date(2100, 11, 1)),
    span=st.integers(min_value=0, max_value=60),
    window=st.integers(min_value=1, max_value=45),
    cadence=st.integers(min_value=1, max_value=21),
    widen=st.integers(min_value=0, max_value=30),
)
def test_any_valid_period_gives_whole_windows(
    start: date, span: int, window: int, cadence: int, widen: int
) -> None:
    veg = PROFILE.vegetation.model_copy(
        update={"window": float(window), "cadence": float(cadence),
                "reference_window": float(window + widen)}
    )  # fmt: skip
    profile = PROFILE.model_copy(update={"vegetation": veg})
    end = start + timedelta(days=span)
    ends = check_period(profile, start, end)
    assert ends[-1] == end and ends[0] >= start
    ref_days = profile.reference_days()
    loaded = reference_periods(ends, window, ref_days, veg.reference_years)
    for e in ends:
        first, last = window_span(e, window)
        assert (last - first).days + 1 == window
        for a, b in reference_window_spans(e, window, ref_days, veg.reference_years).values():
            assert (b - a).days + 1 == ref_days
            assert any(lo <= a and b <= hi for lo, hi in loaded)
