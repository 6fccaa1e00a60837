"""EGMS reader: the real Ustica L2b burst (skipped if absent), column variants, filters, bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from core.errors import InvalidInputError
from eo.insar import (
    check_egms_header,
    date_columns,
    displacement_frame,
    read_egms,
    read_point_csv,
)

USTICA = Path(__file__).resolve().parents[3] / "shared" / "data" / "egms_l2b_ustica"
SUBSET = USTICA / "SUBSET_EGMS_L2b_022_0845_500pts.csv"
BURST = USTICA / "EGMS_L2b_022_0845_IW2_VV_2020_2024_1.zip"


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"real EGMS file {path} is absent")


def test_real_subset_csv() -> None:
    _need(SUBSET)
    raw = pd.read_csv(SUBSET, dtype={"pid": str})
    got = read_egms(SUBSET)
    assert len(got) == len(raw) == 500 and got.crs == "EPSG:3035"
    assert list(got.columns[:-1]) == list(raw.columns)  # every name kept, geometry appended
    np.testing.assert_array_equal(got["mean_velocity"].to_numpy(), raw["mean_velocity"].to_numpy())
    assert "height_ortho" in got.columns and "rmse_ts" in got.columns
    dates = date_columns(list(raw.columns))
    assert got.attrs["dates"][0] == f"{dates[0][:4]}-{dates[0][4:6]}-{dates[0][6:]}"
    series = displacement_frame(got)
    assert series.columns[0] == pd.Timestamp(dates[0]) and series.columns.is_monotonic_increasing
    np.testing.assert_allclose(got.geometry.x, raw["easting"])


def test_real_burst_zip_every_row() -> None:
    _need(BURST)
    with zipfile.ZipFile(BURST) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        with archive.open(name) as f:
            raw = pd.read_csv(f, dtype={"pid": str})
    got = read_egms(BURST, chunk_rows=50_000)
    assert len(got) == len(raw) and got.crs == "EPSG:3035"
    assert list(got.columns[:-1]) == list(raw.columns)
    assert got["pid"].tolist() == raw["pid"].tolist()
    np.testing.assert_array_equal(got["mean_velocity"].to_numpy(), raw["mean_velocity"].to_numpy())
    dates = date_columns(list(raw.columns))
    assert len(got.attrs["dates"]) == len(dates) and got.attrs["level"] == "L2"
    assert displacement_frame(got).columns.equals(pd.to_datetime(dates, format="%Y%m%d"))
    coherent = read_egms(BURST, min_coherence=0.7)
    assert len(coherent) == int((got["temporal_coherence"] >= 0.7).sum())


def _egms_csv(path: Path, *, header: list[str] | None = None, rows: list[list[object]] | None = None,
              ) -> Path:  # fmt: skip
    header = header or [
        "pid", "easting", "northing", "height", "rmse", "temporal_coherence", "mean_velocity",
        "los_east", "los_north", "los_up", "incidence_angle", "20190105", "20190117", "20190129",
    ]  # fmt: skip
    rows = rows or [
        ["a1", 4790000.0, 2800000.0, 170.0, 1.1, 0.9, -2.0, -0.6, -0.1, 0.8, 38.0, 0.0, -0.5, -0.9],
        ["a2", 4790050.0, 2800010.0, 171.0, 1.2, 0.5, 1.0, -0.6, -0.1, 0.8, 38.0, 0.0, 0.1, 0.2],
        ["a3", 4791000.0, 2801000.0, 172.0, 0.9, 0.8, 0.3, -0.6, -0.1, 0.8, 38.0, 0.0, 0.0, 0.1],
    ]
    buf = io.StringIO()
    pd.DataFrame(rows, columns=header).to_csv(buf, index=False)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_older_release_column_names_and_filters(tmp_path: Path) -> None:
    path = _egms_csv(tmp_path / "old.csv")
    got = read_egms(path)
    assert "height" in got.columns and "rmse" in got.columns and len(got) == 3
    assert read_egms(path, min_coherence=0.7)["pid"].tolist() == ["a1", "a3"]
    aoi = box(4789990, 2799990, 4790100, 2800100)
    assert read_egms(path, aoi=aoi)["pid"].tolist() == ["a1", "a2"]
    as_frame = gpd.GeoDataFrame(geometry=[aoi], crs="EPSG:3035").to_crs("EPSG:4326")
    assert read_egms(path, aoi=as_frame)["pid"].tolist() == ["a1", "a2"]


def test_a_csv_in_a_zip(tmp_path: Path) -> None:
    csv = _egms_csv(tmp_path / "x.csv")
    archive = tmp_path / "x.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(csv, "x.csv")
        z.writestr("x.xml", "<metadata/>")
    assert len(read_egms(archive)) == 3


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nocoh.csv"
    frame = pd.read_csv(_egms_csv(path)).drop(columns=["temporal_coherence"])
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInputError, match=r"temporal_coherence.*missing"):
        read_egms(path)


def test_non_numeric_displacement_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "text.csv"
    frame = pd.read_csv(_egms_csv(path))
    frame["20190117"] = frame["20190117"].astype(object)
    frame.loc[1, "20190117"] = "n/a mm"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInputError, match=r"'20190117' row 2 holds 'n/a mm'"):
        read_egms(path)


def test_dates_out_of_order_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "order.csv"
    frame = pd.read_csv(_egms_csv(path))
    cols = list(frame.columns)
    cols[-1], cols[-2] = cols[-2], cols[-1]
    frame[cols].to_csv(path, index=False)
    with pytest.raises(InvalidInputError, match=r"out of order.*20190129 -> 20190117"):
        read_egms(path)


def test_missing_file_and_bad_filters(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_egms(tmp_path / "none.csv")
    path = _egms_csv(tmp_path / "ok.csv")
    with pytest.raises(InvalidInputError, match="min_coherence"):
        read_egms(path, min_coherence=7)
    with pytest.raises(InvalidInputError, match="no CRS"):
        read_egms(path, aoi=gpd.GeoSeries([box(0, 0, 1, 1)]))


def test_generic_point_csv_in_another_crs_and_units(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    pd.DataFrame(
        {
            "id": [7, 8],
            "lon": [16.37, 16.38],
            "lat": [48.2, 48.21],
            "v": [-0.3, 0.1],
            "coh": [0.9, 0.8],
        }
    ).to_csv(path, index=False)
    got = read_point_csv(path, x="lon", y="lat", crs="EPSG:4326", velocity="v", coherence="coh",
                         velocity_units="cm/yr", id_column="id")  # fmt: skip
    assert got.crs == "EPSG:3035" and got["pid"].tolist() == ["7", "8"]
    np.testing.assert_allclose(got["mean_velocity"], [-3.0, 1.0])
    assert got["easting"].between(4.7e6, 4.9e6).all()


L3_HEADER = ["pid", "easting", "northing", "height", "rmse", "mean_velocity", "mean_velocity_std",
             "acceleration", "acceleration_std", "seasonality", "seasonality_std",
             "20190105", "20190117", "20190129"]  # fmt: skip
"""EGMS L3 (Ortho) columns: no temporal coherence, no line-of-sight vector."""


def test_an_l3_file_without_coherence_is_read_whole(tmp_path: Path) -> None:
    rows = [["c1", 4790000.0, 2800000.0, 170.0, 1.1, -2.0, 0.3, 0.1, 0.1, 1.0, 0.2, 0.0, -0.1, -0.2],
            ["c2", 4790100.0, 2800000.0, 171.0, 0.9, 0.5, 0.2, 0.0, 0.1, 0.8, 0.2, 0.0, 0.1, 0.0]]  # fmt: skip
    path = _egms_csv(tmp_path / "EGMS_L3_E47N28_100km_U_2019_2023_1.csv", header=L3_HEADER,
                     rows=rows)  # fmt: skip
    got = read_egms(path)
    assert list(got.columns[:-1]) == L3_HEADER and "temporal_coherence" not in got.columns
    assert got.attrs["level"] == "L3" and got["mean_velocity"].tolist() == [-2.0, 0.5]
    assert check_egms_header(path) == ["20190105", "20190117", "20190129"]
    with pytest.raises(InvalidInputError, match=r"no temporal_coherence column.*L3"):
        read_egms(path, min_coherence=0.7)
    assert read_egms(_egms_csv(tmp_path / "l2.csv")).attrs["level"] == "L2"


def test_an_l2_file_without_coherence_is_still_refused(tmp_path: Path) -> None:
    frame = pd.read_csv(_egms_csv(tmp_path / "l2.csv")).drop(columns=["temporal_coherence"])
    frame.to_csv(tmp_path / "l2.csv", index=False)  # it has los_east etc.: an L2 file
    with pytest.raises(InvalidInputError, match=r"temporal_coherence.*missing"):
        check_egms_header(tmp_path / "l2.csv")
