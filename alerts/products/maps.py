"""Map renderers of the parks-team products: the irrigation priority PNG and per-park time series.

Pure renderers: data in, PNG bytes out (matplotlib's Agg, no pyplot state); writing is done by
:mod:`alerts.products`. Parks are coloured by priority class over the NDVI anomaly raster, DATA_GAP
parks grey and hatched; every figure carries the Copernicus attribution.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from alerts.products.context import MapContext, draw_context, subject_bounds
from alerts.products.labels import (
    ANOMALY_CMAP,
    ANOMALY_RANGE,
    CLASS_COLOURS,
    CLASS_NAMES,
    DATA_GAP_COLOUR,
    DATA_GAP_NAME,
    TEXT,
)
from alerts.products.raster import NorthUpRaster

_NICE = (1, 2, 5)


def nice_length(span: float) -> float:
    """A round scale-bar length (1, 2 or 5 x 10^n) of about a fifth of ``span`` (CRS units)."""
    target = max(span / 5.0, 1e-9)
    power = 10 ** math.floor(math.log10(target))
    return float(max(n * power for n in _NICE if n * power <= target) if target >= power else power)


def _png(fig: Figure, title: str, attribution: str) -> bytes:
    """The figure as PNG bytes; title and attribution also go in the PNG text chunks."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    metadata = {"Title": title, "Copyright": attribution, "Software": "geospace"}
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata=metadata)
    return buffer.getvalue()


def _scale_bar(ax: Axes, bounds: Sequence[float]) -> None:
    """Black/white scale bar in the lower left (metres or km)."""
    minx, miny, maxx, maxy = bounds
    length = nice_length(maxx - minx)
    x0, y0, h = minx + 0.04 * (maxx - minx), miny + 0.05 * (maxy - miny), 0.012 * (maxy - miny)
    for i in range(2):
        ax.add_patch(
            Rectangle(
                (x0 + i * length / 2, y0),
                length / 2,
                h,
                facecolor="kw"[i],
                edgecolor="k",
                lw=0.8,
                zorder=5,
            )
        )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + 1.8 * h, label, ha="center", va="bottom", fontsize=8, zorder=5)


def _north_arrow(ax: Axes) -> None:
    """A north arrow in the upper right (grid north of the projected map)."""
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.84),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=11,
        fontweight="bold",
        arrowprops={"facecolor": "k", "width": 3, "headwidth": 9, "headlength": 9},
        zorder=6,
    )


def _legend(ax: Axes, language: str) -> None:
    """Class and DATA_GAP legend."""
    handles = [
        Patch(facecolor=CLASS_COLOURS[c], edgecolor="k", label=f"{c} {CLASS_NAMES[language][c]}")
        for c in (1, 2, 3, 4)
    ]
    handles.append(
        Patch(facecolor=DATA_GAP_COLOUR, edgecolor="k", hatch="///", label=DATA_GAP_NAME[language])
    )
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9, title_fontsize=8)


def _draw_parks(ax: Axes, parks: gpd.GeoDataFrame) -> None:
    """Parks filled by class (DATA_GAP grey hatched) and labelled with their rank."""
    classes = parks["priority_class"].astype("Float64")
    for cls, colour in CLASS_COLOURS.items():
        subset = parks[(classes == cls).fillna(False).to_numpy(bool)]
        if len(subset):
            subset.plot(ax=ax, facecolor=colour, edgecolor="k", linewidth=0.8, alpha=0.85, zorder=3)
    gap = parks[classes.isna().to_numpy(bool)]
    if len(gap):
        gap.plot(
            ax=ax,
            facecolor=DATA_GAP_COLOUR,
            edgecolor="#555555",
            hatch="///",
            linewidth=0.8,
            zorder=3,
        )
    ranked = parks[parks["rank"].notna().to_numpy(bool)]
    for geom, rank in zip(ranked.geometry, ranked["rank"], strict=True):
        point = geom.representative_point()
        ax.text(
            point.x,
            point.y,
            str(int(rank)),
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            zorder=4,
            bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "k", "lw": 0.5},
        )


def _extent(parks: gpd.GeoDataFrame, raster: NorthUpRaster | None) -> tuple[float, ...]:
    """Map bounds covering the parks and the raster, padded by 5 %."""
    boxes = [tuple(parks.total_bounds)] if len(parks) else []
    if raster is not None:
        boxes.append(raster.bounds)
    if not boxes:
        return (0.0, 0.0, 1.0, 1.0)
    arr = np.array(boxes, dtype=float)
    minx, miny = arr[:, 0].min(), arr[:, 1].min()
    maxx, maxy = arr[:, 2].max(), arr[:, 3].max()
    pad = 0.05 * max(maxx - minx, maxy - miny, 1.0)
    return (minx - pad, miny - pad, maxx + pad, maxy + pad)


