"""``geospace backtest``: replay a past period through the real flows and rules, judge against truth.

Each rule version gets a fresh run folder ``OUT/backtest/<profile>_<start>_<end>/runs/<label>/``
(its own products and SQLite outbox; nothing is delivered, no sink is drained) and runs the
vegetation flow (:func:`flows.vegetation.run_vegetation_cli`) over the period on a copy of the
profile whose ``data_root`` is the profile's (so it reads the same city) and whose outbox and
sinks are local. A rule version is a folder (or one file) of policy YAML files named after the
built-in policies they replace (``irrigation_priority.yaml``, ``irrigation.yaml``, ...), laid over
the built-in ones for that run (``$GEOSPACE_POLICY_DIR``, :mod:`alerts.policies`).

``--products`` chooses the flows: irrigation (default; the vegetation flow, weekly windows) and
deformation (the deformation flow, one window per EGMS release whose last year is in the period).
The scoring is pure (:mod:`alerts.evaluation`); this module only runs the flows, reads what they
wrote (each window's ``irrigation_priority.geojson``, each release's
``corridor_segments.geojson``, the run's outbox) and writes
``backtest.json``, ``backtest.md``, ``backtest.html`` and ``plots/`` atomically
(:class:`alerts.products.staging.ProductStage`, the JSON last).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from alerts.evaluation import (
    Settings,
    compare_summaries,
    data_gap_table,
    event_outcomes,
    false_alarm_table,
    group_subjects,
    summarise,
)
from alerts.evaluation.truth import HEAT_SUBJECT, truth_from_csv, truth_from_demo
from alerts.policies import BUILT_IN, OVERLAY_ENV, read_policy
from core.errors import InvalidInputError
from core.profile import PACKAGED_PROFILES, load_profile
from flows.runtime import check_out_dir

__all__ = ["RuleSet", "check_rules", "load_truth", "run_backtest_cli"]

PRODUCTS = ("irrigation", "heat", "deformation")
"""Products the backtest can replay: irrigation (the vegetation flow, one window a week), heat
(the heat flow, one window per forecast issue day in the period; the subject is the city's
bulletin: class 1 when the forecast carries a health heatwave, so a bulletin is issued) and
deformation (the deformation flow, one window per EGMS release whose last year is in the period:
give the releases' years as the period)."""
DEFAULT_PRODUCTS = ("irrigation",)
PLOT_ALL_BELOW = 60
"""Up to this many subjects every one gets a plot; above, only those in the truth or ever at
watch or worse (the report says how many were left out)."""
_DEFORMATION_CLASS = {"warning": 1, "watch": 3, "none": 4}


@dataclass(frozen=True)
class RuleSet:
    """One rule version: ``label`` in the report, ``folder`` laid over the built-in policies
    (None: the built-in ones), ``origin`` what the user gave."""

    label: str
    folder: Path | None
    origin: str


def _built_in_names() -> list[str]:
    return sorted(p.stem for p in BUILT_IN.glob("*.yaml"))


@contextmanager
def policy_overlay(folder: Path | None) -> Iterator[None]:
    """Lay ``folder`` over the built-in policies inside the block (None: the environment's)."""
    saved = os.environ.get(OVERLAY_ENV)
    if folder is not None:
        os.environ[OVERLAY_ENV] = str(folder)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(OVERLAY_ENV, None)
        else:
            os.environ[OVERLAY_ENV] = saved


def _validate_policy(path: Path, option: str) -> None:
    """Parse ``path`` with the parser of the policy it replaces (exit 2 when it fails)."""
    from alerts.decide.policy import load_notice_policy, load_policy
    from alerts.detect.irrigation_policy import load_priority_policy

    try:
        if path.stem == "irrigation_priority":
            load_priority_policy(path)
        elif path.stem == "notice":
            load_notice_policy(path)
        elif path.stem in ("irrigation", "heat", "deformation"):
            load_policy(path)
        else:
            read_policy(path)
    except InvalidInputError as err:
        raise InvalidInputError(f"{option}: {err}; fix the rule file") from err


def check_rules(path: Path | None, option: str) -> list[Path]:
    """The policy files of ``--rules``/``--compare-rules`` (a folder or one file), each checked.

    Every file must be named after the built-in policy it replaces and parse with that policy's
    parser; a folder must hold at least one. Nothing is written.
    """
    if path is None:
        return []
    names = _built_in_names()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix == ".yaml")
    elif path.is_file():
        files = [path]
    else:
        raise InvalidInputError(
            f"{option}: {path}: does not exist; give a folder of rule files or one rule file"
        )
    if not files:
        raise InvalidInputError(
            f"{option}: {path}: holds no .yaml rule file; put the changed rule files there, "
            f"named after the policies they replace ({', '.join(names)})"
        )
    for file in files:
        if file.stem not in names:
            raise InvalidInputError(
                f"{option}: {file}: {file.stem!r} is not a built-in policy; name the file after "
                f"the policy it replaces: {', '.join(n + '.yaml' for n in names)}"
            )
    folder = path if path.is_dir() else path.parent
    with policy_overlay(folder if path.is_dir() else None):
        for file in files:
            _validate_policy(file, option)
    return files


