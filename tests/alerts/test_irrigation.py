"""Irrigation priority score, classes, ranks, reasons and the rule file.

Expected scores are computed by hand from the packaged rule irrigation-priority-2.0.0, written out
in the comments, not recomputed with the code under test: one unit of evidence is an anomaly of
-0.10 (NDMI, NDVI, EVI) or a stressed share of 50 %; core evidence C = 0.4 m + 0.3 g + 0.3 s
(weights renormalised over the known terms); E = C x (1 + 0.5 min(days / 28, 1)) x (1 + 0.25 h);
score = E / (1 + E); classes from 0.50 (urgent), 0.40 (high), 0.20 (watch).
"""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta
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

END = date(2022, 7, 26)


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_priority_policy()


def _by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("park_id")


def _one(policy, **values) -> pd.Series:  # type: ignore[no-untyped-def]
    """The scored row of one park with the given statistics (no history)."""
    frame = pd.DataFrame([stats_row("x", **values)])
    return irrigation_priority(frame, policy, coverage=COVERAGE).iloc[0]


def test_packaged_policy_is_versioned(policy) -> None:  # type: ignore[no-untyped-def]
    assert policy.version == "irrigation-priority-2.0.0"
    assert policy.class_thresholds == (0.5, 0.4, 0.2)
    assert policy.urgent == pytest.approx(0.5)
    assert policy.unit_evidence["ndmi_anomaly"] == pytest.approx(-0.10)
    assert policy.unit_evidence["stressed_share"] == pytest.approx(0.5)
    assert policy.persistence_full_days == pytest.approx(28.0)
    assert (policy.persistence_gain, policy.heat_gain) == (pytest.approx(0.5), pytest.approx(0.25))


def test_scores_classes_and_ranks_match_hand_computation(policy) -> None:  # type: ignore[no-untyped-def]
    out = _by_id(
        irrigation_priority(park_stats(), policy, coverage=COVERAGE, reference="2019-2021")
    )
    # dry: m = 1.2, g = mean(1.0, 0.8) = 0.9, s = 1.2: C = 0.48 + 0.27 + 0.36 = 1.11 -> 1.11 / 2.11
    assert out.loc["p-dry", "score"] == pytest.approx(1.11 / 2.11)
    # mid: m = 0.9, g = 0.7, s = 0.7: C = 0.36 + 0.21 + 0.21 = 0.78 -> 0.78 / 1.78 = 0.438
    assert out.loc["p-mid", "score"] == pytest.approx(0.78 / 1.78)
    # ok: m = 0 (NDMI above the median), g = 0, s = 0.04: C = 0.012 -> 0.012 / 1.012
    assert out.loc["p-ok", "score"] == pytest.approx(0.012 / 1.012)
    # degraded: m = 0.2, g = mean(0.9, 0.2) = 0.55, s = 0.2: C = 0.08 + 0.165 + 0.06 = 0.305
    assert out.loc["p-deg", "score"] == pytest.approx(0.305 / 1.305)
    assert out["priority_class"].dtype == "Int64"
    assert out["rank"].dtype == "Int64"
    assert out.loc["p-dry", "priority_class"] == 1  # 0.526 >= 0.50
    assert out.loc["p-mid", "priority_class"] == 2  # 0.438 >= 0.40
    assert out.loc["p-deg", "priority_class"] == 3  # 0.234 >= 0.20
    assert out.loc["p-ok", "priority_class"] == 4
    assert [out.loc[p, "rank"] for p in ("p-dry", "p-mid", "p-deg", "p-ok")] == [1, 2, 3, 4]
    assert (out.loc[["p-dry", "p-mid", "p-deg", "p-ok"], "stressed_days"] == 0).all()


def test_a_watch_park(policy) -> None:  # type: ignore[no-untyped-def]
    # m = 0.4, g = 0.3, s = 0.4: C = 0.16 + 0.09 + 0.12 = 0.37 -> 0.37 / 1.37 = 0.270: watch
    row = _one(
        policy, ndmi_anomaly=-0.04, ndvi_anomaly=-0.03, evi_anomaly=-0.03, stressed_share=0.2
    )
    assert row["score"] == pytest.approx(0.37 / 1.37)
    assert row["priority_class"] == 3


