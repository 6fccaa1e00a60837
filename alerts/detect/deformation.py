"""Ground deformation along corridors as evidence: one release -> per-segment figures and findings.

One EGMS release is one evaluation window (its first to last acquisition), so a monthly check that
finds no new release records nothing new, and persistence counts releases. Segments come from the
corridor layer, not from the points, so the same segment is matched by location in every release
even though EGMS ``pid`` s change between releases. No file is read here: the flow reads a
release's points at the edge (:func:`eo.insar.read_release`, within :func:`release_reach`) and
hands them to :func:`evaluate_release`.

Levels a finding carries (DESIGN section 4; the rule ``alerts/policies/deformation.yaml``
decides what opens a work order): 0 none (also DATA_GAP and insignificant velocities), 2 watch
(``|v| >= watch`` and ``|v| / sigma >= 3``), 3 warning (``|v| >= warning``), 4 severe (twice the
warning). The value is the segment's vertical velocity in mm/yr (ascending + descending decomposed
where both exist, else the LOS projected to vertical); the coverage is :func:`point_coverage`.

Each finding also carries its figure per track (:attr:`alerts.model.Finding.tracks`): the
ascending and the descending points' own LOS-to-vertical velocity (angular distortion), for a track
with the profile's minimum of coherent points on the segment on its own (and, for a velocity, a
significant one: ``|v| / sigma >= min_significance``). The rule's ``persistence.tracks`` counts a
release whose two tracks each reach its level, in the same direction, as persistent at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from alerts.decide.policy import Policy, load_policy
from alerts.decide.revisions import Detail, SubjectInfo
from alerts.model import Finding
from core.errors import InvalidInputError
from core.profile import DeformationConfig
from core.status import SubjectStatus
from eo.insar import EGMS_CRS, Release, ReleaseFile, ReleasePoints, date_columns
from indices.deformation import TRACKS, SegmentRules, join_points, segment_figures

FINDING_KIND = "vertical_velocity"
UNITS = "mm yr-1"


def rules_from_profile(cfg: DeformationConfig) -> SegmentRules:
    """The detector's gates from the profile's ``deformation`` section."""
    return SegmentRules(
        segment_length_m=cfg.segment_length,
        buffer_m=cfg.buffer,
        min_points=cfg.min_points,
        min_coherence=cfg.min_coherence,
        watch_mm_yr=cfg.watch_velocity,
        warning_mm_yr=cfg.warning_velocity,
        min_significance=cfg.min_significance,
        bin_m=cfg.bin_length,
        max_bin_distance_m=cfg.max_bin_distance,
    )


def deformation_policy(cfg: DeformationConfig, name: str = "deformation") -> Policy:
    """The deformation work-order rule (and the distortion rule it rates beside the velocity)
    with the profile's coverage rule bound to it: ``deformation.min_points`` decides the
    segments' status, the rules' DATA_GAP / DEGRADED and the "why" of a gap notice alike."""
    return load_policy(name).with_coverage(cfg.coverage_rule())


def known_event_steps(
    segments: gpd.GeoDataFrame, cfg: DeformationConfig
) -> dict[str, tuple[date, ...]]:
    """For each segment, the dates of the known events within their radius (step terms)."""
    out: dict[str, list[date]] = {}
    if not cfg.known_events:
        return {}
    sites = gpd.GeoSeries([Point(e.lon, e.lat) for e in cfg.known_events], crs="EPSG:4326").to_crs(
        segments.crs
    )
    geoms = np.asarray(segments.geometry.values)
    for event, site in zip(cfg.known_events, sites, strict=True):
        near = shapely.dwithin(geoms, site, event.radius)
        for sid in segments["segment_id"].to_numpy()[near]:
            out.setdefault(str(sid), []).append(event.date)
    return {sid: tuple(sorted(days)) for sid, days in out.items()}


@dataclass(frozen=True)
class ReleaseEvaluation:
    """Figures of every segment for one release."""

    release: str
    window_start: date
    window_end: date
    segments: gpd.GeoDataFrame
    series: dict[str, pd.Series]
    sources: tuple[str, ...]
    points: int


L3_VERTICAL = "L3 vertical"
"""Geometry key of an EGMS L3 vertical (``_U_``) file: displacement already vertical."""


def _geometry_key(file: ReleaseFile) -> str | None:
    """``asc``/``desc`` by the sign of ``los_east``; ``L3 vertical`` for an EGMS L3 ``_U_`` file;
    None for an L3 east-west (``_E_``) file or an L3 file whose component the name does not say
    (no vertical figure in it)."""
    points = file.points
    if file.level == "L3":
        return L3_VERTICAL if file.component == "U" else None
    if "los_east" not in points.columns or points.empty:
        return file.path.stem
    east = float(np.nanmedian(points["los_east"].to_numpy(dtype="float64")))
    return "asc" if east < 0 else "desc"


def release_reach(segments: gpd.GeoDataFrame, rules: SegmentRules) -> shapely.Geometry:
    """The box (EPSG:3035) around the segments padded by the join buffer: the points a release
    evaluation can use (the reader's ``aoi``, :func:`eo.insar.read_release`)."""
    if segments.crs != EGMS_CRS:
        raise InvalidInputError(f"segments must be in {EGMS_CRS}, got {segments.crs}")
    minx, miny, maxx, maxy = segments.total_bounds
    pad = rules.buffer_m
    return shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)


