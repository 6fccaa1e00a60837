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
  >= 0.7, else its status is DATA_GAP;
- each track (ascending, descending) also gets its own figures where it alone has the minimum of
  coherent points: its vertical velocity by LOS projection, its sigma and angular distortion, so a
  rule can see an exceedance confirmed on two tracks within one release.

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
    "TRACKS",
    "FitResult",
    "SegmentRules",
    "angular_distortion",
    "decompose",
    "distortion_by_segment",
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


def _days(dates: Any) -> NDArray[np.datetime64]:
    """Dates as ``datetime64[D]`` (DatetimeIndex, datetime64, dates or ISO strings)."""
    if isinstance(dates, pd.DatetimeIndex):
        return np.asarray(dates.values.astype("datetime64[D]"))
    return np.asarray(pd.to_datetime(np.asarray(dates)).values.astype("datetime64[D]"))


def _years(days: NDArray[np.datetime64]) -> NDArray[np.float64]:
    return (days - days[0]).astype("float64") / DAYS_PER_YEAR


def _step_years(steps: Sequence[Any], first: np.datetime64) -> list[float]:
    return [
        float((np.datetime64(pd.Timestamp(s).date(), "D") - first) / np.timedelta64(1, "D"))
        / DAYS_PER_YEAR
        for s in steps
    ]


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
    days = _days(dates)
    t_all = _years(days)
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
    step_t = _step_years(steps, days[0])
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


def fit_many(
    dates: Any,
    displacement_mm: NDArray[np.float64],
    steps: Sequence[Any] = (),
    quadratic: bool = False,
) -> dict[str, NDArray[np.float64]]:
    """The model of :func:`fit_velocity` for many series at once (rows), one least-squares solve.

    Returns arrays by row: ``velocity``, ``velocity_std``, ``seasonal_amplitude``,
    ``acceleration`` and ``steps`` (rows x len(steps); NaN for a step outside the series). Rows
    with NaN epochs are fitted one by one with :func:`fit_velocity`.
    """
    y = np.asarray(displacement_mm, dtype="float64").reshape(-1, len(dates))
    n, k = y.shape[0], len(steps)
    out = {
        "velocity": np.full(n, np.nan),
        "velocity_std": np.full(n, np.nan),
        "seasonal_amplitude": np.full(n, np.nan),
        "acceleration": np.full(n, np.nan),
        "steps": np.full((n, k), np.nan),
    }
    if n == 0:
        return out
    days = _days(dates)
    t = _years(days)
    step_t = _step_years(steps, days[0])
    inside = [bool(t[0] < ts <= t[-1]) for ts in step_t]
    used = [ts for ts, keep in zip(step_t, inside, strict=True) if keep]
    seasonal = (t[-1] - t[0]) >= 1.0
    x, where = _design(t, used, quadratic, seasonal)
    complete = np.isfinite(y).all(axis=1)
    if complete.any() and len(t) > x.shape[1]:
        coef, *_ = np.linalg.lstsq(x, y[complete].T, rcond=None)
        resid = y[complete].T - x @ coef
        s2 = (resid * resid).sum(axis=0) / max(len(t) - x.shape[1], 1)
        try:
            c11 = float(np.linalg.inv(x.T @ x)[1, 1])
        except np.linalg.LinAlgError:
            c11 = np.nan
        out["velocity"][complete] = coef[1]
        out["velocity_std"][complete] = np.sqrt(s2 * c11)
        if "season" in where:
            a, b = where["season"]
            out["seasonal_amplitude"][complete] = np.hypot(coef[a], coef[b])
        if "q" in where:
            out["acceleration"][complete] = 2.0 * coef[where["q"]]
        cols = iter(where["steps"])
        for m, keep in enumerate(inside):
            if keep:
                out["steps"][complete, m] = coef[next(cols)]
    for row in np.flatnonzero(~complete):
        fit = fit_velocity(dates, y[row], steps=steps, quadratic=quadratic)
        out["velocity"][row] = fit.velocity
        out["velocity_std"][row] = fit.velocity_std
        out["seasonal_amplitude"][row] = fit.seasonal_amplitude
        out["acceleration"][row] = fit.acceleration
        out["steps"][row] = fit.steps
    return out


