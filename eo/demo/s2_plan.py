"""What the demo's Sentinel-2 archive contains: tiles, dates, items and the planted cases.

The plan is pure data, derived from the seed and the geography; :mod:`eo.demo.s2_scenes` renders it.

Decisions (DESIGN section 7):

- Season 2022-06-01 .. 2022-08-30, one acquisition every 5 days (S2A/S2B alternating), both tiles
  on the same day. Processing baseline 04.00: pixels carry the BOA offset (DN = reflectance*10000
  + 1000) and the items say so, ``earthsearch:boa_offset_applied: false``, so the DESIGN rule
  gives reflectance = (DN - 1000) / 10000.
- Reference years 2019-2021: eight dates each (every 12 days) in the same months, baselines 02.xx/03.xx,
  DN = reflectance*10000 (no offset), ``earthsearch:boa_offset_applied: false``; the rule gives
  DN / 10000 because the baseline is < 04.00.
- Planted: one all-cloud date (both tiles), one wrongly flagged item (flag true, offset still in
  the pixels), one duplicate (same tile and day, baseline 04.00 then a reprocessing at 05.00 that
  is correct; the older one is 3 % brighter), stressed parks (progressive drying from an onset
  date), one park under cloud on every 2022 date, all other parks as in the reference years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from core.errors import InvalidInputError
from eo.demo.layout import DEMO_SEED
from eo.grid import OutputGrid

SEASON_YEAR = 2022
REFERENCE_YEARS = (2019, 2020, 2021)
REFERENCE_BASELINES = {2019: "02.12", 2020: "02.14", 2021: "03.01"}
RELATIVE_ORBIT = 79
OFFSET_DN = 1000


@dataclass(frozen=True)
class Tile:
    """One MGRS tile: name (``"33UXP"``) and its 10 m footprint bounds in EPSG:32633 (metres)."""

    name: str
    bounds: tuple[float, float, float, float]


TILES: tuple[Tile, ...] = (
    Tile("33UWP", (499980.0, 5290200.0, 609780.0, 5400000.0)),
    Tile("33UXP", (600000.0, 5290200.0, 709800.0, 5400000.0)),
)


@dataclass(frozen=True)
class Window:
    """Rows/columns of the 10 m demo grid an item covers (the tile clipped to the demo extent)."""

    row_off: int
    col_off: int
    rows: int
    cols: int


@dataclass(frozen=True)
class ItemPlan:
    """One STAC item: identity, processing and how its pixels are encoded."""

    item_id: str
    tile: Tile
    day: date
    platform: str
    baseline: str
    sequence: int
    offset_in_dn: bool
    boa_offset_applied: bool
    created: datetime
    window: Window
    gain: float = 1.0

    @property
    def sensing_time(self) -> datetime:
        """Sensing time of the tile (UTC), about 10:00 as for Vienna's descending passes."""
        return datetime(self.day.year, self.day.month, self.day.day, 10, 7, 51)


@dataclass(frozen=True)
class StressPlan:
    """A water-stressed park: drying starts at ``onset`` and grows linearly over ``ramp_days``.

    A park with a ``watered`` date is irrigated again from that day: its dry turf greens up
    linearly over ``recovery_days`` (the demo's work order that opens, updates and clears).
    """

    park_id: str
    onset: date
    ramp_days: int = 35
    max_fraction: float = 0.85
    watered: date | None = None
    recovery_days: int = 10

    def fraction(self, day: date) -> float:
        """Share of the park's turf that has turned into dry turf on ``day`` (0..max_fraction)."""
        if day.year != SEASON_YEAR:
            return 0.0
        progress = (day - self.onset).days / self.ramp_days
        dry = float(np.clip(progress, 0.0, 1.0) * self.max_fraction)
        if self.watered is not None and day >= self.watered:
            dry *= float(np.clip(1.0 - (day - self.watered).days / self.recovery_days, 0.0, 1.0))
        return dry