def evaluate_release(
    release: ReleasePoints,
    segments: gpd.GeoDataFrame,
    rules: SegmentRules,
    steps: dict[str, tuple[date, ...]],
    *,
    start: date,
    end: date,
) -> ReleaseEvaluation:
    """Join the release's points (read by the caller, :func:`eo.insar.read_release`, best within
    :func:`release_reach`) to the segments and compute every segment's figures.

    Acquisitions outside ``start..end`` are left out. ``segments`` (EPSG:3035) come from
    :func:`indices.deformation.segment_corridors`.
    """
    if segments.crs != EGMS_CRS:
        raise InvalidInputError(f"segments must be in {EGMS_CRS}, got {segments.crs}")
    tables: list[pd.DataFrame] = []
    series: dict[str, tuple[pd.DatetimeIndex, np.ndarray]] = {}
    first_day: date | None = None
    last_day: date | None = None
    for file in release.files:
        pts = file.points
        key = _geometry_key(file)
        if key is None:  # EGMS L3 east-west: no vertical figure in it
            continue
        if key in series:
            key = f"{key}-{len(series)}"
        cols = [
            c for c in date_columns(list(pts.columns))
            if start <= date(int(c[:4]), int(c[4:6]), int(c[6:])) <= end
        ]  # fmt: skip
        if len(cols) < 2 or pts.empty:
            continue
        dates = pd.DatetimeIndex(pd.to_datetime(cols, format="%Y%m%d"))
        first_day = min(first_day or dates[0].date(), dates[0].date())
        last_day = max(last_day or dates[-1].date(), dates[-1].date())
        pos = join_points(pts, segments, buffer_m=rules.buffer_m)
        lines = np.asarray(segments.geometry.values)
        chain = np.full(len(pts), np.nan)
        hit = pos >= 0
        chain[hit] = shapely.line_locate_point(
            lines[pos[hit]], np.asarray(pts.geometry.values)[hit]
        )
        inc = (
            pts["incidence_angle"] if "incidence_angle" in pts else pd.Series(0.0, index=pts.index)
        )
        coherence = (
            pts["temporal_coherence"].to_numpy()
            if "temporal_coherence" in pts
            else np.ones(len(pts))  # L3: EGMS resampled it from its selected L2b points
        )
        table = pd.DataFrame(
            {
                "segment": pos,
                "geometry_key": key,
                "row": np.arange(len(pts)),
                "temporal_coherence": coherence,
                "incidence_angle": inc.to_numpy(dtype="float64"),
                "chainage_m": chain,
            }
        )
        for comp, default in (("los_east", 0.0), ("los_north", 0.0), ("los_up", 1.0)):
            table[comp] = pts[comp].to_numpy(dtype="float64") if comp in pts else default
        tables.append(table[table["segment"] >= 0])
        series[key] = (dates, pts[cols].to_numpy(dtype="float64"))
    points = pd.concat(tables, ignore_index=True) if tables else _empty_points()
    figures, plots = segment_figures(points, series, segments, rules, steps)
    merged = segments.merge(figures, on="segment_id", how="left")
    merged["known_events"] = [
        ", ".join(d.isoformat() for d in steps.get(s, ())) for s in merged["segment_id"]
    ]
    merged["release"] = release.name
    return ReleaseEvaluation(
        release=release.name,
        window_start=first_day or date(release.release.first_year, 1, 1),
        window_end=last_day or date(release.release.last_year, 12, 31),
        segments=merged,
        series=plots,
        sources=tuple(f.path.name for f in release.files),
        points=len(points),
    )


