"""The run manifest: what data and rules are behind a run's products (DESIGN section 1).

Scene ids, processing baselines, masks, period and profile come from the caller; the rule and code
versions, per-park clear fractions, status counts and every product's SHA-256 are computed here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

import pandas as pd

from alerts.products.staging import sha256_file
from alerts.products.tables import json_safe
from core.errors import InvalidInputError

MANIFEST_NAME = "manifest.json"


def code_version() -> str:
    """Installed version of the ``geospace`` distribution (``"unknown"`` when not installed)."""
    try:
        return metadata.version("geospace")
    except metadata.PackageNotFoundError:
        return "unknown"


def park_summary(parks: pd.DataFrame) -> dict[str, object]:
    """Counts by status and class and the clear fraction of every park (0..1)."""
    classes = parks["priority_class"].astype("Int64")
    return {
        "count": len(parks),
        "by_status": {
            str(k): int(v) for k, v in parks["status"].value_counts().sort_index().items()
        },
        "by_class": {str(c): int((classes == c).sum()) for c in (1, 2, 3, 4)},
        "clear_fractions": {
            str(pid): json_safe(cf)
            for pid, cf in zip(parks["park_id"], parks["clear_fraction"], strict=True)
        },
    }


def manifest_bytes(
    info: Mapping[str, object],
    *,
    parks: pd.DataFrame,
    products: Mapping[str, Path],
    attribution: str,
) -> bytes:
    """The manifest JSON of one run.

    Parameters
    ----------
    info : mapping
        Caller's facts: ``scene_ids``, ``processing_baselines``, ``masks``, ``period``, ``profile``
        and any further JSON-able keys (kept as given); ``rule_version`` and ``code_version``
        default to the priority table's rule and the installed package.
    parks : pandas.DataFrame
        The priority table (for clear fractions and counts).
    products : mapping of str to Path
        Product name (relative path) -> file whose bytes are hashed.
    attribution : str
        Copernicus attribution.
    """
    doc: dict[str, object] = {str(k): json_safe(v) for k, v in info.items()}
    doc.setdefault("rule_version", parks.attrs.get("irrigation_rule_version"))
    doc.setdefault("code_version", code_version())
    doc.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    doc["attribution"] = attribution
    doc["parks"] = park_summary(parks)
    doc["products"] = [
        {"path": name, "sha256": sha256_file(path), "bytes": path.stat().st_size}
        for name, path in products.items()
    ]
    try:
        text = json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(f"manifest_info holds a value JSON cannot carry: {err}") from err
    return text.encode("utf-8")