@dataclass(frozen=True)
class DatePlan:
    """One acquisition day: its items and the weather over the city."""

    day: date
    platform: str
    cloud_cover: float
    cirrus: bool
    all_cloud: bool
    hide_park: bool
    items: tuple[ItemPlan, ...]


@dataclass(frozen=True)
class DemoPlan:
    """The whole archive and its planted cases."""

    seed: int
    small: bool
    grid: OutputGrid
    dates: tuple[DatePlan, ...]
    stressed: tuple[StressPlan, ...]
    hidden_park: str
    control_parks: tuple[str, ...]
    all_cloud_day: date
    wrong_flag_item: str
    duplicate: tuple[str, str]  # (dropped older, kept newer)

    @property
    def items(self) -> tuple[ItemPlan, ...]:
        """Every item of every date."""
        return tuple(i for d in self.dates for i in d.items)


def natural_dryness(day: date) -> float:
    """Share of any turf that dries naturally in late summer, the same in every year (0..0.1)."""
    doy = day.timetuple().tm_yday
    return float(np.clip((doy - 182) / 60.0, 0.0, 1.0) * 0.1)


def tile_window(tile: Tile, grid: OutputGrid) -> Window | None:
    """The tile's footprint clipped to the grid, in 10 m grid pixels (None when disjoint)."""
    gx0, gy0, gx1, gy1 = grid.bounds
    tx0, ty0, tx1, ty1 = tile.bounds
    x0, x1, y0, y1 = max(gx0, tx0), min(gx1, tx1), max(gy0, ty0), min(gy1, ty1)
    if x1 <= x0 or y1 <= y0:
        return None
    res = grid.resolution
    return Window(
        row_off=round((gy1 - y1) / res),
        col_off=round((x0 - gx0) / res),
        rows=round((y1 - y0) / res),
        cols=round((x1 - x0) / res),
    )


def season_days() -> list[date]:
    """2022 acquisition days: every 5 days from 1 June to 30 August."""
    start = date(SEASON_YEAR, 6, 1)
    return [start + timedelta(days=5 * k) for k in range(19)]


def reference_days(year: int) -> list[date]:
    """Eight acquisition days of a reference year, every 12 days from early June.

    Spaced under the 14-day evaluation window, so every window of the season has at least one date
    in every reference year (with six dates 15 days apart some windows had none, and the baseline
    of many parks fell to a single year).
    """
    start = date(year, 6, 1 + (year % 3) * 2)
    return [start + timedelta(days=12 * k) for k in range(8)]


def _platform(k: int) -> str:
    return "sentinel-2a" if k % 2 == 0 else "sentinel-2b"


def _item(
    tile: Tile,
    window: Window,
    day: date,
    platform: str,
    baseline: str,
    *,
    sequence: int = 0,
    created: datetime | None = None,
    flag: bool = False,
    gain: float = 1.0,
) -> ItemPlan:
    return ItemPlan(
        item_id=f"S2{platform[-1].upper()}_{tile.name}_{day:%Y%m%d}_{sequence}_L2A",
        tile=tile,
        day=day,
        platform=platform,
        baseline=baseline,
        sequence=sequence,
        offset_in_dn=float(baseline) >= 4.0,
        boa_offset_applied=flag,
        created=created or datetime(day.year, day.month, day.day, 14, 25, 3),
        window=window,
        gain=gain,
    )


def choose_parks(
    parks: gpd.GeoDataFrame, grid: OutputGrid, n_stressed: int
) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """Pick (stressed parks, the cloud-hidden park, control parks) among the parks in the grid.

    Candidates are parks and gardens of at least 2 ha lying wholly inside the grid, largest first.
    The hidden park is the largest of at most 40 ha (so one cloud covers it); the stressed ones
    are the next largest of at most 100 ha; every other candidate is a control.
    """
    cand = _candidates(parks, grid)
    small = cand[cand["_area"] <= 4e5]
    if small.empty or len(cand) < 2:
        raise InvalidInputError(
            f"demo geography has {len(cand)} parks of >= 2 ha inside the grid {grid.bounds}: "
            "the demo needs at least 2 (one of <= 40 ha) to plant a stressed and a cloud-hidden "
            "park; enlarge the extent or add parks"
        )
    hidden = str(small["park_id"].iloc[0])
    rest = cand[(cand["park_id"] != hidden) & (cand["_area"] <= 1e6)]
    stressed = tuple(str(p) for p in rest["park_id"].iloc[:n_stressed])
    controls = tuple(str(p) for p in cand["park_id"] if str(p) != hidden and str(p) not in stressed)
    return stressed, hidden, controls