def map_view(
    subjects: gpd.GeoDataFrame, full: Sequence[float], *, min_size: float = 1500.0
) -> tuple[tuple[float, float, float, float], bool]:
    """The view of a map: the subjects' bounds padded (at least ``min_size`` m, the aspect of
    ``full`` kept), and whether it is a zoom (smaller than 60 % of ``full``) that needs an
    overview inset. Subjects that spread over the whole map get ``full``."""
    fminx, fminy, fmaxx, fmaxy = (float(v) for v in full)
    box = subject_bounds(subjects, pad=0.08, minimum=min_size)
    if box is None:
        return (fminx, fminy, fmaxx, fmaxy), False
    minx, miny, maxx, maxy = box
    if (maxx - minx) >= 0.6 * (fmaxx - fminx) and (maxy - miny) >= 0.6 * (fmaxy - fminy):
        return (fminx, fminy, fmaxx, fmaxy), False
    return (minx, miny, maxx, maxy), True


def _overview(ax: Axes, raster: NorthUpRaster | None, context: MapContext | None,
              full: Sequence[float], view: Sequence[float], parks: gpd.GeoDataFrame) -> None:  # fmt: skip
    """The whole map, small: districts, water, the parks as dots and the zoomed area framed."""
    minx, miny, maxx, maxy = (float(v) for v in full)
    if raster is not None:
        rminx, rminy, rmaxx, rmaxy = raster.bounds
        ax.imshow(np.isfinite(raster.data), extent=(rminx, rmaxx, rminy, rmaxy), cmap="Greys",
                  vmin=0, vmax=4, interpolation="nearest", zorder=1)  # fmt: skip
    if context is not None:
        draw_context(ax, context, (minx, miny, maxx, maxy), labels=False)
    if len(parks):
        points = parks.geometry.representative_point()
        ax.scatter(points.x, points.y, s=4, color="k", zorder=4)
    vx0, vy0, vx1, vy1 = view
    ax.add_patch(Rectangle((vx0, vy0), vx1 - vx0, vy1 - vy0, fill=False, edgecolor="#d7191c",
                           linewidth=1.5, zorder=5))  # fmt: skip
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("Overview", fontsize=8)


def _rank_key(ax: Axes, parks: gpd.GeoDataFrame, language: str, limit: int = 30) -> None:
    """The ranked parks as a list (rank, name, class) keyed to the numbers on the map and the
    CSV; DATA_GAP parks named after them."""
    ax.axis("off")
    ranked = parks[parks["rank"].notna().to_numpy(bool)].sort_values("rank")
    lines = []
    for _, row in ranked.head(limit).iterrows():
        cls = int(row["priority_class"])
        name = str(row.get("name", row.get("park_id", "")))
        lines.append((f"{int(row['rank']):>2}  {name[:28]}", CLASS_COLOURS[cls], cls))
    more = len(ranked) - limit
    gap = parks[parks["priority_class"].isna().to_numpy(bool)]
    header = {"en": "Rank  park (class)", "de": "Rang  Park (Klasse)"}[language]
    ax.text(0.0, 1.0, header, fontsize=8, fontweight="bold", va="top", transform=ax.transAxes)
    y = 0.965
    step = min(0.03, 0.9 / max(len(lines) + len(gap) + 3, 1))
    for text, colour, cls in lines:
        ax.add_patch(Rectangle((0.0, y - step * 0.75), 0.06, step * 0.6, facecolor=colour,
                               edgecolor="k", linewidth=0.5, transform=ax.transAxes))  # fmt: skip
        ax.text(0.09, y, f"{text} ({cls})", fontsize=7, va="top", family="monospace",
                transform=ax.transAxes)  # fmt: skip
        y -= step
    if more > 0:
        ax.text(0.09, y, f"... {more} more in the CSV", fontsize=7, va="top",
                transform=ax.transAxes)  # fmt: skip
        y -= step
    if len(gap):
        y -= step / 2
        ax.text(0.0, y, DATA_GAP_NAME[language] + ":", fontsize=7, va="top", fontweight="bold",
                transform=ax.transAxes)  # fmt: skip
        y -= step
        for name in gap.get("name", gap.get("park_id", pd.Series(dtype=str))).astype(str)[:limit]:
            ax.text(0.09, y, name[:34], fontsize=7, va="top", transform=ax.transAxes)
            y -= step


