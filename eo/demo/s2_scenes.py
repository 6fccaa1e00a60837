"""Render the demo's synthetic Sentinel-2 L2A scenes and write them as Cloud Optimised GeoTIFFs.

One acquisition day is rendered once on the whole 10 m demo grid (so both tiles of a day agree
where they overlap) and each item is a window of it. Per day: surface reflectance of the land cover
(with natural late-summer drying and the planted park drought), a small per-band radiometric
residual and sensor noise, cloud shadows (displaced from their clouds towards the north-north-west,
the sun being in the south-south-east at 10:00 UTC), clouds with thin edges, thin cirrus; then the
scene classification (SCL) as Sen2Cor would see it: thin cloud edges are missed on purpose, which
is why cloud masks are dilated downstream (DESIGN section 3).

Everything is synthetic and imitates Copernicus Sentinel-2 L2A; there is no real Sentinel data.

References
----------
Sentinel-2 L2A scene classification classes and DN encoding (BOA_ADD_OFFSET -1000 from processing
baseline 04.00): ESA (2022), Sentinel-2 Products Specification Document, S2-PDGS-TAS-DI-PSD, v15.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np
import rasterio
from affine import Affine
from scipy import ndimage

from eo.demo.landcover import (
    BANDS,
    CIRRUS_ADD,
    CLOUD,
    GRASS,
    TREES,
    WATER,
    LandCover,
    class_reflectance,
    drought_delta,
    smooth_noise,
)
from eo.demo.s2_plan import OFFSET_DN, DatePlan, DemoPlan, ItemPlan, natural_dryness

# Shadow displacement in 10 m pixels (rows, cols): cloud tops ~2 km, sun elevation ~60 deg,
# azimuth ~150 deg -> shadows ~1.15 km towards azimuth ~330 deg (north-north-west).
SHADOW_SHIFT_PX = (-100, -57)
CLOUD_EDGE_MISSED = 0.35  # cloud optical thickness (0..1) below which SCL misses the cloud
HIGH_PROBA = 0.7
HIDDEN_CLOUD_RADIUS_M = 260.0  # the hidden park's cloud reaches this far beyond the park
SCL_NODATA, SCL_DARK, SCL_SHADOW, SCL_VEG, SCL_NOT_VEG, SCL_WATER = 0, 2, 3, 4, 5, 6
SCL_UNCLASSIFIED, SCL_CLOUD_MED, SCL_CLOUD_HIGH, SCL_CIRRUS = 7, 8, 9, 10
ITEM_BANDS_10M = ("B02", "B04", "B08")
ITEM_BANDS_20M = ("B8A", "B11")


@dataclass(frozen=True)
class SceneInputs:
    """What every day's rendering starts from (computed once per build).

    Attributes
    ----------
    base : float32 (5, rows, cols) surface reflectance of the land cover, BANDS order
    delta : float32 (5, rows, cols) change if the vegetation dried out completely
    grass, trees : bool (rows, cols) vegetation masks
    stressed : bool (n_stressed, rows, cols) masks of the stressed parks, in plan order
    hidden_blob : float32 (rows, cols) cloud thickness (0..1) that hides the cloud-hidden park
    noise : float32 (rows, cols) standard normal sensor-noise pool, rolled per day and band
    """

    base: np.ndarray
    delta: np.ndarray
    grass: np.ndarray
    trees: np.ndarray
    water: np.ndarray
    stressed: np.ndarray
    hidden_blob: np.ndarray
    noise: np.ndarray


@dataclass(frozen=True)
class Scene:
    """One rendered day: top-of-canopy reflectance (5 bands at 10 m) and the 10 m SCL."""

    reflectance: np.ndarray
    scl: np.ndarray


def prepare_inputs(lc: LandCover, plan: DemoPlan, rng: np.random.Generator) -> SceneInputs:
    """Precompute the land-cover reflectance, park masks and the hidden park's cloud."""
    hidden = lc.park_mask(plan.hidden_park)
    distance_m = ndimage.distance_transform_edt(~hidden) * lc.grid.resolution
    blob = np.clip((HIDDEN_CLOUD_RADIUS_M - distance_m) / 60.0, 0.0, 1.0).astype(np.float32)
    stressed = np.stack([lc.park_mask(s.park_id) for s in plan.stressed])
    return SceneInputs(
        base=np.stack([class_reflectance(lc, b) for b in range(len(BANDS))]),
        delta=np.stack([drought_delta(lc, b) for b in range(len(BANDS))]),
        grass=lc.classes == GRASS,
        trees=lc.classes == TREES,
        water=lc.classes == WATER,
        stressed=stressed,
        hidden_blob=blob,
        noise=rng.standard_normal(lc.grid.shape, dtype=np.float32),
    )


def dryness(inp: SceneInputs, plan: DemoPlan, dp: DatePlan, *, planted: bool = True) -> np.ndarray:
    """Per-pixel share of dried vegetation on the day (0..1); ``planted=False``: natural only."""
    natural = natural_dryness(dp.day)
    dry = np.where(inp.grass, np.float32(natural), np.float32(0.0)).astype(np.float32)
    if not planted:
        return dry
    for mask, stress in zip(inp.stressed, plan.stressed, strict=True):
        f = stress.fraction(dp.day)
        if f > 0:
            dry[mask & inp.grass] = natural + f * (1.0 - natural)
            dry[mask & inp.trees] = 0.3 * f
    return dry


