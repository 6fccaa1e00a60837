"""InSAR point products: EGMS CSVs and zips, generic point CSVs, MintPy velocity files.

EGMS (DESIGN section 3): one row per measurement point with ``pid, easting, northing,
temporal_coherence, mean_velocity, ..., los_east, los_north, los_up`` and one column per acquisition
``YYYYMMDD`` holding the displacement in mm (LOS positive towards the satellite). L3 (Ortho) files
hold vertical or east-west displacement on a 100 m grid and have neither ``temporal_coherence``
nor a line-of-sight vector (``pid, easting, northing, height, rmse, mean_velocity, ...``); a file
without both is read as L3. Column names differ between releases (``height`` or ``height_ortho``/``height_ellipse``,
``rmse`` or ``rmse_ts``, an extra ``gnss_velocity``); the readers keep the file's names and accept
either. Coordinates are EPSG:3035. Large files are read in chunks; the filters (``aoi``,
``min_coherence``) apply chunk by chunk so memory follows what is kept.

Nothing partial: a file with a missing required column, a non-numeric displacement or velocity, or
date columns out of order raises :class:`~core.errors.InvalidInputError` naming the file, the column
and the fix, before anything is returned.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from core.errors import DataReadError, InvalidInputError

__all__ = [
    "EGMS_CRS",
    "EGMS_L3_REQUIRED",
    "EGMS_REQUIRED",
    "Release",
    "ReleaseFile",
    "ReleasePoints",
    "check_egms_header",
    "date_columns",
    "displacement_frame",
    "egms_required",
    "find_releases",
    "l3_component",
    "read_egms",
    "read_mintpy_velocity",
    "read_point_csv",
    "read_release",
]

EGMS_CRS = "EPSG:3035"
"""CRS of EGMS easting/northing (ETRS89-LAEA)."""
EGMS_REQUIRED = ("pid", "easting", "northing", "temporal_coherence", "mean_velocity")
"""Columns every EGMS L2a/L2b file must have (besides at least one date column)."""
EGMS_L3_REQUIRED = ("pid", "easting", "northing", "mean_velocity")
"""Columns of an EGMS L3 (Ortho) file: vertical or east-west on a 100 m grid, resampled by EGMS
from its L2b points, with neither a ``temporal_coherence`` nor a line-of-sight vector."""
_LOS_COLUMNS = ("los_east", "los_north", "los_up", "incidence_angle", "track_angle")
EGMS_NUMERIC = (
    "easting",
    "northing",
    "temporal_coherence",
    "mean_velocity",
    "mean_velocity_std",
    "acceleration",
    "seasonality",
    "los_east",
    "los_north",
    "los_up",
    "incidence_angle",
    "track_angle",
)
"""Columns that must be numeric where present (the date columns must be too)."""
_DATE = re.compile(r"^(19|20)\d{6}$")
CHUNK_ROWS = 200_000


def egms_required(columns: Sequence[str]) -> tuple[str, ...]:
    """The required columns of an EGMS file with these ``columns``: L3 (:data:`EGMS_L3_REQUIRED`)
    when it has neither ``temporal_coherence`` nor a line-of-sight column, else L2a/L2b
    (:data:`EGMS_REQUIRED`: an L2 file without its coherence is refused)."""
    names = set(map(str, columns))
    if "temporal_coherence" in names or names & set(_LOS_COLUMNS):
        return EGMS_REQUIRED
    return EGMS_L3_REQUIRED


def date_columns(columns: Sequence[str]) -> list[str]:
    """The ``YYYYMMDD`` displacement columns of an EGMS table, in file order."""
    return [str(c) for c in columns if _DATE.match(str(c))]


def displacement_frame(points: pd.DataFrame) -> pd.DataFrame:
    """The displacement time series as a float frame: one row per point, columns dated (mm).

    ``points`` is what :func:`read_egms` returned; columns are :class:`pandas.Timestamp` s.
    """
    cols = date_columns(list(points.columns))
    frame = points[cols].astype("float64")
    frame.columns = pd.to_datetime(cols, format="%Y%m%d")
    frame.attrs["units"] = "mm"
    return frame


def _aoi_geometry(aoi: Any) -> BaseGeometry | None:
    if aoi is None:
        return None
    if isinstance(aoi, gpd.GeoDataFrame | gpd.GeoSeries):
        if aoi.crs is None:
            raise InvalidInputError(
                "aoi GeoDataFrame/GeoSeries has no CRS; set one (e.g. .set_crs('EPSG:4326'))"
            )
        return shapely.union_all(np.asarray(aoi.to_crs(EGMS_CRS).geometry.values))
    if isinstance(aoi, BaseGeometry):
        return aoi
    raise InvalidInputError(
        f"aoi must be a shapely geometry in EPSG:3035 or a GeoDataFrame/GeoSeries with a CRS, "
        f"got {type(aoi).__name__}"
    )


def _open_csv(path: Path) -> tuple[io.TextIOBase | Any, str]:
    """A text stream of the CSV in ``path`` (a .csv, or the single CSV inside an EGMS .zip)."""
    if not path.is_file():
        raise InvalidInputError(f"EGMS file {path} does not exist; give the path of a .csv or .zip")
    if path.suffix.lower() == ".zip":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as err:
            raise DataReadError(f"EGMS zip {path} is not a readable zip file ({err})") from err
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if len(names) != 1:
            raise InvalidInputError(
                f"EGMS zip {path} holds {len(names)} CSV files ({names}); expected exactly one"
            )
        return io.TextIOWrapper(archive.open(names[0]), encoding="utf-8"), f"{path}!{names[0]}"
    return open(path, encoding="utf-8"), str(path)


def _check_header(
    columns: list[str], source: str, required: Sequence[str] | None, need_dates: bool = True
) -> list[str]:
    """Check a header (``required`` None: an EGMS file of the level its columns say)."""
    required = egms_required(columns) if required is None else required
    missing = [c for c in required if c not in columns]
    if missing:
        fix = (
            "give an EGMS L2a/L2b/L3 CSV or its official zip"
            if need_dates
            else "name the file's columns in the reader's arguments"
        )
        raise InvalidInputError(
            f"{source}: required column(s) {missing} missing (columns found: {columns[:12]}...); "
            + fix
        )
    dates = date_columns(columns)
    if not dates and not need_dates:
        return dates
    if not dates:
        raise InvalidInputError(
            f"{source}: no displacement columns named YYYYMMDD; an EGMS file has one per acquisition"
        )
    parsed = pd.to_datetime(dates, format="%Y%m%d", errors="coerce")
    if parsed.isna().any():
        bad = [d for d, p in zip(dates, parsed, strict=True) if pd.isna(p)]
        raise InvalidInputError(f"{source}: date column(s) {bad[:5]} are not valid YYYYMMDD dates")
    if not parsed.is_monotonic_increasing or parsed.has_duplicates:
        at = next(i for i in range(1, len(dates)) if parsed[i] <= parsed[i - 1])
        raise InvalidInputError(
            f"{source}: date columns out of order or repeated at {dates[at - 1]} -> {dates[at]}; "
            "acquisitions must increase from left to right"
        )
    return dates


def _numeric(chunk: pd.DataFrame, columns: Sequence[str], source: str, first_row: int) -> None:
    """Convert ``columns`` of ``chunk`` to float in place; refuse text that is not a number."""
    for col in columns:
        if pd.api.types.is_numeric_dtype(chunk[col].dtype):  # parsed as numbers already
            chunk[col] = chunk[col].astype("float64")
            continue
        values = pd.to_numeric(chunk[col], errors="coerce")
        bad = values.isna() & chunk[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InvalidInputError(
                f"{source}: column {col!r} row {first_row + row + 1} holds "
                f"{chunk[col].iloc[row]!r}, not a number; fix or remove that row"
            )
        chunk[col] = values.astype("float64")


def _chunks(
    path: Path, required: Sequence[str] | None, chunk_rows: int, need_dates: bool = True
) -> Iterator[tuple[pd.DataFrame, list[str], str, int]]:
    stream, source = _open_csv(path)
    with stream:
        try:
            reader = pd.read_csv(stream, chunksize=chunk_rows, dtype={"pid": str}, low_memory=False)
            first = 0
            dates: list[str] | None = None
            for chunk in reader:
                chunk.columns = [str(c) for c in chunk.columns]
                if dates is None:
                    dates = _check_header(list(chunk.columns), source, required, need_dates)
                yield chunk, dates, source, first
                first += len(chunk)
        except pd.errors.ParserError as err:
            raise InvalidInputError(f"{source}: not a well-formed CSV ({err})") from err
        except pd.errors.EmptyDataError as err:
            raise InvalidInputError(f"{source}: the file is empty; expected an EGMS CSV") from err


def check_egms_header(path: str | Path) -> list[str]:
    """Check an EGMS file's header without reading its rows; return its date columns.

    Refuses (:class:`~core.errors.InvalidInputError`, naming the file) what :func:`read_egms`
    would refuse from the header alone: a missing file, a zip without exactly one CSV, a missing
    required column, no ``YYYYMMDD`` column, invalid or out-of-order dates. A flow checks every
    file of a release this way before it starts, so bad input stops it before anything is written.
    """
    stream, source = _open_csv(Path(path))
    with stream:
        try:
            header = pd.read_csv(stream, nrows=0)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise InvalidInputError(f"{source}: no readable CSV header ({err})") from err
    return _check_header([str(c) for c in header.columns], source, None)


def read_egms(
    path: str | Path,
    *,
    aoi: Any = None,
    min_coherence: float | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> gpd.GeoDataFrame:
    """Read an EGMS CSV or official zip (L2a, L2b, L3) into a GeoDataFrame in EPSG:3035.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or the official ``.zip`` (one CSV inside).
    aoi : shapely geometry (EPSG:3035) or GeoDataFrame/GeoSeries with a CRS, optional
        Keep only points inside (boundary included).
    min_coherence : float, optional
        Keep only points with ``temporal_coherence >= min_coherence`` (0..1); refused for an
        L3 file, which has no coherence column.
    chunk_rows : int
        Rows read at a time.

    Returns
    -------
    GeoDataFrame
        Every row (when both filters are None) with the file's column names kept, the date
        columns under their ``YYYYMMDD`` names in mm (float), the geometry from easting/northing;
        ``attrs`` hold ``source``, ``dates`` (ISO strings), ``units`` and ``level`` (``"L2"``,
        or ``"L3"`` for a file without coherence and line-of-sight columns: vertical or east-west
        displacement, told apart by the ``_U_``/``_E_`` of EGMS's file name).
    """
    path = Path(path)
    region = _aoi_geometry(aoi)
    if min_coherence is not None and not 0.0 <= float(min_coherence) <= 1.0:
        raise InvalidInputError(f"min_coherence must be within 0..1, got {min_coherence!r}")
    if region is not None:
        shapely.prepare(region)
    parts: list[pd.DataFrame] = []
    dates: list[str] = []
    source = str(path)
    columns: list[str] = []
    for chunk, dates, source, first in _chunks(path, None, chunk_rows):
        columns = list(chunk.columns)
        numeric = [c for c in EGMS_NUMERIC if c in chunk.columns] + dates
        _numeric(chunk, numeric, source, first)
        coherence = "temporal_coherence" in chunk.columns
        if min_coherence is not None and not coherence:
            raise InvalidInputError(
                f"{source}: min_coherence given but the file has no temporal_coherence column "
                "(an EGMS L3 file carries none: EGMS selected its points); omit min_coherence"
            )
        for col in ("easting", "northing", *(["temporal_coherence"] if coherence else [])):
            if chunk[col].isna().any():
                row = int(np.flatnonzero(chunk[col].isna().to_numpy())[0])
                raise InvalidInputError(
                    f"{source}: column {col!r} is empty at row {first + row + 1}; every point "
                    "needs coordinates and a coherence"
                )
        keep = np.ones(len(chunk), dtype=bool)
        if min_coherence is not None:
            keep &= chunk["temporal_coherence"].to_numpy() >= float(min_coherence)
        if region is not None:
            keep &= shapely.intersects_xy(
                region, chunk["easting"].to_numpy(), chunk["northing"].to_numpy()
            )
        parts.append(chunk.loc[keep] if not keep.all() else chunk)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    geometry = gpd.points_from_xy(frame["easting"], frame["northing"], crs=EGMS_CRS)
    out = gpd.GeoDataFrame(frame, geometry=geometry, crs=EGMS_CRS)
    out.attrs.update(
        {
            "source": source,
            "dates": [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in dates],
            "units": "mm (displacement), mm/yr (velocity)",
            "level": "L3" if egms_required(columns) == EGMS_L3_REQUIRED else "L2",
        }
    )
    return out


def read_point_csv(
    path: str | Path,
    *,
    x: str,
    y: str,
    crs: str,
    velocity: str,
    coherence: str | None = None,
    velocity_units: str = "mm/yr",
    id_column: str | None = None,
) -> gpd.GeoDataFrame:
    """A generic InSAR point CSV with configurable columns, reprojected to EPSG:3035.

    The velocity is returned in ``mean_velocity`` (mm/yr; ``velocity_units`` "mm/yr", "cm/yr" or
    "m/yr"), the coherence (if named) in ``temporal_coherence``, the id in ``pid``; every other
    column is kept under its own name, ``YYYYMMDD`` columns as displacement (mm) like EGMS.
    """
    scale = {"mm/yr": 1.0, "cm/yr": 10.0, "m/yr": 1000.0}.get(velocity_units)
    if scale is None:
        raise InvalidInputError(
            f"velocity_units {velocity_units!r} unknown; use 'mm/yr', 'cm/yr' or 'm/yr'"
        )
    required = [c for c in (x, y, velocity, coherence, id_column) if c]
    parts = []
    for chunk, dates, source, first in _chunks(Path(path), required, CHUNK_ROWS, need_dates=False):
        _numeric(
            chunk, [x, y, velocity, *([coherence] if coherence else []), *dates], source, first
        )
        parts.append(chunk)
    frame = pd.concat(parts, ignore_index=True)
    frame["mean_velocity"] = frame[velocity] * scale
    if coherence:
        frame["temporal_coherence"] = frame[coherence]
    frame["pid"] = frame[id_column].astype(str) if id_column else frame.index.astype(str)
    points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame[x], frame[y]), crs=crs)
    points = points.to_crs(EGMS_CRS)
    points["easting"], points["northing"] = points.geometry.x, points.geometry.y
    return points


_MINTPY_SCALE = {"m/year": 1000.0, "m/yr": 1000.0, "cm/year": 10.0, "cm/yr": 10.0,
                 "mm/year": 1.0, "mm/yr": 1.0}  # fmt: skip
"""Millimetres per year in one unit of a MintPy ``UNIT`` attribute (MintPy writes ``m/year``)."""


def _h5_attrs(node: Any) -> dict[str, Any]:
    return {str(k): (v.decode() if isinstance(v, bytes) else v) for k, v in node.attrs.items()}


def _h5_grid(h5: Any, name: str, source: str, shape: tuple[int, ...]) -> np.ndarray:
    if name not in h5:
        raise InvalidInputError(f"{source}: no dataset {name!r}; found {sorted(h5)}")
    values = np.asarray(h5[name][()], dtype="float64")
    if values.shape != shape:
        raise InvalidInputError(
            f"{source}: dataset {name!r} has shape {values.shape}, expected {shape} (the "
            "velocity grid's); give the file of the same processing"
        )
    return values


def _mintpy_crs(attrs: dict[str, Any], source: str) -> str:
    """The CRS of a geocoded MintPy grid: ``EPSG``, else ``UTM_ZONE``, else degrees = WGS84."""
    if str(attrs.get("EPSG", "")).strip() not in ("", "None"):
        return f"EPSG:{int(float(attrs['EPSG']))}"
    zone = str(attrs.get("UTM_ZONE", "")).strip().upper()
    if zone:
        match = re.fullmatch(r"(\d{1,2})([NS])", zone)
        if match is None:
            raise InvalidInputError(f"{source}: UTM_ZONE {zone!r} is not like '33N' or '60S'")
        return f"EPSG:{(32600 if match.group(2) == 'N' else 32700) + int(match.group(1))}"
    if str(attrs.get("X_UNIT", "degrees")).lower().startswith("deg"):
        return "EPSG:4326"
    raise InvalidInputError(
        f"{source}: coordinates in {attrs.get('X_UNIT')!r} but neither EPSG nor UTM_ZONE is set; "
        "add the EPSG attribute (MintPy writes it for projected geocoded files)"
    )


def read_mintpy_velocity(
    path: str | Path,
    *,
    dataset: str = "velocity",
    geometry: str | Path | None = None,
    aoi: Any = None,
) -> gpd.GeoDataFrame:
    """A MintPy velocity file (``velocity.h5``, ``geo_velocity.h5``) as points in EPSG:3035.

    MintPy's layout (``timeseries2velocity.py``): root datasets ``velocity`` and, when estimated,
    ``velocityStd``, in the unit of the root attribute ``UNIT`` (``m/year``; LOS, positive towards
    the satellite, relative to the reference point ``REF_LAT``/``REF_LON``). A geocoded file
    places its grid by ``X_FIRST``/``Y_FIRST`` (the upper-left corner of the first pixel, so a
    pixel's centre is ``X_FIRST + (col + 0.5) * X_STEP``) and ``X_STEP``/``Y_STEP``, in the CRS of
    ``EPSG`` (or ``UTM_ZONE``; degrees without either are WGS84). A file in radar coordinates has
    no such attributes: its pixels are placed by the ``latitude``/``longitude`` datasets of the same
    file or of ``geometry`` (MintPy's ``inputs/geometryRadar.h5``).

    Returns
    -------
    GeoDataFrame
        One row per valid pixel (NaN and ``NO_DATA_VALUE`` dropped): ``pid`` (``r<row>c<col>``),
        ``row``, ``col``, ``mean_velocity`` and, if present, ``mean_velocity_std`` in mm/yr,
        ``easting``/``northing`` (EPSG:3035) and the point geometry; ``attrs`` hold ``source``,
        ``units``, ``reference`` (REF_LAT/REF_LON when given), ``start_date``/``end_date`` and the
        file's CRS. ``aoi`` filters like :func:`read_egms`.
    """
    try:
        import h5py
    except ImportError as err:  # optional dependency
        raise InvalidInputError(
            "reading MintPy HDF5 needs h5py; install it (pip install h5py) or export the "
            "velocity to CSV and use read_point_csv"
        ) from err
    path = Path(path)
    source = str(path)
    region = _aoi_geometry(aoi)
    if not path.is_file():
        raise InvalidInputError(f"MintPy file {path} does not exist; give the path of velocity.h5")
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise InvalidInputError(f"{source}: not a readable HDF5 file ({err})") from err
    with h5:
        if dataset not in h5:
            raise InvalidInputError(
                f"{source}: no dataset {dataset!r} (found {sorted(h5)}); a MintPy velocity file "
                "holds 'velocity' (and 'velocityStd'); name the dataset with dataset="
            )
        values = np.asarray(h5[dataset][()], dtype="float64")
        if values.ndim != 2:
            raise InvalidInputError(
                f"{source}: dataset {dataset!r} has {values.ndim} dimensions; a velocity grid has 2"
            )
        attrs = _h5_attrs(h5)
        std_name = f"{dataset}Std"
        std = _h5_grid(h5, std_name, source, values.shape) if std_name in h5 else None
        inline = "latitude" in h5 and "longitude" in h5
        lat = _h5_grid(h5, "latitude", source, values.shape) if inline else None
        lon = _h5_grid(h5, "longitude", source, values.shape) if inline else None
    unit = str(attrs.get("UNIT", "m/year")).strip()
    scale = _MINTPY_SCALE.get(unit.lower())
    if scale is None:
        raise InvalidInputError(
            f"{source}: UNIT {unit!r} is not a velocity unit this reader knows "
            f"({sorted(_MINTPY_SCALE)}); MintPy velocity files are in m/year"
        )
    valid = np.isfinite(values)
    if "NO_DATA_VALUE" in attrs and str(attrs["NO_DATA_VALUE"]).lower() not in ("none", "nan"):
        valid &= values != float(attrs["NO_DATA_VALUE"])
    rows, cols = np.nonzero(valid)
    geocoded = all(k in attrs for k in ("X_FIRST", "Y_FIRST", "X_STEP", "Y_STEP"))
    if geocoded:
        crs = _mintpy_crs(attrs, source)
        xs = float(attrs["X_FIRST"]) + (cols + 0.5) * float(attrs["X_STEP"])
        ys = float(attrs["Y_FIRST"]) + (rows + 0.5) * float(attrs["Y_STEP"])
    else:
        if lat is None or lon is None:
            if geometry is None:
                raise InvalidInputError(
                    f"{source}: the grid is in radar coordinates (no X_FIRST/Y_FIRST/X_STEP/"
                    "Y_STEP) and holds no latitude/longitude; pass geometry= MintPy's "
                    "inputs/geometryRadar.h5, or geocode the file first (geocode.py)"
                )
            gpath = Path(geometry)
            if not gpath.is_file():
                raise InvalidInputError(f"MintPy geometry file {gpath} does not exist")
            try:
                with h5py.File(gpath, "r") as geo:
                    lat = _h5_grid(geo, "latitude", str(gpath), values.shape)
                    lon = _h5_grid(geo, "longitude", str(gpath), values.shape)
            except OSError as err:
                raise InvalidInputError(f"{gpath}: not a readable HDF5 file ({err})") from err
        crs = "EPSG:4326"
        located = np.isfinite(lat[rows, cols]) & np.isfinite(lon[rows, cols])
        rows, cols = rows[located], cols[located]
        xs, ys = lon[rows, cols], lat[rows, cols]
    frame = pd.DataFrame(
        {
            "pid": [f"r{r}c{c}" for r, c in zip(rows, cols, strict=True)],
            "row": rows.astype("int64"),
            "col": cols.astype("int64"),
            "mean_velocity": values[rows, cols] * scale,
        }
    )
    if std is not None:
        frame["mean_velocity_std"] = std[rows, cols] * scale
    points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(xs, ys), crs=crs).to_crs(EGMS_CRS)
    if region is not None:
        points = points[shapely.intersects(region, np.asarray(points.geometry.values))]
        points = points.reset_index(drop=True)
    points["easting"], points["northing"] = points.geometry.x, points.geometry.y
    reference = {k: float(attrs[k]) for k in ("REF_LAT", "REF_LON") if k in attrs}
    points.attrs.update(
        {
            "source": source,
            "units": f"mm/yr (converted from MintPy {unit})",
            "file_crs": crs,
            "reference": reference,
            "start_date": str(attrs.get("START_DATE", "")),
            "end_date": str(attrs.get("END_DATE", "")),
        }
    )
    return points


_RELEASE = re.compile(r"_((?:19|20)\d{2})_((?:19|20)\d{2})(?:_|\.)")


@dataclass(frozen=True)
class Release:
    """One EGMS release in a source folder: its years and its files (ascending, descending, ...)."""

    first_year: int
    last_year: int
    files: tuple[Path, ...]

    @property
    def name(self) -> str:
        return f"{self.first_year}_{self.last_year}"


def find_releases(folder: str | Path) -> list[Release]:
    """EGMS releases in ``folder`` (``.csv`` and ``.zip`` named ``..._YYYY_YYYY_...``), oldest first.

    A file whose name carries no ``YYYY_YYYY`` period is refused (its release would be unknown).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInputError(
            f"InSAR source {root} is not a folder; set deformation.source in the profile to the "
            "folder holding the EGMS files (for the demo city, run `geospace demo` first)"
        )
    groups: dict[tuple[int, int], list[Path]] = {}
    for path in sorted(root.iterdir()):
        if path.suffix.lower() not in (".csv", ".zip") or path.name.startswith("."):
            continue
        match = _RELEASE.search(path.name)
        if match is None:
            raise InvalidInputError(
                f"{path}: no release period YYYY_YYYY in the file name (EGMS names files like "
                "EGMS_L2b_073_0001_IW2_VV_2019_2023_1.zip); rename it or move it out of the folder"
            )
        years = (int(match.group(1)), int(match.group(2)))
        if years[1] < years[0]:
            raise InvalidInputError(f"{path}: release period {years} runs backwards")
        groups.setdefault(years, []).append(path)
    return [
        Release(a, b, tuple(files))
        for (a, b), files in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


_L3_COMPONENT = re.compile(r"_([UE])_(?:19|20)\d{2}_(?:19|20)\d{2}(?:_|\.)")


def l3_component(name: str) -> str | None:
    """``"U"`` (vertical) or ``"E"`` (east-west): the component an EGMS L3 file name says
    (``..._U_2019_2023_1.csv``); None when the name says neither."""
    match = _L3_COMPONENT.search(name)
    return None if match is None else match.group(1)


@dataclass(frozen=True, eq=False)
class ReleaseFile:
    """One file of a release as read: its path and its points (:func:`read_egms`)."""

    path: Path
    points: gpd.GeoDataFrame

    @property
    def level(self) -> str:
        """``"L2"`` or ``"L3"`` (the reader's ``attrs["level"]``)."""
        return str(self.points.attrs.get("level", "L2"))

    @property
    def component(self) -> str | None:
        """For an L3 file, ``"U"`` or ``"E"`` from its name (:func:`l3_component`); else None."""
        return l3_component(self.path.name) if self.level == "L3" else None


@dataclass(frozen=True, eq=False)
class ReleasePoints:
    """A release with the points of each of its files, read once (:func:`read_release`)."""

    release: Release
    files: tuple[ReleaseFile, ...]

    @property
    def name(self) -> str:
        return self.release.name


def read_release(release: Release, *, aoi: Any = None) -> ReleasePoints:
    """Read every file of ``release`` (:func:`read_egms`, keeping the points inside ``aoi``)."""
    return ReleasePoints(
        release, tuple(ReleaseFile(path, read_egms(path, aoi=aoi)) for path in release.files)
    )
