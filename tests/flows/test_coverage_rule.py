"""One owner of the coverage rule: the profile's vegetation.min_clear_fraction.

Set it to 50 % and the park status (indices.park_table), the work-order rules (the irrigation
policy as flows/alerting.py binds it) and the "why" text of a DATA_GAP park all follow it; at the
packaged 60 % the same park is a gap. No number is read from anywhere else.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from alerts.decide.notices import gap_notice
from alerts.decide.rules import coverage_status, rate
from alerts.detect.irrigation import irrigation_priority, load_priority_policy
from alerts.model import Finding, SubjectStatus
from core.profile import PACKAGED_PROFILES, CityProfile, parse_profile
from flows.alerting import irrigation_policy
from indices.park_table import Col, park_status
from tests.alerts.vegetation_factories import stats_row

T0 = datetime(2022, 6, 1, tzinfo=UTC)


def _profile(tmp_path: Path, min_clear: str | None) -> CityProfile:
    doc: dict[str, Any] = yaml.safe_load(
        (PACKAGED_PROFILES / "vienna-demo.yaml").read_text("utf-8")
    )
    doc = copy.deepcopy(doc)
    if min_clear is not None:
        doc["vegetation"]["min_clear_fraction"] = min_clear
    return parse_profile(doc, base_dir=tmp_path, source="test profile")


def _parks() -> pd.DataFrame:
    """A park seen 55 % clear (a gap at 60 %, not at 50 %) and one seen 45 % clear (a gap at both)."""
    rows = [
        stats_row("half", clear_fraction=0.55, ndmi_anomaly=-0.12, ndvi_anomaly=-0.1),
        stats_row("little", clear_fraction=0.45),
    ]
    table = pd.DataFrame(rows)
    return table


def _ranked(profile: CityProfile) -> pd.DataFrame:
    table = _parks()
    rule = profile.vegetation.coverage_rule()
    table[Col.STATUS] = park_status(table, rule)
    ranked = irrigation_priority(
        table, load_priority_policy(profile.vegetation.policy), coverage=rule, reference="2019-2021"
    )
    return ranked.set_index(Col.PARK_ID)


def _finding(coverage: float) -> Finding:
    return Finding(
        "irrigation_priority", "half", T0, T0 + timedelta(days=13), 0.9, "1", 0.6, coverage, 4,
        status=SubjectStatus.OK,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("min_clear", "half_status", "minimum_text"),
    [(None, "DATA_GAP", "minimum 60 %"), ("50 %", "DEGRADED", "minimum 50 %")],
)
def test_status_rules_and_why_follow_the_profile_min_clear_fraction(
    tmp_path: Path, min_clear: str | None, half_status: str, minimum_text: str
) -> None:
    profile = _profile(tmp_path, min_clear)
    ranked = _ranked(profile)
    # the park status
    assert ranked.loc["half", Col.STATUS] == half_status
    assert ranked.loc["little", Col.STATUS] == "DATA_GAP"
    # the "why" of a DATA_GAP park quotes the numbers actually used
    assert minimum_text in str(ranked.loc["little", "why"])
    if half_status == "DATA_GAP":
        assert minimum_text in str(ranked.loc["half", "why"])
    else:  # ranked, and its why says it was only partly seen
        assert "partly seen: 55 %" in str(ranked.loc["half", "why"])
    # the rules: the work-order policy as the flow binds it
    policy = irrigation_policy(profile)
    assert coverage_status(0.55, policy) == SubjectStatus(half_status)
    [rated] = rate([_finding(0.55)], policy)
    assert rated.status == SubjectStatus(half_status)
    # and the operators' DATA_GAP notice quotes the same minimum
    [gap_window] = rate([_finding(0.45)], policy)
    gap = gap_notice(gap_window, policy, T0 + timedelta(days=14))
    assert gap.revision is not None and minimum_text in gap.revision.summary


def test_the_numbers_live_in_the_profile_only() -> None:
    """Neither rule file restates the coverage minimum (it would silently disagree)."""
    policies = Path(__file__).parents[2] / "alerts" / "policies"
    for name in ("irrigation.yaml", "irrigation_priority.yaml"):
        doc = yaml.safe_load((policies / name).read_text("utf-8"))
        assert "coverage" not in doc and "data_gap" not in doc, name
