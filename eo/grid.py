"""The output grid every product is computed on: one CRS, one resolution, bounds snapped to a phase.

Sentinel-2 tiles start on multiples of 20 m in UTM (e.g. 33UWP at x=499980, 33UXP at x=600000), so a
grid whose edges are multiples of 20 m and whose resolution is 10 m or 20 m lines up with both the
10 m and the 20 m bands: no resampling blur (DESIGN section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from affine import Affine

S2_PHASE_M = 20.0


@dataclass(frozen=True)
class OutputGrid:
    """A north-up grid: ``crs`` (``"EPSG:nnnn"``), ``resolution`` (CRS units) and ``bounds``.

    ``bounds`` are (minx, miny, maxx, maxy) pixel *edges* in CRS units; pixel centres are
    half a pixel inside. Build grids with :func:`snap_grid` so the bounds sit on the native phase.
    """

    crs: str
    resolution: float
    bounds: tuple[float, float, float, float]

    @property
    def epsg(self) -> int:
        """EPSG code as an integer (``"EPSG:32633"`` -> 32633)."""
        return int(self.crs.split(":")[1])

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        minx, miny, maxx, maxy = self.bounds
        return (round((maxy - miny) / self.resolution), round((maxx - minx) / self.resolution))

    @property
    def transform(self) -> Affine:
        """Affine transform of the top-left pixel edge."""
        minx, _, _, maxy = self.bounds
        return Affine(self.resolution, 0.0, minx, 0.0, -self.resolution, maxy)

    def x_centres(self) -> np.ndarray:
        """Pixel-centre x coordinates, west to east."""
        minx = self.bounds[0]
        return minx + self.resolution * (np.arange(self.shape[1]) + 0.5)

    def y_centres(self) -> np.ndarray:
        """Pixel-centre y coordinates, north to south."""
        maxy = self.bounds[3]
        return maxy - self.resolution * (np.arange(self.shape[0]) + 0.5)


def snap_grid(
    crs: str,
    resolution: float,
    bounds: tuple[float, float, float, float],
    phase: float = S2_PHASE_M,
) -> OutputGrid:
    """Grid covering ``bounds`` with edges on multiples of ``phase`` (outward) and of ``resolution``.

    Parameters
    ----------
    crs : str
        ``"EPSG:nnnn"`` of a projected CRS in metres.
    resolution : float
        Pixel size in metres; ``phase`` must be a multiple of it.
    bounds : tuple of float
        (minx, miny, maxx, maxy) in ``crs`` units.
    phase : float
        Edge phase in metres (20 m: the Sentinel-2 10/20 m pixel phase).
    """
    step = max(phase, resolution)
    minx, miny, maxx, maxy = bounds
    snapped = (
        math.floor(minx / step) * step,
        math.floor(miny / step) * step,
        math.ceil(maxx / step) * step,
        math.ceil(maxy / step) * step,
    )
    return OutputGrid(crs=crs, resolution=float(resolution), bounds=snapped)


def grid_template(grid: OutputGrid, fill: float = float("nan")) -> xr.DataArray:
    """A float32 (y, x) DataArray on ``grid`` with centre coordinates and the CRS in ``spatial_ref``."""
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    rows, cols = grid.shape
    da = xr.DataArray(
        np.full((rows, cols), fill, dtype="float32"),
        dims=("y", "x"),
        coords={"y": grid.y_centres(), "x": grid.x_centres()},
    )
    return da.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
