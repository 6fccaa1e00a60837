"""Backtest scoring: what a product said, window by window, against what really happened.

Pure functions on tables (no I/O), used by ``geospace backtest`` (``flows/backtest.py``) and unit
tested with hand-made tables (``tests/alerts/test_evaluation.py``).

Tables
------
windows
    One row per subject and evaluated window: ``product`` (``"irrigation"``), ``subject_id``,
    ``window_end`` (date), ``status`` (``OK``/``DEGRADED``/``DATA_GAP``), ``priority_class``
    (1 urgent, 2 high, 3 watch, 4 none; NaN when DATA_GAP) and ``score`` (NaN when DATA_GAP).
truth
    One row per known fact (:mod:`alerts.evaluation.truth` reads a demo ``truth.json`` or a CSV of
    observed events): ``product``, ``subject_id``, ``kind`` (``event``: something happened from
    ``start`` to ``end``, ``end`` empty while it lasts; ``control``: nothing happened; ``hidden``:
    the subject cannot be seen, DATA_GAP is the right answer), ``start``, ``end``.
revisions
    What the outbox holds (``geospace alerts list --json``): ``hazard``, ``subject``, ``msg_type``,
    ``level``, ``revision``.

Definitions (:class:`Settings`, the defaults follow the irrigation classes)
-----------------------------------------------------------------------------
- A window *belongs to* an event of its subject when ``start <= window_end <= end + grace``
  (``grace``: a trailing window still sees the event for its length after it ended; 0 for
  heat forecasts and deformation releases, :meth:`Settings.grace`).
- An event is *detected* when one of its windows reaches ``detect_class`` (class 1 or 2) or
  better. Recall = detected / events going on at one of the evaluated window ends at least (an
  event that ended before the first window, seen only in its grace, is not scored).
- A *warning* is class ``warn_class`` (3 watch) or better; an *alarm* is class ``alarm_class``
  (1 urgent: a work order for the crews).
- A *false alarm* is an alarm window outside every event of its subject; false warnings likewise
  for classes 2-3. They are counted per subject and season (the year of the window end), also as
  episodes (consecutive alarm windows count once).
- Lead times, in weeks (days / 7): from the first warning to the first alarm, and from the event
  start (the planted onset) to the first warning and to the first alarm. A lead time is *censored*
  when the subject was already warned in the first evaluated window (the warning may be older).
- DATA_GAP share: DATA_GAP windows / all windows; a ``hidden`` subject should be 1.
- Order: where the truth ranks subjects (``rank``, the demo's planted dryness), the share of
  pairs of alarmed subjects whose scores follow it (:func:`order_agreement`).
- A truth row may name ``members`` (a deformation site: its corridor segments):
  :func:`group_subjects` first folds the members' windows into one subject (its best class,
  DATA_GAP only when every member is), so a site counts once, found when any segment is.
- DATA_GAP is never an alarm and never counts as "no hazard": its windows are left out of the
  false-alarm count and reported as the DATA_GAP share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

__all__ = [
    "TRUTH_KINDS",
    "WINDOW_COLUMNS",
    "Settings",
    "compare_summaries",
    "data_gap_table",
    "event_outcomes",
    "false_alarm_table",
    "group_subjects",
    "order_agreement",
    "revision_counts",
    "summarise",
]

WINDOW_COLUMNS = ("product", "subject_id", "window_end", "status", "priority_class", "score")
TRUTH_COLUMNS = ("product", "subject_id", "kind", "start", "end")
TRUTH_KINDS = ("event", "control", "hidden")
DATA_GAP = "DATA_GAP"


@dataclass(frozen=True)
class Settings:
    """What counts as detected, warned and alarmed, and how long a window sees an ended event."""

    detect_class: int = 2
    warn_class: int = 3
    alarm_class: int = 1
    grace_days: int = 14
    grace_by_product: tuple[tuple[str, int], ...] = (("heat", 0), ("deformation", 0))
    """Products whose windows do not trail: a heat forecast is judged on its issue day, a
    deformation release on its own."""

    def grace(self, product: str) -> int:
        """Days a window of ``product`` still sees an event after it ended."""
        return dict(self.grace_by_product).get(product, self.grace_days)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values (for the JSON summary)."""
        return asdict(self)


