"""Declared products: a pure kernel plus an :class:`IndexSpec` giving units, long name and references.

The kernel is a small function on array-likes (numpy or Dask arrays, built from ufuncs and
``np.where`` only, so it stays lazy on Dask) returning the index and its named boolean flags.
:func:`declare` turns it into the public function: liberal at the boundary (floats, numpy arrays,
Dask arrays, xarray DataArrays), one array of the same kind out, attributes set from the
declaration and never copied from an input.

Flag counts (``n_<flag>`` attributes) are set only where they are cheap: on DataArrays backed by
numpy. For Dask-backed inputs, :func:`index_flags` returns the same flags as lazy boolean arrays;
sum and compute them together with the index at the zonal step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dask
import numpy as np
import xarray as xr

from core.errors import InvalidInputError

ArrayLike = Any
Kernel = Callable[..., tuple[Any, Mapping[str, Any]]]


@dataclass(frozen=True)
class IndexSpec:
    """Declaration of one index product.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"ndvi"``.
    long_name : str
        CF-style long name.
    formula : str
        The formula in band letters (B blue, R red, N near infrared, S1 SWIR 1.6 um).
    references : str
        Literature reference(s) for the formula.
    units : str
        Units of the output (``"1"``: dimensionless).
    flags : tuple of str
        Names of the boolean flags the kernel reports (counted as ``n_<flag>`` attributes).
    """

    name: str
    long_name: str
    formula: str
    references: str
    units: str = "1"
    flags: tuple[str, ...] = ("negative_input", "zero_denominator")

    def attrs(self) -> dict[str, str]:
        """Attributes of the product (strings only, netCDF/Zarr safe)."""
        return {
            "units": self.units,
            "long_name": self.long_name,
            "formula": self.formula,
            "references": self.references,
        }


def check_same_grid(*arrays: ArrayLike, names: tuple[str, ...] = ()) -> None:
    """Raise :class:`InvalidInputError` unless every DataArray among ``arrays`` shares one x/y grid.

    Only pairs of DataArrays that both carry an ``x`` (or ``y``) coordinate are compared, as
    DESIGN section 8 states; a differing ``spatial_ref`` CRS (``crs_wkt`` attribute) also fails.
    """
    das = [(names[i] if i < len(names) else f"input {i}", a) for i, a in enumerate(arrays)]
    das = [(n, a) for n, a in das if isinstance(a, xr.DataArray)]
    if len(das) < 2:
        return
    first_name, first = das[0]
    for name, other in das[1:]:
        for dim in ("x", "y"):
            if dim in first.coords and dim in other.coords:
                a, b = np.asarray(first[dim].values), np.asarray(other[dim].values)
                if a.shape != b.shape or not np.array_equal(a, b):
                    raise InvalidInputError(
                        f"{name!r} and {first_name!r} are on different grids: their {dim} coordinates "
                        f"differ ({b.size} vs {a.size} values, first {b[:1]} vs {a[:1]}); "
                        "load every band on the same output grid (eo.grid.OutputGrid) before combining"
                    )
        crs_a = _crs_wkt(first)
        crs_b = _crs_wkt(other)
        if crs_a is not None and crs_b is not None and crs_a != crs_b:
            raise InvalidInputError(
                f"{name!r} and {first_name!r} have different CRSs in their spatial_ref coordinates; "
                "reproject one onto the other's grid before combining"
            )


def _crs_wkt(da: xr.DataArray) -> str | None:
    if "spatial_ref" not in da.coords:
        return None
    wkt = da.coords["spatial_ref"].attrs.get("crs_wkt")
    return str(wkt) if wkt is not None else None


def _as_float_array(x: ArrayLike, name: str) -> ArrayLike:
    """Normalise one input to a float dtype (no wrap-around of unsigned DN differences).

    DataArrays and Dask arrays stay what they are (lazy stays lazy); anything else becomes numpy.
    """
    if isinstance(x, xr.DataArray) or dask.is_dask_collection(x):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as err:
            raise InvalidInputError(
                f"{name}: expected a number or an array, got {type(x).__name__}"
            ) from err
    if arr.dtype.kind not in "biuf":
        raise InvalidInputError(
            f"{name}: expected reflectance as numbers (0..1), got an array of dtype {arr.dtype}"
        )
    dtype = np.result_type(arr.dtype, np.float32)
    return arr if arr.dtype == dtype else arr.astype(dtype)


def _run_dataarray(
    spec: IndexSpec, kernel: Kernel, arrays: tuple[ArrayLike, ...], names: tuple[str, ...]
) -> tuple[xr.DataArray, dict[str, xr.DataArray]]:
    check_same_grid(*arrays, names=names)
    n_flags = len(spec.flags)

    def flat(*a: ArrayLike) -> tuple[ArrayLike, ...]:
        value, flags = kernel(*a)
        return (value, *(flags[f] for f in spec.flags))

    inputs = [_as_float_array(a, n) for a, n in zip(arrays, names, strict=True)]
    out = xr.apply_ufunc(
        flat,
        *inputs,
        output_core_dims=[[]] * (1 + n_flags),
        dask="allowed",
        keep_attrs=False,
        join="exact",
    )
    value, *flag_das = out
    value = value.rename(spec.name)
    value.attrs = spec.attrs()
    return value, dict(zip(spec.flags, flag_das, strict=True))


def evaluate(
    spec: IndexSpec, kernel: Kernel, arrays: tuple[ArrayLike, ...], names: tuple[str, ...]
) -> tuple[ArrayLike, dict[str, ArrayLike]]:
    """Run ``kernel`` on inputs of any supported kind; return (value, flags) of the same kind."""
    if any(isinstance(a, xr.DataArray) for a in arrays):
        da, da_flags = _run_dataarray(spec, kernel, arrays, names)
        if not dask.is_dask_collection(da):
            da.attrs.update({f"n_{k}": int(v.sum()) for k, v in da_flags.items()})
        return da, dict(da_flags)
    inputs = tuple(_as_float_array(a, n) for a, n in zip(arrays, names, strict=True))
    value, flags = kernel(*inputs)
    if all(np.ndim(a) == 0 and not isinstance(a, np.ndarray) for a in arrays):
        return np.asarray(value).item(), {k: bool(v) for k, v in flags.items()}
    return value, dict(flags)


def declare(spec: IndexSpec) -> Callable[[Kernel], Callable[..., ArrayLike]]:
    """Decorator: make the public index function of ``kernel`` with attributes from ``spec``.

    The returned function takes the kernel's band arguments (floats, numpy arrays, Dask arrays or
    DataArrays on one grid) and returns the index only; it carries ``spec`` and ``kernel``
    attributes so :func:`index_flags` can reach the flags.
    """

    def wrap(kernel: Kernel) -> Callable[..., ArrayLike]:
        names = tuple(kernel.__code__.co_varnames[: kernel.__code__.co_argcount])

        @functools.wraps(kernel)
        def index(*bands: ArrayLike) -> ArrayLike:
            if len(bands) != len(names):
                raise InvalidInputError(
                    f"{spec.name}: expected {len(names)} bands ({', '.join(names)}), got {len(bands)}"
                )
            return evaluate(spec, kernel, bands, names)[0]

        index.spec = spec  # type: ignore[attr-defined]
        index.kernel = kernel  # type: ignore[attr-defined]
        return index

    return wrap


def index_flags(index: Callable[..., ArrayLike], *bands: ArrayLike) -> dict[str, ArrayLike]:
    """Boolean flags of a declared index (lazy on Dask): e.g. ``{"negative_input": ..., ...}``.

    Use ``{k: v.sum() for k, v in index_flags(ndvi, red, nir).items()}`` and compute the sums
    together with the index where data is materialised (the zonal step).
    """
    spec: IndexSpec = index.spec  # type: ignore[attr-defined]
    kernel: Kernel = index.kernel  # type: ignore[attr-defined]
    names = tuple(kernel.__code__.co_varnames[: kernel.__code__.co_argcount])
    return evaluate(spec, kernel, bands, names)[1]
