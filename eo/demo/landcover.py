"""Synthetic 10 m land cover of the demo city and the surface reflectance of each cover class.

The land cover is rasterised from the :class:`~eo.demo.geography.Geography` (water, forest, parks) on
the demo grid, over a textured urban (roofs, asphalt, street trees) or rural (fields, bare soil,
woods) background. Each class has a reflectance spectrum for the five Sentinel-2 bands the demo
writes; a per-pixel texture (multiplicative brightness) keeps the images from being flat.

Everything here is synthetic: the spectra are typical values, not measurements of Vienna.

References
----------
Spectra are rounded typical values read off standard spectral libraries for the Sentinel-2 band
centres (B02 490 nm, B04 665 nm, B08 842 nm, B8A 865 nm, B11 1610 nm):
Kokaly, R.F. et al. (2017), USGS Spectral Library Version 7, USGS Data Series 1035,
https://doi.org/10.3133/ds1035 ; Meerdink, S.K. et al. (2019), The ECOSTRESS spectral library 1.0,
Remote Sensing of Environment 230, 111196.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio.features
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

from eo.demo.geography import Geography
from eo.grid import OutputGrid

BANDS: tuple[str, ...] = ("B02", "B04", "B08", "B8A", "B11")

WATER, TREES, GRASS, ROOF_TILE, ROOF_FLAT, ASPHALT, SOIL = 1, 2, 3, 4, 5, 6, 7
CLASS_NAMES: dict[int, str] = {
    WATER: "water",
    TREES: "trees",
    GRASS: "grass",
    ROOF_TILE: "roof_tile",
    ROOF_FLAT: "roof_flat",
    ASPHALT: "asphalt",
    SOIL: "soil",
}

# Surface reflectance (unitless, 0-1) per class, in BANDS order: B02, B04, B08, B8A, B11.
SPECTRA: dict[int, tuple[float, float, float, float, float]] = {
    WATER: (0.045, 0.035, 0.022, 0.018, 0.008),  # turbid river water (Danube)
    TREES: (0.030, 0.028, 0.340, 0.350, 0.160),  # broadleaf canopy
    GRASS: (0.040, 0.045, 0.330, 0.340, 0.200),  # irrigated park turf
    ROOF_TILE: (0.090, 0.190, 0.260, 0.270, 0.340),  # red clay tiles
    ROOF_FLAT: (0.110, 0.130, 0.170, 0.175, 0.210),  # grey flat roofs, gravel, metal
    ASPHALT: (0.065, 0.085, 0.115, 0.120, 0.140),  # aged asphalt
    SOIL: (0.085, 0.160, 0.250, 0.260, 0.330),  # dry bare soil
}
# What vegetation turns into under drought: dry turf for grass, a stressed canopy for trees.
DROUGHT_TURF: tuple[float, ...] = (0.075, 0.125, 0.235, 0.245, 0.330)
STRESSED_CANOPY: tuple[float, ...] = (0.040, 0.055, 0.270, 0.280, 0.230)
# Cloud top (bright, slightly lower in SWIR) and thin cirrus (added on top of the surface).
CLOUD: tuple[float, ...] = (0.480, 0.500, 0.540, 0.540, 0.380)
CIRRUS_ADD: tuple[float, ...] = (0.060, 0.055, 0.050, 0.050, 0.030)


_KIND_CODE = {"forest": 1, "park": 2, "garden": 3}


@dataclass(frozen=True)
class LandCover:
    """Land cover of the demo grid (10 m) with the per-pixel texture and park membership.

    Attributes
    ----------
    grid : the 10 m demo grid (EPSG:32633)
    classes : uint8 (rows, cols), one of the class codes of :data:`CLASS_NAMES`
    texture : float32 (rows, cols), multiplicative brightness around 1 (unitless)
    park_index : int32 (rows, cols), 1 + position of the park in ``park_ids``; 0 outside parks
    park_ids : park ids in the order of ``park_index``
    """

    grid: OutputGrid
    classes: np.ndarray
    texture: np.ndarray
    park_index: np.ndarray
    park_ids: tuple[str, ...]

    def park_mask(self, park_id: str) -> np.ndarray:
        """Boolean mask of the pixels of one park."""
        return np.asarray(self.park_index == self.park_ids.index(park_id) + 1)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Spatially correlated noise with zero mean and unit standard deviation.

    White noise on a coarse lattice (one value per ``scale_px`` pixels) upsampled with cubic
    splines: cheap, deterministic for a given generator state, features about ``scale_px`` wide.
    """
    step = max(float(scale_px), 1.0)
    coarse = rng.standard_normal(
        (int(np.ceil(shape[0] / step)) + 3, int(np.ceil(shape[1] / step)) + 3)
    ).astype(np.float32)
    fine = ndimage.zoom(coarse, step, order=3, mode="nearest", grid_mode=True)
    out = np.ascontiguousarray(fine[: shape[0], : shape[1]], dtype=np.float32)
    out -= out.mean()
    out /= max(float(out.std()), 1e-6)
    return out


