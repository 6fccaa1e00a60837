"""Landsat Collection 2 Level-2: surface temperature in kelvin and QA_PIXEL cloud masks.

References
----------
.. [1] USGS (2024). Landsat 8-9 Collection 2 Level 2 Science Product Guide, LSDS-1619: ST_B10 scale
   0.00341802, offset 149.0 K, fill 0; QA_PIXEL bit table (section 6.2).
"""

from __future__ import annotations

from typing import Any, overload

import dask.array as da
import numpy as np
import xarray as xr

from core.errors import InvalidInputError
from eo.collections import collection_spec

_ST = collection_spec("planetary-computer", "landsat-c2-l2").asset("lwir11")
ST_SCALE_K = _ST.scale  # 0.00341802 K per DN (USGS LSDS-1619), from the collection table
ST_OFFSET_K = _ST.offset  # 149.0 K
ZERO_CELSIUS_K = 273.15

QA_FILL = 1 << 0
QA_DILATED_CLOUD = 1 << 1
QA_CIRRUS = 1 << 2
QA_CLOUD = 1 << 3
QA_CLOUD_SHADOW = 1 << 4
QA_SNOW = 1 << 5
QA_CLEAR = 1 << 6
QA_WATER = 1 << 7
QA_REMOVED_DEFAULT = QA_FILL | QA_DILATED_CLOUD | QA_CIRRUS | QA_CLOUD | QA_CLOUD_SHADOW
QA_REMOVED_STRICT = QA_REMOVED_DEFAULT | QA_SNOW | QA_WATER


@overload
def st_to_kelvin(dn: xr.DataArray) -> xr.DataArray: ...
@overload
def st_to_kelvin(dn: np.ndarray) -> np.ndarray: ...
def st_to_kelvin(dn: Any) -> Any:
    """Land surface temperature (K, float32) from Landsat C2 L2 ``ST_B10`` digital numbers.

    Parameters
    ----------
    dn : numpy.ndarray, dask.array.Array or xarray.DataArray
        ST_B10 DN (uint16, or float with NaN); 0 is fill. Lazy input stays lazy.

    Returns
    -------
    Same kind and shape: DN * 0.00341802 + 149.0 in kelvin, NaN where DN is 0. A DataArray gets
    fresh attrs (``units="K"``, ``long_name``).

    References
    ----------
    .. [1] USGS LSDS-1619, Landsat 8-9 C2 L2 Science Product Guide, table 6-1.

    Examples
    --------
    >>> import numpy as np
    >>> st_to_kelvin(np.array([0, 1, 65535])).round(3)
    array([    nan, 149.003, 373.   ], dtype=float32)
    """
    if isinstance(dn, xr.DataArray):
        kelvin = (
            (dn.astype(np.float64) * ST_SCALE_K + ST_OFFSET_K).astype(np.float32).where(dn != 0)
        )
        kelvin.attrs = {"units": "K", "long_name": "land surface temperature"}
        return kelvin
    values = dn if isinstance(dn, da.Array) else np.asarray(dn)
    where = da.where if isinstance(values, da.Array) else np.where
    scaled = (values.astype(np.float64) * ST_SCALE_K + ST_OFFSET_K).astype(np.float32)
    return where(values == 0, np.float32(np.nan), scaled)


def kelvin_to_celsius(kelvin: Any) -> Any:
    """Temperature in degrees Celsius from kelvin (T - 273.15); DataArrays must say ``units="K"``."""
    if isinstance(kelvin, xr.DataArray):
        units = kelvin.attrs.get("units")
        if units not in {"K", "kelvin"}:
            raise InvalidInputError(
                f"temperature DataArray {kelvin.name!r} has units {units!r}, expected 'K'; "
                "convert it with st_to_kelvin or set attrs['units'] = 'K'"
            )
        celsius = kelvin - ZERO_CELSIUS_K
        celsius.attrs = {"units": "degC", "long_name": kelvin.attrs.get("long_name", "temperature")}
        return celsius
    return kelvin - ZERO_CELSIUS_K


@overload
def cloud_mask(qa_pixel: xr.DataArray, strict: bool = ...) -> xr.DataArray: ...
@overload
def cloud_mask(qa_pixel: np.ndarray, strict: bool = ...) -> np.ndarray: ...
def cloud_mask(qa_pixel: Any, strict: bool = False) -> Any:
    """Pixels to remove by Landsat C2 ``QA_PIXEL`` (True = removed).

    Parameters
    ----------
    qa_pixel : numpy.ndarray, dask.array.Array or xarray.DataArray
        QA_PIXEL bit field (uint16; a float cube's NaN counts as fill). Lazy input stays lazy.
    strict : bool
        False removes bits 0-4 (fill, dilated cloud, cirrus, cloud, cloud shadow); True also bit 5
        (snow) and bit 7 (water). The clear bit (6) is not used: it stays set on shadow pixels.

    References
    ----------
    .. [1] USGS LSDS-1619, Landsat 8-9 C2 L2 Science Product Guide, QA_PIXEL bit table.

    Examples
    --------
    >>> import numpy as np
    >>> cloud_mask(np.array([21824, 21952, 22280, 23888])).tolist()
    [False, False, True, True]
    """
    bits = QA_REMOVED_STRICT if strict else QA_REMOVED_DEFAULT
    if isinstance(qa_pixel, xr.DataArray):
        codes = qa_pixel.fillna(QA_FILL) if qa_pixel.dtype.kind == "f" else qa_pixel
        mask = (codes.astype(np.uint16) & np.uint16(bits)) != 0
        mask.attrs = {"units": "1", "long_name": "QA_PIXEL mask (True = removed)", "qa_bits": bits}
        return mask.rename("qa_mask")
    values = qa_pixel if isinstance(qa_pixel, da.Array) else np.asarray(qa_pixel)
    if values.dtype.kind == "f":
        lib: Any = da if isinstance(values, da.Array) else np
        values = lib.where(lib.isnan(values), QA_FILL, values)
    return (values.astype(np.uint16) & np.uint16(bits)) != 0