def test_data_gap_gets_no_score_class_rank_or_days_and_says_why(policy) -> None:  # type: ignore[no-untyped-def]
    history = pd.DataFrame(
        {"park_id": ["p-gap"], "window_end": [END - timedelta(days=7)], "status": ["OK"],
         "priority_class": pd.array([1], dtype="Int64")}
    )  # fmt: skip
    out = _by_id(
        irrigation_priority(
            park_stats(), policy, coverage=COVERAGE, history=history, window_end=END
        )
    )
    assert pd.isna(out.loc["p-gap", "priority_class"])
    assert pd.isna(out.loc["p-gap", "rank"])
    assert pd.isna(out.loc["p-gap", "stressed_days"])
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
    assert {"score", "priority_class", "rank", "stressed_days", "why"} <= set(out.columns)
    assert out.attrs["irrigation_rule_version"] == "irrigation-priority-2.0.0"


def test_why_names_the_main_driver(policy) -> None:  # type: ignore[no-untyped-def]
    out = _by_id(
        irrigation_priority(park_stats(), policy, coverage=COVERAGE, reference="2019-2021")
    )
    assert out.loc["p-dry", "why"] == "moisture (NDMI) 0.12 below the 2019-2021 median"
    # degraded park, class 3: greenness (0.165) outweighs moisture (0.08); NDVI is the larger
    # deficit; and it was only partly seen
    assert out.loc["p-deg", "why"].startswith("greenness (NDVI) 0.09 below the 2019-2021 median")
    assert "75 %" in out.loc["p-deg", "why"]
    assert out.loc["p-ok", "why"].startswith("no water stress")
    # greenness as the driver: m = 0.2, g = 1.2, s = 0.4: 0.08 < 0.36 > 0.12
    row = _one(
        policy, ndmi_anomaly=-0.02, ndvi_anomaly=-0.12, evi_anomaly=-0.12, stressed_share=0.2
    )
    assert row["why"] == "greenness (NDVI) 0.12 below the reference median"
    # stressed share as the driver: m = 0, g = 0, s = 1.6 -> C = 0.48, score 0.324, class 3
    row = _one(policy, ndmi_anomaly=0.01, stressed_share=0.8)
    assert row["priority_class"] == 3
    assert row["why"] == "80 % of the clear area stressed"


def test_why_in_german_for_a_german_parks_team(policy) -> None:  # type: ignore[no-untyped-def]
    en = _by_id(irrigation_priority(park_stats(), policy, coverage=COVERAGE, reference="2019-2021"))
    de = _by_id(
        irrigation_priority(
            park_stats(), policy, coverage=COVERAGE, reference="2019-2021", language="de"
        )
    )
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
    ("heat", "evidence", "cls"),
    [
        (math.nan, 0.88, 2),  # heat unknown: factor 1
        (0.0, 0.88, 2),  # known, no hotspot: factor 1
        (0.5, 0.88 * 1.125, 2),  # 0.99 -> 0.497
        (1.0, 0.88 * 1.25, 1),  # 1.10 -> 0.524 crosses the urgent threshold
    ],
)
def test_heat_exposure_multiplies_the_evidence(policy, heat, evidence, cls) -> None:  # type: ignore[no-untyped-def]
    # m = 1.0, g = 0.8, s = 0.8: C = 0.4 + 0.24 + 0.24 = 0.88
    row = _one(policy, ndmi_anomaly=-0.10, ndvi_anomaly=-0.08, evi_anomaly=-0.08,
               stressed_share=0.40, heat_exposure=heat)  # fmt: skip
    assert row["score"] == pytest.approx(evidence / (1 + evidence))
    assert row["priority_class"] == cls
    if heat > 0:
        assert row["why"].endswith(f"; heat exposure {heat:.2f}")


def test_heat_alone_never_makes_a_priority(policy) -> None:  # type: ignore[no-untyped-def]
    row = _one(policy, heat_exposure=1.0)  # every anomaly 0, fully in a heat hotspot
    assert row["score"] == 0.0 and row["priority_class"] == 4


def test_missing_index_is_renormalised_not_counted_as_zero(policy) -> None:  # type: ignore[no-untyped-def]
    # NDMI and EVI unknown: g = 1 (NDVI -0.10), s = 1 (50 %): (0.3 + 0.3) / 0.6 = 1.0 -> 0.5
    row = _one(policy, ndmi_anomaly=math.nan, evi_anomaly=math.nan, ndvi_anomaly=-0.10,
               stressed_share=0.5)  # fmt: skip
    assert row["score"] == pytest.approx(0.5)
    assert row["priority_class"] == 1


