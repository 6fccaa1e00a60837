"""Vegetation indices from surface reflectance (DESIGN section 4).

Every index takes reflectance 0..1 (floats, numpy arrays, Dask arrays or DataArrays on one grid) and
returns one array of the same kind and shape, dimensionless. Rules shared by all of them:

- an input below 0 gives NaN (a dark pixel must not read as perfectly healthy), flagged
  ``negative_input``;
- a zero denominator gives NaN, flagged ``zero_denominator``;
- NaN in gives NaN out.

On DataArrays the attributes come from the declaration (units ``"1"``, long_name, formula,
references) and, for numpy-backed inputs, the flag counts ``n_negative_input``,
``n_zero_denominator`` (and ``n_substituted`` for EVI). For Dask-backed inputs the counts are not
computed (that would trigger a compute); get them lazily with
:func:`indices.spec.index_flags`, e.g. ``index_flags(ndvi, red, nir)["negative_input"].sum()``.

Examples
--------
>>> round(ndvi(0.05, 0.45), 3)
0.8
>>> import numpy as np
>>> ndvi(np.array([0.1, -0.01, 0.0]), np.array([0.3, 0.3, 0.0]))
array([0.5, nan, nan])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from indices.spec import IndexSpec, declare, index_flags

__all__ = ["evi", "evi2", "evi_substituted", "index_flags", "ndmi", "ndvi", "savi"]

EVI_GAIN = 2.5
EVI_C1 = 6.0
EVI_C2 = 7.5
EVI_L = 1.0
EVI2_C = 2.4
SAVI_L = 0.5

Flags = Mapping[str, Any]


def _negative(*bands: Any) -> Any:
    out = bands[0] < 0
    for band in bands[1:]:
        out = out | (band < 0)
    return out


def _ratio(num: Any, den: Any, *bands: Any) -> tuple[Any, Flags]:
    """num / den with NaN where an input is negative or den == 0 (no floating-point warnings)."""
    negative = _negative(*bands)
    zero = (den == 0) & ~negative
    safe_den = np.where(negative | zero, np.nan, den)
    return num / safe_den, {"negative_input": negative, "zero_denominator": zero}


@declare(
    IndexSpec(
        name="ndvi",
        long_name="normalized difference vegetation index",
        formula="(N - R) / (N + R)",
        references="Rouse, J. W., Haas, R. H., Schell, J. A., Deering, D. W. (1974): Monitoring "
        "vegetation systems in the Great Plains with ERTS. NASA SP-351, 309-317.",
    )
)
def ndvi(red: Any, nir: Any) -> tuple[Any, Flags]:
    """Normalized difference vegetation index, (N - R) / (N + R).

    Parameters
    ----------
    red : float, array or DataArray
        Red reflectance (Sentinel-2 B04), 0..1.
    nir : float, array or DataArray
        Near-infrared reflectance (B08), 0..1.

    Returns
    -------
    Same kind as the inputs: NDVI, dimensionless, in [-1, 1] or NaN.

    References
    ----------
    Rouse et al. (1974), NASA SP-351, 309-317.
    """
    return _ratio(nir - red, nir + red, red, nir)


@declare(
    IndexSpec(
        name="evi2",
        long_name="two-band enhanced vegetation index",
        formula="2.5 (N - R) / (N + 2.4 R + 1)",
        references="Jiang, Z., Huete, A. R., Didan, K., Miura, T. (2008): Development of a two-band "
        "enhanced vegetation index without a blue band. Remote Sensing of Environment 112, 3833-3845.",
    )
)
def evi2(red: Any, nir: Any) -> tuple[Any, Flags]:
    """Two-band enhanced vegetation index, 2.5 (N - R) / (N + 2.4 R + 1).

    Parameters
    ----------
    red, nir : float, array or DataArray
        Red (B04) and near-infrared (B08) reflectance, 0..1.

    References
    ----------
    Jiang et al. (2008), Remote Sensing of Environment 112, 3833-3845.
    """
    return _ratio(EVI_GAIN * (nir - red), nir + EVI2_C * red + EVI_L, red, nir)


def _evi_kernel(blue: Any, red: Any, nir: Any) -> tuple[Any, Flags]:
    """EVI with EVI2 where |EVI| > 1; flags include ``substituted``."""
    den = nir + EVI_C1 * red - EVI_C2 * blue + EVI_L
    value, flags = _ratio(EVI_GAIN * (nir - red), den, blue, red, nir)
    value2, _ = _ratio(EVI_GAIN * (nir - red), nir + EVI2_C * red + EVI_L, red, nir)
    substituted = np.abs(value) > 1
    return np.where(substituted, value2, value), {**flags, "substituted": substituted}


_EVI_SPEC = IndexSpec(
    name="evi",
    long_name="enhanced vegetation index (EVI2 where |EVI| > 1)",
    formula="2.5 (N - R) / (N + 6 R - 7.5 B + 1); 2.5 (N - R) / (N + 2.4 R + 1) where |EVI| > 1",
    references="Huete, A., Didan, K., Miura, T., Rodriguez, E. P., Gao, X., Ferreira, L. G. (2002): "
    "Overview of the radiometric and biophysical performance of the MODIS vegetation indices. "
    "Remote Sensing of Environment 83, 195-213; Jiang et al. (2008), RSE 112, 3833-3845 (EVI2).",
    flags=("negative_input", "zero_denominator", "substituted"),
)


@declare(_EVI_SPEC)
def evi(blue: Any, red: Any, nir: Any) -> tuple[Any, Flags]:
    """Enhanced vegetation index, 2.5 (N - R) / (N + 6 R - 7.5 B + 1), EVI2 where |EVI| > 1.

    Where the blue term makes the denominator small, EVI blows up (bright or hazy pixels); there
    the two-band EVI2 is substituted, and :func:`evi_substituted` gives that mask. An exactly zero
    EVI denominator is NaN like every zero denominator (not substituted).

    Parameters
    ----------
    blue, red, nir : float, array or DataArray
        Blue (B02), red (B04) and near-infrared (B08) reflectance, 0..1.

    References
    ----------
    Huete et al. (2002), Remote Sensing of Environment 83, 195-213.
    """
    return _evi_kernel(blue, red, nir)


def _substituted_kernel(blue: Any, red: Any, nir: Any) -> tuple[Any, Flags]:
    _, flags = _evi_kernel(blue, red, nir)
    return flags["substituted"], {"substituted": flags["substituted"]}


@declare(
    IndexSpec(
        name="evi_substituted",
        long_name="EVI replaced by EVI2 because |EVI| > 1",
        formula="|2.5 (N - R) / (N + 6 R - 7.5 B + 1)| > 1",
        references=_EVI_SPEC.references,
        flags=("substituted",),
    )
)
def evi_substituted(blue: Any, red: Any, nir: Any) -> tuple[Any, Flags]:
    """Boolean mask: True where :func:`evi` returned EVI2 because |EVI| > 1.

    Parameters
    ----------
    blue, red, nir : float, array or DataArray
        Blue (B02), red (B04) and near-infrared (B08) reflectance, 0..1.
    """
    return _substituted_kernel(blue, red, nir)


@declare(
    IndexSpec(
        name="ndmi",
        long_name="normalized difference moisture index",
        formula="(N - S1) / (N + S1), N = B8A (nir08) where available",
        references="Gao, B.-C. (1996): NDWI - A normalized difference water index for remote sensing "
        "of vegetation liquid water from space. Remote Sensing of Environment 58, 257-266; "
        "Wilson, E. H., Sader, S. A. (2002), Remote Sensing of Environment 80, 385-396.",
    )
)
def ndmi(nir: Any, swir16: Any) -> tuple[Any, Flags]:
    """Normalized difference moisture index, (N - S1) / (N + S1).

    Parameters
    ----------
    nir : float, array or DataArray
        Near-infrared reflectance, 0..1: B8A (``nir08``, 20 m), the standard pair with B11.
    swir16 : float, array or DataArray
        Short-wave infrared reflectance at 1.6 um (B11), 0..1.

    References
    ----------
    Gao (1996), Remote Sensing of Environment 58, 257-266.
    """
    return _ratio(nir - swir16, nir + swir16, nir, swir16)


@declare(
    IndexSpec(
        name="savi",
        long_name="soil-adjusted vegetation index",
        formula="1.5 (N - R) / (N + R + 0.5)",
        references="Huete, A. R. (1988): A soil-adjusted vegetation index (SAVI). Remote Sensing of "
        "Environment 25, 295-309.",
    )
)
def savi(red: Any, nir: Any) -> tuple[Any, Flags]:
    """Soil-adjusted vegetation index, 1.5 (N - R) / (N + R + 0.5) (L = 0.5).

    Parameters
    ----------
    red, nir : float, array or DataArray
        Red (B04) and near-infrared (B08) reflectance, 0..1.

    References
    ----------
    Huete (1988), Remote Sensing of Environment 25, 295-309.
    """
    return _ratio((1 + SAVI_L) * (nir - red), nir + red + SAVI_L, red, nir)
