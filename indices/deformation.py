"""Ground deformation along corridors: velocity fits, LOS geometry, segments and their figures.

Pure functions (no I/O). Conventions (DESIGN section 4):

- time in years of 365.25 days from the first epoch; displacement in mm, velocity mm/yr,
  acceleration mm/yr^2 (``2 x`` the quadratic coefficient, velocity then taken at the first epoch);
- :func:`fit_velocity` always fits an annual sinusoid (unless the series spans under one year: then
  none, and the flag ``short_series``), plus optional steps (Heaviside at the given dates) and a
  quadratic term;
- LOS positive towards the satellite; ``v_up = v_los / cos(incidence)``; an ascending and a
  descending LOS on a common cell give (east, up) from the 2x2 system of their (east, up) LOS
  components, north being unresolvable;
- angular distortion = ``|s1 - s2| / distance`` with s in mm and distance in m (so the mm are
  turned into m): Bjerrum (1963) limits 1/500 (no cracking allowed) and 1/150 (structural damage);
- corridor segments default to 100 m along the line with a 30 m buffer; a point joins the nearest
  segment within the buffer (an STRtree query); a segment needs >= 5 points with temporal coherence
  >= 0.7, else its status is DATA_GAP.

References
----------
Bjerrum, L. (1963): Allowable settlement of structures. Proc. European Conf. Soil Mech. Found. Eng.,
Wiesbaden, vol. 3, 135-137.
Crosetto, M. et al. (2021): The European Ground Motion Service (EGMS), product description.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.ops import substring

from core.errors import InvalidInputError
from core.status import SubjectStatus

__all__ = [
    "BJERRUM_DAMAGE",
    "BJERRUM_SAFE",
    "DAYS_PER_YEAR",
    "FitResult",
    "SegmentRules",
    "angular_distortion",
    "decompose",
    "fit_velocity",
    "join_points",
    "los_to_vertical",
    "max_angular_distortion",
    "segment_corridors",
    "segment_figures",
]

DAYS_PER_YEAR = 365.25
BJERRUM_SAFE = 1.0 / 500.0
"""Angular distortion limit where no cracking is allowed (Bjerrum 1963)."""
BJERRUM_DAMAGE = 1.0 / 150.0
"""Angular distortion of structural damage (Bjerrum 1963)."""


@dataclass(frozen=True)
class FitResult:
    """A least-squares displacement model of one series.

    Attributes
    ----------
    velocity : float
        mm/yr (at the first epoch when the quadratic term is fitted).
    acceleration : float
        mm/yr^2, NaN without the quadratic term.
    seasonal_amplitude : float
        mm, amplitude of the annual sinusoid (NaN when not fitted).
    steps : tuple of float
        Step sizes in mm, in the order given (NaN for a step outside the series).
    velocity_std : float
        Formal standard error of the velocity, mm/yr (residual-scaled).
    residual_std : float
        Standard deviation of the residuals, mm.
    n : int
        Epochs used (NaN values dropped).
    flags : tuple of str
        ``short_series`` (under one year: no seasonal term), ``step_outside`` (a step date not
        inside the series), ``too_few_epochs``.
    """

    velocity: float
    acceleration: float
    seasonal_amplitude: float
    steps: tuple[float, ...]
    velocity_std: float
    residual_std: float
    n: int
    flags: tuple[str, ...] = ()


def _years(dates: Any) -> NDArray[np.float64]:
    index = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    return np.asarray((index - index[0]).days, dtype="float64") / DAYS_PER_YEAR


def _design(
    t: NDArray[np.float64],
    step_t: Sequence[float],
    quadratic: bool,
    seasonal: bool,
) -> tuple[NDArray[np.float64], dict[str, Any]]:
    cols = [np.ones_like(t), t]
    where: dict[str, Any] = {"v": 1}
    if seasonal:
        where["season"] = (len(cols), len(cols) + 1)
        cols += [np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)]
    if quadratic:
        where["q"] = len(cols)
        cols.append(t * t)
    where["steps"] = []
    for ts in step_t:
        where["steps"].append(len(cols))
        cols.append((t >= ts).astype("float64"))
    return np.column_stack(cols), where


def fit_velocity(
    dates: Any,
    displacement_mm: ArrayLike,
    steps: Sequence[Any] = (),
    quadratic: bool = False,
) -> FitResult:
    """Velocity, acceleration, seasonal amplitude and steps of one displacement series.

    Parameters
    ----------
    dates : sequence of dates (datetime64, Timestamp, date or ISO strings), increasing
    displacement_mm : array of float, same length; NaN epochs are dropped
    steps : dates of known events (works, construction); each adds a Heaviside term
    quadratic : fit ``c t^2`` too (acceleration ``2c``)
    """
    t_all = _years(dates)
    y_all = np.asarray(displacement_mm, dtype="float64")
    if y_all.shape != t_all.shape:
        raise InvalidInputError(
            f"fit_velocity: {len(t_all)} dates but displacement has shape {y_all.shape}"
        )
    if np.any(np.diff(t_all) <= 0):
        raise InvalidInputError("fit_velocity: dates must be strictly increasing")
    ok = np.isfinite(y_all)
    t, y = t_all[ok], y_all[ok]
    flags: list[str] = []
    first = pd.Timestamp(pd.to_datetime(np.asarray(dates))[0])
    step_t = [(pd.Timestamp(s) - first).days / DAYS_PER_YEAR for s in steps]
    seasonal = len(t) > 0 and (t[-1] - t[0]) >= 1.0
    if not seasonal:
        flags.append("short_series")
    inside = [len(t) > 0 and t[0] < ts <= t[-1] for ts in step_t]
    if not all(inside):
        flags.append("step_outside")
    used = [ts for ts, keep in zip(step_t, inside, strict=True) if keep]
    x, where = _design(t, used, quadratic, seasonal)
    nan = math.nan
    if len(t) < x.shape[1] + 1:
        return FitResult(nan, nan, nan, tuple(nan for _ in steps), nan, nan, len(t),
                         (*flags, "too_few_epochs"))  # fmt: skip
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = max(len(t) - x.shape[1], 1)
    s2 = float(resid @ resid) / dof
    try:
        cov = s2 * np.linalg.inv(x.T @ x)
        v_std = float(math.sqrt(max(cov[1, 1], 0.0)))
    except np.linalg.LinAlgError:
        v_std = nan
    amp = nan
    if "season" in where:
        i, j = where["season"]
        amp = float(math.hypot(coef[i], coef[j]))
    accel = float(2.0 * coef[where["q"]]) if "q" in where else nan
    step_iter = iter(where["steps"])
    sizes = tuple(float(coef[next(step_iter)]) if keep else nan for keep in inside)
    return FitResult(
        velocity=float(coef[1]),
        acceleration=accel,
        seasonal_amplitude=amp,
        steps=sizes,
        velocity_std=v_std,
        residual_std=float(math.sqrt(s2)),
        n=len(t),
        flags=tuple(flags),
    )


def fit_velocities(
    dates: Any, displacement_mm: NDArray[np.float64], steps: Sequence[Any] = ()
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Velocity (mm/yr) and the sum of step sizes (mm) of many series at once (rows = points).

    The same model as :func:`fit_velocity` without the quadratic term; rows with NaN epochs are
    fitted one by one. Used for per-point figures of a segment.
    """
    y = np.asarray(displacement_mm, dtype="float64")
    n = y.shape[0]
    vel = np.full(n, np.nan)
    step_sum = np.zeros(n)
    if n == 0:
        return vel, step_sum
    t = _years(dates)
    first = pd.Timestamp(pd.to_datetime(np.asarray(dates))[0])
    step_t = [(pd.Timestamp(s) - first).days / DAYS_PER_YEAR for s in steps]
    used = [ts for ts in step_t if t[0] < ts <= t[-1]]
    complete = np.isfinite(y).all(axis=1)
    seasonal = (t[-1] - t[0]) >= 1.0
    x, where = _design(t, used, False, seasonal)
    if complete.any() and len(t) > x.shape[1]:
        coef, *_ = np.linalg.lstsq(x, y[complete].T, rcond=None)
        vel[complete] = coef[1]
        if where["steps"]:
            step_sum[complete] = coef[where["steps"]].sum(axis=0)
    for row in np.flatnonzero(~complete):
        fit = fit_velocity(dates, y[row], steps=steps)
        vel[row] = fit.velocity
        step_sum[row] = float(np.nansum(fit.steps))
    return vel, step_sum