def _cloud_cover(rng: np.random.Generator) -> float:
    """Scene cloud fraction: a third clear, a third a few clouds, a third cloudy."""
    draw = rng.random()
    if draw < 0.35:
        return 0.0
    if draw < 0.7:
        return float(rng.uniform(0.02, 0.15))
    return float(rng.uniform(0.15, 0.5))


def _season_dates(
    rng: np.random.Generator, windows: dict[str, Window], special: dict[str, int]
) -> list[DatePlan]:
    """The 2022 dates with their items, the all-cloud date, wrong flag and duplicate."""
    target = _target(windows)
    out = []
    for k, day in enumerate(season_days()):
        platform = _platform(k)
        items = []
        for tile in TILES:
            if tile.name not in windows:
                continue
            win = windows[tile.name]
            if k == special["duplicate"] and tile.name == target:
                items.append(_item(tile, win, day, platform, "04.00", gain=1.03))
                items.append(
                    _item(
                        tile,
                        win,
                        day,
                        platform,
                        "05.00",
                        sequence=1,
                        created=datetime(2023, 3, 14, 9, 12, 40),
                    )
                )
                continue
            flag = k == special["wrong_flag"] and tile.name == target
            items.append(_item(tile, win, day, platform, "04.00", flag=flag))
        clear = k in (special["wrong_flag"], len(season_days()) - 1)
        cover = 0.0 if clear else _cloud_cover(rng)
        out.append(
            DatePlan(
                day,
                platform,
                cover,
                bool(rng.random() < 0.2) and not clear,
                k == special["all_cloud"],
                True,
                tuple(items),
            )
        )
    return out


def _reference_dates(rng: np.random.Generator, windows: dict[str, Window]) -> list[DatePlan]:
    out = []
    for year in REFERENCE_YEARS:
        for k, day in enumerate(reference_days(year)):
            platform = _platform(k + year)
            items = tuple(
                _item(t, windows[t.name], day, platform, REFERENCE_BASELINES[year])
                for t in TILES
                if t.name in windows
            )
            out.append(
                DatePlan(
                    day, platform, _cloud_cover(rng), bool(rng.random() < 0.2), False, False, items
                )
            )
    return out


def make_plan(seed: int, small: bool, grid: OutputGrid, parks: gpd.GeoDataFrame) -> DemoPlan:
    """The demo archive for ``seed`` on ``grid``: reference years first, then 2022.

    The default seed (:data:`eo.demo.layout.DEMO_SEED`) keeps the README's story
    (:func:`default_scenario`); every other seed draws its own (:func:`draw_scenario`).
    """
    windows = {t.name: w for t in TILES if (w := tile_window(t, grid)) is not None}
    rng = np.random.default_rng([seed, 7])
    if seed == DEMO_SEED:
        scenario = default_scenario(small, grid, parks)
    else:
        scenario = draw_scenario(np.random.default_rng([seed, 8]), small, grid, parks)
    special = scenario.special
    dates = _reference_dates(rng, windows) + _season_dates(rng, windows, special)
    season = [d for d in dates if d.day.year == SEASON_YEAR]
    dup = [i.item_id for i in season[special["duplicate"]].items if i.tile.name == _target(windows)]
    wrong = [i for i in season[special["wrong_flag"]].items if i.boa_offset_applied]
    return DemoPlan(
        seed=seed,
        small=small,
        grid=grid,
        dates=tuple(dates),
        stressed=scenario.stressed,
        hidden_park=scenario.hidden,
        control_parks=scenario.controls,
        all_cloud_day=season[special["all_cloud"]].day,
        wrong_flag_item=wrong[0].item_id,
        duplicate=(dup[0], dup[1]),
    )


