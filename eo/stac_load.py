"""Lazy DN loading of STAC items on the output grid (stackstac) and the per-solar-day mosaic.

Read failures are never turned into nodata: a COG that cannot be opened or read after GDAL's
retries raises :class:`~core.errors.SourceUnavailableError` (HTTP 429/5xx, timeouts, connection
errors) or :class:`~core.errors.DataReadError` (anything else, e.g. a truncated body) when the Dask
graph is computed, with the href redacted.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import date
from typing import Any, overload

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from stackstac.rio_reader import (
    AutoParallelRioReader,
    SingleThreadedRioDataset,
    ThreadLocalRioDataset,
)

from core.errors import DataReadError, GeospaceError, InvalidInputError, SourceUnavailableError
from core.urls import redact_text, redact_url
from eo.allowlist import Allowlist
from eo.collections import provider_of_hosts
from eo.gdal_env import GdalHttpSettings, stackstac_gdal_env
from eo.grid import OutputGrid
from eo.http import HttpPolicy
from eo.stac_items import Item, solar_day

_UNAVAILABLE_RE = re.compile(
    r"HTTP response code: (429|5\d\d)|timed? ?out|Couldn't connect|Connection refused|"
    r"Could not resolve",
    re.IGNORECASE,
)


class GeospaceRioReader(AutoParallelRioReader):
    """stackstac's reader, with read failures raised as geospace errors (href redacted)."""

    def _open(self) -> Any:
        try:
            return super()._open()
        except (RuntimeError, OSError) as err:
            raise _read_error(self.url, "opening", err) from None

    def read(self, window: Any, **kwargs: Any) -> np.ndarray:
        """Read ``window``; failures become :class:`~core.errors.GeospaceError` subclasses.

        Integer DN whose file nodata is the fill value are read unmasked (issue 10): stackstac's
        masked read has GDAL build the nodata mask too, then fills the masked pixels with the
        fill value, which gives the same array as the plain read at about half the decode work.
        """
        try:
            reader = self.dataset
            if self._plain_read_ok(reader):
                result = reader.read(window=window, out_dtype=self.dtype, masked=False, **kwargs)
                return np.asarray(result[0] if result.ndim == 3 else result)
            return super().read(window, **kwargs)
        except GeospaceError:
            raise
        except (RuntimeError, OSError) as err:
            raise _read_error(self.url, f"reading window {window}", err) from None

    def _plain_read_ok(self, reader: Any) -> bool:
        """True when an unmasked read of ``reader`` equals stackstac's masked-and-filled one."""
        cached = getattr(self, "_plain", None)
        if cached is not None:
            return bool(cached)
        plain = False
        if isinstance(reader, ThreadLocalRioDataset | SingleThreadedRioDataset):
            source = reader.dataset if isinstance(reader, ThreadLocalRioDataset) else reader.vrt
            source = source if source is not None else getattr(reader, "ds", None)
            nodata = getattr(source, "nodata", None)
            plain = (
                tuple(self.scale_offset) == (1, 0)
                and np.issubdtype(self.dtype, np.integer)
                and nodata is not None
                and float(nodata) == float(self.fill_value)
            )
        self._plain = plain
        return plain


def _read_error(url: str, what: str, err: BaseException) -> GeospaceError:
    cause = err.__cause__ or err
    reason = redact_text(str(cause))[:400]
    if _UNAVAILABLE_RE.search(str(cause)):
        return SourceUnavailableError(
            f"{what} asset {redact_url(url)!r} failed after GDAL's retries ({reason}); the server "
            "is down, rate-limiting or slow: run again later or raise the GDAL retry/timeout "
            "settings"
        )
    return DataReadError(
        f"{what} asset {redact_url(url)!r} failed ({reason}); the file may be truncated or "
        "corrupt: check the asset or drop the item"
    )