def los_to_vertical(v_los: Any, incidence_deg: Any) -> Any:
    """Vertical from LOS assuming purely vertical motion: ``v_los / cos(incidence)``.

    Same kind and shape out as in (floats, numpy arrays, xarray objects); units of ``v_los``.
    """
    inc = (
        np.asarray(incidence_deg, dtype="float64")
        if not hasattr(incidence_deg, "dims")
        else incidence_deg
    )
    if np.any((np.asarray(inc) < 0) | (np.asarray(inc) >= 90)):
        raise InvalidInputError(
            f"incidence angle must be within 0..90 degrees (exclusive of 90), got {incidence_deg!r}"
        )
    result = v_los / np.cos(np.deg2rad(inc))
    if isinstance(v_los, float | int) and np.ndim(result) == 0:
        return float(result)
    return result


def decompose(asc_los: Any, asc_vector: Any, desc_los: Any, desc_vector: Any) -> tuple[Any, Any]:
    """East and up from an ascending and a descending LOS value on a common cell.

    Solves ``asc_los = e * ae + u * au`` and ``desc_los = e * de + u * du`` where the vectors are
    EGMS ``(los_east, los_north, los_up)`` triples (north ignored: unresolvable from two
    near-polar geometries). Vectors may be (3,) or (n, 3) arrays; LOS values scalars or (n,).
    """
    av = np.asarray(asc_vector, dtype="float64")
    dv = np.asarray(desc_vector, dtype="float64")
    if av.shape[-1] != 3 or dv.shape[-1] != 3:
        raise InvalidInputError(
            "decompose: vectors must be (los_east, los_north, los_up) triples, shape (3,) or (n, 3)"
        )
    ae, au, de, du = av[..., 0], av[..., 2], dv[..., 0], dv[..., 2]
    det = ae * du - au * de
    if np.any(np.abs(det) < 1e-6):
        raise InvalidInputError(
            "decompose: the two LOS geometries are (nearly) parallel in the east-up plane; "
            "give one ascending and one descending geometry"
        )
    a = np.asarray(asc_los, dtype="float64")
    d = np.asarray(desc_los, dtype="float64")
    east = (a * du - au * d) / det
    up = (ae * d - a * de) / det
    if np.ndim(east) == 0:
        return float(east), float(up)
    return east, up


