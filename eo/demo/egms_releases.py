"""Demo EGMS releases: L2b-like ascending and descending point CSVs along the demo corridors.

Deterministic from the seed (never committed; written by the demo build under
``demo-city/insar/``). Two releases (2018-2022 and 2019-2023) with their own points and ``pid`` s,
so persistence across releases has to match by location. Planted (and listed in ``truth.json``):

- a **subsiding stretch**: vertical -7 mm/yr within 150 m of a site on one line, tapering to 0 at
  250 m (about 400-500 m of line), as near a construction site;
- a **step**: -20 mm at a works date within 150 m of a site on another line, with no trend; the
  profile lists the works as a known event, so the step is fitted, not alerted;
- a **sparse stretch**: within 200 m of a third site only one point in eight is kept, so its
  segments have fewer than 5 coherent points (DATA_GAP).

Everything else is stable ground: per-point vertical velocity N(0, 0.5) mm/yr, a 1.5 mm annual
cycle, 1.5 mm noise per epoch. LOS = up * los_up (no east motion). Points lie along each corridor
(about one per 10 m and geometry, up to 25 m off the line) and, one per 25 ha, over the city.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import Point

from core.errors import InvalidInputError
from eo.demo.layout import DEMO_SEED

EGMS_CRS = "EPSG:3035"
RELEASES = ((2018, 2022), (2019, 2023))
"""(first year, last year) of each demo release, as EGMS names them (``..._2018_2022_...``)."""


@dataclass(frozen=True)
class Site:
    """A planted case: a WGS84 point near a corridor line and a radius (m)."""

    name: str
    line: str
    lon: float
    lat: float
    radius_m: float = 150.0


SUBSIDENCE = Site("subsiding stretch (construction site)", "U3", 16.39153, 48.20248)
SUBSIDENCE_MM_YR = -7.0
SUBSIDENCE_TAPER_M = 100.0
STEP = Site("works with a step", "U4", 16.35183, 48.19153)
STEP_MM = -20.0
STEP_DATE = date(2021, 3, 15)
SPARSE = Site("sparse stretch", "U2", 16.36495, 48.21559, radius_m=200.0)
SPARSE_KEEP = 8  # one point in eight kept
SITE_END_CLEARANCE_M = 400.0  # a drawn site lies this far from the ends of its line in the city
SITE_OTHER_LINE_M = 400.0  # ... and this far from every other line (the taper stays on one line)
SITE_SPACING_M = 1000.0  # ... and this far from the other drawn sites


@dataclass(frozen=True)
class InsarPlan:
    """The planted deformation of one seed."""

    subsidence: Site
    subsidence_mm_yr: float
    step: Site
    step_mm: float
    step_date: date
    sparse: Site
    step_is_known_event: bool  # the packaged vienna-demo profile lists these works


DEFAULT_INSAR = InsarPlan(
    SUBSIDENCE, SUBSIDENCE_MM_YR, STEP, STEP_MM, STEP_DATE, SPARSE, step_is_known_event=True
)


def insar_plan(lines: gpd.GeoDataFrame, area: Any, seed: int) -> InsarPlan:
    """The default seed keeps the README's sites; every other seed draws them along the lines.

    ``lines`` are the corridors in EPSG:3035, ``area`` the city boundary. Drawn: three distinct
    lines (subsiding, step, sparse) among those with at least 1.5 km inside the city; on each a
    point at least 400 m from the ends of the line's part in the city, 400 m from every other
    line and 1 km from the other sites (up to 200 tries per site); the rate (-9..-6 mm/yr,
    above the warning velocity), the step (-15..-25 mm) and its date (2020-2022, inside both
    releases). The drawn step's works are not in the packaged profile's known events, so it is an
    unexplained settlement there (``known_event: false`` in truth.json).
    """
    if seed == DEMO_SEED:
        return DEFAULT_INSAR
    rng = np.random.default_rng([seed, 71])
    inside = []
    for cid, geom in zip(lines["corridor_id"].astype(str), lines.geometry, strict=True):
        clipped = shapely.line_merge(shapely.intersection(geom, area))
        parts = [g for g in getattr(clipped, "geoms", [clipped]) if g.length >= 1500.0]
        if parts:
            inside.append((cid, max(parts, key=lambda g: g.length)))
    if len(inside) < 3:
        raise InvalidInputError(
            f"demo corridors: {len(inside)} lines have 1.5 km inside the city, a drawn demo "
            "needs 3 (subsiding, step, sparse stretch); enlarge the extent or add corridors"
        )
    order = [inside[int(k)] for k in rng.permutation(len(inside))]
    to_wgs = Transformer.from_crs(EGMS_CRS, "EPSG:4326", always_xy=True)
    chosen: list[Point] = []
    sites: list[Site] = []
    for (name, radius), (cid, part) in zip(
        (("subsiding stretch (construction site)", 150.0), ("works with a step", 150.0),
         ("sparse stretch", 200.0)), order, strict=False,
    ):  # fmt: skip
        others = [g for c, g in inside if c != cid]
        for _ in range(200):
            along = rng.uniform(SITE_END_CLEARANCE_M, part.length - SITE_END_CLEARANCE_M)
            point = part.interpolate(along)
            if all(point.distance(g) >= SITE_OTHER_LINE_M for g in others) and all(
                point.distance(c) >= SITE_SPACING_M for c in chosen
            ):
                break
        else:
            raise InvalidInputError(
                f"demo corridors: no point on line {cid} lies {SITE_OTHER_LINE_M:.0f} m from "
                f"the other lines and {SITE_SPACING_M:.0f} m from the other planted sites; "
                "use another seed or spread the corridors"
            )
        chosen.append(point)
        lon, lat = to_wgs.transform(point.x, point.y)
        sites.append(Site(name, cid, round(float(lon), 5), round(float(lat), 5), radius))
    step_date = date(2020, 3, 1) + timedelta(days=int(rng.integers(0, 2 * 365)))
    return InsarPlan(
        subsidence=sites[0],
        subsidence_mm_yr=round(float(rng.uniform(-9.0, -6.0)), 1),
        step=sites[1],
        step_mm=round(float(rng.uniform(-25.0, -15.0)), 1),
        step_date=step_date,
        sparse=sites[2],
        step_is_known_event=False,
    )


@dataclass(frozen=True)
class LosGeometry:
    """A Sentinel-1 viewing geometry: track, LOS unit vector (east, north, up), incidence (deg)."""

    track: int
    vector: tuple[float, float, float]
    incidence: float
    offset_days: int


GEOMETRIES = {  # typical Sentinel-1 IW geometries over Vienna
    "asc": LosGeometry(73, (-0.611, -0.118, 0.783), 38.5, 0),
    "desc": LosGeometry(124, (0.630, -0.128, 0.766), 40.0, 5),
}


def release_dates(first_year: int, last_year: int, offset_days: int) -> list[date]:
    """Acquisitions every 12 days from 3 January of the first year to the end of the last."""
    day = date(first_year, 1, 3) + timedelta(days=offset_days)
    out = []
    while day.year <= last_year:
        out.append(day)
        day += timedelta(days=12)
    return out


def _site_xy(site: Site) -> tuple[float, float]:
    p = gpd.GeoSeries([Point(site.lon, site.lat)], crs="EPSG:4326").to_crs(EGMS_CRS).iloc[0]
    return float(p.x), float(p.y)


def _sample_points(
    corridors: gpd.GeoDataFrame, boundary: Any, rng: np.random.Generator
) -> pd.DataFrame:
    xs, ys, kinds = [], [], []
    for geom in corridors.geometry:
        for line in getattr(geom, "geoms", [geom]):
            n = max(1, int(line.length / 10.0))
            along = np.sort(rng.uniform(0, line.length, n))
            pts = shapely.line_interpolate_point(line, along)
            ahead = shapely.line_interpolate_point(line, np.minimum(along + 1.0, line.length))
            dx = shapely.get_x(ahead) - shapely.get_x(pts)
            dy = shapely.get_y(ahead) - shapely.get_y(pts)
            norm = np.hypot(dx, dy)
            norm[norm == 0] = 1.0
            off = rng.uniform(-25.0, 25.0, n)
            xs.append(shapely.get_x(pts) - dy / norm * off)
            ys.append(shapely.get_y(pts) + dx / norm * off)
            kinds.append(np.zeros(n, dtype=bool))
    minx, miny, maxx, maxy = boundary.bounds
    n_bg = int((maxx - minx) * (maxy - miny) / 250_000.0)  # one per 25 ha: buildings around
    xs.append(rng.uniform(minx, maxx, n_bg))
    ys.append(rng.uniform(miny, maxy, n_bg))
    kinds.append(np.ones(n_bg, dtype=bool))
    frame = pd.DataFrame(
        {"x": np.concatenate(xs), "y": np.concatenate(ys), "background": np.concatenate(kinds)}
    )
    inside = shapely.contains_xy(boundary, frame["x"].to_numpy(), frame["y"].to_numpy())
    return frame[inside].reset_index(drop=True)


def _pid(rng: np.random.Generator, n: int, prefix: str) -> list[str]:
    letters = np.array(list("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    codes = rng.integers(0, len(letters), size=(n, 8))
    return [prefix + "".join(row) for row in letters[codes]]


def release_frame(
    corridors: gpd.GeoDataFrame,
    boundary: Any,
    first_year: int,
    last_year: int,
    key: str,
    seed: int,
    plan: InsarPlan = DEFAULT_INSAR,
) -> pd.DataFrame:
    """One EGMS-format table (columns as the 2019-2023 L2b release names them).

    The attribute columns are the frame; the LOS displacement (points x dates, mm) and the
    ``YYYYMMDD`` date names are in ``attrs["los_mm"]`` and ``attrs["dates"]``.
    """
    rng = np.random.default_rng([seed, first_year, 0 if key == "asc" else 1])
    geom = GEOMETRIES[key]
    pts = _sample_points(corridors, boundary, rng)
    x, y = pts["x"].to_numpy(), pts["y"].to_numpy()
    sx, sy = _site_xy(plan.sparse)
    sparse = np.hypot(x - sx, y - sy) <= plan.sparse.radius_m
    keep = ~sparse | (np.arange(len(pts)) % SPARSE_KEEP == 0)
    pts, x, y = pts[keep].reset_index(drop=True), x[keep], y[keep]
    n = len(pts)
    dates = release_dates(first_year, last_year, geom.offset_days)
    t = np.array([(d - dates[0]).days for d in dates], dtype="float64") / 365.25
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype="float64") / 365.25
    v_up = rng.normal(0.0, 0.5, n)
    cx, cy = _site_xy(plan.subsidence)
    d_sub = np.hypot(x - cx, y - cy)
    r0 = plan.subsidence.radius_m
    taper = np.clip((d_sub - r0) / SUBSIDENCE_TAPER_M, 0.0, 1.0)
    v_up += plan.subsidence_mm_yr * 0.5 * (1.0 + np.cos(np.pi * taper))
    px, py = _site_xy(plan.step)
    stepped = np.hypot(x - px, y - py) <= plan.step.radius_m
    after = np.array([d >= plan.step_date for d in dates])
    up = (
        v_up[:, None] * t[None, :]
        + 1.5 * np.sin(2 * np.pi * (doy[None, :] - 0.3))
        + rng.normal(0.0, 1.5, (n, len(dates)))
        + plan.step_mm * (stepped[:, None] & after[None, :])
    )
    up -= up[:, :1]  # EGMS series start at 0
    los_e, los_n, los_u = geom.vector
    los = np.round(up * los_u, 1)
    coherence = np.round(np.clip(rng.beta(8, 1.6, n), 0.3, 0.99), 2)
    lonlat = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=EGMS_CRS).to_crs("EPSG:4326")
    v_los = np.round(v_up * los_u, 1)
    frame = pd.DataFrame(
        {
            "pid": _pid(rng, n, f"{first_year % 100}{key[0]}"),
            "mp_type": 0,
            "latitude": np.round(lonlat.y, 6),
            "longitude": np.round(lonlat.x, 6),
            "easting": np.round(x, 2),
            "northing": np.round(y, 2),
            "height_ortho": np.round(rng.normal(180, 8, n), 1),
            "height_ellipse": np.round(rng.normal(225, 8, n), 1),
            "rmse_ts": np.round(rng.uniform(1.0, 3.0, n), 1),
            "temporal_coherence": coherence,
            "amplitude_dispersion": np.round(rng.uniform(0.2, 0.5, n), 2),
            "incidence_angle": np.round(geom.incidence + rng.normal(0, 0.2, n), 2),
            "track_angle": -10.5 if key == "asc" else 190.5,
            "los_east": los_e,
            "los_north": los_n,
            "los_up": los_u,
            "mean_velocity": v_los,
            "mean_velocity_std": 0.1,
            "acceleration": 0.0,
            "acceleration_std": 0.1,
            "seasonality": 1.2,
            "seasonality_std": 0.2,
        }
    )
    frame.attrs["los_mm"] = los
    frame.attrs["dates"] = [d.strftime("%Y%m%d") for d in dates]
    return frame


def write_release_csv(frame: pd.DataFrame, target: Path) -> None:
    """The attribute columns, then one ``YYYYMMDD`` column per date (mm, 0.1 mm), atomically."""
    head = frame.to_csv(index=False, lineterminator="\n").splitlines()
    block = io.StringIO()
    np.savetxt(block, frame.attrs["los_mm"], fmt="%.1f", delimiter=",")
    body = block.getvalue().splitlines()
    lines = [head[0] + "," + ",".join(frame.attrs["dates"])]
    lines += [a + "," + b for a, b in zip(head[1:], body, strict=True)]
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def release_name(first_year: int, last_year: int, key: str) -> str:
    """File name in the EGMS pattern, e.g. ``EGMS_L2b_073_0001_IW2_VV_2018_2022_1.csv``."""
    return f"EGMS_L2b_{GEOMETRIES[key].track:03d}_0001_IW2_VV_{first_year}_{last_year}_1.csv"


def write_demo_insar(
    folder: Path, corridors: gpd.GeoDataFrame, boundary: gpd.GeoDataFrame, seed: int
) -> dict[str, Any]:
    """Write every demo release into ``folder``; return the truth entry for ``truth.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = corridors.to_crs(EGMS_CRS)
    area = shapely.union_all(np.asarray(boundary.to_crs(EGMS_CRS).geometry.values))
    plan = insar_plan(lines, area, seed)
    files = []
    for first, last in RELEASES:
        for key in GEOMETRIES:
            frame = release_frame(lines, area, first, last, key, seed, plan)
            target = folder / release_name(first, last, key)
            write_release_csv(frame, target)
            files.append({"file": target.name, "points": len(frame), "geometry": key})

    def site(s: Site, **extra: Any) -> dict[str, Any]:
        return {"name": s.name, "line": s.line, "lon": s.lon, "lat": s.lat,
                "radius_m": s.radius_m, **extra}  # fmt: skip

    return {
        "folder": folder.name,
        "crs": EGMS_CRS,
        "releases": [f"{a}_{b}" for a, b in RELEASES],
        "files": files,
        "subsiding_stretch": site(
            plan.subsidence,
            vertical_mm_yr=plan.subsidence_mm_yr,
            taper_m=SUBSIDENCE_TAPER_M,
            **_stretch(lines, plan.subsidence, plan.subsidence.radius_m + SUBSIDENCE_TAPER_M),
        ),
        "step": site(
            plan.step,
            step_mm=plan.step_mm,
            date=plan.step_date.isoformat(),
            known_event=plan.step_is_known_event,
            **_stretch(lines, plan.step, plan.step.radius_m),
        ),
        "sparse_stretch": site(
            plan.sparse,
            keep_one_in=SPARSE_KEEP,
            **_stretch(lines, plan.sparse, plan.sparse.radius_m),
        ),
        "background": "vertical N(0, 0.5) mm/yr per point, 1.5 mm annual cycle, 1.5 mm noise",
        "los_positive": "towards the satellite",
    }