def _day(value: Any) -> date | None:
    """A date from a date, Timestamp or ISO text; None for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    return date.fromisoformat(text[:10]) if text else None


def _cls(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else int(number)


def _check(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name} table lacks column(s) {', '.join(missing)}")


def _weeks(later: date | None, earlier: date | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).days / 7.0, 1)


def _rows(windows: pd.DataFrame) -> list[tuple[str, str, date, str, int | None, float | None]]:
    """(product, subject, window end, status, class, score) sorted by product, subject, end."""
    out = []
    for rec in windows.to_dict("records"):
        end = _day(rec["window_end"])
        if end is None:
            continue
        score = rec.get("score")
        score_f = None if score is None or pd.isna(score) else float(score)
        status = str(rec["status"])
        klass = None if status == DATA_GAP else _cls(rec["priority_class"])
        out.append((str(rec["product"]), str(rec["subject_id"]), end, status, klass, score_f))
    return sorted(out, key=lambda r: (r[0], r[1], r[2]))


def _events(truth: pd.DataFrame) -> dict[tuple[str, str], list[tuple[date | None, date | None]]]:
    spans: dict[tuple[str, str], list[tuple[date | None, date | None]]] = {}
    for rec in truth.to_dict("records"):
        if str(rec["kind"]) == "event":
            key = (str(rec["product"]), str(rec["subject_id"]))
            spans.setdefault(key, []).append((_day(rec["start"]), _day(rec["end"])))
    return spans


def _in_span(end: date, span: tuple[date | None, date | None], grace: int) -> bool:
    start, stop = span
    if start is not None and end < start:
        return False
    return stop is None or end <= stop + timedelta(days=grace)


def group_subjects(windows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Fold the windows of each truth row's ``members`` into one subject named by the row.

    Per window end: class = the best (lowest) class of the members seen, status ``DATA_GAP``
    only when every member is, score = the lowest member score (for deformation the most
    negative vertical velocity). Subjects in no group are kept as they are; a table without a
    ``members`` column is returned unchanged.
    """
    _check(windows, WINDOW_COLUMNS, "windows")
    if "members" not in truth.columns or windows.empty:
        return windows
    groups: dict[tuple[str, str], str] = {}
    for rec in truth.to_dict("records"):
        members = rec.get("members")
        if isinstance(members, list | tuple) and members:
            for member in members:
                groups[(str(rec["product"]), str(member))] = str(rec["subject_id"])
    if not groups:
        return windows
    key = [
        groups.get((str(p), str(s)))
        for p, s in zip(windows["product"], windows["subject_id"], strict=True)
    ]
    grouped = windows.assign(_group=key)
    kept = grouped[grouped["_group"].isna()].drop(columns="_group")
    folded = []
    for (product, group, end), part in grouped.dropna(subset=["_group"]).groupby(
        ["product", "_group", "window_end"], sort=True
    ):
        seen = part[part["status"].astype(str) != DATA_GAP]
        classes = pd.to_numeric(seen["priority_class"], errors="coerce").dropna()
        scores = pd.to_numeric(seen["score"], errors="coerce").dropna()
        folded.append({
            "product": product, "subject_id": group, "window_end": end,
            "status": DATA_GAP if seen.empty else "OK",
            "priority_class": int(classes.min()) if len(classes) else None,
            "score": float(scores.min()) if len(scores) else None,
        })  # fmt: skip
    return pd.concat([kept, pd.DataFrame(folded)], ignore_index=True)


