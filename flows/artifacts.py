"""Prefect artifacts of a flow run: what operators see in the Prefect UI beside the run.

- vegetation: the ranked park table of the last window evaluated, links to its maps;
- heat: the bulletin summary (each forecast's decision, the districts first ranked);
- deformation: the segment table of each release (watch/warning first), links to its maps.

:func:`refresh_dashboard` rewrites the operations dashboard (``OUT/index.html``) wherever the state
it shows changes: at the end of each vegetation, heat and deformation run, after ``geospace alerts
approve|reject|retry`` and after a delivery (the relay process ``python -m alerts.outbox`` rewrites
it itself: :func:`alerts.outbox.__main__.dashboard_refresher`).

Artifacts are built from the products on disk (the products stay the record; an artifact is a
view). Keys are stable per profile (``vegetation-vienna``), so the UI shows their history. Outside
a flow run (a flow body called directly) nothing is published. A failure to publish is logged as a
warning and never fails the run: the products are already written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

MAX_ROWS = 50
PARK_COLUMNS = ("rank", "park_id", "name", "priority", "status", "ndvi_anomaly", "ndmi_anomaly",
                "clear_fraction", "why")  # fmt: skip
SEGMENT_COLUMNS = ("segment_id", "line_name", "chainage_from_m", "chainage_to_m", "status",
                   "alert", "n_coherent", "vertical_velocity", "velocity_sigma",
                   "angular_distortion", "reason")  # fmt: skip
PARK_PRODUCT = "irrigation_priority.geojson"
PARK_MAPS = ("irrigation_priority.html", "irrigation_priority.png", "ndvi_anomaly.tif")
SEGMENT_PRODUCT = "corridor_segments.geojson"
SEGMENT_MAPS = ("network_vertical_velocity.html", "network_vertical_velocity.png")
ALERT_ORDER = {"warning": 0, "watch": 1}


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) from ``parts``."""
    raw = "-".join(parts).lower()
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", raw)).strip("-")


def _properties(geojson: Path) -> list[dict[str, Any]]:
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    return [dict(f.get("properties") or {}) for f in doc.get("features", [])]


def _cell(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def table_rows(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], limit: int = MAX_ROWS
) -> list[dict[str, Any]]:
    """The first ``limit`` rows, each reduced to the ``columns`` it has, floats rounded."""
    out = []
    for row in rows:
        out.append({c: _cell(row[c]) for c in columns if c in row})
        if len(out) >= limit:
            break
    return out


def ranked_parks(folder: Path) -> list[dict[str, Any]]:
    """Parks of one vegetation product folder: ranked first (by rank), then unranked (DATA_GAP)."""
    parks = _properties(folder / PARK_PRODUCT)
    return sorted(
        parks, key=lambda p: (p.get("rank") is None, p.get("rank") or 0, str(p.get("park_id")))
    )


def ordered_segments(folder: Path) -> list[dict[str, Any]]:
    """Segments of one release: warning, then watch, then the rest; by velocity within a group."""
    segments = _properties(folder / SEGMENT_PRODUCT)
    return sorted(
        segments,
        key=lambda s: (
            ALERT_ORDER.get(str(s.get("alert")), 2),
            -abs(s.get("vertical_velocity") or 0.0),
            str(s.get("segment_id")),
        ),
    )


def links_markdown(title: str, folder: Path, names: Sequence[str]) -> str:
    """A markdown list of the product files in ``folder`` among ``names`` (file URIs)."""
    lines = [f"### {title}", "", f"Products: `{folder}`", ""]
    for name in names:
        path = folder / name
        if path.exists():
            lines.append(f"- [{name}]({path.resolve().as_uri()})")
    return "\n".join(lines)