def _empty_points() -> pd.DataFrame:
    cols = ["segment", "geometry_key", "row", "temporal_coherence", "incidence_angle",
            "chainage_m", "los_east", "los_north", "los_up"]  # fmt: skip
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})


def point_coverage(n_coherent: int, rules: SegmentRules) -> float:
    """Coverage of a segment: its coherent points against twice the minimum, at most 1.

    With the default 5 points: under 5 is a DATA_GAP (the detector's gate; coverage < 50 %),
    5-8 points DEGRADED (50-80 %, certainty one step lower), 9 or more OK, 10 full coverage. The
    rule deciding that is the profile's (``DeformationConfig.coverage_rule()``, bound by
    :func:`deformation_policy`), built from the same ``min_points``.
    """
    return min(1.0, n_coherent / (2.0 * rules.min_points))


def finding_level(row: pd.Series, rules: SegmentRules) -> int:
    """0 none / DATA_GAP, 2 watch, 3 warning, 4 severe (``|v| >= 2 x warning``)."""
    if row["status"] == str(SubjectStatus.DATA_GAP) or row["gate"] == "none":
        return 0
    if row["gate"] == "watch":
        return 2
    return 4 if abs(float(row["vertical_velocity"])) >= 2 * rules.warning_mm_yr else 3


def velocity_tracks(row: pd.Series, rules: SegmentRules) -> tuple[tuple[str, float], ...]:
    """The segment's vertical velocity by each track on its own (mm/yr): a track with at least
    ``rules.min_points`` coherent points (the figures are NaN otherwise) whose LOS-to-vertical
    velocity is significant (``|v| / sigma >= min_significance``, as the segment's gate)."""
    out = []
    for track in TRACKS:
        v, sigma = _float(row, f"vertical_velocity_{track}"), _float(row, f"velocity_sigma_{track}")
        if v is None or sigma is None:
            continue
        if sigma == 0 or abs(v) / sigma >= rules.min_significance:
            out.append((track, v))
    return tuple(out)


def distortion_tracks(row: pd.Series) -> tuple[tuple[str, float], ...]:
    """The segment's largest angular distortion by each track's points alone (a track with the
    minimum of coherent points)."""
    out = []
    for track in TRACKS:
        value = _float(row, f"angular_distortion_{track}")
        if value is not None:
            out.append((track, value))
    return tuple(out)


def _utc(day: date, end_of_day: bool = False) -> datetime:
    return datetime.combine(day, time.max.replace(microsecond=0) if end_of_day else time.min, UTC)


def deformation_findings(evaluation: ReleaseEvaluation, rules: SegmentRules) -> list[Finding]:
    """One finding per segment for the release window."""
    out = []
    for _, row in evaluation.segments.iterrows():
        gap = row["status"] == str(SubjectStatus.DATA_GAP)
        coverage = point_coverage(int(row["n_coherent"]), rules)
        value = math.nan if gap else float(row["vertical_velocity"])
        out.append(
            Finding(
                kind=FINDING_KIND,
                subject_id=str(row["segment_id"]),
                window_start=_utc(evaluation.window_start),
                window_end=_utc(evaluation.window_end, end_of_day=True),
                value=value,
                units=UNITS,
                threshold=rules.warning_mm_yr,
                coverage=coverage,
                level=finding_level(row, rules),
                sources=evaluation.sources,
                status=SubjectStatus.DATA_GAP if gap else SubjectStatus.OK,
                tracks=() if gap else velocity_tracks(row, rules),
            )
        )
    return out


NO_RELEASE = "no_release"
"""Reason of the network's DATA_GAP: no release of ``deformation.source`` ends in the period."""
EVERY_SEGMENT = "every_segment"
"""Reason of the network's DATA_GAP: a release is there but every segment is a DATA_GAP (too few
coherent points); one network notice instead of one per segment, as the parks layer's."""


def network_subject(profile_name: str) -> str:
    """The subject standing for every corridor segment of a profile (its release DATA_GAP)."""
    return f"{profile_name}:all-segments"