def event_outcomes(
    windows: pd.DataFrame, truth: pd.DataFrame, settings: Settings = Settings()
) -> pd.DataFrame:
    """One row per truth event: detected, first warning/alarm, lead times, DATA_GAP share.

    Columns: product, subject_id, start, end, windows (belonging to the event), in_period (the
    event was going on at an evaluated window end of the product, grace not counted: an event
    seen only in its grace tail is not scored), evaluated (the subject has windows
    at all), detected, best_class, first_warning, first_high, first_alarm,
    weeks_warning_to_alarm, weeks_onset_to_warning, weeks_onset_to_alarm, censored,
    data_gap_share, cleared (the subject was below the alarm class in its last evaluated window
    after the event ended; None when no window after the end was evaluated).
    """
    _check(windows, WINDOW_COLUMNS, "windows")
    _check(truth, TRUTH_COLUMNS, "truth")
    rows = _rows(windows)
    by_subject: dict[tuple[str, str], list[tuple[date, str, int | None]]] = {}
    period: dict[str, tuple[date, date]] = {}
    for product, subject, end, status, klass, _ in rows:
        by_subject.setdefault((product, subject), []).append((end, status, klass))
        lo, hi = period.get(product, (end, end))
        period[product] = (min(lo, end), max(hi, end))
    records = []
    for (product, subject), spans in sorted(_events(truth).items()):
        series = by_subject.get((product, subject), [])
        first_end = period[product][0] if product in period else None
        last_end = period[product][1] if product in period else None
        for start, stop in spans:
            grace = settings.grace(product)
            inside = [w for w in series if _in_span(w[0], (start, stop), grace)]
            in_period = (
                first_end is not None
                and last_end is not None
                and (start is None or start <= last_end)
                and (stop is None or stop >= first_end)
            )
            classes = [k for _, _, k in inside if k is not None]

            def first(
                limit: int, inside: list[tuple[date, str, int | None]] = inside
            ) -> date | None:
                return next((e for e, _, k in inside if k is not None and k <= limit), None)

            warn, high, alarm = (first(settings.warn_class), first(2), first(settings.alarm_class))
            after = [w for w in series if stop is not None and w[0] > stop and w[2] is not None]
            gaps = sum(1 for _, s, _ in inside if s == DATA_GAP)
            records.append(
                {
                    "product": product,
                    "subject_id": subject,
                    "start": start,
                    "end": stop,
                    "windows": len(inside),
                    "in_period": bool(in_period),
                    "evaluated": bool(series),
                    "detected": bool(classes) and min(classes) <= settings.detect_class,
                    "best_class": min(classes) if classes else None,
                    "first_warning": warn,
                    "first_high": high,
                    "first_alarm": alarm,
                    "weeks_warning_to_alarm": _weeks(alarm, warn),
                    "weeks_onset_to_warning": _weeks(warn, start),
                    "weeks_onset_to_alarm": _weeks(alarm, start),
                    "censored": bool(
                        warn is not None
                        and inside
                        and warn == inside[0][0]
                        and first_end is not None
                        and warn == first_end
                        and (start is None or start < first_end)
                    ),
                    "data_gap_share": gaps / len(inside) if inside else None,
                    "cleared": (after[-1][2] or 4) > settings.alarm_class if after else None,
                }
            )
    columns = [
        "product",
        "subject_id",
        "start",
        "end",
        "windows",
        "in_period",
        "evaluated",
        "detected",
        "best_class",
        "first_warning",
        "first_high",
        "first_alarm",
        "weeks_warning_to_alarm",
        "weeks_onset_to_warning",
        "weeks_onset_to_alarm",
        "censored",
        "data_gap_share",
        "cleared",
    ]
    return pd.DataFrame.from_records(records, columns=columns)