def load_dn(
    items: Sequence[Item],
    grid: OutputGrid,
    assets: list[str],
    *,
    chunksize: int = 1024,
    gdal: GdalHttpSettings | None = None,
    provider: str | None = None,
    allowlist: Allowlist | None = None,
    catalog_is_local: bool = False,
    signer: Any = None,
    dtype: str = "uint16",
) -> xr.DataArray:
    """Lazy DN cube (time, band, y, x) of ``items`` on ``grid``, one time step per item.

    Nearest-neighbour resampling (SCL is categorical), no rescaling (``to_reflectance`` owns
    scale and offset), uint16 with 0 = nodata, pixel-centre coordinates equal to
    ``grid.x_centres()``/``grid.y_centres()``. Item properties become coordinates along time
    (as stackstac does) plus ``solar_day`` (datetime64, midnight). Nothing is read until computed.

    Parameters
    ----------
    items : sequence of dict
        STAC item dicts (as from :func:`eo.stac.search_items`), deduplicated.
    grid : OutputGrid
        Target grid (CRS, resolution in CRS units, edge bounds).
    assets : list of str
        Asset keys to stack, in band order (``["red", "nir", "scl"]``).
    chunksize : int
        Dask chunk edge, pixels.
    gdal : GdalHttpSettings, optional
        GDAL retries and timeouts (defaults: 5 retries, 60 s timeout).
    provider : str, optional
        ``"earth-search"`` or ``"planetary-computer"`` (the ``provider`` attr); inferred from the
        items' link hosts when omitted.
    allowlist : Allowlist, optional
        When given (flows always pass the source's), every href to be read is checked first.
    catalog_is_local : bool
        The items come from a static catalogue on disk (local hrefs allowed under its dirs).
    signer : eo.signing.Signer, optional
        Signs every href just before it is read (Planetary Computer). When omitted, items marked
        by :func:`eo.signing.mark_items` (as :func:`eo.stac.search_items` does for sources with a
        ``sign_endpoint``) get a signer of their endpoint; unmarked items are read as they are.
    dtype : str
        ``"uint16"`` (fill 0, the default) or ``"float32"`` (fill NaN: rasters that are already
        physical values, e.g. ECOSTRESS LST in kelvin, where uint16 would truncate them).

    Raises
    ------
    InvalidInputError
        No items, items of several collections, an item lacks a requested asset, or the
        provider is neither given nor recognisable from the items' links.
    AllowlistError
        A requested asset's href is off ``allowlist``.
    """
    import stackstac
    from rasterio.enums import Resampling

    if not items:
        raise InvalidInputError("load_dn needs at least one item; check for [] before loading")
    _check_assets(items, assets)
    if allowlist is not None:
        for item in items:
            for key in assets:
                href = str(item["assets"][key]["href"])
                allowlist.check_asset(href, catalog_is_local=catalog_is_local)
    from eo.signing import reader_for, signer_for_items, strip_marks

    settings = gdal or GdalHttpSettings()
    if signer is None:  # marked items: token requests as patient as the asset reads
        signer = signer_for_items(
            items,
            HttpPolicy(
                timeout_s=settings.timeout_s,
                retries=settings.max_retry,
                backoff_factor_s=settings.retry_delay_s,
            ),
        )
    items = [strip_marks(item) for item in items]
    labels = {"provider": provider or _infer_provider(items), "collection": _collection(items)}
    cube = stackstac.stack(
        [_with_proj_epsg(item) for item in items],
        assets=list(assets),
        epsg=grid.epsg,
        bounds=grid.bounds,
        resolution=grid.resolution,
        snap_bounds=False,
        xy_coords="center",
        rescale=False,
        dtype=np.dtype(dtype),
        # a numpy scalar: numpy 2 refuses can_cast(int, uint16)
        fill_value=np.float32(np.nan) if np.dtype(dtype).kind == "f" else np.uint16(0),
        resampling=Resampling.nearest,
        chunksize=chunksize,
        sortby_date="asc",
        gdal_env=stackstac_gdal_env(settings),
        errors_as_nodata=(),
        reader=GeospaceRioReader if signer is None else reader_for(signer),
    )
    return _finish(cube, items, grid, labels)


def _check_assets(items: Sequence[Item], assets: list[str]) -> None:
    for item in items:
        missing = [key for key in assets if key not in item.get("assets", {})]
        if missing:
            raise InvalidInputError(
                f"item {item.get('id')!r} has no asset(s) {missing}; it has "
                f"{sorted(item.get('assets', {}))}. Use the provider's asset keys "
                "(Earth Search: red, nir, scl...; Planetary Computer: B04, B08, SCL...)"
            )


def _with_proj_epsg(item: Item) -> Item:
    """Copy of ``item`` with ``proj:epsg`` added wherever only ``proj:code`` (EPSG) is given."""
    item = copy.deepcopy(item)
    for holder in [item.get("properties", {}), *item.get("assets", {}).values()]:
        code = holder.get("proj:code")
        if "proj:epsg" not in holder and isinstance(code, str) and code.upper().startswith("EPSG:"):
            holder["proj:epsg"] = int(code.split(":")[1])
    return item


def _infer_provider(items: Sequence[Item]) -> str:
    hrefs = " ".join(str(link.get("href", "")) for it in items for link in it.get("links", []))
    provider = provider_of_hosts(hrefs)
    if provider is not None:
        return provider
    raise InvalidInputError(
        "cannot tell the provider of these items from their links; pass provider="
        "'earth-search' or 'planetary-computer' to load_dn (it decides the DN -> reflectance rule)"
    )


def _collection(items: Sequence[Item]) -> str:
    names = sorted({str(it.get("collection", "")) for it in items})
    if len(names) != 1:
        raise InvalidInputError(
            f"load_dn got items of several collections {names}; load each collection separately"
        )
    return names[0]