def load_truth(path: Path | None, data_root: Path) -> tuple[pd.DataFrame, str]:
    """The truth table and where it came from: ``--truth`` (a demo ``truth.json`` or a CSV of
    observed events), else the ``truth.json`` of the profile's data (a demo city)."""
    if path is None:
        path = data_root / "truth.json"
        if not path.is_file():
            raise InvalidInputError(
                f"--truth: not given and the profile's data folder {data_root} holds no "
                "truth.json; give --truth FILE (a demo truth.json, or a CSV with the header "
                "subject_id,product,start,end)"
            )
    if not path.is_file():
        raise InvalidInputError(
            f"--truth: {path}: no such file; give a demo truth.json or a CSV with the header "
            "subject_id,product,start,end"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInputError(
            f"--truth: {path}: cannot be read as UTF-8 text ({err}); give a JSON or CSV file"
        ) from err
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise InvalidInputError(
                f"--truth: {path}: not valid JSON ({err}); give the truth.json a demo wrote"
            ) from err
        return truth_from_demo(doc), str(path)
    return truth_from_csv(text, source=str(path)), str(path)


def _profile_source(profile: str) -> Path:
    packaged = PACKAGED_PROFILES / f"{profile}.yaml"
    if "/" not in profile and not profile.endswith((".yaml", ".yml")) and packaged.is_file():
        return packaged
    return Path(profile).expanduser()


def write_run_profile(profile: str, data_root: Path, dest: Path) -> Path:
    """A copy of the profile for one backtest run: the same data, a local outbox, one file sink.

    ``data_root`` becomes absolute (the run's ``--out`` differs from the user's); the outbox DSN
    and the real sinks are dropped, so nothing can reach a city's queues.
    """
    doc = yaml.safe_load(_profile_source(profile).read_text(encoding="utf-8"))
    doc["data_root"] = str(data_root)
    doc.pop("outbox", None)
    doc["sinks"] = [{"kind": "files"}]
    path = dest / "profile.yaml"
    dest.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".profile.yaml.{os.getpid()}.tmp")
    temp.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    os.replace(temp, path)
    return path


def read_windows(run_dir: Path, start: date, end: date) -> pd.DataFrame:
    """Every park and window of the run's irrigation products with a window end in the period."""
    rows = []
    veg = run_dir / "vegetation"
    folders = sorted(p for p in veg.iterdir() if p.is_dir()) if veg.is_dir() else []
    for folder in folders:
        try:
            window_end = date.fromisoformat(folder.name)
        except ValueError:
            continue
        product = folder / "irrigation_priority.geojson"
        if not start <= window_end <= end or not product.is_file():
            continue
        doc = json.loads(product.read_text(encoding="utf-8"))
        for feature in doc.get("features", []):
            p = feature.get("properties", {})
            rows.append(
                {
                    "product": "irrigation",
                    "subject_id": str(p.get("park_id")),
                    "name": p.get("name"),
                    "window_end": window_end,
                    "status": p.get("status"),
                    "priority_class": p.get("priority_class"),
                    "score": p.get("score"),
                    "rank": p.get("rank"),
                }
            )
    rows += _deformation_rows(run_dir)
    rows += _heat_rows(run_dir)
    columns = ["product", "subject_id", "name", "window_end", "status", "priority_class",
               "score", "rank"]  # fmt: skip
    return pd.DataFrame.from_records(rows, columns=columns)