def false_alarm_table(
    windows: pd.DataFrame, truth: pd.DataFrame, settings: Settings = Settings()
) -> pd.DataFrame:
    """False alarms and false warnings per product, subject and season (year of the window end).

    Only subjects with at least one false warning or alarm get a row. Columns: product,
    subject_id, season, control (the truth names the subject a control), alarm_windows,
    alarm_episodes (runs of consecutive alarm windows), warning_windows (classes between the
    alarm class and the warning class), first_alarm.
    """
    _check(windows, WINDOW_COLUMNS, "windows")
    _check(truth, TRUTH_COLUMNS, "truth")
    spans = _events(truth)
    controls = {
        (str(r["product"]), str(r["subject_id"]))
        for r in truth.to_dict("records")
        if str(r["kind"]) == "control"
    }
    counts: dict[tuple[str, str, int], dict[str, Any]] = {}
    previous: dict[tuple[str, str], bool] = {}
    for product, subject, end, _status, klass, _ in _rows(windows):
        key = (product, subject)
        in_event = any(_in_span(end, s, settings.grace(product)) for s in spans.get(key, []))
        alarm = klass is not None and klass <= settings.alarm_class and not in_event
        warning = (
            klass is not None
            and settings.alarm_class < klass <= settings.warn_class
            and not in_event
        )
        if alarm or warning:
            cell = counts.setdefault(
                (product, subject, end.year),
                {
                    "alarm_windows": 0,
                    "alarm_episodes": 0,
                    "warning_windows": 0,
                    "first_alarm": None,
                },
            )
            if alarm:
                cell["alarm_windows"] += 1
                cell["alarm_episodes"] += 0 if previous.get(key) else 1
                cell["first_alarm"] = cell["first_alarm"] or end
            else:
                cell["warning_windows"] += 1
        previous[key] = alarm
    records = [
        {
            "product": p,
            "subject_id": s,
            "season": y,
            "control": (p, s) in controls,
            **cell,
        }
        for (p, s, y), cell in sorted(counts.items())
    ]
    columns = [
        "product",
        "subject_id",
        "season",
        "control",
        "alarm_windows",
        "alarm_episodes",
        "warning_windows",
        "first_alarm",
    ]
    return pd.DataFrame.from_records(records, columns=columns)


def data_gap_table(windows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """DATA_GAP share per product and subject: columns product, subject_id, windows, data_gap,
    share, hidden (the truth says the subject cannot be seen)."""
    _check(windows, WINDOW_COLUMNS, "windows")
    hidden = {
        (str(r["product"]), str(r["subject_id"]))
        for r in truth.to_dict("records")
        if str(r["kind"]) == "hidden"
    }
    cells: dict[tuple[str, str], list[int]] = {}
    for product, subject, _end, status, _k, _s in _rows(windows):
        cell = cells.setdefault((product, subject), [0, 0])
        cell[0] += 1
        cell[1] += status == DATA_GAP
    records = [
        {
            "product": p,
            "subject_id": s,
            "windows": n,
            "data_gap": g,
            "share": g / n,
            "hidden": (p, s) in hidden,
        }
        for (p, s), (n, g) in sorted(cells.items())
    ]
    for p, s in sorted(hidden - set(cells)):
        records.append(
            {
                "product": p,
                "subject_id": s,
                "windows": 0,
                "data_gap": 0,
                "share": None,
                "hidden": True,
            }
        )
    columns = ["product", "subject_id", "windows", "data_gap", "share", "hidden"]
    return pd.DataFrame.from_records(records, columns=columns)


def revision_counts(revisions: Sequence[Mapping[str, Any]], product: str) -> dict[str, Any]:
    """What an operator and the crews would have received for ``product`` (never delivered).

    ``work_orders``: revisions of the product's hazard (Alert, Update, Cancel in ``by_type``);
    ``events``: distinct subjects among them; ``notices``: operator notices about the product
    (DATA_GAP events of its subjects, subject ``"<product>/..."``); ``digests``: run digests of
    the product (subject ``"digest/<product>/..."``).
    """
    own = [r for r in revisions if str(r.get("hazard")) == product]
    notices = [
        r
        for r in revisions
        if str(r.get("hazard")) == "notice" and str(r.get("subject", "")).startswith(f"{product}/")
    ]
    digests = [
        r
        for r in revisions
        if str(r.get("hazard")) == "notice"
        and str(r.get("subject", "")).startswith(f"digest/{product}/")
    ]
    by_type: dict[str, int] = {}
    for r in own:
        kind = str(r.get("msg_type", "Alert"))
        by_type[kind] = by_type.get(kind, 0) + 1
    return {
        "work_orders": len(own),
        "by_type": dict(sorted(by_type.items())),
        "events": len({str(r.get("subject")) for r in own}),
        "notices": len(notices),
        "digests": len(digests),
        "total": len(own) + len(notices) + len(digests),
    }


def order_agreement(
    windows: pd.DataFrame, truth: pd.DataFrame, product: str
) -> dict[str, Any] | None:
    """Do the scores of alarmed subjects follow the planted order (truth column ``rank``, 1 =
    worst, e.g. the demo's ``dryness_rank``)? In the last window where at least two ranked
    subjects are at the alarm class (1): the share of their pairs whose scores are ordered as the
    ranks (a tie counts half). None when the truth ranks nothing or no such window exists.
    """
    if "rank" not in truth.columns:
        return None
    ranked = {
        str(r["subject_id"]): float(r["rank"])
        for r in truth.to_dict("records")
        if str(r["product"]) == product and r.get("rank") is not None and not pd.isna(r["rank"])
    }
    by_end: dict[date, list[tuple[str, float]]] = {}
    for p, subject, end, _status, klass, score in _rows(windows):
        if p == product and subject in ranked and klass == 1 and score is not None:
            by_end.setdefault(end, []).append((subject, score))
    ends = [e for e in sorted(by_end) if len(by_end[e]) >= 2]
    if not ends:
        return None
    last = ends[-1]
    cells = sorted(by_end[last], key=lambda c: ranked[c[0]])
    pairs = concordant = 0.0
    for i, (_, worse_score) in enumerate(cells):
        for _, milder_score in cells[i + 1 :]:
            pairs += 1
            concordant += (
                1.0 if worse_score > milder_score else 0.5 if worse_score == milder_score else 0.0
            )
    return {
        "window_end": last.isoformat(),
        "planted_order": [c[0] for c in cells],
        "score_order": [c[0] for c in sorted(cells, key=lambda c: -c[1])],
        "pairs": int(pairs),
        "share": round(concordant / pairs, 3),
    }


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None and not pd.isna(v)]
    return round(sum(kept) / len(kept), 2) if kept else None