def angular_distortion(s1: Any, s2: Any, distance: Any) -> Any:
    """``|s1 - s2| / distance`` with settlements in mm and the distance in m (dimensionless)."""
    dist = np.asarray(distance, dtype="float64")
    if np.any(dist <= 0):
        raise InvalidInputError(f"angular_distortion: distance must be > 0 m, got {distance!r}")
    result = np.abs(np.asarray(s1, dtype="float64") - np.asarray(s2, dtype="float64")) / (
        1000.0 * dist
    )
    return float(result) if np.ndim(result) == 0 else result


def max_angular_distortion(
    chainage_m: NDArray[np.float64],
    settlement_mm: NDArray[np.float64],
    *,
    bin_m: float = 20.0,
    max_distance_m: float = 50.0,
) -> float:
    """Largest angular distortion between bins of ``bin_m`` along a line at most ``max_distance_m`` apart.

    Each bin's settlement is the median of its points; bins are compared by their centres.
    NaN when fewer than two bins hold points.
    """
    ch = np.asarray(chainage_m, dtype="float64")
    s = np.asarray(settlement_mm, dtype="float64")
    ok = np.isfinite(ch) & np.isfinite(s)
    if ok.sum() < 2:
        return math.nan
    bins = np.floor(ch[ok] / bin_m).astype(int)
    frame = pd.DataFrame({"bin": bins, "s": s[ok]}).groupby("bin")["s"].median()
    centres = (frame.index.to_numpy() + 0.5) * bin_m
    values = frame.to_numpy()
    best = math.nan
    for i in range(len(centres)):
        gap = centres[i + 1 :] - centres[i]
        near = gap <= max_distance_m + 1e-9
        if near.any():
            ratio = angular_distortion(values[i], values[i + 1 :][near], gap[near])
            top = float(np.max(ratio))
            best = top if math.isnan(best) else max(best, top)
    return best


