"""Irrigation priority score, classes, ranks, reasons and the rule file.

Expected scores are computed by hand from the packaged rule (full stress -0.10 for the anomalies,
50 % for the stressed share, weights 0.4 / 0.3 / 0.3 plus a 0.2 heat bonus, classes at 0.6 / 0.4 /
0.2), written out in the comments, not recomputed with the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alerts.detect.irrigation import (
    irrigation_priority,
    load_priority_policy,
    parse_priority_policy,
)
from core.errors import InvalidInputError
from tests.alerts.vegetation_factories import COVERAGE, park_stats, stats_row


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_priority_policy()


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("park_id")


def test_packaged_policy_is_versioned(policy) -> None:  # type: ignore[no-untyped-def]
    assert policy.version == "irrigation-priority-1.0.0"
    assert policy.class_thresholds == (0.6, 0.4, 0.2)
    assert policy.urgent == pytest.approx(0.6)


def test_scores_classes_and_ranks_match_hand_computation(policy) -> None:  # type: ignore[no-untyped-def]
    out = _by_id(irrigation_priority(park_stats(), policy, coverage=COVERAGE, reference="2019-2021"))
    # dry: m = 0.12/0.10 -> 1, g = mean(1, 0.8) = 0.9, s = 0.6/0.5 -> 1: 0.4 + 0.27 + 0.3 = 0.97
    assert out.loc["p-dry", "score"] == pytest.approx(0.97)
    # mid: m = 0.5, g = 0.4, s = 0.4: 0.2 + 0.12 + 0.12 = 0.44
    assert out.loc["p-mid", "score"] == pytest.approx(0.44)
    # ok: m = 0, g = 0, s = 0.02/0.5 = 0.04: 0.012
    assert out.loc["p-ok", "score"] == pytest.approx(0.012)
    # degraded: m = 0.2, g = mean(0.9, 0.2) = 0.55, s = 0.2: 0.08 + 0.165 + 0.06 = 0.305
    assert out.loc["p-deg", "score"] == pytest.approx(0.305)
    assert out["priority_class"].dtype == "Int64"
    assert out["rank"].dtype == "Int64"
    assert out.loc["p-dry", "priority_class"] == 1
    assert out.loc["p-mid", "priority_class"] == 2
    assert out.loc["p-deg", "priority_class"] == 3
    assert out.loc["p-ok", "priority_class"] == 4
    assert [out.loc[p, "rank"] for p in ("p-dry", "p-mid", "p-deg", "p-ok")] == [1, 2, 3, 4]


def test_data_gap_gets_no_class_no_rank_and_says_why(policy) -> None:  # type: ignore[no-untyped-def]
    out = _by_id(irrigation_priority(park_stats(), policy, coverage=COVERAGE))
    assert pd.isna(out.loc["p-gap", "priority_class"])
    assert pd.isna(out.loc["p-gap", "rank"])
    assert math.isnan(out.loc["p-gap", "score"])
    why = out.loc["p-gap", "why"]
    assert "only 42 % of the park seen clear in the window (minimum 60 %)" in why
    assert "only 1 clear date" in why


def test_no_clear_observation_reason() -> None:
    frame = pd.DataFrame([stats_row("a", status="DATA_GAP", clear_fraction=0.0, clear_dates=0)])
    out = irrigation_priority(frame, load_priority_policy(), coverage=COVERAGE)
    assert out.loc[0, "why"] == "no clear observation in this window"


def test_input_columns_kept_and_input_untouched(policy) -> None:  # type: ignore[no-untyped-def]
    stats = park_stats()
    before = stats.copy()
    out = irrigation_priority(stats, policy, coverage=COVERAGE)
    pd.testing.assert_frame_equal(stats, before)
    assert list(out.columns[: len(stats.columns)]) == list(stats.columns)
    assert {"score", "priority_class", "rank", "why"} <= set(out.columns)
    assert out.attrs["irrigation_rule_version"] == "irrigation-priority-1.0.0"


def test_why_names_the_main_driver(policy) -> None:  # type: ignore[no-untyped-def]
    out = _by_id(irrigation_priority(park_stats(), policy, coverage=COVERAGE, reference="2019-2021"))
    assert out.loc["p-dry", "why"] == "moisture (NDMI) 0.12 below the 2019-2021 median"
    # degraded park: greenness (0.165) outweighs moisture (0.08); NDVI is the larger deficit
    assert out.loc["p-deg", "why"].startswith("greenness (NDVI) 0.09 below the 2019-2021 median")
    assert "75 %" in out.loc["p-deg", "why"]
    assert out.loc["p-ok", "why"].startswith("no water stress")
    # stressed share as the driver: m = 0, g = 0, s = 1 -> 0.3, class 3
    share = pd.DataFrame([stats_row("s", ndmi_anomaly=0.01, stressed_share=0.8)])
    row = irrigation_priority(share, policy, coverage=COVERAGE).iloc[0]
    assert row["priority_class"] == 3
    assert row["why"] == "80 % of the clear area stressed"


def test_why_in_german_for_a_german_parks_team(policy) -> None:  # type: ignore[no-untyped-def]
    en = _by_id(irrigation_priority(park_stats(), policy, coverage=COVERAGE, reference="2019-2021"))
    de = _by_id(irrigation_priority(park_stats(), policy, coverage=COVERAGE, reference="2019-2021", language="de"))
    assert de.loc["p-dry", "why"] == "Feuchte (NDMI) 0,12 unter dem Median 2019-2021"
    assert de.loc["p-ok", "why"].startswith("kein Wasserstress")
    gap = de.loc["p-gap", "why"]
    assert "nur 42 % des Parks im Zeitfenster klar gesehen (Minimum 60 %)" in gap
    assert "nur 1 klare Aufnahme im Zeitfenster" in gap
    # the language changes the words, never the decision
    cols = ["score", "priority_class", "rank"]
    pd.testing.assert_frame_equal(de[cols], en[cols])
    with pytest.raises(InvalidInputError, match="language 'fr'"):
        irrigation_priority(park_stats(), policy, coverage=COVERAGE, language="fr")


@pytest.mark.parametrize(
    ("heat", "score", "cls"),
    [
        (math.nan, 0.44, 2),  # heat unknown: ignored
        (0.5, 0.54, 2),  # 0.44 + 0.2 * 0.5
        (1.0, 0.64, 1),  # 0.44 + 0.2 * 1.0 crosses the urgent threshold
    ],
)
def test_heat_exposure_raises_the_score_only_when_known(policy, heat, score, cls) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(
        [stats_row("m", ndmi_anomaly=-0.05, ndvi_anomaly=-0.04, evi_anomaly=-0.04,
                   stressed_share=0.20, heat_exposure=heat)]
    )  # fmt: skip
    row = irrigation_priority(frame, policy, coverage=COVERAGE).iloc[0]
    assert row["score"] == pytest.approx(score)
    assert row["priority_class"] == cls


def test_missing_index_is_renormalised_not_counted_as_zero(policy) -> None:  # type: ignore[no-untyped-def]
    # NDMI and EVI unknown: g = 1 (NDVI -0.10), s = 1 (50 %): (0.3 + 0.3) / 0.6 = 1.0
    frame = pd.DataFrame(
        [stats_row("n", ndmi_anomaly=math.nan, evi_anomaly=math.nan, ndvi_anomaly=-0.10,
                   stressed_share=0.5)]
    )  # fmt: skip
    row = irrigation_priority(frame, policy, coverage=COVERAGE).iloc[0]
    assert row["score"] == pytest.approx(1.0)
    assert row["priority_class"] == 1


def test_ties_rank_the_larger_moisture_deficit_first(policy) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame(
        [
            stats_row(
                "b", ndmi_anomaly=-0.20, ndvi_anomaly=-0.2, evi_anomaly=-0.2, stressed_share=1
            ),
            stats_row(
                "a", ndmi_anomaly=-0.30, ndvi_anomaly=-0.2, evi_anomaly=-0.2, stressed_share=1
            ),
        ]
    )
    out = _by_id(irrigation_priority(frame, policy, coverage=COVERAGE))
    assert out.loc["a", "rank"] == 1 and out.loc["b", "rank"] == 2


def test_table_errors_are_invalid_input(policy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="lack column"):
        irrigation_priority(park_stats().drop(columns=["stressed_share"]), policy, coverage=COVERAGE)
    bad = park_stats()
    bad.loc[0, "status"] = "FINE"
    with pytest.raises(InvalidInputError, match="unknown status"):
        irrigation_priority(bad, policy, coverage=COVERAGE)


def _raw() -> dict:  # type: ignore[type-arg]
    path = Path(__file__).parents[2] / "alerts" / "policies" / "irrigation_priority.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_policy_refuses_bare_numbers_with_a_fix() -> None:
    raw = _raw()
    raw["classes"]["urgent"] = 0.6
    with pytest.raises(InvalidInputError, match=r"bare number.*'0\.6 1'"):
        parse_priority_policy(raw, "test.yaml")
    raw = _raw()
    raw["full_stress"]["ndmi_anomaly"] = "-0.05"
    with pytest.raises(InvalidInputError, match=r"full_stress\.ndmi_anomaly.*bare number"):
        parse_priority_policy(raw, "test.yaml")


def test_policy_refuses_unknown_keys() -> None:
    raw = _raw()
    raw["weights"]["moisure"] = "0.1 1"
    with pytest.raises(InvalidInputError, match=r"unknown key.*moisure.*known keys: moisture"):
        parse_priority_policy(raw, "test.yaml")
    raw = _raw()
    raw["weigths"] = {}
    with pytest.raises(InvalidInputError, match=r"unknown key.*weigths"):
        parse_priority_policy(raw, "test.yaml")


def test_policy_refuses_inconsistent_values(tmp_path: Path) -> None:
    raw = _raw()
    raw["weights"]["moisture"] = "0.5 1"
    with pytest.raises(InvalidInputError, match=r"sum to 1\.1"):
        parse_priority_policy(raw)
    raw = _raw()
    raw["classes"]["high"] = "0.7 1"
    with pytest.raises(InvalidInputError, match="strictly"):
        parse_priority_policy(raw)
    raw = _raw()
    raw["full_stress"]["ndvi_anomaly"] = "0.1 1"
    with pytest.raises(InvalidInputError, match="negative"):
        parse_priority_policy(raw)
    path = tmp_path / "rule.yaml"
    path.write_text("version: x\nweights: [\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_priority_policy(path)


def test_policy_from_file_changes_the_classes(tmp_path: Path) -> None:
    raw = _raw()
    raw["version"] = "irrigation-priority-test"
    raw["classes"] = {"urgent": "99 %", "high": "98.5 %", "watch": "98 %"}
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    strict = load_priority_policy(path)
    out = _by_id(irrigation_priority(park_stats(), strict, coverage=COVERAGE))
    assert out.loc["p-dry", "priority_class"] == 4  # 0.97 is below the 98 % watch threshold
    assert out.attrs["irrigation_rule_version"] == "irrigation-priority-test"