def test_no_saturation_two_urgent_parks_keep_their_order(policy) -> None:  # type: ignore[no-untyped-def]
    """An NDMI deficit of 0.30 is ranked above one of 0.13 (both urgent, rule 1.0.0 tied them)."""
    common = {"ndvi_anomaly": -0.20, "evi_anomaly": -0.20, "stressed_share": 0.9}
    frame = pd.DataFrame(
        [stats_row("moderate", ndmi_anomaly=-0.13, **common),
         stats_row("severe", ndmi_anomaly=-0.30, **common)]
    )  # fmt: skip
    out = _by_id(irrigation_priority(frame, policy, coverage=COVERAGE))
    # g = 2, s = 1.8: severe C = 1.2 + 0.6 + 0.54 = 2.34, moderate C = 0.52 + 0.6 + 0.54 = 1.66
    assert out.loc["severe", "score"] == pytest.approx(2.34 / 3.34)
    assert out.loc["moderate", "score"] == pytest.approx(1.66 / 2.66)
    assert (out["priority_class"] == 1).all()
    assert out.loc["severe", "rank"] == 1 and out.loc["moderate", "rank"] == 2


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("ndmi_anomaly", [0.0, -0.02, -0.05, -0.10, -0.20, -0.40, -0.80]),
        ("ndvi_anomaly", [0.0, -0.02, -0.05, -0.10, -0.20, -0.40, -0.80]),
        ("evi_anomaly", [0.0, -0.02, -0.05, -0.10, -0.20, -0.40, -0.80]),
        ("stressed_share", [0.0, 0.1, 0.3, 0.5, 0.8, 1.0]),
        ("heat_exposure", [0.0, 0.25, 0.5, 1.0]),
    ],
)
def test_score_rises_strictly_with_each_evidence_term(policy, column, values) -> None:  # type: ignore[no-untyped-def]
    """Monotone in every term, and still rising far beyond one unit: nothing saturates."""
    base = {"ndmi_anomaly": -0.03, "ndvi_anomaly": -0.03, "evi_anomaly": -0.03,
            "stressed_share": 0.1, "heat_exposure": 0.0}  # fmt: skip
    scores = [_one(policy, **{**base, column: v})["score"] for v in values]
    assert all(b > a for a, b in itertools.pairwise(scores)), scores
    assert max(scores) < 1.0


def test_score_rises_with_persistence_up_to_four_weeks(policy) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame([stats_row("p", ndmi_anomaly=-0.09, ndvi_anomaly=-0.07,
                                    evi_anomaly=-0.07, stressed_share=0.35)])  # fmt: skip
    scores = []
    for weeks in range(6):  # the park at class 2 in every earlier window, `weeks` of them
        history = pd.DataFrame(
            {"park_id": ["p"] * weeks,
             "window_end": [END - timedelta(days=7 * k) for k in range(1, weeks + 1)],
             "status": ["OK"] * weeks, "priority_class": pd.array([2] * weeks, dtype="Int64")}
        )  # fmt: skip
        row = irrigation_priority(
            frame, policy, coverage=COVERAGE, history=history, window_end=END
        ).iloc[0]
        scores.append(row["score"])
        assert row["stressed_days"] == min(7 * weeks, 28)
    # C = 0.78: x 1, 1.125, 1.25, 1.375, 1.5, 1.5 (28 days count fully)
    for weeks, score in enumerate(scores):
        e = 0.78 * (1 + 0.5 * min(7 * weeks, 28) / 28)
        assert score == pytest.approx(e / (1 + e))
    assert scores[0] < scores[1] < scores[2] < scores[3] < scores[4] == scores[5]


def _history(rows: list[tuple[str, int, str, int | None]]) -> pd.DataFrame:
    """(park, days before END, status, class) -> history table."""
    return pd.DataFrame(
        {"park_id": [r[0] for r in rows],
         "window_end": [END - timedelta(days=r[1]) for r in rows],
         "status": [r[2] for r in rows],
         "priority_class": pd.array([r[3] for r in rows], dtype="Int64")}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "days"),
    [
        ([], 0),
        ([("p", 7, "OK", 3), ("p", 14, "OK", 2), ("p", 21, "OK", 4)], 14),
        ([("p", 7, "DATA_GAP", None), ("p", 14, "OK", 3)], 14),  # a cloudy week is no recovery
        ([("p", 7, "OK", 4), ("p", 14, "OK", 1)], 0),  # recovered last week
        ([("p", 7 * k, "OK", 1) for k in range(1, 7)], 28),  # older than 28 days: not looked at
        ([("p", 35, "OK", 1)], 0),
        ([("p", 0, "OK", 1), ("p", -7, "OK", 1)], 0),  # this window and later ones are no history
        ([("q", 7, "OK", 1), ("p", 7, "DEGRADED", 3)], 7),  # only the park's own windows
    ],
)
def test_stressed_days_from_the_history(policy, rows, days) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame([stats_row("p", ndmi_anomaly=-0.05)])
    row = irrigation_priority(
        frame, policy, coverage=COVERAGE, history=_history(rows), window_end=END
    ).iloc[0]
    assert row["stressed_days"] == days