def summarise(
    windows: pd.DataFrame,
    truth: pd.DataFrame,
    revisions: Sequence[Mapping[str, Any]],
    settings: Settings = Settings(),
) -> dict[str, dict[str, Any]]:
    """Per product: the figures of the report (recall, false alarms, lead times, DATA_GAP share,
    revisions), JSON-ready. Products are those with windows or truth rows."""
    events = event_outcomes(windows, truth, settings)
    alarms = false_alarm_table(windows, truth, settings)
    gaps = data_gap_table(windows, truth)
    products = sorted(set(windows["product"].astype(str)) | set(truth["product"].astype(str)))
    out: dict[str, dict[str, Any]] = {}
    for product in products:
        ev = events[events["product"] == product]
        scored = ev[ev["in_period"]]
        win = windows[windows["product"] == product]
        fa = alarms[alarms["product"] == product]
        gp = gaps[gaps["product"] == product]
        n_windows = len(win)
        n_gap = int((win["status"].astype(str) == DATA_GAP).sum()) if n_windows else 0
        subjects = int(win["subject_id"].nunique()) if n_windows else 0
        seasons = sorted({d.year for d in (_day(v) for v in win["window_end"]) if d}) or [0]
        hidden = gp[gp["hidden"]]
        detected = int(scored["detected"].sum()) if len(scored) else 0
        order = order_agreement(windows, truth, product)
        out[product] = {
            "window_ends": sorted({str(_day(v)) for v in win["window_end"]}),
            "subjects": subjects,
            "subject_windows": n_windows,
            "events": len(ev),
            "events_in_period": len(scored),
            "detected": detected,
            "recall": round(detected / len(scored), 3) if len(scored) else None,
            "missed": sorted(scored.loc[~scored["detected"], "subject_id"].astype(str)),
            "false_alarm_windows": int(fa["alarm_windows"].sum()) if len(fa) else 0,
            "false_alarm_episodes": int(fa["alarm_episodes"].sum()) if len(fa) else 0,
            "false_warning_windows": int(fa["warning_windows"].sum()) if len(fa) else 0,
            "false_alarm_subjects": sorted(
                fa.loc[fa["alarm_windows"] > 0, "subject_id"].astype(str).unique()
            ),
            "false_alarms_on_controls": int(fa.loc[fa["control"], "alarm_windows"].sum())
            if len(fa)
            else 0,
            "false_alarms_per_subject_season": round(
                (int(fa["alarm_windows"].sum()) if len(fa) else 0)
                / max(1, subjects * len(seasons)),
                4,
            ),
            "mean_weeks_warning_to_alarm": _mean(list(scored["weeks_warning_to_alarm"])),
            "mean_weeks_onset_to_warning": _mean(list(scored["weeks_onset_to_warning"])),
            "mean_weeks_onset_to_alarm": _mean(list(scored["weeks_onset_to_alarm"])),
            "lead_times_censored": int(scored["censored"].sum()) if len(scored) else 0,
            "warned_before_alarm": int(
                sum(1 for w in scored["weeks_warning_to_alarm"] if w is not None and w > 0)
            )
            if len(scored)
            else 0,
            "data_gap_share": round(n_gap / n_windows, 4) if n_windows else None,
            "hidden_subjects": len(hidden),
            "hidden_always_data_gap": int(sum(1 for s in hidden["share"] if s == 1)),
            "not_cleared": sorted(ev.loc[ev["cleared"].eq(False), "subject_id"].astype(str)),
            "revisions": revision_counts(revisions, product),
            "order": order,
            "order_share": order["share"] if order else None,
        }
    return out