@dataclass(frozen=True)
class SegmentRules:
    """Gates of DESIGN section 4 (the detector's figures; the profile may override them)."""

    segment_length_m: float = 100.0
    buffer_m: float = 30.0
    min_points: int = 5
    min_coherence: float = 0.7
    watch_mm_yr: float = 2.0
    warning_mm_yr: float = 5.0
    min_significance: float = 3.0
    bin_m: float = 20.0
    max_bin_distance_m: float = 50.0
    distortion_limits: tuple[float, float] = (BJERRUM_SAFE, BJERRUM_DAMAGE)
    steps: tuple[tuple[date, Any], ...] = field(default=())
    """Known events: (date, geometry in EPSG:3035 or None for everywhere)."""


def segment_corridors(
    corridors: gpd.GeoDataFrame,
    *,
    id_field: str,
    name_field: str | None = None,
    length_m: float = 100.0,
    crs: str = "EPSG:3035",
) -> gpd.GeoDataFrame:
    """Cut corridor lines into segments of ``length_m`` (the last piece of a line may be shorter).

    Returns one row per segment in ``crs``: ``segment_id`` (``<corridor id>-<part>-<nnn>``, or
    ``<corridor id>-<nnn>`` for a single line), ``corridor_id``, ``line_name``, ``chainage_from_m``,
    ``chainage_to_m`` (along the line part), ``geometry``.
    """
    if corridors.crs is None:
        raise InvalidInputError(
            "corridor layer has no CRS; declare it (GeoJSON in WGS84, or a file with a .prj / crs)"
        )
    if id_field not in corridors.columns:
        raise InvalidInputError(
            f"corridor layer has no id field {id_field!r} (fields: {list(corridors.columns)}); "
            "fix layers.corridors.id_field in the profile"
        )
    if length_m <= 0:
        raise InvalidInputError(f"segment length must be > 0 m, got {length_m}")
    lines = corridors.to_crs(crs)
    rows: list[dict[str, Any]] = []
    for _, row in lines.iterrows():
        geom = row.geometry
        if geom is None or geom.is_empty:
            continue
        if geom.geom_type not in ("LineString", "MultiLineString"):
            raise InvalidInputError(
                f"corridor {row[id_field]!r} is a {geom.geom_type}; corridors must be lines"
            )
        merged = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
        parts = list(getattr(merged, "geoms", [merged]))
        cid = str(row[id_field])
        name = str(row[name_field]) if name_field and name_field in row.index else cid
        for p, part in enumerate(parts):
            count = max(1, math.ceil(part.length / length_m - 1e-9))
            for k in range(count):
                a, b = k * length_m, min((k + 1) * length_m, part.length)
                prefix = cid if len(parts) == 1 else f"{cid}-{p + 1}"
                rows.append(
                    {
                        "segment_id": f"{prefix}-{k + 1:03d}",
                        "corridor_id": cid,
                        "line_name": name,
                        "part": p,
                        "chainage_from_m": round(a, 1),
                        "chainage_to_m": round(b, 1),
                        "geometry": substring(part, a, b),
                    }
                )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def join_points(
    points: gpd.GeoDataFrame, segments: gpd.GeoDataFrame, *, buffer_m: float = 30.0
) -> NDArray[np.int64]:
    """For each point, the row position of the nearest segment within ``buffer_m`` (-1 if none).

    Both frames must share a projected CRS in metres. One STRtree query; ties go to the first.
    """
    if points.crs is None or segments.crs is None or points.crs != segments.crs:
        raise InvalidInputError(
            f"join_points: points ({points.crs}) and segments ({segments.crs}) must share a CRS; "
            "reproject one of them"
        )
    tree = shapely.STRtree(np.asarray(segments.geometry.values))
    pidx, sidx = tree.query_nearest(
        np.asarray(points.geometry.values), max_distance=buffer_m, all_matches=False
    )
    out = np.full(len(points), -1, dtype=np.int64)
    out[pidx] = sidx
    return out


