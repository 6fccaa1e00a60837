"""Cloud-optimised GeoTIFF of an index raster: float32, nodata NaN, internal overviews, tags.

Written with GDAL's COG driver from an in-memory GeoTIFF that already holds the overviews, so even a
small city raster carries at least one overview level (GDAL would skip them below one tile).
"""

from __future__ import annotations

from pathlib import Path

import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.enums import Resampling
from rasterio.io import MemoryFile

from alerts.products.raster import NorthUpRaster, north_up

_MAX_TOP_OVERVIEW = 256  # stop adding overview levels once the image fits this many pixels


def overview_factors(shape: tuple[int, int]) -> list[int]:
    """Overview decimation factors 2, 4, 8, ... until the largest side fits 256 pixels (>= one level)."""
    largest, factor = max(shape), 2
    factors: list[int] = []
    while largest >= 2 and (not factors or largest / factors[-1] > _MAX_TOP_OVERVIEW):
        factors.append(factor)
        factor *= 2
    return factors


def _write_source(
    mem: MemoryFile, raster: NorthUpRaster, tags: dict[str, str], units: str, desc: str
) -> None:
    """Fill ``mem`` with a tiled GeoTIFF of ``raster`` plus its overviews and tags."""
    rows, cols = raster.data.shape
    with mem.open(
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=raster.crs.to_wkt(),
        transform=raster.transform,
        nodata=float("nan"),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(raster.data, 1)
        dst.update_tags(**tags)
        dst.update_tags(1, units=units)
        dst.set_band_description(1, desc)
        dst.set_band_unit(1, units)
        factors = overview_factors((rows, cols))
        if factors:
            dst.build_overviews(factors, Resampling.average)


def write_cog(
    da: xr.DataArray,
    path: Path,
    *,
    tags: dict[str, str],
    description: str,
) -> None:
    """Write ``da`` (dims y, x; CRS in ``spatial_ref``) to ``path`` as a float32 COG.

    Parameters
    ----------
    da : xarray.DataArray
        The raster, pixel-centre ``x``/``y`` coordinates, ``attrs["units"]`` (``"1"`` if absent).
    path : Path
        Destination file (the caller makes it atomic).
    tags : dict of str to str
        Dataset metadata, e.g. the attribution.
    description : str
        Band description, e.g. ``"NDVI anomaly"``.
    """
    raster = north_up(da)
    units = str(da.attrs.get("units", "1"))
    with MemoryFile() as mem:
        _write_source(mem, raster, {**tags, "units": units}, units, description)
        with mem.open() as src:
            rasterio.shutil.copy(
                src,
                str(path),
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR="YES",
                OVERVIEWS="FORCE_USE_EXISTING",
                BLOCKSIZE=256,
            )