def _heat_rows(run_dir: Path) -> list[dict[str, Any]]:
    """One window per forecast the heat run evaluated (its issue day): class 1 when the forecast
    carries a health heatwave (a bulletin), else 4; DATA_GAP when the forecast was unusable; the
    score is the sustained felt maximum (degC)."""
    rows = []
    root = run_dir / "heat"
    for manifest in sorted(root.glob("*/manifest.json")) if root.is_dir() else []:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        forecast = doc.get("forecast") or {}
        try:
            issued = date.fromisoformat(str(doc.get("issued", ""))[:10])
        except ValueError:
            continue
        gap = str(forecast.get("status")) == "DATA_GAP"
        rows.append(
            {
                "product": "heat",
                "subject_id": HEAT_SUBJECT,
                "name": "heatwave bulletin",
                "window_end": issued,
                "status": "DATA_GAP" if gap else "OK",
                "priority_class": None if gap else (1 if forecast.get("heatwave") else 4),
                "score": forecast.get("sustained_felt_c"),
                "rank": None,
            }
        )
    return rows


def _deformation_rows(run_dir: Path) -> list[dict[str, Any]]:
    """Every corridor segment of every release the run evaluated: one window per release, ending
    on 31 December of its last year; warning = class 1 (work order), watch = 3, none = 4; the
    score is the vertical velocity (mm/yr)."""
    rows = []
    root = run_dir / "deformation"
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        product = folder / "corridor_segments.geojson"
        last_year = folder.name.rpartition("_")[2]
        if not product.is_file() or not last_year.isdigit():
            continue
        doc = json.loads(product.read_text(encoding="utf-8"))
        for feature in doc.get("features", []):
            p = feature.get("properties", {})
            gap = p.get("status") == "DATA_GAP"
            rows.append(
                {
                    "product": "deformation",
                    "subject_id": str(p.get("segment_id")),
                    "name": p.get("line_name"),
                    "window_end": date(int(last_year), 12, 31),
                    "status": "DATA_GAP" if gap else "OK",
                    "priority_class": None
                    if gap
                    else _DEFORMATION_CLASS.get(str(p.get("alert")), 4),
                    "score": p.get("vertical_velocity"),
                    "rank": None,
                }
            )
    return rows