def heat_markdown(summary: dict[str, Any]) -> str:
    """The bulletin summary of a heat run as markdown (decisions, districts first, LST status)."""
    lines = [
        "### Heat run",
        "",
        f"LST: {summary.get('lst_status')}"
        + (f" ({summary['lst_reason']})" if summary.get("lst_reason") else ""),
        f"Hot-spot polygons: {summary.get('hotspots', 0)}",
        f"Districts first: {', '.join(summary.get('ranking', [])[:5]) or 'none ranked'}",
        "",
        "| forecast issued | heatwave | status | action | bulletin | revision status |",
        "|---|---|---|---|---|---|",
    ]
    for d in summary.get("forecasts", []):
        lines.append(
            f"| {d.get('issued')} | {'yes' if d.get('heatwave') else 'no'} | {d.get('status')} "
            f"| {d.get('action')} | {d.get('revision_id') or '-'} "
            f"| {d.get('revision_status') or '-'} |"
        )
    if not summary.get("forecasts"):
        lines.append("| - | - | DATA_GAP | no forecast issued in the period | - | - |")
    return "\n".join(lines)


def refresh_dashboard(out_dir: str | Path, profile: Any = None, *, dsn: str | None = None) -> None:
    """Rewrite ``OUT/index.html`` from the products and the outbox; warn, never raise.

    ``profile`` (a :class:`core.profile.CityProfile`, given by runs): its context layers are drawn
    and stored for later refreshes, and its outbox DSN is used when ``dsn`` is not given. The
    dashboard is a view: a failure to write it is one warning on stderr and never fails the
    command (the products and the outbox are already written).
    """
    import sys

    try:
        from alerts.products.context import load_context
        from alerts.products.dashboard import page_title, write_dashboard

        context = None
        title = page_title(out_dir)
        if profile is not None:
            context = load_context(profile)
            dsn = dsn or profile.outbox.dsn()
            title = f"geospace operations: {profile.title or profile.name}"
        write_dashboard(out_dir, dsn=dsn, context=context, title=title)
    except Exception as err:  # a view of the products: never fail the command for it
        print(
            f"geospace: warning: dashboard {Path(out_dir) / 'index.html'} not written: "
            f"{type(err).__name__}: {err}",
            file=sys.stderr,
        )


def _in_flow_run() -> bool:
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def _publish(kind: str, profile: str, publish: Any) -> None:
    """Call ``publish()`` inside a flow run; log, never raise, when the API refuses."""
    if not _in_flow_run():
        return
    from prefect import get_run_logger

    try:
        publish()
    except Exception as err:  # the products are written; an artifact is a view of them
        get_run_logger().warning(
            "artifact %s of profile %s not published: %s: %s",
            kind, profile, type(err).__name__, err,
        )  # fmt: skip


def publish_vegetation(profile: str, folders: Sequence[str]) -> None:
    """The ranked park table of the last window in ``folders`` and links to its maps."""
    if not folders:
        return
    folder = Path(folders[-1])

    def publish() -> None:
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        create_table_artifact(
            key=artifact_key("vegetation", profile),
            table=table_rows(ranked_parks(folder), PARK_COLUMNS),
            description=f"Irrigation priority, window ending {folder.name} ({profile})",
        )
        create_markdown_artifact(
            key=artifact_key("vegetation-maps", profile),
            markdown=links_markdown(f"Irrigation priority {folder.name}", folder, PARK_MAPS),
            description=f"Maps of the window ending {folder.name}",
        )

    _publish("vegetation", profile, publish)


def publish_heat(profile: str, summary: dict[str, Any]) -> None:
    """The heat bulletin summary of the run."""

    def publish() -> None:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(
            key=artifact_key("heat", profile),
            markdown=heat_markdown(summary),
            description=f"Heat bulletin decisions ({profile})",
        )

    _publish("heat", profile, publish)


def publish_deformation(profile: str, folders: Sequence[str]) -> None:
    """The segment table of each release in ``folders`` (warning/watch first) and map links."""
    if not folders:
        return

    def publish() -> None:
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        for name in folders:
            folder = Path(name)
            create_table_artifact(
                key=artifact_key("deformation", profile),
                table=table_rows(ordered_segments(folder), SEGMENT_COLUMNS),
                description=f"Corridor segments, EGMS release {folder.name} ({profile})",
            )
            create_markdown_artifact(
                key=artifact_key("deformation-maps", profile),
                markdown=links_markdown(f"Release {folder.name}", folder, SEGMENT_MAPS),
                description=f"Maps of EGMS release {folder.name}",
            )

    _publish("deformation", profile, publish)