@dataclass(frozen=True)
class Scenario:
    """The planted story of one seed: stressed (and watered) parks, the hidden park, controls and
    the season indices of the all-cloud date, the duplicate and the wrongly flagged item."""

    stressed: tuple[StressPlan, ...]
    hidden: str
    controls: tuple[str, ...]
    special: dict[str, int]


DEFAULT_SPECIAL = {"all_cloud": 6, "duplicate": 8, "wrong_flag": 14}


def default_scenario(small: bool, grid: OutputGrid, parks: gpd.GeoDataFrame) -> Scenario:
    """The README demo's story (the default seed): fixed numbers, parks chosen by size."""
    n_dry = 1 if small else 3
    stressed_ids, hidden, controls = choose_parks(parks, grid, n_dry + 1)
    # the first stressed park dries gradually, over six weeks from mid-June (an early warning is
    # observed before urgent); the others (full demo) dry in five weeks from 20 and 30 July
    first = StressPlan(stressed_ids[0], date(SEASON_YEAR, 6, 13), ramp_days=42)
    later = [
        StressPlan(pid, date(SEASON_YEAR, 7, 10) + timedelta(days=10 * i))
        for i, pid in enumerate(stressed_ids[1:n_dry], start=1)
    ]
    watered = [  # one park dries early and is watered again in August
        StressPlan(
            pid,
            date(SEASON_YEAR, 6, 20),
            ramp_days=60,
            watered=date(SEASON_YEAR, 7, 21),
            recovery_days=32,
        )
        for pid in stressed_ids[n_dry:]
    ]
    stressed = (first, *later, *watered)
    return Scenario(stressed, hidden, controls, dict(DEFAULT_SPECIAL))


HIDDEN_MAX_AREA_M2 = 4e5  # one cloud (the park plus 260 m) covers a park of at most 40 ha
STRESS_MIN_AREA_M2 = 5e4  # >= 5 ha: clear pixels remain after cloud masks are dilated
STRESS_MAX_AREA_M2 = 1e6  # <= 100 ha: one drought (one irrigation system) covers the park
HIDDEN_CLEARANCE_M = 300.0  # stressed parks lie clear of the hidden park's cloud (260 m)
LAST_RAMP_END = date(SEASON_YEAR, 8, 20)  # every ramp is complete two windows before 30 August


def _candidates(parks: gpd.GeoDataFrame, grid: OutputGrid) -> gpd.GeoDataFrame:
    extent = box(*grid.bounds)
    cand = parks[parks["kind"].astype(str).isin(["park", "garden"]) & parks.within(extent)]
    cand = cand.assign(_area=cand.area).sort_values(["_area", "park_id"], ascending=[False, True])
    return cand[cand["_area"] >= 2e4]