SEGMENT_LENGTH_M = 100.0
"""Segment length of the packaged vienna-demo profile (deformation.segment_length)."""


def _stretch(lines: gpd.GeoDataFrame, site: Site, reach_m: float) -> dict[str, Any]:
    """Where a site touches its line: chainage (m along the line, EPSG:3035) of the part within
    ``reach_m`` of the site and the ids of the profile's 100 m segments it overlaps
    (``<corridor id>-<nnn>``, the segmentation rule of indices.deformation.segment_corridors for a
    single-part line; empty when the line has several parts)."""
    x, y = _site_xy(site)
    centre = Point(x, y)
    row = lines[lines["corridor_id"].astype(str) == site.line]
    if row.empty:
        return {"chainage_m": None, "segment_ids": []}
    geom = row.geometry.iloc[0]
    merged = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
    if merged.geom_type != "LineString":
        return {"chainage_m": None, "segment_ids": []}
    near = shapely.intersection(merged, centre.buffer(reach_m))
    ends = [merged.project(Point(c)) for g in getattr(near, "geoms", [near]) for c in g.coords]
    if not ends:
        return {"chainage_m": None, "segment_ids": []}
    lo, hi = min(ends), max(ends)
    first, last = int(lo // SEGMENT_LENGTH_M), int(np.ceil(hi / SEGMENT_LENGTH_M - 1e-9)) - 1
    return {
        "chainage_m": [round(lo, 1), round(hi, 1)],
        "segment_ids": [f"{site.line}-{k + 1:03d}" for k in range(first, max(first, last) + 1)],
    }