def _clouds(rng: np.random.Generator, shape: tuple[int, int], dp: DatePlan) -> np.ndarray:
    """Cloud optical thickness (0..1) with thin edges; 0.6..1 everywhere on the all-cloud day."""
    z = smooth_noise(rng, shape, 80.0)
    if dp.all_cloud:
        return (0.6 + 0.4 * (z - z.min()) / max(float(np.ptp(z)), 1e-6)).astype(np.float32)
    if dp.cloud_cover <= 0:
        return np.zeros(shape, dtype=np.float32)
    threshold = NormalDist().inv_cdf(1.0 - dp.cloud_cover)
    return np.clip((z - threshold) / 0.1, 0.0, 1.0).astype(np.float32)


def _shift(field: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``field`` moved by (rows, cols) pixels, zero-filled (no wrap-around)."""
    out = np.zeros_like(field)
    h, w = field.shape
    src_r = slice(max(0, -rows), min(h, h - rows))
    dst_r = slice(max(0, rows), min(h, h + rows))
    src_c = slice(max(0, -cols), min(w, w - cols))
    dst_c = slice(max(0, cols), min(w, w + cols))
    out[dst_r, dst_c] = field[src_r, src_c]
    return out


def _classify(
    inp: SceneInputs, ground: np.ndarray, cloud: np.ndarray, shadow: np.ndarray, cirrus: np.ndarray
) -> np.ndarray:
    """Sen2Cor-like SCL at 10 m; thin cloud edges (thickness < 0.35) are missed on purpose."""
    red, nir = ground[1], ground[2]
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    scl = np.where(ndvi > 0.4, SCL_VEG, SCL_NOT_VEG).astype(np.uint8)
    scl[inp.water] = SCL_WATER
    scl[(inp.noise > 3.0) & ~inp.water] = SCL_UNCLASSIFIED
    scl[(shadow > 0.5) & (cloud <= CLOUD_EDGE_MISSED)] = SCL_SHADOW
    scl[(cirrus > 0.3) & (cloud <= CLOUD_EDGE_MISSED)] = SCL_CIRRUS
    scl[cloud > CLOUD_EDGE_MISSED] = SCL_CLOUD_MED
    scl[cloud > HIGH_PROBA] = SCL_CLOUD_HIGH
    return scl


def render_day(inp: SceneInputs, plan: DemoPlan, dp: DatePlan) -> Scene:
    """Render one acquisition day on the whole 10 m demo grid (deterministic from the seed)."""
    rng = np.random.default_rng([plan.seed, 11, dp.day.toordinal()])
    shape = inp.noise.shape
    dry = dryness(inp, plan, dp)
    ground = inp.base + dry[None] * inp.delta
    gains = 1.0 + 0.008 * rng.standard_normal(len(BANDS))
    for b in range(len(BANDS)):
        shift = rng.integers(0, shape, size=2)
        ground[b] *= np.float32(gains[b])
        ground[b] += np.float32(0.0006) * np.roll(inp.noise, tuple(shift), axis=(0, 1))
    cloud = _clouds(rng, shape, dp)
    if dp.hide_park:
        np.maximum(cloud, inp.hidden_blob, out=cloud)
    shadow = _shift(cloud, *SHADOW_SHIFT_PX)
    cirrus = np.zeros(shape, dtype=np.float32)
    if dp.cirrus and not dp.all_cloud:
        cirrus = (np.clip(0.5 * smooth_noise(rng, shape, 150.0) + 0.2, 0.0, 1.0) * 0.6).astype(
            np.float32
        )
    scl = _classify(inp, ground, cloud, shadow, cirrus)
    refl = ground
    for b in range(len(BANDS)):
        refl[b] *= 1.0 - 0.6 * shadow * (1.0 - cloud)
        refl[b] = refl[b] * (1.0 - cloud) + np.float32(CLOUD[b]) * cloud
        refl[b] += np.float32(CIRRUS_ADD[b]) * cirrus
    return Scene(reflectance=refl, scl=scl)


def to_dn(reflectance: np.ndarray, item: ItemPlan) -> np.ndarray:
    """Encode reflectance as L2A DN: reflectance*10000 (+1000 from baseline 04.00), 0 = nodata."""
    dn = np.rint(reflectance * (10000.0 * item.gain))
    if item.offset_in_dn:
        dn += OFFSET_DN
    return np.clip(dn, 1, 32767).astype(np.uint16)


def _block_mean(a: np.ndarray) -> np.ndarray:
    """2 x 2 block mean (10 m -> 20 m)."""
    h, w = a.shape
    return a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3), dtype=np.float32)


def item_arrays(scene: Scene, item: ItemPlan) -> dict[str, np.ndarray]:
    """The six band arrays of one item: its window of the day's scene, encoded as DN."""
    w = item.window
    rows, cols = slice(w.row_off, w.row_off + w.rows), slice(w.col_off, w.col_off + w.cols)
    out = {}
    for name in ITEM_BANDS_10M:
        out[name] = to_dn(scene.reflectance[BANDS.index(name), rows, cols], item)
    for name in ITEM_BANDS_20M:
        out[name] = to_dn(_block_mean(scene.reflectance[BANDS.index(name), rows, cols]), item)
    out["SCL"] = np.ascontiguousarray(scene.scl[rows, cols][::2, ::2])
    return out


def overview_count(shape: tuple[int, ...], blocksize: int = 256) -> int:
    """Overview levels down to about one block (at least one, so every file has overviews)."""
    return max(1, math.ceil(math.log2(max(max(shape) / blocksize, 1.0))))


def write_cog(path: Path, array: np.ndarray, transform: Affine, crs: str) -> None:
    """Write one band as a DEFLATE-compressed COG with nodata 0 (nearest overviews for uint8)."""
    resampling = "nearest" if array.dtype == np.uint8 else "average"
    profile = {
        "driver": "COG",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": 0,
        "compress": "DEFLATE",
        "predictor": 2,
        "blocksize": 256,
        "overview_resampling": resampling,
        "overview_count": overview_count(array.shape),
        "num_threads": "ALL_CPUS",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