def render_priority_png(
    parks: gpd.GeoDataFrame,
    raster: NorthUpRaster | None,
    *,
    window: str,
    attribution: str,
    min_clear_pct: float = 60.0,
    language: str = "en",
    context: MapContext | None = None,
) -> bytes:
    """The irrigation priority map as PNG bytes.

    The map zooms to the parks (with an overview inset of the whole area when that is a zoom),
    draws the context (district boundaries and names, water, lines with their names) beneath the
    parks, labels each ranked park with its rank and lists rank, name and class beside the map
    (the rank is the CSV's).

    Parameters
    ----------
    parks : geopandas.GeoDataFrame
        Parks with ``priority_class`` and ``rank``, in the raster's (projected, metre) CRS.
    raster : NorthUpRaster or None
        NDVI anomaly (dimensionless) drawn beneath the parks.
    window : str
        The observation window, e.g. ``"2022-06-01 to 2022-06-14"``.
    attribution : str
        Copernicus attribution printed in the data note.
    min_clear_pct : float
        Minimum clear sky (%) quoted in the note.
    language : str
        ``"en"`` or ``"de"``.
    context : MapContext, optional
        Districts, water and lines, any CRS (drawn in the parks' CRS).
    """
    text = TEXT[language]
    full = _extent(parks, raster)
    bounds, zoomed = map_view(parks, full)
    if context is not None and parks.crs is not None:
        context = context.to_crs(parks.crs)
    aspect = (bounds[3] - bounds[1]) / max(bounds[2] - bounds[0], 1e-9)
    height = min(max(7.0 * aspect, 5.5), 11.0) + 1.3
    fig = Figure(figsize=(11.0, height), dpi=110, layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(3.0, 1.0), height_ratios=(1.0, 2.2))
    ax = fig.add_subplot(grid[:, 0])
    if raster is not None:
        minx, miny, maxx, maxy = raster.bounds
        image = ax.imshow(
            raster.data,
            extent=(minx, maxx, miny, maxy),
            cmap=ANOMALY_CMAP,
            vmin=ANOMALY_RANGE[0],
            vmax=ANOMALY_RANGE[1],
            interpolation="nearest",
            zorder=1,
        )
        bar = fig.colorbar(image, ax=ax, orientation="horizontal", shrink=0.5, pad=0.01, aspect=40)
        bar.set_label(text["anomaly"], fontsize=8)
        bar.ax.tick_params(labelsize=7)
    if context is not None:
        draw_context(ax, context, bounds)
    _draw_parks(ax, parks)
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_facecolor("#f4f4f4")
    _scale_bar(ax, bounds)
    _north_arrow(ax)
    _legend(ax, language)
    if zoomed:
        _overview(fig.add_subplot(grid[0, 1]), raster, context, full, bounds, parks)
        _rank_key(fig.add_subplot(grid[1, 1]), parks, language)
    else:
        _rank_key(fig.add_subplot(grid[:, 1]), parks, language)
    title = f"{text['title']} - {text['window']} {window}"
    ax.set_title(title, fontsize=12)
    if not bool(parks["priority_class"].notna().any()):
        ax.text(
            0.5,
            0.5,
            text["no_clear"],
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=15,
            zorder=7,
            bbox={"fc": "white", "ec": "k", "alpha": 0.9, "pad": 8},
        )
    note = text["clear_note"].format(pct=f"{min_clear_pct:g}") + "\n" + attribution
    fig.supxlabel(note, fontsize=7, x=0.01, ha="left", color="#333333")
    return _png(fig, title, attribution)


def _series_panel(ax: Axes, frame: pd.DataFrame, index: str, reference: str) -> None:
    """One index: this season's values against the reference median (band where available)."""
    frame = frame.sort_values("date")
    dates = pd.to_datetime(frame["date"]).to_numpy()
    value = frame["value"].to_numpy(float)
    ref = frame["ref_value"].to_numpy(float)
    if {"ref_low", "ref_high"} <= set(frame.columns):
        ax.fill_between(
            dates,
            frame["ref_low"].to_numpy(float),
            frame["ref_high"].to_numpy(float),
            color="#9ecae1",
            alpha=0.5,
            label=f"{reference} range",
        )
    ax.plot(dates, ref, "--", color="#3182bd", lw=1.5, label=f"{reference} median")
    ax.fill_between(
        dates,
        value,
        ref,
        where=value < ref,
        color="#d7191c",
        alpha=0.25,
        interpolate=True,
        label="below median",
    )
    ax.plot(dates, value, "o-", color="#1a1a1a", lw=1.5, ms=4, label="this season")
    ax.set_ylabel(index.upper())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")


def render_timeseries_png(
    series: pd.DataFrame,
    *,
    title: str,
    attribution: str,
    reference: str = "reference",
) -> bytes:
    """NDVI and NDMI of one park this season vs. the reference median, as PNG bytes.

    Parameters
    ----------
    series : pandas.DataFrame
        Rows of one park: ``date``, ``index`` (``"ndvi"``/``"ndmi"``), ``value``, ``ref_value``
        (dimensionless), optional ``ref_low``/``ref_high`` for a reference band.
    title : str
        Figure title (park name and class).
    attribution : str
        Copernicus attribution printed under the plots.
    reference : str
        Label of the reference period, e.g. ``"2019-2021"``.
    """
    fig = Figure(figsize=(7.0, 5.0), dpi=100, layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, index in zip(axes, ("ndvi", "ndmi"), strict=True):
        frame = series[series["index"].astype(str).str.lower() == index]
        if len(frame):
            _series_panel(ax, frame, index, reference)
        else:
            ax.text(0.5, 0.5, f"no {index.upper()} series", transform=ax.transAxes, ha="center")
            ax.set_ylabel(index.upper())
    locator = AutoDateLocator()
    axes[1].xaxis.set_major_locator(locator)
    axes[1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    fig.suptitle(title, fontsize=11)
    fig.supxlabel(attribution, fontsize=7, x=0.01, ha="left", color="#333333")
    return _png(fig, title, attribution)
