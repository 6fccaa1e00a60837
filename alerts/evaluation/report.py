"""The backtest report: a plot per subject (PNG bytes) and the Markdown and HTML pages.

Pure renderers (data in, bytes or text out, matplotlib's Agg without pyplot state); the flow
(``flows/backtest.py``) writes the files atomically. The HTML embeds every plot as a data URI, so
it opens offline as one file; the Markdown links the PNG files beside it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

__all__ = ["render_html", "render_markdown", "subject_plot"]

_CLASS_NAMES = {1: "1 urgent", 2: "2 high", 3: "3 watch", 4: "4 none"}
_GAP_Y = 4.6
_STYLES = (("#1f4e9c", "o", "-"), ("#d0591b", "s", "--"), ("#2e8540", "^", ":"))


def subject_plot(
    title: str,
    series: Mapping[str, pd.DataFrame],
    events: Sequence[tuple[date | None, date | None]],
    attribution: str = "",
    score_label: str = "score",
) -> bytes:
    """PNG of one subject: class (top) and score (bottom) per window end, per rule version.

    ``series`` maps a label (``"baseline"``, ``"candidate"``) to the subject's windows
    (``window_end``, ``status``, ``priority_class``, ``score``); DATA_GAP windows are grey
    crosses below class 4 (no data is not "none"). ``events`` are the truth spans: the onset
    is a red dashed line, the span shaded (to the right edge while it lasts).
    """
    fig = Figure(figsize=(7.5, 3.6), dpi=100)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    days: list[date] = []
    for (label, table), (colour, marker, line) in zip(series.items(), _STYLES, strict=False):
        t = table.sort_values("window_end")
        ends = [pd.Timestamp(d) for d in t["window_end"]]
        days += [e.date() for e in ends]
        gap = (t["status"].astype(str) == "DATA_GAP").to_numpy()
        klass = pd.to_numeric(t["priority_class"], errors="coerce").to_numpy(dtype=float)
        score = pd.to_numeric(t["score"], errors="coerce").to_numpy(dtype=float)
        top.plot(ends, klass, drawstyle="steps-mid", color=colour, linestyle=line, label=label)
        top.scatter(ends, klass, color=colour, marker=marker, s=18, zorder=3)
        gap_ends = [e for e, g in zip(ends, gap, strict=True) if g]
        if gap_ends:
            top.scatter(gap_ends, [_GAP_Y] * len(gap_ends), marker="x", color="grey", zorder=3,
                        label=f"{label}: DATA_GAP")  # fmt: skip
        bottom.plot(ends, score, color=colour, linestyle=line, marker=marker, markersize=3)
    if days:
        right = pd.Timestamp(max(days))
        for start, end in events:
            if start is not None:
                top.axvline(pd.Timestamp(start), color="#c00000", linestyle="--", linewidth=1)
                bottom.axvline(pd.Timestamp(start), color="#c00000", linestyle="--", linewidth=1)
            left = pd.Timestamp(start) if start is not None else pd.Timestamp(min(days))
            stop = pd.Timestamp(end) if end is not None else right
            for ax in (top, bottom):
                ax.axvspan(left, max(left, stop), color="#c00000", alpha=0.08, linewidth=0)
    top.set_ylim(4.9, 0.6)
    top.set_yticks([1, 2, 3, 4, _GAP_Y], [*_CLASS_NAMES.values(), "gap"], fontsize=7)
    top.set_title(title, fontsize=9)
    top.grid(axis="y", alpha=0.3)
    top.legend(fontsize=6, loc="lower left", ncols=2)
    bottom.set_ylabel(score_label, fontsize=7)
    bottom.tick_params(labelsize=7)
    bottom.grid(alpha=0.3)
    locator = AutoDateLocator()
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if attribution:
        fig.text(0.99, 0.01, attribution, fontsize=5, ha="right", va="bottom", color="grey")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata={"Software": "geospace backtest"})
    return buffer.getvalue()


# --- figures as rows ---------------------------------------------------------------------------

_FIGURES = (
    ("recall", "recall (events reaching class 1-2 / events in the period)"),
    ("detected", "events detected"),
    ("events_in_period", "events in the period"),
    ("missed", "missed"),
    ("false_alarm_windows", "false urgent windows (outside every event)"),
    ("false_alarm_episodes", "false urgent episodes"),
    ("false_alarms_on_controls", "false urgent windows on controls"),
    ("false_alarms_per_subject_season", "false urgent windows per subject and season"),
    ("false_warning_windows", "false watch/high windows"),
    ("false_alarm_subjects", "subjects with false urgent windows"),
    ("warned_before_alarm", "events warned (watch/high) before urgent"),
    ("mean_weeks_warning_to_alarm", "mean weeks first watch/high -> first urgent"),
    ("mean_weeks_onset_to_warning", "mean weeks onset -> first warning"),
    ("mean_weeks_onset_to_alarm", "mean weeks onset -> first urgent"),
    ("lead_times_censored", "lead times censored (warned in the first window)"),
    ("data_gap_share", "DATA_GAP share of subject-windows"),
    ("hidden_always_data_gap", "hidden subjects DATA_GAP in every window"),
    ("not_cleared", "events still urgent after they ended"),
    ("order_share", "alarmed subjects ordered by score as planted (share of pairs)"),
    ("revisions", "revisions an operator/crew would have received"),
)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, Mapping) and "total" in value:
        kinds = ", ".join(f"{k} {v}" for k, v in value.get("by_type", {}).items())
        return (
            f"{value['total']} ({value['work_orders']} alert revisions"
            f"{': ' + kinds if kinds else ''}; {value['notices']} notices; "
            f"{value['digests']} digests)"
        )
    return str(value)


def _figure_rows(doc: Mapping[str, Any], product: str) -> list[list[str]]:
    labels = list(doc["runs"])
    comparison = (doc.get("comparison") or {}).get(product)
    rows = []
    for key, text in _FIGURES:
        cells = [text] + [
            _fmt(doc["runs"][lb]["summary"].get(product, {}).get(key)) for lb in labels
        ]
        if comparison is not None:
            fig = comparison["figures"].get(key)
            cells.append("" if fig is None or fig["delta"] is None else f"{fig['delta']:+g}")
        rows.append(cells)
    return rows


def _header(doc: Mapping[str, Any]) -> list[str]:
    head = ["figure", *doc["runs"]]
    return [*head, "delta"] if doc.get("comparison") else head


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return lines


_EVENT_COLUMNS = (
    ("subject_id", "subject"), ("start", "onset"), ("end", "end"), ("detected", "detected"),
    ("best_class", "best class"), ("first_warning", "first warning"),
    ("first_alarm", "first urgent"), ("weeks_warning_to_alarm", "weeks warning->urgent"),
    ("weeks_onset_to_warning", "weeks onset->warning"), ("censored", "censored"),
    ("data_gap_share", "DATA_GAP share"), ("cleared", "cleared"),
)  # fmt: skip
_ALARM_COLUMNS = (
    ("subject_id", "subject"), ("season", "season"), ("control", "control"),
    ("alarm_windows", "false urgent windows"), ("alarm_episodes", "episodes"),
    ("warning_windows", "false watch/high windows"), ("first_alarm", "first"),
)  # fmt: skip


def _records(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]
) -> list[list[str]]:
    return [[_fmt(r.get(key)) for key, _ in columns] for r in rows]


def _intro(doc: Mapping[str, Any]) -> list[str]:
    period = doc["period"]
    lines = [
        f"Profile `{doc['profile']}`, windows ending {period['start']} .. {period['end']} "
        f"({len(period.get('window_ends', []))} windows), truth: {doc['truth']['source']} "
        f"({doc['truth']['rows']} rows). Replayed through the real flows into a fresh outbox per "
        "rule version; nothing was delivered.",
        "",
    ]
    for label, run in doc["runs"].items():
        rules = ", ".join(f"{k} {v}" for k, v in sorted(run["rules"].items()))
        lines.append(f"- **{label}**: rules {run.get('rules_dir') or 'built-in'} ({rules}); "
                     f"products and outbox in `{run['folder']}`")  # fmt: skip
    s = doc["settings"]
    lines += [
        "",
        f"Detected: class {s['detect_class']} or better in a window of the event (window end "
        f"from the onset to {s['grace_days']} days after the event ended; "
        + ", ".join(f"{p} {d} days" for p, d in s.get("grace_by_product", []))
        + "). Warning: class "
        f"{s['warn_class']} or better; urgent: class {s['alarm_class']}. A false alarm is an "
        "urgent window outside every event of the subject (DATA_GAP windows never count).",
    ]
    for product, reason in doc.get("not_evaluated", {}).items():
        lines.append(f"\n{product}: not backtested: {reason}")
    return lines


def render_markdown(doc: Mapping[str, Any]) -> str:
    """The Markdown report of a backtest summary document (plots linked, not embedded)."""
    lines = ["# Backtest", "", *_intro(doc)]
    comparison = doc.get("comparison") or {}
    for product in doc["products"]:
        lines += ["", f"## {product}", ""]
        if product in comparison:
            cmp = comparison[product]
            lines += [
                f"**Verdict: the candidate rules are {cmp['verdict'].upper()}** "
                f"(worse: {', '.join(cmp['worse']) or 'nothing'}; better: "
                f"{', '.join(cmp['better']) or 'nothing'}).",
                "",
            ]
        lines += _md_table(_header(doc), _figure_rows(doc, product))
        for label, run in doc["runs"].items():
            tables = run["tables"].get(product, {})
            lines += ["", f"### {label}: events", ""]
            events = tables.get("events", [])
            lines += _md_table([t for _, t in _EVENT_COLUMNS], _records(events, _EVENT_COLUMNS)) if events else ["no event in the truth"]  # fmt: skip
            lines += ["", f"### {label}: false alarms per subject and season", ""]
            alarms = tables.get("false_alarms", [])
            lines += _md_table([t for _, t in _ALARM_COLUMNS], _records(alarms, _ALARM_COLUMNS)) if alarms else ["none"]  # fmt: skip
        plots = doc.get("plots", {}).get(product, {})
        if plots:
            lines += ["", "### plots", ""]
            lines += [f"![{subject}]({path})" for subject, path in plots.items()]
        left_out = doc.get("plots_left_out", {}).get(product)
        if left_out:
            lines += ["", f"{left_out} other subjects, never at watch or worse, are not plotted."]
    return "\n".join(lines) + "\n"


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:sans-serif;max-width:72rem;margin:1rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}"
    "td,th{border:1px solid #ccc;padding:.2rem .45rem;text-align:left}th{background:#eef}"
    ".plots{display:flex;flex-wrap:wrap;gap:.5rem}.plots figure{margin:0}"
    ".worse{color:#b00000;font-weight:bold}.better{color:#1b6e1b;font-weight:bold}"
)


def render_html(doc: Mapping[str, Any], images: Mapping[str, Mapping[str, bytes]]) -> str:
    """One self-contained HTML page: figures, tables and every plot embedded (works offline).

    ``images`` maps product -> subject -> PNG bytes.
    """
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Backtest {html.escape(str(doc['profile']))}</title><style>{_CSS}</style></head><body>",
        "<h1>Backtest</h1>",
    ]
    parts += [
        f"<p>{html.escape(line.removeprefix('- ').replace('**', '').replace('`', ''))}</p>"
        for line in _intro(doc)
        if line.strip()
    ]
    comparison = doc.get("comparison") or {}
    for product in doc["products"]:
        parts.append(f"<h2>{html.escape(product)}</h2>")
        if product in comparison:
            cmp = comparison[product]
            css = cmp["verdict"] if cmp["verdict"] in ("worse", "better") else ""
            parts.append(
                f"<p class='{css}'>Verdict: the candidate rules are {html.escape(cmp['verdict'])} "
                f"(worse: {html.escape(', '.join(cmp['worse']) or 'nothing')}; better: "
                f"{html.escape(', '.join(cmp['better']) or 'nothing')}).</p>"
            )
        parts.append(_html_table(_header(doc), _figure_rows(doc, product)))
        for label, run in doc["runs"].items():
            tables = run["tables"].get(product, {})
            parts.append(f"<h3>{html.escape(label)}: events</h3>")
            parts.append(_html_table([t for _, t in _EVENT_COLUMNS], _records(tables.get("events", []), _EVENT_COLUMNS)))  # fmt: skip
            parts.append(f"<h3>{html.escape(label)}: false alarms per subject and season</h3>")
            parts.append(_html_table([t for _, t in _ALARM_COLUMNS], _records(tables.get("false_alarms", []), _ALARM_COLUMNS)))  # fmt: skip
        pngs = images.get(product, {})
        if pngs:
            parts.append("<h3>plots</h3><div class='plots'>")
            for subject, png in pngs.items():
                data = base64.b64encode(png).decode("ascii")
                parts.append(
                    f"<figure><img alt='{html.escape(subject)}' width='750' "
                    f"src='data:image/png;base64,{data}'></figure>"
                )
            parts.append("</div>")
        left_out = doc.get("plots_left_out", {}).get(product)
        if left_out:
            parts.append(
                f"<p>{left_out} other subjects, never at watch or worse, are not plotted.</p>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
