"""The run manifest: what data and rules are behind a run's products (DESIGN section 1).

Scene ids, masks, period and profile come from the caller; the baselines, duplicates and offset
decisions of the scenes used come from their :class:`eo.scenes.SceneStack`; the rule and code
versions (the installed package's), per-park clear fractions, status counts and every product's
SHA-256 are computed here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd

from alerts.products.staging import sha256_file
from alerts.products.tables import json_safe
from core.errors import InvalidInputError
from eo.harmonise import HarmonisationReport
from eo.scenes import SceneStack
from indices.park_table import Col

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
            str(k): int(v) for k, v in parks[Col.STATUS].value_counts().sort_index().items()
        },
        "by_class": {str(c): int((classes == c).sum()) for c in (1, 2, 3, 4)},
        "clear_fractions": {
            str(pid): json_safe(cf)
            for pid, cf in zip(parks[Col.PARK_ID], parks[Col.CLEAR_FRACTION], strict=True)
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


def scenes_manifest(stacks: Sequence[SceneStack], used: Collection[str]) -> dict[str, object]:
    """The data behind a window: duplicates left out, baselines and offset decisions of ``used``.

    ``stacks`` are the scene stacks the run loaded (season and reference years); ``used`` the ids
    of the items the window's composites drew on.
    """
    reports = [s.harmonisation for s in stacks if s.harmonisation is not None]
    combined = HarmonisationReport.combine(reports)
    harmonisation: dict[str, object] = (
        combined.restricted_to(used).to_dict()
        if combined is not None
        else {"n_items": 0, "n_corrected": 0, "n_unverified": 0, "items": []}
    )
    return {
        "dropped_duplicates": [i for s in stacks for i in s.dropped],
        "rejected_items": [{"id": i, "reason": r} for s in stacks for i, r in s.rejected],
        "processing_baselines": {k: v for s in stacks for k, v in s.baselines_of(used).items()},
        "harmonisation": harmonisation,
    }


def vegetation_manifest_info(
    *,
    profile: str,
    period: tuple[dt.date, dt.date],
    reference: str,
    scene_ids: Sequence[str],
    reference_ids: Sequence[str],
    stacks: Sequence[SceneStack],
    masks: str,
    min_clear_fraction: float,
    synthetic: bool,
) -> dict[str, object]:
    """The caller's facts of one vegetation window's manifest (see :func:`manifest_bytes`).

    The code version is not among them: :func:`manifest_bytes` takes the installed package's.
    """
    return {
        "profile": profile,
        "period": {"start": str(period[0]), "end": str(period[1])},
        "reference": reference,
        "scene_ids": list(scene_ids),
        "reference_scene_ids": list(reference_ids),
        **scenes_manifest(stacks, {*scene_ids, *reference_ids}),
        "masks": masks,
        "min_clear_fraction": min_clear_fraction,
        "synthetic_data": synthetic,
    }