def _burn(grid: OutputGrid, geoms: list[BaseGeometry], value: int | list[int]) -> np.ndarray:
    """Rasterise shapes on the grid (pixel centres inside), 0 elsewhere."""
    values = value if isinstance(value, list) else [value] * len(geoms)
    shapes = [
        (g, v) for g, v in zip(geoms, values, strict=True) if g is not None and not g.is_empty
    ]
    if not shapes:
        return np.zeros(grid.shape, dtype=np.int32)
    return rasterio.features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32"
    )


def _background(grid: OutputGrid, geo: Geography, rng: np.random.Generator) -> np.ndarray:
    """Urban mix inside the city limits, rural mix outside them."""
    z = smooth_noise(rng, grid.shape, 6.0)
    urban = np.full(grid.shape, ROOF_FLAT, dtype=np.uint8)
    urban[z < -0.25] = ROOF_TILE
    urban[(z >= 0.35) & (z < 1.2)] = ASPHALT
    urban[(z >= 1.2) & (z < 1.6)] = GRASS
    urban[z >= 1.6] = TREES
    z2 = smooth_noise(rng, grid.shape, 25.0)
    rural = np.full(grid.shape, GRASS, dtype=np.uint8)
    rural[z2 < -0.5] = SOIL
    rural[z2 > 1.0] = TREES
    inside = _burn(grid, list(geo.boundary.geometry), 1).astype(bool)
    return np.where(inside, urban, rural).astype(np.uint8)


def build_landcover(geo: Geography, grid: OutputGrid, rng: np.random.Generator) -> LandCover:
    """Rasterise the geography into a textured 10 m land cover.

    Parameters
    ----------
    geo : Geography
        Vector layers in the grid's CRS (EPSG:32633).
    grid : OutputGrid
        The 10 m demo grid.
    rng : numpy.random.Generator
        Source of all texture; the same generator state gives the same land cover.
    """
    classes = _background(grid, geo, rng)
    classes[_burn(grid, list(geo.forest.geometry), 1) > 0] = TREES
    clumps = smooth_noise(rng, grid.shape, 6.0)
    parks = geo.parks.reset_index(drop=True)
    kinds = parks["kind"].astype(str).tolist()
    park_index = _burn(grid, list(parks.geometry), list(range(1, len(parks) + 1)))
    kind_lut = np.array([0] + [_KIND_CODE.get(k, 2) for k in kinds], dtype=np.uint8)
    kind = kind_lut[park_index]
    classes[kind == 1] = TREES
    for code, share_trees in ((2, 0.3), (3, 0.15)):
        threshold = float(np.quantile(clumps[::7, ::7], 1.0 - share_trees))
        sel = kind == code
        classes[sel] = np.where(clumps[sel] > threshold, TREES, GRASS)
    water = geo.water.reset_index(drop=True)
    is_island = water["kind"].astype(str) == "island"
    wet = _burn(grid, list(water.geometry[~is_island]), 1) > 0
    island = _burn(grid, list(water.geometry[is_island]), 1) > 0
    classes[wet] = WATER
    open_island = island & (park_index == 0)
    classes[open_island] = np.where(clumps[open_island] > 1.0, TREES, GRASS)
    texture = (1.0 + 0.03 * smooth_noise(rng, grid.shape, 5.0)).astype(np.float32)
    return LandCover(
        grid=grid,
        classes=classes,
        texture=texture,
        park_index=park_index.astype(np.int32),
        park_ids=tuple(str(p) for p in parks["park_id"]),
    )


def class_reflectance(lc: LandCover, band: int) -> np.ndarray:
    """Surface reflectance of each pixel's class in band number ``band`` (index into BANDS)."""
    lut = np.zeros(max(CLASS_NAMES) + 1, dtype=np.float32)
    for code, spectrum in SPECTRA.items():
        lut[code] = spectrum[band]
    return lut[lc.classes] * lc.texture


def drought_delta(lc: LandCover, band: int) -> np.ndarray:
    """Reflectance change of each pixel if its vegetation dried out completely (0 elsewhere)."""
    lut = np.zeros(max(CLASS_NAMES) + 1, dtype=np.float32)
    lut[GRASS] = DROUGHT_TURF[band] - SPECTRA[GRASS][band]
    lut[TREES] = STRESSED_CANOPY[band] - SPECTRA[TREES][band]
    return lut[lc.classes] * lc.texture