def _rule_versions(folder: Path | None) -> dict[str, str]:
    out = {}
    with policy_overlay(folder):
        for name in _built_in_names():
            try:
                out[name] = str(read_policy(name).raw.get("version", "?"))
            except InvalidInputError:
                out[name] = "unreadable"
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if value != value else value  # NaN -> null
    if pd.isna(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return str(value)


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [_jsonable(r) for r in table.to_dict("records")]


def _run_one(
    rules: RuleSet,
    profile: str,
    data_root: Path,
    period: tuple[date, date],
    folder: Path,
    products: tuple[str, ...],
) -> tuple[int, Path]:
    """Run the flows of one rule version into a fresh ``folder``; (exit code, run folder)."""
    start, end = period
    if folder.exists():  # fresh outbox and products: an earlier backtest's run is replaced
        shutil.rmtree(folder)
    run_profile = write_run_profile(profile, data_root, folder)
    code = 0
    with policy_overlay(rules.folder):
        if "irrigation" in products:
            from flows.vegetation import run_vegetation_cli

            print(f"backtest {rules.label}: rules {rules.origin}; vegetation {start}..{end}")
            code = run_vegetation_cli(
                profile=str(run_profile), start=start, end=end, out_dir=folder
            )
        if "heat" in products:
            from flows.heat import run_heat_cli

            print(f"backtest {rules.label}: rules {rules.origin}; heat {start}..{end}")
            code = max(
                code, run_heat_cli(profile=str(run_profile), start=start, end=end, out_dir=folder)
            )
        if "deformation" in products:
            from flows.deformation import run_deformation_cli

            print(f"backtest {rules.label}: rules {rules.origin}; deformation {start}..{end}")
            code = max(
                code,
                run_deformation_cli(profile=str(run_profile), start=start, end=end, out_dir=folder),
            )
    return code, folder


def _subject_order(
    windows: pd.DataFrame, truth: pd.DataFrame, product: str
) -> tuple[list[str], int]:
    """(subjects to plot, how many left out): truth subjects first (events, then the others),
    then those ever at watch or worse, then the rest while there are at most PLOT_ALL_BELOW."""
    win = windows[windows["product"] == product]
    mine = truth[truth["product"] == product]
    seen = set(win["subject_id"].astype(str))
    events = [s for s in mine.loc[mine["kind"] == "event", "subject_id"].astype(str) if s in seen]
    first = list(
        dict.fromkeys([*events, *(s for s in mine["subject_id"].astype(str) if s in seen)])
    )
    klass = pd.to_numeric(win["priority_class"], errors="coerce")
    warned = sorted(set(win.loc[klass <= 3, "subject_id"].astype(str)) - set(first))
    rest = sorted(seen - set(first) - set(warned))
    if len(seen) <= PLOT_ALL_BELOW:
        return [*first, *warned, *rest], 0
    return [*first, *warned], len(rest)


def run_backtest_cli(
    *,
    profile: str,
    start: date,
    end: date,
    out_dir: Path,
    truth: Path | None = None,
    rules: Path | None = None,
    compare_rules: Path | None = None,
    products: tuple[str, ...] = DEFAULT_PRODUCTS,
    settings: Settings | None = None,
) -> int:
    """``geospace backtest``: check inputs (exit 2, nothing written), replay, score, report."""
    settings = settings or Settings()
    if end < start:
        raise InvalidInputError(
            f"--end: {end}: before --start {start}; give an end on or after the start"
        )
    unknown = [p for p in products if p not in PRODUCTS]
    if unknown or not products:
        raise InvalidInputError(
            f"--products: {','.join(products)}: {', '.join(unknown) or 'empty'} is not a "
            f"product the backtest replays; give one or more of {', '.join(PRODUCTS)}"
        )
    check_out_dir(out_dir)
    prof = load_profile(profile, out_dir=out_dir)
    if "heat" in products and prof.heat is None:
        raise InvalidInputError(
            f"--products: heat: profile {prof.name} has no 'heat' section; leave heat out or "
            "use a profile with one"
        )
    if "deformation" in products and prof.deformation is None:
        raise InvalidInputError(
            f"--products: deformation: profile {prof.name} has no 'deformation' section; "
            "leave deformation out or use a profile with one"
        )
    data_root = Path(prof.base_dir)
    truth_table, truth_source = load_truth(truth, data_root)
    check_rules(rules, "--rules")
    check_rules(compare_rules, "--compare-rules")

    report_dir = out_dir / "backtest" / f"{prof.name}_{start}_{end}"
    rule_sets = [
        RuleSet("baseline", _overlay_folder(rules, report_dir, "baseline"), _origin(rules))
    ]
    if compare_rules is not None:
        rule_sets.append(
            RuleSet(
                "candidate",
                _overlay_folder(compare_rules, report_dir, "candidate"),
                _origin(compare_rules),
            )
        )
    for rs, given in zip(rule_sets, (rules, compare_rules), strict=False):
        if given is not None and given.is_file() and rs.folder is not None:
            shutil.rmtree(rs.folder, ignore_errors=True)  # no file of an earlier backtest stays
            rs.folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(given, rs.folder / f"{given.stem}.yaml")

    code = 0
    runs: dict[str, dict[str, Any]] = {}
    windows_by_label: dict[str, pd.DataFrame] = {}
    for rs in rule_sets:
        run_code, folder = _run_one(
            rs, profile, data_root, (start, end), report_dir / "runs" / rs.label, products
        )
        code = max(code, run_code)
        from alerts.outbox import commands

        # a deformation site (truth members) counts once: its segments are folded into it
        windows = group_subjects(read_windows(folder, start, end), truth_table)
        revisions = commands.list_revisions(folder)
        windows_by_label[rs.label] = windows
        summary = {
            p: figures
            for p, figures in summarise(windows, truth_table, revisions, settings).items()
            if p in products
        }
        tables = {}
        for product in summary:
            w = windows[windows["product"] == product]
            t = truth_table[truth_table["product"] == product]
            tables[product] = {
                "events": _records(event_outcomes(w, t, settings)),
                "false_alarms": _records(false_alarm_table(w, t, settings)),
                "data_gaps": _records(data_gap_table(w, t)),
            }
        runs[rs.label] = {
            "rules_dir": str(rs.folder) if rs.folder else None,
            "rules_given": rs.origin,
            "rules": _rule_versions(rs.folder),
            "folder": str(folder),
            "exit_code": run_code,
            "summary": _jsonable(summary),
            "tables": tables,
        }
    comparison = (
        compare_summaries(runs["baseline"]["summary"], runs["candidate"]["summary"])
        if "candidate" in runs
        else None
    )
    not_evaluated = {}
    for product in PRODUCTS:
        if product not in products:
            not_evaluated[product] = "not requested (--products)" + _PERIOD_HINT.get(product, "")
    window_ends = sorted(
        {str(d) for w in windows_by_label.values() for d in w["window_end"].unique()}
    )
    doc: dict[str, Any] = {
        "profile": prof.name,
        "period": {"start": str(start), "end": str(end), "window_ends": window_ends},
        "truth": {"source": truth_source, "rows": len(truth_table)},
        "settings": settings.as_dict(),
        "products": list(products),
        "runs": runs,
        "comparison": _jsonable(comparison),
        "not_evaluated": not_evaluated,
        "plots": {},
    }
    _write_report(doc, report_dir, windows_by_label, truth_table, list(products))
    _print_summary(doc, report_dir)
    return code


def _origin(path: Path | None) -> str:
    if path is None:
        env = os.environ.get(OVERLAY_ENV)
        return f"built-in (with ${OVERLAY_ENV}={env})" if env else "built-in"
    return str(path)


def _overlay_folder(path: Path | None, report_dir: Path, label: str) -> Path | None:
    """The folder laid over the built-in policies: the given folder, or for one file a copy of
    it in ``rules/<label>/`` of the report (made when the runs start)."""
    if path is None:
        return None
    return path.resolve() if path.is_dir() else (report_dir / "rules" / label).resolve()


def _write_report(
    doc: dict[str, Any],
    report_dir: Path,
    windows_by_label: Mapping[str, pd.DataFrame],
    truth: pd.DataFrame,
    products: list[str],
) -> None:
    from alerts.evaluation.report import render_html, render_markdown, subject_plot
    from alerts.products.staging import ProductStage, slug

    images: dict[str, dict[str, bytes]] = {}
    with ProductStage(report_dir) as stage:
        for product in products:
            spans = truth[(truth["product"] == product) & (truth["kind"] == "event")]
            base = next(iter(windows_by_label.values()))
            subjects, left_out = _subject_order(base, truth, product)
            doc.setdefault("plots_left_out", {})[product] = left_out
            for subject in subjects:
                series = {
                    label: w[(w["product"] == product) & (w["subject_id"] == subject)]
                    for label, w in windows_by_label.items()
                }
                names = [n for w in series.values() for n in w.get("name", pd.Series()).dropna()]
                title = f"{product}: {names[0] if names else subject} ({subject})"
                events = [
                    (_date(r["start"]), _date(r["end"]))
                    for r in spans[spans["subject_id"] == subject].to_dict("records")
                ]
                png = subject_plot(title, series, events, score_label=_SCORE_LABEL[product])
                name = f"plots/{product}/{slug(subject)}.png"
                stage.stage_bytes(name, png)
                images.setdefault(product, {})[subject] = png
                doc["plots"].setdefault(product, {})[subject] = name
        stage.stage_bytes("backtest.md", render_markdown(doc).encode("utf-8"))
        stage.stage_bytes("backtest.html", render_html(doc, images).encode("utf-8"))
        stage.stage_bytes(
            "backtest.json", (json.dumps(doc, indent=1, sort_keys=False) + "\n").encode("utf-8")
        )
        stage.commit()


_SCORE_LABEL = {
    "irrigation": "priority score",
    "heat": "felt max degC",
    "deformation": "vertical mm/yr",
}
_PERIOD_HINT = {
    "heat": "; heat needs a period covering forecast issue days",
    "deformation": "; deformation needs a period covering the EGMS releases' last years",
}


def _date(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _print_summary(doc: Mapping[str, Any], report_dir: Path) -> None:
    for product in doc["products"]:
        for label, run in doc["runs"].items():
            s = run["summary"].get(product, {})
            print(
                f"backtest {product} [{label}]: recall {s.get('recall')} "
                f"({s.get('detected')}/{s.get('events_in_period')} events), false urgent windows "
                f"{s.get('false_alarm_windows')}, mean weeks watch/high->urgent "
                f"{s.get('mean_weeks_warning_to_alarm')}, DATA_GAP share {s.get('data_gap_share')}, "
                f"revisions {s.get('revisions', {}).get('total')}"
            )
        cmp = (doc.get("comparison") or {}).get(product)
        if cmp:
            print(
                f"backtest {product}: candidate rules are {cmp['verdict'].upper()} "
                f"(worse: {', '.join(cmp['worse']) or 'nothing'}; better: "
                f"{', '.join(cmp['better']) or 'nothing'})"
            )
    print(f"report: {report_dir / 'backtest.html'} ({report_dir / 'backtest.md'}, "
          f"{report_dir / 'backtest.json'})")  # fmt: skip
