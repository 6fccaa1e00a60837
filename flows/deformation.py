"""The deformation flow: EGMS releases -> corridor segments -> products and work orders.

``geospace run deformation --profile P --start D --end D`` evaluates every release in the
profile's ``deformation.source`` folder whose last year falls in the period (oldest first), with
the acquisitions inside the period. Each release is one window: its findings go through the
deformation rule (``alerts/policies/deformation.yaml``: a warning or an angular distortion at or
over 1/500 that persists, in 2 of the last 3 releases or on the ascending and the descending track
each on its own within one release, opens one work order per segment, with the segment's figures
and a link to its plot (``deformation.products_url``, else a file:// URL); a watch stays in the products and the
operators' digest of the run lists the latest release's watched segments), and a rerun, or a
monthly check that finds no new release, adds nothing (findings and revisions are keyed).
Products go to ``OUT/deformation/<release>/`` (:mod:`alerts.products.deformation_release`).
A period in which no release ends is a DATA_GAP, not silence: ``OUT/deformation/data_gap.json``
says so, and the whole network's DATA_GAP event opens (one operator notice, in the run's digest;
later checks while it lasts add nothing); the first run that finds a release clears both. A
release in which every segment is a DATA_GAP (too few coherent points) is the same network event
(reason ``every_segment``): one notice for the network, not one per segment; its findings are
recorded, and the next release with data clears it.

Inputs are checked before Prefect starts (exit 2): the profile's ``deformation`` section, the
corridor layer (declared CRS, lines, inside the AOI), the source folder and the header of every
EGMS file in it (required columns, dates in order). A value that is not a number stops the run
at the release whose file holds it, before that release writes or queues anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_type_hints

import geopandas as gpd
import shapely

from core.errors import InvalidInputError
from core.profile import CityProfile, DeformationConfig, load_profile
from eo.insar import EGMS_CRS, Release, check_egms_header, find_releases, read_release
from flows.progress import NullReporter
from flows.runtime import check_out_dir, set_up_out_dir


@dataclass(frozen=True)
class DeformationInputs:
    """Checked inputs of one run."""

    profile: CityProfile
    config: DeformationConfig
    segments: gpd.GeoDataFrame
    releases: tuple[Release, ...]


def _aoi(profile: CityProfile) -> Any:
    path = Path(profile.resolve(profile.aoi.path))
    if not path.is_file():
        return None
    frame = gpd.read_file(path)
    if frame.crs is None:
        frame = frame.set_crs("EPSG:4326")
    return shapely.union_all(list(frame.to_crs(EGMS_CRS).geometry))


def resolve_deformation_inputs(profile_name: str | Path, out_dir: Path) -> DeformationInputs:
    """Load and check everything the run needs; raises InvalidInputError (exit 2) otherwise."""
    from eo.layers import read_layer
    from indices.deformation import segment_corridors

    profile = load_profile(profile_name, out_dir=out_dir)
    cfg = profile.deformation
    if cfg is None:
        raise InvalidInputError(
            f"profile {profile.name} has no 'deformation' section; add one with at least "
            "'source: <folder of EGMS files>' (see core/profiles/vienna-demo.yaml)"
        )
    layer = profile.layers.corridors
    if layer is None:
        raise InvalidInputError(
            f"profile {profile.name} has no layers.corridors; add the corridor lines "
            "(path, id_field, name_field)"
        )
    corridors = read_layer(
        profile.resolve(layer.path), id_field=layer.id_field, name_field=layer.name_field,
        crs=EGMS_CRS, layer="corridors",
    )  # fmt: skip
    segments = segment_corridors(
        corridors, id_field="id", name_field="name", length_m=cfg.segment_length
    )
    aoi = _aoi(profile)
    if aoi is not None and not shapely.intersects(aoi, shapely.union_all(list(segments.geometry))):
        raise InvalidInputError(
            f"layers.corridors: no corridor line lies inside the AOI of {profile.name} (layer "
            f"bounds {[round(v) for v in corridors.total_bounds]} in {EGMS_CRS}); the layer's "
            "declared CRS is probably not the one its coordinates are in: declare the right one"
        )
    releases = tuple(find_releases(profile.resolve(cfg.source)))
    for release in releases:  # headers only: a bad file stops the run before anything is written
        for path in release.files:
            check_egms_header(path)
    return DeformationInputs(profile, cfg, segments, releases)


def run_releases(
    inputs: DeformationInputs,
    start: date,
    end: date,
    out: Path,
    log: Callable[[str], None] = lambda _: None,
    *,
    force: bool = False,
    progress: NullReporter | None = None,
) -> dict[str, Any]:
    """Evaluate, write and queue every release of the period (no Prefect); return a summary.

    A release already evaluated with the same files, rules and period (its ``evaluated.json``,
    written after its revisions are queued) is skipped unless ``force``: the monthly check runs
    each release once. A forced rerun rewrites the products and queues nothing new (keyed).
    ``progress``: the command's reporter (:mod:`flows.progress`); silent without one.
    """
    report = progress or NullReporter()
    from alerts.detect.deformation import (
        EVERY_SEGMENT,
        NO_RELEASE,
        deformation_findings,
        distortion_findings,
        evaluate_release,
        known_event_steps,
        release_reach,
        releases_in_period,
        rules_from_profile,
        watch_list,
    )
    from alerts.products.context import load_context
    from alerts.products.deformation_release import (
        plot_links,
        remove_gap_note,
        write_deformation_products,
        write_gap_note,
    )

    rules = rules_from_profile(inputs.config)
    steps = known_event_steps(inputs.segments, inputs.config)
    reach = release_reach(inputs.segments, rules)  # the points near the segments are read
    chosen = releases_in_period(inputs.releases, start, end)
    written: list[str] = []
    outcomes: list[Any] = []
    network: list[Any] = []  # changes of the network's DATA_GAP event, release by release

    def network_gap(reason: str | None) -> None:
        outcome = queue_network_gap(
            inputs.profile, start, end, out, reason=reason, threshold=rules.warning_mm_yr
        )
        network.extend([] if outcome is None else [outcome])

    gaps = 0
    levels: dict[str, int] = {}
    skipped: list[str] = []
    watch: list[dict[str, Any]] = []
    report.message(f"releases found in the period: {', '.join(r.name for r in chosen) or 'none'}")
    report.stage("releases evaluated and products written", len(chosen))
    context = load_context(inputs.profile) if chosen else None  # districts and water on the map
    for release in chosen:
        folder = out / "deformation" / release.name
        stamp = _fingerprint(release, inputs, start, end)
        done = _evaluated(folder)
        if not force and done is not None and _stamp(done) == stamp:
            skipped.append(release.name)
            log(f"release {release.name}: already evaluated with these files and rules, skipped")
            network_gap(
                EVERY_SEGMENT if done.get(ALL_DATA_GAP) else None
            )  # the network's state after this release, as recorded
            report.advance("releases evaluated and products written")
            continue
        points = read_release(release, aoi=reach)  # the edge: each file read once, here
        ev = evaluate_release(points, inputs.segments, rules, steps, start=start, end=end)
        info = {
            "profile": inputs.profile.name,
            "release": release.name,
            "period": [start.isoformat(), end.isoformat()],
            "window": [ev.window_start.isoformat(), ev.window_end.isoformat()],
            "sources": list(ev.sources),
            "points_joined": ev.points,
            "rules": {
                "segment_length_m": rules.segment_length_m, "buffer_m": rules.buffer_m,
                "min_points": rules.min_points, "min_coherence": rules.min_coherence,
                "watch_mm_yr": rules.watch_mm_yr, "warning_mm_yr": rules.warning_mm_yr,
                "min_significance": rules.min_significance,
                "angular_distortion_limits": list(rules.distortion_limits),
                "rule_file": "alerts/policies/deformation.yaml",
            },
            "known_events": [
                {"name": e.name, "date": e.date.isoformat(), "lon": e.lon, "lat": e.lat,
                 "radius_m": e.radius} for e in inputs.config.known_events
            ],
            "synthetic": inputs.profile.synthetic,
        }  # fmt: skip
        products = write_deformation_products(
            out / "deformation" / release.name, ev.segments, ev.series, info, context
        )
        written.append(str(products["manifest.json"].parent))
        findings = deformation_findings(ev, rules)
        all_gap = bool(findings) and all(str(f.status) == "DATA_GAP" for f in findings)
        gaps += all_gap
        for f in findings:
            levels[str(f.level)] = levels.get(str(f.level), 0) + 1
        # Every segment without data: ONE notice about the network (recorded findings, no
        # per-segment notices), as the parks layer's; a release with data clears it.
        network_gap(EVERY_SEGMENT if all_gap else None)
        if all_gap:
            record_findings(inputs.profile, findings, out)
        else:
            plots = plot_links(
                ev.segments["segment_id"], products, out, inputs.config.products_url
            )  # work orders link their segment's plot
            outcomes += queue_deformation_alerts(
                inputs.profile,
                [*findings, *distortion_findings(ev, rules)],
                ev.segments,
                out,
                plots,
            )  # velocity and distortion of a segment: one rule, one work order (also_rates)
        watch = watch_list(ev.segments, release.name)  # the latest release evaluated counts
        _write_json(folder / EVALUATED, {**stamp, ALL_DATA_GAP: all_gap})
        log(f"release {release.name}: {len(findings)} segments, products in {written[-1]}")
        report.advance("releases evaluated and products written")
    report.done("releases evaluated and products written", f"{len(skipped)} already done")
    # No release in the period is a result, not silence: a DATA_GAP note among the products and
    # the network's DATA_GAP event (opened once, cleared by the first run that finds a release).
    note = None
    if chosen:
        remove_gap_note(out / "deformation")
    else:
        note = write_gap_note(
            out / "deformation", _gap_info(inputs, start, end, no_release_text(inputs, start, end))
        )
        network_gap(NO_RELEASE)
    outcomes = [*network, *outcomes]
    queued = sum(o.revision_id is not None or o.gap_revision_id is not None for o in outcomes)
    if len(skipped) < len(chosen) or network:
        from flows.alerting import queue_run_digest

        digest = queue_run_digest.fn(
            inputs.profile, outcomes, start=start, end=end, out_dir=out, hazard="deformation",
            watch=watch,
        )  # fmt: skip
        queued += digest is not None
    return {
        "releases": [r.name for r in chosen],
        "skipped": skipped,
        "products": written,
        "revisions_queued": queued,
        "finding_levels": levels,
        "all_data_gap_releases": gaps,
        "watch": [w["subject_id"] for w in watch],
        "gap_note": None if note is None else str(note),
        "network_gap": network[-1].gap if network else None,
    }


def no_release_text(inputs: DeformationInputs, start: date, end: date) -> str:
    """Why a run without a release evaluated nothing, and what to do."""
    return (
        f"no release of deformation.source ({inputs.config.source}) ends in "
        f"{start.year}..{end.year}: nothing evaluated (DATA_GAP); widen the period or add the "
        "release's files"
    )


def _gap_info(inputs: DeformationInputs, start: date, end: date, text: str) -> dict[str, Any]:
    from alerts.detect.deformation import NO_RELEASE, network_subject

    return {
        "profile": inputs.profile.name,
        "subject": network_subject(inputs.profile.name),
        "period": [start.isoformat(), end.isoformat()],
        "reason": NO_RELEASE,
        "text": text,
        "source": str(inputs.config.source),
        "releases_in_source": [r.name for r in inputs.releases],
        "segments": len(inputs.segments),
        "synthetic": inputs.profile.synthetic,
    }


def queue_network_gap(
    profile: CityProfile,
    start: date,
    end: date,
    out: Path,
    *,
    reason: str | None,
    threshold: float,
) -> Any:
    """Open (``reason``: :data:`~alerts.detect.deformation.NO_RELEASE`, no release ends in the
    period, or :data:`~alerts.detect.deformation.EVERY_SEGMENT`, a release without a segment
    with data), update (the reason changed) or clear (``reason`` None: a release with data) the
    DATA_GAP event of the whole corridor network, through the one notice builder, to the sinks
    that take notices. A gap that goes on (the next monthly check) queues nothing. Returns the
    outcome (for the run's digest), or None when the event did not change."""
    from alerts.detect.deformation import deformation_policy, network_finding
    from alerts.outbox.store import open_store
    from alerts.sinks.routing import Routing
    from flows.alerting import layer_gap_outcome

    finding = network_finding(profile.name, start, end, reason=reason, threshold=threshold)
    store = open_store(out, dsn=profile.outbox.dsn())
    try:
        return layer_gap_outcome(
            store, finding, deformation_policy(_config(profile)), Routing.from_profile(profile.sinks),
            datetime.now(UTC).replace(microsecond=0),
            name=f"all corridor segments of {profile.title}",
            gap_text=GAP_TEXT.get(reason or "", "DATA_GAP"), clear_text="a release is there again",
        )  # fmt: skip
    finally:
        store.close()


def _config(profile: CityProfile) -> DeformationConfig:
    if profile.deformation is None:
        raise InvalidInputError(f"profile {profile.name} has no 'deformation' section")
    return profile.deformation


EVALUATED = "evaluated.json"
"""Written into a release's product folder once its revisions are queued."""
ALL_DATA_GAP = "all_data_gap"
"""Key of ``evaluated.json`` beside the fingerprint: every segment of the release was a DATA_GAP
(a later run that skips the release still knows the network's state)."""
GAP_TEXT = {
    "no_release": "no release ends in the period",
    "every_segment": "every segment DATA_GAP (too few coherent points)",
}
"""The outcome's reason of the network's DATA_GAP, by the finding's reason."""


def _stamp(evaluated: dict[str, Any]) -> dict[str, Any]:
    """The fingerprint part of an ``evaluated.json`` (what decides whether to skip)."""
    return {k: v for k, v in evaluated.items() if k != ALL_DATA_GAP}


def record_findings(profile: CityProfile, findings: list[Any], out: Path) -> None:
    """Record a release's findings (their history counts for persistence) without rating them:
    every segment is a DATA_GAP, and the network's one notice says so."""
    from alerts.outbox.store import open_store

    store = open_store(out, dsn=profile.outbox.dsn())
    try:
        store.record_findings(f.to_dict() for f in findings)
    finally:
        store.close()


def _fingerprint(
    release: Release, inputs: DeformationInputs, start: date, end: date
) -> dict[str, Any]:
    """What an evaluation depends on: files (name, size), rules (the profile's values and the
    versions of the rule files, so a new rule version re-evaluates a release and revises its open
    work orders, DESIGN section 5), segments and the period used."""
    from alerts.detect.deformation import deformation_policy

    policy = deformation_policy(inputs.config)
    first = max(start, date(release.first_year, 1, 1))
    last = min(end, date(release.last_year, 12, 31))
    return {
        "release": release.name,
        "files": [[p.name, p.stat().st_size] for p in release.files],
        "deformation": inputs.config.model_dump(mode="json"),
        "rule_versions": [policy.version, *policy.references],
        "segments": len(inputs.segments),
        "period": [first.isoformat(), last.isoformat()],
    }


def _evaluated(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / EVALUATED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def deformation_flow_fn(
    profile: str,
    start: date,
    end: date,
    out_dir: str = "out",
    progress: NullReporter | None = None,
    inputs: DeformationInputs | None = None,
) -> Any:
    """Body of the Prefect flow ``deformation`` (wrapped by :func:`deformation_flow`).

    ``inputs``: the run's inputs when the caller already resolved and checked them (the CLI does,
    before Prefect starts); a scheduled run passes only names and resolves them here, once.
    """
    from prefect import get_run_logger
    from prefect.states import Completed

    from flows.artifacts import publish_deformation, refresh_dashboard

    logger = get_run_logger()
    out = Path(out_dir)
    if inputs is None:
        inputs = resolve_deformation_inputs(profile, out)
    summary = run_releases(inputs, start, end, out, log=logger.info, progress=progress)
    publish_deformation(inputs.profile.name, summary["products"])
    refresh_dashboard(out, inputs.profile)
    if not summary["releases"]:
        return Completed(name="DATA_GAP", message="no release in the period", data=summary)
    evaluated = len(summary["releases"]) - len(summary["skipped"])
    if evaluated and summary["all_data_gap_releases"] == evaluated:
        return Completed(name="DATA_GAP", message="no segment has enough points", data=summary)
    return Completed(
        message=f"{evaluated} release(s) evaluated, {len(summary['skipped'])} already done",
        data=summary,
    )


def queue_deformation_alerts(
    profile: CityProfile,
    findings: list[Any],
    segments: gpd.GeoDataFrame,
    out: Path,
    plots: Mapping[str, str] | None = None,
    *,
    policy: str = "deformation",
) -> list[Any]:
    """Findings through the deformation rule into the outbox; returns the outcomes (one per
    velocity finding: the segment's angular-distortion findings weigh in its decision through the
    rule's ``also_rates``, so a segment holds one work order). ``plots``: segment id -> URL of its
    plot, linked from the work order with the segment's figures."""
    from alerts.decide.pipeline import apply_findings
    from alerts.decide.policy import load_notice_policy
    from alerts.detect.deformation import deformation_policy, segment_subjects
    from alerts.outbox.store import open_store
    from alerts.sinks.routing import Routing

    if not findings:
        return []
    store = open_store(out, dsn=profile.outbox.dsn())
    try:
        outcomes = apply_findings(
            store, findings, deformation_policy(_config(profile), policy),
            now=datetime.now(UTC).replace(microsecond=0),
            sinks=Routing.from_profile(profile.sinks),
            subjects=segment_subjects(segments, plots), notice_policy=load_notice_policy(), out_dir=out,
        )  # fmt: skip
    finally:
        store.close()
    return list(outcomes)


def deformation_flow() -> Any:
    """The Prefect flow ``deformation`` (Prefect is imported only when a run starts)."""
    from prefect import flow

    from flows.dask_runtime import with_dask

    body = with_dask(deformation_flow_fn)
    # Prefect validates parameters from the annotations; resolve them here, in this module (the
    # wrapper lives in flows.dask_runtime, where ``date`` and ``DeformationInputs`` are unknown).
    body.__annotations__ = get_type_hints(deformation_flow_fn)
    return flow(name="deformation", log_prints=False)(body)


def run_deformation_cli(
    *,
    profile: str,
    start: date,
    end: date,
    out_dir: Path,
    progress: NullReporter | None = None,
) -> int:
    """``geospace run deformation``: check inputs (exit 2), run the flow, say where things are."""
    report = progress or NullReporter()
    if end < start:
        raise InvalidInputError(
            f"--end {end} is before --start {start}; give an end on or after it"
        )
    check_out_dir(out_dir)
    # Invalid input fails here, before Prefect starts: nothing is written under --out.
    inputs = resolve_deformation_inputs(profile, out_dir)
    set_up_out_dir(out_dir, dsn=inputs.profile.outbox.dsn())
    report.message("deformation: starting the flow (Prefect's local server takes a few seconds)")
    state = deformation_flow()(
        profile=str(profile), start=start, end=end, out_dir=str(out_dir), progress=report,
        inputs=inputs,
        return_state=True,
    )  # fmt: skip
    summary: dict[str, Any] = state.result(raise_on_failure=True)
    note = summary["gap_note"]
    report.finish(
        str(state.name),
        [*summary["products"], *([note] if note else [])],
        {
            "releases": len(summary["releases"]),
            "releases_skipped": len(summary["skipped"]),
            "revisions_queued": int(summary["revisions_queued"]),
        },
        f"deformation: {state.name}: {len(summary['products'])} release(s) under "
        f"{out_dir}/deformation",
    )
    print(
        f"deformation: {state.name}: release(s) {', '.join(summary['releases']) or 'none'}; products:"
    )
    for folder in summary["products"]:
        print(f"  {folder}")
    if not summary["releases"]:
        print(f"  {note}")
        print(f"  note: {no_release_text(inputs, start, end)}")
        if summary["network_gap"] is None:
            print("  the operators' DATA_GAP notice of this gap was queued by an earlier run")
        else:
            print("  a DATA_GAP notice for the operators is in the outbox (once per gap)")
    for name in summary["skipped"]:
        print(f"  {name}: already evaluated with these files and rules (nothing to do)")
    print(
        f"alerts: {summary['revisions_queued']} new revision(s) in the outbox under {out_dir}/alerts"
    )
    return 0