def network_finding(
    profile_name: str, start: date, end: date, *, reason: str | None, threshold: float
) -> Finding:
    """The whole corridor network in a run's period: a DATA_GAP with ``reason`` (
    :data:`NO_RELEASE`: no release ends in the period; :data:`EVERY_SEGMENT`: the release has
    no segment with enough coherent points), else OK (``reason`` None: a release with data is
    there, any open gap clears). Its DATA_GAP event is the network's, apart from the segments'
    own (a segment without data in a release where others have some)."""
    gap = reason is not None
    return Finding(
        kind=FINDING_KIND,
        subject_id=network_subject(profile_name),
        window_start=_utc(start),
        window_end=_utc(end, end_of_day=True),
        value=math.nan if gap else 0.0,
        units=UNITS,
        threshold=threshold,
        coverage=0.0 if gap else 1.0,
        level=0,
        sources=(),
        status=SubjectStatus.DATA_GAP if gap else SubjectStatus.OK,
        reasons=(reason,) if reason is not None else (),
    )


DISTORTION_KIND = "angular_distortion"


def distortion_findings(evaluation: ReleaseEvaluation, rules: SegmentRules) -> list[Finding]:
    """One angular-distortion finding per segment with figures (subject: the segment).

    Level 3 at or over the first limit (1/500), 4 at or over the second (1/150), else 0. DATA_GAP
    segments are left out: the velocity findings already carry their gap. The deformation rule
    rates them beside the segment's velocity finding (``also_rates``), so a segment holds one work
    order whether its velocity, its distortion or both reach a limit.
    """
    safe, damage = rules.distortion_limits
    out = []
    for _, row in evaluation.segments.iterrows():
        value = float(row["angular_distortion"])
        if row["status"] == str(SubjectStatus.DATA_GAP) or not math.isfinite(value):
            continue
        level = 4 if value >= damage else 3 if value >= safe else 0
        out.append(
            Finding(
                kind=DISTORTION_KIND,
                subject_id=str(row["segment_id"]),
                window_start=_utc(evaluation.window_start),
                window_end=_utc(evaluation.window_end, end_of_day=True),
                value=value,
                units="1",
                threshold=safe,
                coverage=point_coverage(int(row["n_coherent"]), rules),
                level=level,
                sources=evaluation.sources,
                status=SubjectStatus.OK,
                tracks=distortion_tracks(row),
            )
        )
    return out


def segment_label(row: pd.Series) -> str:
    """``U-Bahn U3, km 1.200-1.300 (U3-013)``: line, chainage and id for people."""
    a, b = float(row["chainage_from_m"]) / 1000, float(row["chainage_to_m"]) / 1000
    return f"{row['line_name']}, km {a:.3f}-{b:.3f} ({row['segment_id']})"


def _float(row: pd.Series, column: str) -> float | None:
    """A finite float of ``row[column]``, or None (absent, NaN)."""
    value = row.get(column)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def segment_details(row: pd.Series) -> dict[str, Detail]:
    """The figures an engineer needs on a segment's work order, in reading order.

    Line and chainage, vertical velocity with its sigma (mm/yr, negative = subsidence; how it was
    obtained), acceleration (mm/yr^2), seasonal amplitude (mm), the largest angular distortion
    (dimensionless, with its ``1/n`` ratio against the 1/500 and 1/150 limits), the points joined
    and the coherent ones, each track's own vertical velocity where that track alone has the
    minimum of coherent points (``vertical_velocity_asc``/``_desc``: what confirms a release on
    its tracks), and the release. Unmeasured figures are None ("not measured").
    """
    a, b = _float(row, "chainage_from_m"), _float(row, "chainage_to_m")
    chainage = f"km {a / 1000:.3f}-{b / 1000:.3f}" if a is not None and b is not None else None
    distortion = _float(row, "angular_distortion")
    ratio = f"1/{1 / distortion:.0f}; limits 1/500, 1/150" if distortion else ""
    method = row.get("vertical_method")
    details = {
        "line": Detail("line", str(row.get("line_name", "")) or None),
        "chainage": Detail("chainage", chainage),
        "vertical_velocity": Detail(
            "vertical velocity (negative: subsidence)",
            _float(row, "vertical_velocity"),
            "mm/yr",
            sigma=_float(row, "velocity_sigma"),
            note=str(method) if isinstance(method, str) and method else "",
        ),
        "acceleration": Detail("acceleration", _float(row, "acceleration"), "mm/yr²"),
        "seasonal_amplitude": Detail("seasonal amplitude", _float(row, "seasonal_amplitude"), "mm"),
        "angular_distortion": Detail("angular distortion", distortion, "1", note=ratio),
        "n_points": Detail("points joined", _float(row, "n_points")),
        "n_coherent": Detail("coherent points", _float(row, "n_coherent")),
    }
    for track, word in zip(TRACKS, ("ascending", "descending"), strict=True):
        v = _float(row, f"vertical_velocity_{track}")
        if v is None:  # under the minimum of coherent points on this track alone, or not given
            continue
        points = _float(row, f"n_coherent_{track}") or 0
        details[f"vertical_velocity_{track}"] = Detail(
            f"vertical velocity, {word} track alone",
            v,
            "mm/yr",
            sigma=_float(row, f"velocity_sigma_{track}"),
            note=f"LOS projected to vertical, {points:.0f} coherent points",
        )
    if isinstance(row.get("release"), str):
        details["release"] = Detail("EGMS release", str(row["release"]))
    return details


