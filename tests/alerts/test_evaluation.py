"""Backtest scoring on hand-made windows and truth: every figure below is worked out by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from alerts.evaluation import (
    Settings,
    compare_summaries,
    data_gap_table,
    event_outcomes,
    false_alarm_table,
    group_subjects,
    order_agreement,
    revision_counts,
    summarise,
)
from alerts.evaluation.truth import truth_from_csv, truth_from_demo
from alerts.policies import BUILT_IN, OVERLAY_ENV, read_policy
from core.errors import InvalidInputError

GAP = "DATA_GAP"
WEEKS = [date(2022, 7, 5), date(2022, 7, 12), date(2022, 7, 19), date(2022, 7, 26),
         date(2022, 8, 2), date(2022, 8, 9)]  # fmt: skip


def _windows(classes: dict[str, list[int | None]]) -> pd.DataFrame:
    """Subject -> class per week of WEEKS (None = DATA_GAP, a shorter list ends early)."""
    rows = []
    for subject, series in classes.items():
        for end, klass in zip(WEEKS, series, strict=False):
            rows.append({
                "product": "irrigation", "subject_id": subject, "window_end": end,
                "status": GAP if klass is None else "OK",
                "priority_class": klass, "score": None if klass is None else 1.0 / klass,
            })  # fmt: skip
    return pd.DataFrame(rows)


def _truth(*rows: tuple[str, str, date | None, date | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"product": "irrigation", "subject_id": s, "kind": k, "start": a, "end": b}
         for s, k, a, b in rows],
        columns=["product", "subject_id", "kind", "start", "end"],
    )  # fmt: skip


WINDOWS = _windows({
    "a": [4, 3, 2, 1, 1, 1],  # gradual: watch 07-12, high 07-19, urgent 07-26
    "b": [3, 4, 1, 1, 4, 1],  # a control: 3 false urgent windows in 2 episodes, 1 false watch
    "c": [None] * 6,  # hidden
    "d": [1, None, None, 1, 1, 4],  # watered 07-01..07-15: urgent until 07-29 is right, 08-02 not
})  # fmt: skip
TRUTH = _truth(
    ("a", "event", date(2022, 7, 10), None),
    ("b", "control", None, None),
    ("c", "hidden", None, None),
    ("d", "event", date(2022, 7, 1), date(2022, 7, 15)),
    ("e", "event", date(2022, 8, 20), None),  # starts after the last window: not scored
)


def test_events_detections_and_lead_times_by_hand() -> None:
    ev = event_outcomes(WINDOWS, TRUTH).set_index("subject_id")
    a = ev.loc["a"]
    assert bool(a["detected"]) and a["best_class"] == 1
    assert a["first_warning"] == date(2022, 7, 12) and a["first_high"] == date(2022, 7, 19)
    assert a["first_alarm"] == date(2022, 7, 26)
    assert a["weeks_warning_to_alarm"] == 2.0  # 14 days
    assert a["weeks_onset_to_warning"] == 0.3  # 2 days
    assert a["weeks_onset_to_alarm"] == 2.3  # 16 days
    assert not a["censored"] and a["windows"] == 5  # 07-12 .. 08-09 (07-05 is before onset)
    d = ev.loc["d"]
    # windows 07-05 .. 07-29 (end + 14 days of grace): 07-05, 07-12, 07-19, 07-26; two gaps
    assert d["windows"] == 4 and d["data_gap_share"] == 0.5
    assert d["weeks_warning_to_alarm"] == 0.0 and d["weeks_onset_to_alarm"] == 0.6  # 4 days
    assert d["censored"]  # urgent in the very first window: it may have been warned earlier
    assert d["cleared"] is True  # class 4 in its last window (08-09) after the grace
    e = ev.loc["e"]
    assert not e["in_period"] and not e["detected"] and not e["evaluated"]


def test_false_alarms_per_subject_and_season_by_hand() -> None:
    fa = false_alarm_table(WINDOWS, TRUTH).set_index("subject_id")
    assert set(fa.index) == {"b", "d"}
    assert fa.loc["b", "alarm_windows"] == 3 and fa.loc["b", "alarm_episodes"] == 2
    assert fa.loc["b", "warning_windows"] == 1 and bool(fa.loc["b", "control"])
    assert fa.loc["b", "first_alarm"] == date(2022, 7, 19) and fa.loc["b", "season"] == 2022
    assert fa.loc["d", "alarm_windows"] == 1 and fa.loc["d", "first_alarm"] == date(2022, 8, 2)
    # with the alarm at class 2, b's watch window stays a warning and nothing else changes
    strict = false_alarm_table(WINDOWS, TRUTH, Settings(alarm_class=2)).set_index("subject_id")
    assert strict.loc["b", "alarm_windows"] == 3


def test_data_gap_share_and_hidden_subjects() -> None:
    gaps = data_gap_table(WINDOWS, TRUTH).set_index("subject_id")
    assert gaps.loc["c", "share"] == 1.0 and bool(gaps.loc["c", "hidden"])
    assert gaps.loc["d", "data_gap"] == 2 and gaps.loc["d", "share"] == pytest.approx(2 / 6)
    assert gaps.loc["a", "share"] == 0.0


REVISIONS = [
    {"hazard": "irrigation", "subject": "a", "msg_type": "Alert", "level": 4},
    {"hazard": "irrigation", "subject": "d", "msg_type": "Alert", "level": 4},
    {"hazard": "irrigation", "subject": "d", "msg_type": "Cancel", "level": 4},
    {"hazard": "notice", "subject": "irrigation/c", "msg_type": "Alert", "level": 1},
    {"hazard": "notice", "subject": "digest/irrigation/demo", "msg_type": "Alert", "level": 1},
    {"hazard": "notice", "subject": "deformation/seg-1", "msg_type": "Alert", "level": 1},
    {"hazard": "deformation", "subject": "seg-1", "msg_type": "Alert", "level": 3},
]


def test_revision_counts() -> None:
    counts = revision_counts(REVISIONS, "irrigation")
    assert counts == {
        "work_orders": 3, "by_type": {"Alert": 2, "Cancel": 1}, "events": 2, "notices": 1,
        "digests": 1, "total": 5,
    }  # fmt: skip


def test_summary_figures_by_hand() -> None:
    s = summarise(WINDOWS, TRUTH, REVISIONS)["irrigation"]
    assert s["events"] == 3 and s["events_in_period"] == 2 and s["detected"] == 2
    assert s["recall"] == 1.0 and s["missed"] == []
    assert s["false_alarm_windows"] == 4 and s["false_alarm_episodes"] == 3
    assert s["false_alarms_on_controls"] == 3 and s["false_warning_windows"] == 1
    assert s["false_alarm_subjects"] == ["b", "d"]
    # 4 subjects with windows, one season: 4 false urgent windows / 4 subject-seasons
    assert s["false_alarms_per_subject_season"] == 1.0
    assert s["subject_windows"] == 24 and s["data_gap_share"] == round(8 / 24, 4)
    assert s["hidden_subjects"] == 1 and s["hidden_always_data_gap"] == 1
    assert s["mean_weeks_warning_to_alarm"] == 1.0  # (2.0 + 0.0) / 2
    assert s["warned_before_alarm"] == 1 and s["lead_times_censored"] == 1
    assert s["revisions"]["total"] == 5


def test_a_missed_event_lowers_recall_and_the_comparison_says_worse() -> None:
    baseline = summarise(WINDOWS, TRUTH, REVISIONS)
    quiet = WINDOWS.assign(priority_class=WINDOWS["priority_class"].where(
        WINDOWS["priority_class"].isna(), 4))  # fmt: skip
    candidate = summarise(quiet, TRUTH, [])
    assert candidate["irrigation"]["recall"] == 0.0
    assert candidate["irrigation"]["missed"] == ["a", "d"]
    cmp = compare_summaries(baseline, candidate)["irrigation"]
    assert cmp["figures"]["recall"] == {"baseline": 1.0, "candidate": 0.0, "delta": -1.0}
    # fewer false alarms too (none at all), so the honest verdict is mixed
    assert cmp["worse"] == ["recall", "detected"] and "false_alarm_windows" in cmp["better"]
    assert cmp["verdict"] == "mixed"
    assert compare_summaries(baseline, baseline)["irrigation"]["verdict"] == "same"
    noisy = WINDOWS.assign(priority_class=WINDOWS["priority_class"].where(
        WINDOWS["priority_class"].isna(), 1))  # fmt: skip
    # every window urgent: same recall, more false alarms; the false watch that became a false
    # urgent is not "better" (secondary figures only decide when the primary ones tie)
    noisy_cmp = compare_summaries(baseline, summarise(noisy, TRUTH, []))["irrigation"]
    # (a's window before its onset is a new false episode, b's two episodes merge into one)
    assert noisy_cmp["verdict"] == "worse"
    assert noisy_cmp["worse"] == [
        "false_alarm_windows",
        "false_alarms_on_controls",
    ]


def test_demo_truth_is_read_tolerantly() -> None:
    doc = {
        "stressed_parks": [{"park_id": "p1", "onset": "2022-07-10", "ramp_days": 35,
                            "dry_fraction_by_date": {"2022-07-06": 0.0, "2022-07-11": 0.1,
                                                     "2022-08-30": 0.85}}],
        "watered_parks": [{"park_id": "p2", "onset": "2022-06-20", "watered": "2022-07-21",
                           "dry_fraction_by_date": {"2022-06-16": 0.0, "2022-07-01": 0.3,
                                                    "2022-08-20": 0.05, "2022-08-25": 0.0}}],
        "cloud_hidden_park": {"park_id": "p3", "dates": []},
        "unstressed_parks": ["p4", {"park_id": "p5"}],
        "a_key_from_a_later_demo": {"anything": 1},
    }  # fmt: skip
    truth = truth_from_demo(doc).set_index("subject_id")
    assert truth.loc["p1", "start"] == date(2022, 7, 10) and truth.loc["p1", "end"] is None
    assert truth.loc["p2", "end"] == date(2022, 8, 20)  # last date still dry, then back to 0
    assert truth.loc["p3", "kind"] == "hidden"
    assert list(truth.loc[["p4", "p5"], "kind"]) == ["control", "control"]
    many = truth_from_demo({"cloud_hidden_parks": [{"park_id": "x"}, "y"]})
    assert list(many["subject_id"]) == ["x", "y"]
    assert truth_from_demo({}).empty


def test_csv_truth_and_its_errors() -> None:
    text = "subject_id,product,start,end\naugarten,irrigation,2022-07-10,\nseg-7,deformation,2019-01-01,2023-12-31\n"
    truth = truth_from_csv(text)
    assert list(truth["kind"]) == ["event", "event"] and truth.loc[0, "end"] is None
    bad = {
        "park,start\nx,2022-01-01\n": "missing column(s) subject_id, product, end",
        "subject_id,product,start,end\nx,irrigation,22-07-10,\n": "line 2: start '22-07-10' is not a date",
        "subject_id,product,start,end\nx,irrigation,2022-07-10,2022-07-01\n": "before start",
        "subject_id,product,start,end\nx,floods,2022-07-10,\n": "product 'floods'",
        "subject_id,product,start,end\n": "no event rows",
    }
    for text, message in bad.items():
        with pytest.raises(
            InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")
        ):
            truth_from_csv(text)


def test_policy_overlay_replaces_only_the_names_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_in = (BUILT_IN / "irrigation_priority.yaml").read_text(encoding="utf-8")
    (tmp_path / "irrigation_priority.yaml").write_text(
        built_in.replace("\nversion:", "\nversion: overlay-test #", 1), encoding="utf-8"
    )
    monkeypatch.setenv(OVERLAY_ENV, str(tmp_path))
    doc = read_policy("irrigation_priority")
    assert doc.raw["version"] == "overlay-test" and doc.source.startswith(str(tmp_path))
    # irrigation.yaml is still the built-in one and takes its urgent limit from the overlay
    assert read_policy("irrigation").source == "irrigation.yaml"
    assert "overlay-test" in read_policy("irrigation").references


def test_an_event_seen_only_in_its_grace_is_neither_scored_nor_a_false_alarm() -> None:
    windows = _windows({"f": [1, 3]})  # 07-05 urgent, 07-12 watch
    truth = _truth(("f", "event", date(2022, 6, 1), date(2022, 7, 1)))  # grace until 07-15
    ev = event_outcomes(windows, truth).iloc[0]
    assert not ev["in_period"] and ev["windows"] == 2 and ev["detected"]
    s = summarise(windows, truth, [])["irrigation"]
    assert s["events_in_period"] == 0 and s["recall"] is None
    assert s["false_alarm_windows"] == 0 and s["false_warning_windows"] == 0


def test_deformation_sites_from_the_demo_truth_fold_their_segments() -> None:
    insar = {
        "subsiding_stretch": {"name": "subsiding", "line": "U3", "segment_ids": ["U3-047", "U3-048"]},
        "step": {"name": "works", "line": "U4", "known_event": True, "segment_ids": ["U4-010"]},
        "sparse_stretch": {"name": "sparse", "line": "U2", "segment_ids": ["U2-001", "U2-002"]},
    }  # fmt: skip
    truth = truth_from_demo({"insar": insar})
    assert list(zip(truth["subject_id"], truth["kind"], strict=True)) == [
        ("U3 subsiding", "event"), ("U4 works", "control"),
        ("U2-001", "hidden"), ("U2-002", "hidden"),
    ]  # fmt: skip
    unlisted = truth_from_demo({"insar": {"step": {**insar["step"], "known_event": False}}})
    assert list(unlisted["kind"]) == ["event"]
    assert truth_from_demo({"insar": {"subsiding_stretch": {"name": "x"}}}).empty  # no segments

    r1, r2 = date(2022, 12, 31), date(2023, 12, 31)
    rows = [  # (segment, release end, status, class, velocity)
        ("U3-047", r1, "OK", 3, -3.0), ("U3-048", r1, "OK", 1, -7.0),
        ("U3-047", r2, "DATA_GAP", None, None), ("U3-048", r2, "DATA_GAP", None, None),
        ("U4-010", r1, "OK", 1, -4.0), ("U1-001", r1, "OK", 4, 0.1),
    ]  # fmt: skip
    windows = pd.DataFrame(
        [{"product": "deformation", "subject_id": s, "window_end": e, "status": st,
          "priority_class": k, "score": v} for s, e, st, k, v in rows]
    )  # fmt: skip
    folded = group_subjects(windows, truth).set_index(["subject_id", "window_end"])
    assert folded.loc[("U3 subsiding", r1), "priority_class"] == 1  # best member class
    assert folded.loc[("U3 subsiding", r1), "score"] == -7.0
    assert folded.loc[("U3 subsiding", r2), "status"] == "DATA_GAP"  # every member a gap
    assert ("U1-001", r1) in folded.index and ("U3-047", r1) not in folded.index
    s = summarise(group_subjects(windows, truth), truth, [])["deformation"]
    assert s["recall"] == 1.0 and s["events_in_period"] == 1
    # the known works' warning is a false alarm on a control (explained, no work order due)
    assert s["false_alarms_on_controls"] == 1 and s["false_alarm_subjects"] == ["U4 works"]


def test_order_of_alarmed_scores_against_the_planted_order() -> None:
    end1, end2 = WEEKS[0], WEEKS[1]
    rows = [  # (park, window end, class, score); ranks: p1 driest, then p2, then p3
        ("p1", end1, 1, 0.95), ("p2", end1, 1, 0.60), ("p3", end1, 2, 0.45),
        ("p1", end2, 1, 0.90), ("p2", end2, 1, 0.70), ("p3", end2, 1, 0.80),
    ]  # fmt: skip
    windows = pd.DataFrame(
        [{"product": "irrigation", "subject_id": p, "window_end": e, "status": "OK",
          "priority_class": k, "score": v} for p, e, k, v in rows]
    )  # fmt: skip
    truth = _truth(*[(p, "event", date(2022, 6, 1), None) for p in ("p1", "p2", "p3")])
    assert order_agreement(windows, truth, "irrigation") is None  # the truth ranks nothing
    truth["rank"] = [1, 2, 3]
    order = order_agreement(windows, truth, "irrigation")
    # last window with two or more ranked urgent parks: 07-12; pairs (p1,p2) and (p1,p3) follow
    # the planted order, (p2,p3) does not (0.70 < 0.80): 2 of 3
    assert order == {
        "window_end": "2022-07-12", "planted_order": ["p1", "p2", "p3"],
        "score_order": ["p1", "p3", "p2"], "pairs": 3, "share": 0.667,
    }  # fmt: skip
    assert summarise(windows, truth, [])["irrigation"]["order_share"] == 0.667
    demo = truth_from_demo({"stressed_parks": [{"park_id": "a", "onset": "2022-07-01",
                                                "dryness_rank": 2}]})  # fmt: skip
    assert demo.loc[0, "rank"] == 2


def test_heat_forecasts_are_judged_on_their_issue_day() -> None:
    heat = {"weather": {"forecasts_with_heatwave": {"2022-07-18": ["2022-07-20", "2022-07-23"],
                                                   "2022-07-19": ["2022-07-20", "2022-07-24"]},
                        "forecasts_without_heatwave": ["2022-06-20", "2022-07-25"]}}  # fmt: skip
    truth = truth_from_demo({"heat": heat})
    assert list(truth["start"]) == [date(2022, 7, 18), date(2022, 7, 19)]
    assert set(truth["subject_id"]) == {"city"} and set(truth["kind"]) == {"event"}
    days = [date(2022, 6, 20), date(2022, 7, 18), date(2022, 7, 19), date(2022, 7, 25)]
    windows = pd.DataFrame(
        [{"product": "heat", "subject_id": "city", "window_end": d, "status": "OK",
          "priority_class": k, "score": None} for d, k in zip(days, [4, 1, 4, 1], strict=True)]
    )  # fmt: skip
    s = summarise(windows, truth, [])["heat"]
    # 07-19's heatwave got no bulletin; 07-25's bulletin is false: no 14-day grace for forecasts
    assert s["recall"] == 0.5 and s["missed"] == ["city"]
    assert s["false_alarm_windows"] == 1
    assert Settings().grace("heat") == 0 and Settings().grace("irrigation") == 14
