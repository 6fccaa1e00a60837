"""Earlier windows of each park, for the persistence term of the irrigation priority score.

The history is what the system recorded: the irrigation findings of earlier windows in the
outbox's findings table (DESIGN section 5), one per park and window, with the park's status and
level (``5 - priority class``). A weekly scheduled run, a season replayed in one run and a rerun
of one window therefore see the same history, and the score of a window does not depend on where
the run that evaluated it started. A window evaluated again keeps the finding recorded first (the
outbox ignores a repeat), so the history holds the classes as they were first issued, also after a
rule change. The table handed to
:func:`alerts.detect.irrigation.irrigation_priority` has the columns :data:`HISTORY_COLUMNS`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from alerts.detect.irrigation_findings import FINDING_KIND
from core.status import SubjectStatus

__all__ = ["HISTORY_COLUMNS", "empty_history", "history_from_findings", "load_history"]

HISTORY_COLUMNS = ("park_id", "window_end", "status", "priority_class")


def empty_history() -> pd.DataFrame:
    """A history without any window (every park's persistence is 0 days)."""
    return pd.DataFrame(
        {
            "park_id": pd.Series(dtype=object),
            "window_end": pd.Series(dtype=object),
            "status": pd.Series(dtype=object),
            "priority_class": pd.Series(dtype="Int64"),
        }
    )


def _end_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()


def _level(row: Mapping[str, Any]) -> int | None:
    """The finding's level: a column of a Finding dict, or inside the stored JSON payload."""
    level = row.get("level")
    if level is None and row.get("payload"):
        payload = row["payload"]
        level = (json.loads(payload) if isinstance(payload, str) else payload).get("level")
    try:
        return None if level is None else int(level)
    except (TypeError, ValueError):
        return None


def history_from_findings(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Irrigation findings (outbox rows or :meth:`Finding.to_dict` dicts) -> history table.

    A finding of another kind is skipped; the class of a valid window is ``5 - level`` (level 1 =
    class 4 "none"); a DATA_GAP window, or one without a level, has no class.
    """
    records = []
    for row in rows:
        if str(row.get("kind")) != FINDING_KIND:
            continue
        status = str(row.get("status", SubjectStatus.OK.value))
        level = _level(row)
        value = row.get("value")
        seen = value is not None and not (isinstance(value, float) and math.isnan(value))
        valid = status != SubjectStatus.DATA_GAP and level is not None and 1 <= level <= 4 and seen
        records.append(
            {
                "park_id": str(row.get("subject_id")),
                "window_end": _end_date(row["window_end"]),
                "status": status,
                "priority_class": 5 - level if valid and level is not None else pd.NA,
            }
        )
    if not records:
        return empty_history()
    frame = pd.DataFrame.from_records(records, columns=list(HISTORY_COLUMNS))
    frame["priority_class"] = frame["priority_class"].astype("Int64")
    return frame


def load_history(
    out_dir: str | Path, *, dsn: str | None, before: date, lookback_days: float
) -> pd.DataFrame:
    """The recorded irrigation windows ending in ``before - lookback_days .. before`` (exclusive).

    Parameters
    ----------
    out_dir : path
        The run's output folder (its SQLite outbox) when ``dsn`` is None.
    dsn : str or None
        The profile's PostgreSQL outbox (``profile.outbox.dsn()``).
    before : date
        End of the window being evaluated: only earlier windows are history.
    lookback_days : float
        How far back persistence can reach (the policy's ``persistence.full``).
    """
    from alerts.outbox.store import open_store  # the outbox only when a run loads history

    store = open_store(out_dir, dsn=dsn)
    try:
        frame = history_from_findings(store.findings(kind=FINDING_KIND))
    finally:
        store.close()
    first = before - timedelta(days=math.ceil(lookback_days))
    ends = frame["window_end"]
    keep = [first <= e < before for e in ends]
    return frame.loc[keep].reset_index(drop=True)