def segment_subjects(
    segments: gpd.GeoDataFrame, plots: Mapping[str, str] | None = None
) -> dict[str, SubjectInfo]:
    """What work orders say about each segment: line, chainage, figures, the WGS84 line geometry
    and, when ``plots`` (segment id -> URL, :func:`alerts.products.deformation_release.plot_links`) has
    one, the link to its time-series plot.

    Keyed by segment id: one work order per segment, for its velocity and its distortion.
    """
    wgs84 = segments.to_crs("EPSG:4326")
    out = {}
    for _, row in wgs84.iterrows():
        sid, geometry = str(row["segment_id"]), row.geometry.__geo_interface__
        details = segment_details(row)
        links = {"plot": plots[sid]} if plots and sid in plots else {}
        out[sid] = SubjectInfo(
            name=segment_label(row), geometry=geometry, area_name=str(row["line_name"]),
            details=details, links=links,
        )  # fmt: skip
    return out


def watch_list(segments: pd.DataFrame, release: str) -> list[dict[str, Any]]:
    """The segments on watch in one release, for the operators' digest (no work order).

    A segment is on watch when its figures are valid, its gate is ``watch`` (``|v| >= watch``
    with ``|v| / sigma >= min_significance``, below the warning) and no angular distortion limit
    is reached (that would be a warning). Each entry: ``subject_id``, ``line``, ``chainage``
    (``km a-b``), ``chainage_from_m``/``chainage_to_m``, ``vertical_velocity_mm_yr``,
    ``sigma_mm_yr``, ``release`` and ``text`` (``<line>, km a-b (<id>): v ± s mm/yr``), sorted
    by line and chainage.
    """
    out = []
    for _, row in segments.iterrows():
        if row.get("status") == str(SubjectStatus.DATA_GAP) or row.get("gate") != "watch":
            continue
        distortion = row.get("distortion_class")
        if isinstance(distortion, str) and distortion != "none":
            continue
        v, sigma = _float(row, "vertical_velocity"), _float(row, "velocity_sigma")
        a, b = float(row["chainage_from_m"]), float(row["chainage_to_m"])
        figure = "n/a" if v is None else f"{v:+.1f}" + ("" if sigma is None else f" ± {sigma:.1f}")
        out.append(
            {
                "subject_id": str(row["segment_id"]),
                "line": str(row["line_name"]),
                "chainage": f"km {a / 1000:.3f}-{b / 1000:.3f}",
                "chainage_from_m": a,
                "chainage_to_m": b,
                "vertical_velocity_mm_yr": v,
                "sigma_mm_yr": sigma,
                "release": release,
                "text": f"{segment_label(row)}: {figure} mm/yr",
            }
        )
    return sorted(out, key=lambda w: (w["line"], w["chainage_from_m"], w["subject_id"]))


def releases_in_period(releases: Sequence[Release], start: date, end: date) -> list[Release]:
    """Releases whose last year ends within ``start..end`` (a check over a period runs those)."""
    return [
        r for r in releases if start <= date(r.last_year, 12, 31) and date(r.last_year, 1, 1) <= end
    ]