def _ramp_week(k: int) -> dict[str, float]:
    """Week k of a park drying steadily: NDMI -0.025 a week, NDVI and EVI -0.02, share +10 %."""
    return {"ndmi_anomaly": -0.025 * k, "ndvi_anomaly": -0.02 * k, "evi_anomaly": -0.02 * k,
            "stressed_share": min(0.1 * k, 1.0)}  # fmt: skip


def _replay(policy, weeks: list[dict[str, float]]) -> list[tuple[int, float, int]]:  # type: ignore[no-untyped-def]
    """Score a park week by week, each window seeing the classes of the earlier ones."""
    history = _history([])
    out = []
    for k, values in enumerate(weeks):
        end = END + timedelta(days=7 * k)
        row = irrigation_priority(
            pd.DataFrame([stats_row("p", **values)]), policy, coverage=COVERAGE,
            history=history, window_end=end,
        ).iloc[0]  # fmt: skip
        out.append((int(row["priority_class"]), float(row["score"]), int(row["stressed_days"])))
        history = pd.concat(
            [history, pd.DataFrame({"park_id": ["p"], "window_end": [end], "status": ["OK"],
                                    "priority_class": pd.array([row["priority_class"]], dtype="Int64")})],
            ignore_index=True,
        )  # fmt: skip
    return out


def test_a_gradual_ramp_warns_before_it_is_urgent(policy) -> None:  # type: ignore[no-untyped-def]
    replay = _replay(policy, [_ramp_week(k) for k in range(7)])
    classes = [c for c, _, _ in replay]
    # week 1: C = 0.1 + 0.06 + 0.06 = 0.22 -> 0.180 (4); week 2: C = 0.44 -> 0.306 (3);
    # week 3: C = 0.3 + 0.18 + 0.18 = 0.66 x 1.125 (7 days) = 0.7425 -> 0.426 (2);
    # week 4: C = 0.4 + 0.24 + 0.24 = 0.88 x 1.25 (14 days) = 1.10 -> 0.524 (1)
    assert classes[:5] == [4, 4, 3, 2, 1]
    assert [round(s, 3) for _, s, _ in replay[1:5]] == [0.180, 0.306, 0.426, 0.524]
    assert [d for _, _, d in replay[:6]] == [0, 0, 0, 7, 14, 21]
    first_urgent = classes.index(1)
    assert min(classes[:first_urgent]) in (2, 3) and classes.index(3) < first_urgent
    scores = [s for _, s, _ in replay]
    assert all(b > a for a, b in itertools.pairwise(scores))  # keeps rising when urgent


def test_an_unstressed_park_stays_none_all_season(policy) -> None:  # type: ignore[no-untyped-def]
    noise = [0.004, -0.008, 0.002, -0.012, 0.009, -0.005, -0.010, 0.003, -0.007, 0.006, -0.011, 0.0]
    weeks = [{"ndmi_anomaly": n, "ndvi_anomaly": -n / 2, "evi_anomaly": n,
              "stressed_share": 0.01 if n < -0.01 else 0.0} for n in noise]  # fmt: skip
    replay = _replay(policy, weeks)
    assert {c for c, _, _ in replay} == {4}
    assert max(s for _, s, _ in replay) < 0.1


def test_score_depends_on_the_evidence_not_on_names_ids_order_or_dates(policy) -> None:  # type: ignore[no-untyped-def]
    """Held out (issue 11): other ids, names, row order and another season's dates (another year
    and weekday) give every park the same score, class, rank and stressed days."""
    rows = [("p-dry", 7, "OK", 2), ("p-dry", 14, "OK", 3), ("p-mid", 7, "DATA_GAP", None),
            ("p-mid", 14, "OK", 3), ("p-ok", 7, "OK", 4)]  # fmt: skip
    keep = ["score", "priority_class", "rank", "stressed_days", "status"]
    base = _by_id(
        irrigation_priority(
            park_stats(), policy, coverage=COVERAGE, history=_history(rows), window_end=END
        )
    )[keep]
    rename = {p: f"z{n}-{p[::-1]}" for n, p in enumerate(park_stats()["park_id"])}
    shift = timedelta(days=3 * 365 + 100)  # 2025, another weekday and month
    other = park_stats().iloc[::-1].reset_index(drop=True)
    other["park_id"] = other["park_id"].map(rename)
    other["name"] = [f"Anlage {k}" for k in range(len(other))]
    history = _history(rows).assign(
        park_id=lambda h: h["park_id"].map(rename), window_end=lambda h: h["window_end"] + shift
    )
    moved = _by_id(
        irrigation_priority(
            other, policy, coverage=COVERAGE, history=history, window_end=END + shift
        )
    )[keep].rename(index={v: k for k, v in rename.items()})
    pd.testing.assert_frame_equal(moved.loc[base.index], base)
    assert base["stressed_days"].max() > 0  # the history counted, so the shifted dates were read