def _finish(
    cube: xr.DataArray, items: Sequence[Item], grid: OutputGrid, labels: dict[str, str]
) -> xr.DataArray:
    days = {str(item["id"]): np.datetime64(solar_day(item), "ns") for item in items}
    cube = cube.assign_coords(
        solar_day=("time", np.array([days[str(i)] for i in cube["id"].values], "datetime64[ns]"))
    )
    cube = _drop_object_coords(cube)
    provider_attrs = {
        **labels,
        "units": "1",
        "long_name": "digital number",
        "nodata": 0,
        "crs": grid.crs,
        "resolution": grid.resolution,
    }
    cube.attrs = provider_attrs
    cube = cube.rio.write_crs(grid.crs)
    return cube.rio.write_transform(grid.transform)


def _drop_object_coords(cube: xr.DataArray) -> xr.DataArray:
    """Drop coordinates holding Python objects (dicts, lists): they break netCDF/Zarr writing."""
    drop = [
        name
        for name, coord in cube.coords.items()
        if coord.dtype == object
        and not all(isinstance(v, str | type(None)) for v in np.ravel(coord.values))
    ]
    return cube.drop_vars(drop)


def items_by_solar_day(cube: xr.DataArray | xr.Dataset) -> dict[date, tuple[str, ...]]:
    """Item ids of each solar day of a :func:`load_dn` cube, in mosaic order ((time, id) sorted).

    Raises
    ------
    InvalidInputError
        ``cube`` has no ``solar_day`` and ``id`` coordinates along time.
    """
    _check_mosaic_coords(cube)
    order = np.lexsort((cube["id"].values.astype(str), cube["time"].values))
    ids = cube["id"].values[order].astype(str)
    days = cube["solar_day"].values[order].astype("datetime64[D]")
    out: dict[date, tuple[str, ...]] = {}
    for day, item_id in zip(days, ids, strict=True):
        key = day.astype(date)
        out[key] = (*out.get(key, ()), str(item_id))
    return out


def _check_mosaic_coords(cube: xr.DataArray | xr.Dataset) -> None:
    if "solar_day" not in cube.coords or "id" not in cube.coords:
        raise InvalidInputError(
            "mosaic_by_solar_day needs 'solar_day' and 'id' coordinates along time; "
            "load the cube with eo.stac.load_dn"
        )


@overload
def mosaic_by_solar_day(cube: xr.DataArray) -> xr.DataArray: ...
@overload
def mosaic_by_solar_day(cube: xr.Dataset) -> xr.Dataset: ...
def mosaic_by_solar_day(cube: xr.DataArray | xr.Dataset) -> xr.DataArray | xr.Dataset:
    """One time step per solar day: the first valid value over the day's items, lazily.

    Items are taken in (time, id) order, so the result does not depend on input order. Float
    variables treat NaN as invalid; integer ones (DN, SCL codes) treat 0 as invalid; a Dataset is
    mosaicked variable by variable. The result's ``time`` is the solar day (datetime64 at
    midnight); which items made each day is :func:`items_by_solar_day` of the input.

    Raises
    ------
    InvalidInputError
        ``cube`` has no ``solar_day`` and ``id`` coordinates along time (load it with
        :func:`load_dn`).
    """
    _check_mosaic_coords(cube)
    if isinstance(cube, xr.Dataset):
        out = xr.Dataset(
            {str(name): mosaic_by_solar_day(var) for name, var in cube.data_vars.items()}
        )
        out.attrs = dict(cube.attrs)
        return out
    order = np.lexsort((cube["id"].values.astype(str), cube["time"].values))
    cube = cube.isel(time=order)
    solar = cube["solar_day"].values
    days = np.unique(solar)
    # On the bare arrays, not through xarray: a season has hundreds of (day, item) layers and
    # xarray's per-operation coordinate bookkeeping cost more than the graph it built (issue 10).
    axis = cube.get_axis_num("time")
    data = cube.data
    steps = [_first_valid(data, np.flatnonzero(solar == d), axis) for d in days]
    stack = da.stack(steps, axis=axis) if _is_dask(data) else np.stack(steps, axis=axis)
    coords = {name: c for name, c in cube.coords.items() if "time" not in c.dims}
    result = xr.DataArray(stack, dims=cube.dims, coords=coords, name=cube.name)
    result = result.assign_coords(time=days.astype("datetime64[ns]"))
    result.attrs = dict(cube.attrs)
    return result


def _is_dask(data: Any) -> bool:
    return isinstance(data, da.Array)


def _first_valid(data: Any, index: np.ndarray, axis: int) -> Any:
    """First valid value over the layers ``index`` of ``data`` along ``axis`` (NaN or 0 invalid)."""
    lib: Any = da if _is_dask(data) else np
    integer = np.issubdtype(data.dtype, np.integer)

    def layer(i: int) -> Any:
        return data[(slice(None),) * axis + (int(i),)]

    out = layer(index[0])
    for i in index[1:]:
        missing = (out == 0) if integer else lib.isnan(out)
        out = lib.where(missing, layer(i), out)
    return out