def fit_velocities(
    dates: Any, displacement_mm: NDArray[np.float64], steps: Sequence[Any] = ()
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Velocity (mm/yr) and the sum of fitted step sizes (mm) of many series (rows)."""
    fit = fit_many(dates, displacement_mm, steps)
    return fit["velocity"], np.nansum(fit["steps"], axis=1)


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
    bins = np.floor(ch[ok] / bin_m).astype(np.int64)
    order = np.argsort(bins, kind="stable")
    bins, values = bins[order], s[ok][order]
    keys, starts = np.unique(bins, return_index=True)
    medians = np.array([np.median(part) for part in np.split(values, starts[1:])])
    centres = (keys + 0.5) * bin_m
    if len(centres) < 2:
        return math.nan
    gap = centres[None, :] - centres[:, None]
    near = (gap > 0) & (gap <= max_distance_m + 1e-9)
    if not near.any():
        return math.nan
    diff = np.abs(medians[None, :] - medians[:, None])
    return float(np.max(diff[near] / (1000.0 * gap[near])))


def distortion_by_segment(
    segment: NDArray[np.int64],
    chainage_m: NDArray[np.float64],
    settlement_mm: NDArray[np.float64],
    n_segments: int,
    *,
    bin_m: float = 20.0,
    max_distance_m: float = 50.0,
) -> NDArray[np.float64]:
    """:func:`max_angular_distortion` of every segment at once (NaN where under two bins)."""
    out = np.full(n_segments, np.nan)
    ok = np.isfinite(chainage_m) & np.isfinite(settlement_mm) & (segment >= 0)
    if not ok.any():
        return out
    bins = pd.DataFrame(
        {"seg": segment[ok], "bin": np.floor(chainage_m[ok] / bin_m).astype(np.int64),
         "s": settlement_mm[ok]}
    ).groupby(["seg", "bin"], sort=True)["s"].median()  # fmt: skip
    seg = bins.index.get_level_values("seg").to_numpy()
    centre = (bins.index.get_level_values("bin").to_numpy() + 0.5) * bin_m
    value = bins.to_numpy()
    for lag in range(1, int(max_distance_m // bin_m) + 1):
        same = seg[lag:] == seg[:-lag]
        gap = centre[lag:] - centre[:-lag]
        near = same & (gap <= max_distance_m + 1e-9)
        if not near.any():
            continue
        ratio = np.abs(value[lag:] - value[:-lag])[near] / (1000.0 * gap[near])
        target = seg[lag:][near]
        best = pd.Series(ratio).groupby(target).max()
        idx = best.index.to_numpy()
        out[idx] = np.fmax(out[idx], best.to_numpy())
    return out


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

    Both frames must share a projected CRS in metres. One STRtree ``dwithin`` query, then the
    nearest candidate; ties go to the segment listed first.
    """
    if points.crs is None or segments.crs is None or points.crs != segments.crs:
        raise InvalidInputError(
            f"join_points: points ({points.crs}) and segments ({segments.crs}) must share a CRS; "
            "reproject one of them"
        )
    lines = np.asarray(segments.geometry.values)
    pts = np.asarray(points.geometry.values)
    pidx, sidx = shapely.STRtree(lines).query(pts, predicate="dwithin", distance=buffer_m)
    out = np.full(len(points), -1, dtype=np.int64)
    if len(pidx):
        dist = shapely.distance(pts[pidx], lines[sidx])
        order = np.lexsort((sidx, dist, pidx))  # by point, then distance, then segment
        first = np.r_[True, pidx[order][1:] != pidx[order][:-1]]
        out[pidx[order][first]] = sidx[order][first]
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
        The figures, one row per segment (``status`` DATA_GAP or OK; ``gate`` none/watch/warning;
        ``distortion_class`` none/exceeds/damage; each track's own figures ``n_coherent_<t>``,
        ``vertical_velocity_<t>``, ``velocity_sigma_<t>``, ``angular_distortion_<t>`` for ``t``
        in :data:`TRACKS`, see :func:`_track_figures`), and, for every segment with a watch or warning
        gate or a distortion exceedance, the vertical displacement of its median (mm, by date).

    Each geometry's points are fitted in one least-squares solve per set of known-event dates,
    and so are the segments' median series, so a city network takes seconds.
    """
    steps_of = step_dates or {}
    sids = segments["segment_id"].astype(str).to_numpy()
    n_seg = len(sids)
    joined = points[points["segment"] >= 0]
    n_points = np.bincount(joined["segment"].to_numpy(dtype=np.int64), minlength=n_seg)
    ok = joined[joined["temporal_coherence"] >= rules.min_coherence]
    seg_ok = ok["segment"].to_numpy(dtype=np.int64)
    n_ok = np.bincount(seg_ok, minlength=n_seg)
    coh_sum = np.bincount(seg_ok, weights=ok["temporal_coherence"].to_numpy(), minlength=n_seg)
    enough = n_ok >= rules.min_points
    ok = ok[enough[seg_ok]].copy()
    # per point: vertical velocity and cumulative vertical settlement, by geometry and step set
    ok["v_up"] = np.nan
    ok["settle"] = np.nan
    per_geo: dict[str, dict[str, Any]] = {}
    for key, grp in ok.groupby("geometry_key"):
        dates, matrix = series[str(key)]
        span = float((dates[-1] - dates[0]).days) / DAYS_PER_YEAR
        cos_inc = np.cos(np.deg2rad(grp["incidence_angle"].to_numpy(dtype="float64")))
        step_key = [steps_of.get(sids[p], ()) for p in grp["segment"].to_numpy()]
        v = np.full(len(grp), np.nan)
        st = np.zeros(len(grp))
        kinds = sorted(set(step_key))
        codes = (
            np.array([kinds.index(k) for k in step_key])
            if len(kinds) > 1
            else np.zeros(len(grp), int)
        )
        for code, steps in enumerate(kinds):
            sel = codes == code
            fit = fit_many(dates, matrix[grp["row"].to_numpy()[sel]], steps)
            v[sel] = fit["velocity"]
            st[sel] = np.nansum(fit["steps"], axis=1)
        ok.loc[grp.index, "v_up"] = v / cos_inc
        ok.loc[grp.index, "settle"] = (v * span + st) / cos_inc
        # the segment median series of this geometry, fitted together per step set
        seg_of = grp["segment"].to_numpy()
        order = np.argsort(seg_of, kind="stable")
        segs, starts = np.unique(seg_of[order], return_index=True)
        rows_sorted = grp["row"].to_numpy()[order]
        median = np.nanmedian if np.isnan(matrix).any() else np.median
        medians = np.vstack(
            [median(matrix[part], axis=0) for part in np.split(rows_sorted, starts[1:])]
        )
        fits: dict[str, NDArray[np.float64]] = {
            name: np.full(len(segs), np.nan)
            for name in ("velocity", "seasonal_amplitude", "acceleration", "step")
        }
        seg_steps = [steps_of.get(sids[p], ()) for p in segs]
        for steps in set(seg_steps):
            sel = np.array([k == steps for k in seg_steps])
            lin = fit_many(dates, medians[sel], steps)
            quad = fit_many(dates, medians[sel], steps, quadratic=True)
            fits["velocity"][sel] = lin["velocity"]
            fits["seasonal_amplitude"][sel] = lin["seasonal_amplitude"]
            fits["acceleration"][sel] = quad["acceleration"]
            fits["step"][sel] = np.nansum(lin["steps"], axis=1) if steps else np.nan
        means = grp.groupby("segment")[
            ["incidence_angle", "los_east", "los_north", "los_up"]
        ].mean()
        per_geo[str(key)] = {
            "segs": segs, "fits": fits, "medians": medians, "dates": dates,
            "inc": means["incidence_angle"].reindex(segs).to_numpy(),
            "vector": means[["los_east", "los_north", "los_up"]].reindex(segs).to_numpy(),
        }  # fmt: skip
    frame = pd.DataFrame(
        {
            "segment_id": sids,
            "n_points": n_points,
            "n_coherent": n_ok,
            "coherence_mean": np.where(n_ok > 0, coh_sum / np.maximum(n_ok, 1), np.nan),
        }
    )
    for col in ("vertical_velocity", "east_velocity", "velocity_sigma", "mean_vertical_velocity",
                "robust_vertical_velocity", "acceleration", "seasonal_amplitude",
                "angular_distortion"):  # fmt: skip
        frame[col] = np.nan
    frame["known_event_step_mm"] = np.nan
    frame["geometries"] = ""
    frame["vertical_method"] = ""
    stats = ok.groupby("segment")["v_up"].agg(["mean", "median", "std", "count"])
    idx = stats.index.to_numpy()
    frame.loc[idx, "mean_vertical_velocity"] = stats["mean"].to_numpy()
    frame.loc[idx, "robust_vertical_velocity"] = stats["median"].to_numpy()
    frame.loc[idx, "velocity_sigma"] = (stats["std"] / np.sqrt(stats["count"])).to_numpy()
    _combine_geometries(frame, per_geo, steps_of, sids)
    _track_figures(frame, ok, per_geo, rules)
    frame["angular_distortion"] = distortion_by_segment(
        ok["segment"].to_numpy(dtype=np.int64), ok["chainage_m"].to_numpy(dtype="float64"),
        ok["settle"].to_numpy(dtype="float64"), n_seg,
        bin_m=rules.bin_m, max_distance_m=rules.max_bin_distance_m,
    )  # fmt: skip
    frame["status"] = np.where(enough, str(SubjectStatus.OK), str(SubjectStatus.DATA_GAP))
    frame["gate"] = [
        _gate(v, s, rules) if e else "none"
        for v, s, e in zip(frame["vertical_velocity"], frame["velocity_sigma"], enough, strict=True)
    ]
    frame["distortion_class"] = [
        _distortion_class(d, rules) if e else "none"
        for d, e in zip(frame["angular_distortion"], enough, strict=True)
    ]
    frame["reason"] = [
        ""
        if e
        else f"{n} coherent point(s) (coherence >= {rules.min_coherence:g}); "
        f"{rules.min_points} needed"
        for n, e in zip(n_ok, enough, strict=True)
    ]
    frame["fit_flags"] = "" if _span_ok(per_geo) else "short_series"
    alerted = (frame["gate"] != "none") | (frame["distortion_class"] != "none")
    plots = _median_series(per_geo, set(np.flatnonzero(alerted.to_numpy())), sids)
    return frame, plots


TRACKS = ("asc", "desc")
"""The LOS geometries a segment's exceedance is confirmed on, each on its own (an ascending and a
descending track: their east sensitivities have opposite signs, so a horizontal motion cannot make
both LOS-to-vertical figures move the same way)."""


def _track_figures(
    frame: pd.DataFrame, ok: pd.DataFrame, per_geo: dict[str, dict[str, Any]], rules: SegmentRules
) -> None:
    """Each track's own figures: ``n_coherent_<t>``, and where that track alone has at least
    ``rules.min_points`` coherent points on the segment, ``vertical_velocity_<t>`` (its median
    series' LOS velocity / cos(incidence)), ``velocity_sigma_<t>`` (standard error of its points'
    vertical velocities) and ``angular_distortion_<t>`` (from its points' settlements alone);
    NaN elsewhere. ``t`` in :data:`TRACKS`."""
    n = len(frame)
    for key in TRACKS:
        mine = ok[ok["geometry_key"] == key]
        seg = mine["segment"].to_numpy(dtype=np.int64)
        count = np.bincount(seg, minlength=n)[:n] if len(seg) else np.zeros(n, dtype=np.int64)
        enough = count >= rules.min_points
        v = np.full(n, np.nan)
        sigma = np.full(n, np.nan)
        if key in per_geo:
            g = per_geo[key]
            v[g["segs"]] = g["fits"]["velocity"] / np.cos(np.deg2rad(g["inc"]))
        if len(mine):
            stats = mine.groupby("segment")["v_up"].agg(["std", "count"])
            sigma[stats.index.to_numpy()] = (stats["std"] / np.sqrt(stats["count"])).to_numpy()
        distortion = distortion_by_segment(
            seg, mine["chainage_m"].to_numpy(dtype="float64"),
            mine["settle"].to_numpy(dtype="float64"), n,
            bin_m=rules.bin_m, max_distance_m=rules.max_bin_distance_m,
        )  # fmt: skip
        frame[f"n_coherent_{key}"] = count
        frame[f"vertical_velocity_{key}"] = np.where(enough, v, np.nan)
        frame[f"velocity_sigma_{key}"] = np.where(enough, sigma, np.nan)
        frame[f"angular_distortion_{key}"] = np.where(enough, distortion, np.nan)


def _span_ok(per_geo: dict[str, dict[str, Any]]) -> bool:
    return all((g["dates"][-1] - g["dates"][0]).days >= DAYS_PER_YEAR for g in per_geo.values())


def _combine_geometries(
    frame: pd.DataFrame,
    per_geo: dict[str, dict[str, Any]],
    steps_of: dict[str, tuple[date, ...]],
    sids: NDArray[Any],
) -> None:
    """Vertical (and east) velocity per segment: asc + desc decomposed where both exist."""
    n = len(frame)
    keys = sorted(per_geo)
    v_los = {k: np.full(n, np.nan) for k in keys}
    inc = {k: np.full(n, np.nan) for k in keys}
    vec = {k: np.full((n, 3), np.nan) for k in keys}
    extra = {name: {k: np.full(n, np.nan) for k in keys}
             for name in ("acceleration", "seasonal_amplitude", "step")}  # fmt: skip
    for k in keys:
        g = per_geo[k]
        segs = g["segs"]
        v_los[k][segs] = g["fits"]["velocity"]
        inc[k][segs] = g["inc"]
        vec[k][segs] = g["vector"]
        cos = np.cos(np.deg2rad(g["inc"]))
        extra["acceleration"][k][segs] = g["fits"]["acceleration"] / cos
        extra["seasonal_amplitude"][k][segs] = g["fits"]["seasonal_amplitude"]
        extra["step"][k][segs] = g["fits"]["step"] / cos
    up = np.full(n, np.nan)
    east = np.full(n, np.nan)
    method = np.array([""] * n, dtype=object)
    geoms = np.array([""] * n, dtype=object)
    for k in keys:
        has = np.isfinite(v_los[k])
        geoms[has] = np.where(geoms[has] == "", k, geoms[has] + "+" + k)
    if "asc" in keys and "desc" in keys:
        both = np.isfinite(v_los["asc"]) & np.isfinite(v_los["desc"])
        if both.any():
            e, u = decompose(v_los["asc"][both], vec["asc"][both], v_los["desc"][both],
                             vec["desc"][both])  # fmt: skip
            east[both], up[both] = e, u
            method[both] = "asc+desc decomposition"
    for k in keys:
        single = np.isfinite(v_los[k]) & ~np.isfinite(up)
        up[single] = v_los[k][single] / np.cos(np.deg2rad(inc[k][single]))
        method[single] = f"{k} (EGMS)" if k.startswith("L3") else f"LOS {k} projected to vertical"
    frame["vertical_velocity"] = up
    frame["east_velocity"] = east
    frame["vertical_method"] = method
    frame["geometries"] = geoms
    frame["acceleration"] = _nanmean_rows([extra["acceleration"][k] for k in keys], n)
    frame["seasonal_amplitude"] = _nanmean_rows([extra["seasonal_amplitude"][k] for k in keys], n)
    step = _nanmean_rows([extra["step"][k] for k in keys], n)
    known = np.array([bool(steps_of.get(str(sid))) for sid in sids], dtype=bool)
    frame["known_event_step_mm"] = np.where(known, step, np.nan)


def _nanmean_rows(rows: list[NDArray[np.float64]], n: int) -> NDArray[np.float64]:
    """Mean over geometries ignoring NaN, NaN where none has a value (no warning)."""
    if not rows:
        return np.full(n, np.nan)
    stack = np.vstack(rows)
    count = np.isfinite(stack).sum(axis=0)
    total = np.nansum(stack, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _median_series(
    per_geo: dict[str, dict[str, Any]], wanted: set[int], sids: NDArray[Any]
) -> dict[str, pd.Series]:
    """Vertical displacement of each wanted segment's median (mm), geometries merged by date."""
    parts: dict[int, list[pd.Series]] = {}
    for g in per_geo.values():
        cos = np.cos(np.deg2rad(g["inc"]))
        for i, pos in enumerate(g["segs"]):
            if int(pos) in wanted:
                parts.setdefault(int(pos), []).append(
                    pd.Series(g["medians"][i] / cos[i], index=g["dates"])
                )
    return {
        str(sids[pos]): pd.concat(ps).groupby(level=0).median().sort_index()
        for pos, ps in parts.items()
    }