_PRIMARY_UP = ("recall", "detected")
_PRIMARY_DOWN = ("false_alarm_windows", "false_alarm_episodes", "false_alarms_on_controls")
_SECONDARY_UP = ("warned_before_alarm", "hidden_always_data_gap", "order_share")
_SECONDARY_DOWN = ("false_warning_windows",)
_NEUTRAL = ("mean_weeks_warning_to_alarm", "mean_weeks_onset_to_warning", "data_gap_share")


def _judge(
    figures: Mapping[str, Mapping[str, Any]], up: Sequence[str], down: Sequence[str]
) -> tuple[list[str], list[str]]:
    better: list[str] = []
    worse: list[str] = []
    for name in (*up, *down):
        delta = figures[name]["delta"]
        if delta:
            rises = delta > 0
            ((better if rises else worse) if name in up else (worse if rises else better)).append(
                name
            )
    return better, worse


def compare_summaries(
    baseline: Mapping[str, Mapping[str, Any]], candidate: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Side by side per product: each figure of both, its delta (candidate - baseline), and a
    verdict: ``worse`` (a figure got worse, none better), ``better``, ``mixed`` or ``same``.

    The primary figures decide: recall and detections (higher is better), false urgent windows,
    episodes and those on controls (lower is better). Only when they tie do the secondary ones:
    ramps warned before their alarm, hidden subjects seen as DATA_GAP (higher), false watch/high
    windows (lower). Lead times and the DATA_GAP share are shown, not judged (a longer lead is
    better only if it is not a false alarm, which the counts judge).
    """
    out: dict[str, dict[str, Any]] = {}
    for product in sorted(set(baseline) | set(candidate)):
        a, b = baseline.get(product, {}), candidate.get(product, {})
        figures: dict[str, dict[str, Any]] = {}
        for name in (*_PRIMARY_UP, *_PRIMARY_DOWN, *_SECONDARY_UP, *_SECONDARY_DOWN, *_NEUTRAL):
            va, vb = a.get(name), b.get(name)
            delta = None if va is None or vb is None else round(float(vb) - float(va), 4)
            figures[name] = {"baseline": va, "candidate": vb, "delta": delta}
        ra = a.get("revisions", {}).get("total")
        rb = b.get("revisions", {}).get("total")
        figures["revisions"] = {
            "baseline": ra,
            "candidate": rb,
            "delta": None if ra is None or rb is None else rb - ra,
        }
        better, worse = _judge(figures, _PRIMARY_UP, _PRIMARY_DOWN)
        if not better and not worse:
            better, worse = _judge(figures, _SECONDARY_UP, _SECONDARY_DOWN)
        verdict = (
            "mixed" if better and worse else "worse" if worse else "better" if better else "same"
        )
        out[product] = {"figures": figures, "better": better, "worse": worse, "verdict": verdict}
    return out