def draw_scenario(
    rng: np.random.Generator, small: bool, grid: OutputGrid, parks: gpd.GeoDataFrame
) -> Scenario:
    """A new story of the same kind drawn from ``rng`` (every seed but the default).

    Rules (physical, never names): the hidden park is drawn among the parks of 2-40 ha; stressed
    and watered parks among the parks of 5-100 ha lying more than 300 m from the hidden one;
    every other park of >= 2 ha is a control. The first stressed park dries gradually (a ramp of
    4-7 weeks), the others at a drawn speed (1.5-7 weeks); onsets from 20 June so that every ramp
    ends by 20 August; peak dry share 0.55-0.9. The watered park dries from mid/late June and is
    watered once 55-80 % through its ramp, greening up over 2-4 weeks before 25 August. The
    all-cloud date, the duplicate and the wrongly flagged item fall on distinct drawn dates.
    """
    cand = _candidates(parks, grid)
    hideable = cand[cand["_area"] <= HIDDEN_MAX_AREA_M2]
    if hideable.empty or len(cand) < 3:
        raise InvalidInputError(
            f"demo geography has {len(cand)} parks of >= 2 ha inside the grid {grid.bounds}: a "
            "drawn demo needs at least 3 (one of <= 40 ha) to plant a stressed, a watered and a "
            "cloud-hidden park; enlarge the extent or add parks"
        )
    hidden = str(hideable["park_id"].iloc[int(rng.integers(len(hideable)))])
    hidden_geom = cand.loc[cand["park_id"] == hidden].geometry.iloc[0]
    rest = cand[cand["park_id"] != hidden]
    clear = rest[rest.distance(hidden_geom) > HIDDEN_CLEARANCE_M]
    pool = clear[(clear["_area"] >= STRESS_MIN_AREA_M2) & (clear["_area"] <= STRESS_MAX_AREA_M2)]
    if len(pool) < 2:  # a small geography: fall back to every park clear of the hidden one
        pool = clear[clear["_area"] <= STRESS_MAX_AREA_M2]
    if len(pool) < 2:
        raise InvalidInputError(
            f"demo geography has {len(pool)} parks of 2-100 ha more than {HIDDEN_CLEARANCE_M:.0f} m "
            f"from the cloud-hidden park {hidden!r}: a drawn demo needs 2 (a stressed and a "
            "watered one); enlarge the extent or add parks"
        )
    wanted = int(rng.integers(1, 3)) if small else int(rng.integers(2, 5))
    n_dry = min(wanted, len(pool) - 1)
    order = rng.permutation(len(pool))
    ids = [str(pool["park_id"].iloc[int(k)]) for k in order[: n_dry + 1]]
    stressed = []
    for k, pid in enumerate(ids[:n_dry]):
        ramp_weeks = rng.uniform(4.0, 7.0) if k == 0 else rng.uniform(1.5, 7.0)
        ramp = round(ramp_weeks * 7)
        latest = (LAST_RAMP_END - timedelta(days=ramp) - date(SEASON_YEAR, 6, 20)).days
        onset = date(SEASON_YEAR, 6, 20) + timedelta(days=int(rng.integers(0, max(latest, 0) + 1)))
        peak = round(float(rng.uniform(0.55, 0.9)), 2)
        stressed.append(StressPlan(pid, onset, ramp_days=ramp, max_fraction=peak))
    onset = date(SEASON_YEAR, 6, 12) + timedelta(days=int(rng.integers(0, 15)))
    ramp = int(rng.integers(35, 61))
    recovery = int(rng.integers(14, 29))
    watered = onset + timedelta(days=round(ramp * rng.uniform(0.55, 0.8)))
    watered = min(watered, date(SEASON_YEAR, 8, 25) - timedelta(days=recovery))
    peak = round(float(rng.uniform(0.75, 0.9)), 2)
    stressed.append(StressPlan(ids[n_dry], onset, ramp, peak, watered, recovery))
    planted = {hidden, *ids}
    controls = tuple(str(p) for p in cand["park_id"] if str(p) not in planted)
    n_days = len(season_days())
    # index 0/1: the season's first windows; the last date stays clear (see _season_dates)
    all_cloud, duplicate, wrong_flag = (int(k) for k in rng.choice(range(2, n_days - 1), 3, False))
    special = {"all_cloud": all_cloud, "duplicate": duplicate, "wrong_flag": wrong_flag}
    return Scenario(tuple(stressed), hidden, controls, special)


def _target(windows: dict[str, Window]) -> str:
    """The tile of the wrongly flagged and the duplicate item: the one the mosaic takes first.

    The solar-day mosaic takes items in (time, id) order, so 33UWP wins where the tiles overlap;
    planting the cases there makes them matter in the mosaicked cube (on the small demo 33UWP
    covers the whole grid and 33UXP never shows).
    """
    return "33UWP" if "33UWP" in windows else next(iter(windows))
