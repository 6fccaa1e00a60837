"""The north-up grid of a product raster: CRS and affine transform from a DataArray's own metadata.

Pixel-centre ``x``/``y`` coordinates give the transform; the CRS comes from the ``spatial_ref``
coordinate (``crs_wkt`` or ``spatial_ref`` attribute, as rioxarray/odc-stac write it) or the ``crs``
attribute. Nothing is guessed from names: a raster without them is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS
from pyproj.exceptions import CRSError

from core.errors import InvalidInputError


@dataclass(frozen=True)
class NorthUpRaster:
    """A 2-D float32 array (rows north to south) with its CRS and top-left-edge transform."""

    data: np.ndarray
    crs: CRS
    transform: Affine

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) pixel edges in CRS units."""
        rows, cols = self.data.shape
        minx, maxy = self.transform.c, self.transform.f
        return (minx, maxy + self.transform.e * rows, minx + self.transform.a * cols, maxy)


def raster_crs(da: xr.DataArray) -> CRS:
    """CRS of ``da`` from its ``spatial_ref`` coordinate or ``crs`` attribute."""
    candidates: list[object] = []
    if "spatial_ref" in da.coords:
        attrs = da.coords["spatial_ref"].attrs
        candidates += [attrs.get("crs_wkt"), attrs.get("spatial_ref")]
    candidates += [da.attrs.get("crs"), da.attrs.get("spatial_ref")]
    for value in candidates:
        if value:
            try:
                return CRS.from_user_input(value)
            except CRSError as err:
                raise InvalidInputError(
                    f"raster {da.name!r}: CRS {value!r} is not understood ({err})"
                ) from err
    raise InvalidInputError(
        f"raster {da.name!r} has no CRS: give it a 'spatial_ref' coordinate with 'crs_wkt' "
        "(rioxarray's da.rio.write_crs) or a 'crs' attribute such as 'EPSG:32633'"
    )


def _step(values: np.ndarray, dim: str, name: object) -> float:
    """Regular spacing of a centre-coordinate vector (at least two values)."""
    if values.size < 2:
        raise InvalidInputError(
            f"raster {name!r}: dimension {dim!r} needs at least 2 pixel-centre coordinates"
        )
    steps = np.diff(values)
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=0) or steps[0] == 0:
        raise InvalidInputError(f"raster {name!r}: {dim!r} coordinates are not regularly spaced")
    return float(steps[0])


def north_up(da: xr.DataArray) -> NorthUpRaster:
    """Materialise ``da`` (dims ``y``, ``x``) as a north-up float32 raster with CRS and transform.

    Raises
    ------
    InvalidInputError
        Other dimensions, fewer than 2 coordinates per axis, irregular spacing, or no CRS.
    """
    if set(da.dims) != {"y", "x"}:
        raise InvalidInputError(
            f"raster {da.name!r} has dims {da.dims}; expected exactly ('y', 'x') (select one time first)"
        )
    da = da.transpose("y", "x")
    x = np.asarray(da["x"].values, dtype="float64")
    y = np.asarray(da["y"].values, dtype="float64")
    dx, dy = _step(x, "x", da.name), _step(y, "y", da.name)
    data = np.asarray(da.values, dtype="float32")
    if dx < 0:
        x, data, dx = x[::-1], data[:, ::-1], -dx
    if dy > 0:
        y, data, dy = y[::-1], data[::-1, :], -dy
    transform = Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
    return NorthUpRaster(np.ascontiguousarray(data), raster_crs(da), transform)