def test_history_errors_are_invalid_input(policy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match=r"history lacks column.*priority_class"):
        irrigation_priority(park_stats(), policy, coverage=COVERAGE,
                            history=_history([]).drop(columns="priority_class"), window_end=END)  # fmt: skip
    with pytest.raises(InvalidInputError, match="without window_end"):
        irrigation_priority(park_stats(), policy, coverage=COVERAGE, history=_history([]))


def test_why_says_how_long_a_park_has_been_stressed(policy) -> None:  # type: ignore[no-untyped-def]
    frame = park_stats()
    history = _history([("p-mid", 7, "OK", 3), ("p-mid", 14, "OK", 3)])
    for lang, text in (("en", "; stressed for 14 days"), ("de", "; seit 14 Tagen gestresst")):
        out = _by_id(irrigation_priority(frame, policy, coverage=COVERAGE, history=history,
                                         window_end=END, language=lang))  # fmt: skip
        assert out.loc["p-mid", "why"].endswith(text)
        assert out.loc["p-mid", "stressed_days"] == 14
        assert (
            "gestresst" not in out.loc["p-dry", "why"]
            and "stressed for" not in out.loc["p-dry", "why"]
        )


def test_table_errors_are_invalid_input(policy) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInputError, match="lack column"):
        irrigation_priority(
            park_stats().drop(columns=["stressed_share"]), policy, coverage=COVERAGE
        )
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
    raw["unit_evidence"]["ndmi_anomaly"] = "-0.05"
    with pytest.raises(InvalidInputError, match=r"unit_evidence\.ndmi_anomaly.*bare number"):
        parse_priority_policy(raw, "test.yaml")
    raw = _raw()
    raw["persistence"]["full"] = "28"
    with pytest.raises(InvalidInputError, match=r"persistence\.full.*bare number"):
        parse_priority_policy(raw, "test.yaml")


def test_policy_refuses_unknown_keys_and_names_the_version_1_sections() -> None:
    raw = _raw()
    raw["weights"]["moisure"] = "0.1 1"
    with pytest.raises(InvalidInputError, match=r"unknown key.*moisure.*known keys: moisture"):
        parse_priority_policy(raw, "test.yaml")
    raw = _raw()
    raw["weigths"] = {}
    with pytest.raises(InvalidInputError, match=r"unknown key.*weigths"):
        parse_priority_policy(raw, "test.yaml")
    raw = _raw()
    raw["full_stress"] = raw.pop("unit_evidence")
    with pytest.raises(InvalidInputError, match=r"'full_stress'.*became 'unit_evidence'"):
        parse_priority_policy(raw, "old.yaml")


@pytest.mark.parametrize(
    ("section", "key", "value", "match"),
    [
        ("weights", "moisture", "0.5 1", r"sum to 1\.1"),
        ("classes", "high", "0.7 1", "strictly"),
        ("classes", "urgent", "1 1", "never reaches 1"),
        ("unit_evidence", "ndvi_anomaly", "0.1 1", "negative"),
        ("unit_evidence", "stressed_share", "0 %", "positive"),
        ("persistence", "gain", "-0.1 1", "0 or more"),
        ("heat", "gain", "-1 1", "0 or more"),
        ("persistence", "full", "0 d", "positive"),
    ],
)
def test_policy_refuses_inconsistent_values(section, key, value, match) -> None:  # type: ignore[no-untyped-def]
    raw = _raw()
    raw[section][key] = value
    with pytest.raises(InvalidInputError, match=match):
        parse_priority_policy(raw)


def test_policy_file_errors(tmp_path: Path) -> None:
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
    assert out.loc["p-dry", "priority_class"] == 4  # 0.526 is below the 98 % watch threshold
    assert out.attrs["irrigation_rule_version"] == "irrigation-priority-test"