def _gate(v: float, sigma: float, rules: SegmentRules) -> str:
    if not math.isfinite(v):
        return "none"
    significant = math.isfinite(sigma) and (sigma == 0 or abs(v) / sigma >= rules.min_significance)
    if not significant:
        return "none"
    if abs(v) >= rules.warning_mm_yr:
        return "warning"
    if abs(v) >= rules.watch_mm_yr:
        return "watch"
    return "none"


def _distortion_class(value: float, rules: SegmentRules) -> str:
    safe, damage = rules.distortion_limits
    if not math.isfinite(value):
        return "none"
    if value >= damage:
        return "damage"
    return "exceeds" if value >= safe else "none"


def segment_figures(
    points: pd.DataFrame,
    series: dict[str, tuple[pd.DatetimeIndex, NDArray[np.float64]]],
    segments: gpd.GeoDataFrame,
    rules: SegmentRules,
    step_dates: dict[str, tuple[date, ...]] | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Per-segment figures from joined points.

    Parameters
    ----------
    points : DataFrame
        One row per point with ``segment`` (row position in ``segments``, -1 none), ``geometry_key``
        (e.g. ``"asc"``, ``"desc"``: the LOS geometry), ``row`` (row in that geometry's series),
        ``temporal_coherence``, ``incidence_angle``, ``los_east``, ``los_north``, ``los_up`` and
        ``chainage_m`` (along the segment's line).
    series : mapping geometry_key -> (dates, displacement matrix rows x dates, mm LOS)
    segments : the segments (``segment_id`` column)
    rules : the gates
    step_dates : segment_id -> known event dates within reach of that segment

    Returns
    -------
    (DataFrame, dict)
        The figures, one row per segment (``status`` DATA_GAP, OK; ``gate`` none/watch/warning;
        ``distortion_class``), and the vertical time series of the segment median per segment
        with figures (index dates, mm).
    """
    steps_of = step_dates or {}
    records: list[dict[str, Any]] = []
    plots: dict[str, pd.Series] = {}
    coherent = points[
        (points["segment"] >= 0) & (points["temporal_coherence"] >= rules.min_coherence)
    ]
    counts = points[points["segment"] >= 0].groupby("segment").size()
    groups = dict(tuple(coherent.groupby("segment")))
    for pos, seg in enumerate(segments.itertuples(index=False)):
        sid = str(seg.segment_id)
        n_all = int(counts.get(pos, 0))
        group = groups.get(pos)
        n_ok = 0 if group is None else len(group)
        rec: dict[str, Any] = {
            "segment_id": sid,
            "n_points": n_all,
            "n_coherent": n_ok,
            "coherence_mean": float(group["temporal_coherence"].mean())
            if group is not None
            else math.nan,
        }
        if group is None or n_ok < rules.min_points:
            rec.update(status=str(SubjectStatus.DATA_GAP), gate="none", distortion_class="none",
                       reason=f"{n_ok} coherent point(s) (coherence >= {rules.min_coherence:g}); "
                       f"{rules.min_points} needed")  # fmt: skip
            records.append(rec)
            continue
        rec.update(_segment_fit(group, series, rules, steps_of.get(sid, ()), plots, sid))
        rec["status"] = str(SubjectStatus.OK)
        rec["gate"] = _gate(rec["vertical_velocity"], rec["velocity_sigma"], rules)
        rec["distortion_class"] = _distortion_class(rec["angular_distortion"], rules)
        rec["reason"] = ""
        records.append(rec)
    return pd.DataFrame.from_records(records), plots


def _segment_fit(
    group: pd.DataFrame,
    series: dict[str, tuple[pd.DatetimeIndex, NDArray[np.float64]]],
    rules: SegmentRules,
    steps: tuple[date, ...],
    plots: dict[str, pd.Series],
    sid: str,
) -> dict[str, Any]:
    per_geometry: dict[str, dict[str, Any]] = {}
    up_points: list[NDArray[np.float64]] = []
    settle: list[NDArray[np.float64]] = []
    chain: list[NDArray[np.float64]] = []
    medians: list[pd.Series] = []
    for key, rows in group.groupby("geometry_key"):
        dates, matrix = series[str(key)]
        sub = matrix[rows["row"].to_numpy()]
        cos_inc = np.cos(np.deg2rad(rows["incidence_angle"].to_numpy(dtype="float64")))
        v_pts, step_pts = fit_velocities(dates, sub, steps)
        span = (dates[-1] - dates[0]).days / DAYS_PER_YEAR
        up_points.append(v_pts / cos_inc)
        settle.append((v_pts * span + step_pts) / cos_inc)
        chain.append(rows["chainage_m"].to_numpy(dtype="float64"))
        median = np.nanmedian(sub, axis=0)
        fit = fit_velocity(dates, median, steps=steps)
        quad = fit_velocity(dates, median, steps=steps, quadratic=True)
        inc = float(rows["incidence_angle"].mean())
        vector = rows[["los_east", "los_north", "los_up"]].mean().to_numpy(dtype="float64")
        per_geometry[str(key)] = {"fit": fit, "quad": quad, "inc": inc, "vector": vector}
        medians.append(pd.Series(median / math.cos(math.radians(inc)), index=dates))
    up = np.concatenate(up_points)
    n = len(up)
    sigma = float(np.std(up, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    keys = sorted(per_geometry)
    east = math.nan
    if "asc" in per_geometry and "desc" in per_geometry:
        a, d = per_geometry["asc"], per_geometry["desc"]
        east, v_up = decompose(a["fit"].velocity, a["vector"], d["fit"].velocity, d["vector"])
        method = "asc+desc decomposition"
    else:
        g = per_geometry[keys[0]]
        v_up = float(los_to_vertical(g["fit"].velocity, g["inc"]))
        method = f"LOS {keys[0]} projected to vertical"
    cos_mean = {k: math.cos(math.radians(per_geometry[k]["inc"])) for k in keys}
    accel = float(np.nanmean([per_geometry[k]["quad"].acceleration / cos_mean[k] for k in keys]))
    season = float(np.nanmean([per_geometry[k]["fit"].seasonal_amplitude for k in keys]))
    step_sizes = [per_geometry[k]["fit"].steps for k in keys]
    combined = pd.concat(medians).groupby(level=0).median().sort_index()
    plots[sid] = combined
    distortion = max_angular_distortion(
        np.concatenate(chain),
        np.concatenate(settle),
        bin_m=rules.bin_m,
        max_distance_m=rules.max_bin_distance_m,
    )
    flags = sorted({f for k in keys for f in per_geometry[k]["fit"].flags})
    return {
        "vertical_velocity": float(v_up),
        "east_velocity": float(east),
        "velocity_sigma": sigma,
        "mean_vertical_velocity": float(np.nanmean(up)),
        "robust_vertical_velocity": float(np.nanmedian(up)),
        "acceleration": accel,
        "seasonal_amplitude": season,
        "angular_distortion": distortion,
        "known_event_steps_mm": [
            float(np.nanmean([s[i] / cos_mean[k] for s, k in zip(step_sizes, keys, strict=True)]))
            for i in range(len(steps))
        ],
        "geometries": "+".join(keys),
        "vertical_method": method,
        "fit_flags": ",".join(flags),
    }
