"""MintPy velocity reader on files written here with MintPy's layout (timeseries2velocity.py).

Expected values are converted by hand: m/year x 1000 = mm/yr; a pixel centre is the upper-left
corner of the first pixel (X_FIRST, Y_FIRST) plus (index + 0.5) steps; the centre is projected to
EPSG:3035 with pyproj directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import box

from core.errors import InvalidInputError
from eo.insar import read_mintpy_velocity

h5py = pytest.importorskip("h5py")

VELOCITY = np.array([[-0.0065, 0.0012, np.nan], [0.0, -0.0021, 0.0304]], dtype="float32")
STD = np.array([[0.0004, 0.0003, np.nan], [0.0, 0.0005, 0.0011]], dtype="float32")


def _write(path: Path, attrs: dict[str, Any], **datasets: np.ndarray) -> Path:
    with h5py.File(path, "w") as h5:
        for name, values in datasets.items():
            h5.create_dataset(name, data=values)
        base = {"FILE_TYPE": "velocity", "UNIT": "m/year", "LENGTH": "2", "WIDTH": "3",
                "START_DATE": "20190105", "END_DATE": "20231228", "REF_LAT": "48.2",
                "REF_LON": "16.37"}  # fmt: skip
        for key, value in {**base, **attrs}.items():
            h5.attrs[key] = value  # MintPy writes attributes as strings
    return path


def _to_3035(crs: str, x: float, y: float) -> tuple[float, float]:
    return Transformer.from_crs(crs, "EPSG:3035", always_xy=True).transform(x, y)


def test_geocoded_utm_file_in_mm_per_year(tmp_path: Path) -> None:
    attrs = {"X_FIRST": "600000.0", "Y_FIRST": "5340000.0", "X_STEP": "30.0",
             "Y_STEP": "-30.0", "X_UNIT": "meters", "Y_UNIT": "meters", "EPSG": "32633"}  # fmt: skip
    path = _write(tmp_path / "geo_velocity.h5", attrs, velocity=VELOCITY, velocityStd=STD)
    got = read_mintpy_velocity(path).set_index("pid")
    assert got.crs == "EPSG:3035"
    assert sorted(got.index) == ["r0c0", "r0c1", "r1c0", "r1c1", "r1c2"]  # the NaN pixel dropped
    by_hand = {"r0c0": -6.5, "r0c1": 1.2, "r1c0": 0.0, "r1c1": -2.1, "r1c2": 30.4}
    by_hand_std = {"r0c0": 0.4, "r0c1": 0.3, "r1c0": 0.0, "r1c1": 0.5, "r1c2": 1.1}
    for pid, value in by_hand.items():
        assert got.loc[pid, "mean_velocity"] == pytest.approx(value, abs=1e-4)
        assert got.loc[pid, "mean_velocity_std"] == pytest.approx(by_hand_std[pid], abs=1e-4)
    # row 1, col 2: centre 600000 + 2.5 * 30 = 600075 E, 5340000 - 1.5 * 30 = 5339955 N (UTM 33N)
    x, y = _to_3035("EPSG:32633", 600075.0, 5339955.0)
    assert got.loc["r1c2", "easting"] == pytest.approx(x, abs=0.01)
    assert got.loc["r1c2", "northing"] == pytest.approx(y, abs=0.01)
    assert got.loc["r1c2", "geometry"].x == pytest.approx(x, abs=0.01)
    assert got.attrs["reference"] == {"REF_LAT": 48.2, "REF_LON": 16.37}
    assert "m/year" in got.attrs["units"] and got.attrs["file_crs"] == "EPSG:32633"


def test_geographic_file_utm_zone_and_other_units(tmp_path: Path) -> None:
    deg = {"X_FIRST": "16.30", "Y_FIRST": "48.25", "X_STEP": "0.001", "Y_STEP": "-0.001",
           "X_UNIT": "degrees", "Y_UNIT": "degrees"}  # fmt: skip
    got = read_mintpy_velocity(_write(tmp_path / "deg.h5", deg, velocity=VELOCITY))
    row = got.set_index("pid").loc["r0c0"]
    x, y = _to_3035("EPSG:4326", 16.3005, 48.2495)
    assert (row["easting"], row["northing"]) == (
        pytest.approx(x, abs=0.01),
        pytest.approx(y, abs=0.01),
    )
    assert "mean_velocity_std" not in got.columns  # no velocityStd in the file
    utm = {"X_FIRST": "600000.0", "Y_FIRST": "5340000.0", "X_STEP": "30.0", "Y_STEP": "-30.0",
           "X_UNIT": "meters", "UTM_ZONE": "33N", "UNIT": "cm/year"}  # fmt: skip
    got = read_mintpy_velocity(_write(tmp_path / "utm.h5", utm, velocity=VELOCITY)).set_index("pid")
    assert got.loc["r0c0", "mean_velocity"] == pytest.approx(-0.065, abs=1e-6)  # cm -> mm: x 10
    x, y = _to_3035("EPSG:32633", 600015.0, 5339985.0)
    assert got.loc["r0c0", "easting"] == pytest.approx(x, abs=0.01)


def test_radar_coordinates_take_latitude_longitude_of_the_geometry_file(tmp_path: Path) -> None:
    lat = np.array([[48.20, 48.20, 48.20], [48.21, 48.21, np.nan]])
    lon = np.array([[16.30, 16.31, 16.32], [16.30, 16.31, 16.32]])
    velocity = _write(tmp_path / "velocity.h5", {}, velocity=VELOCITY)
    with pytest.raises(InvalidInputError, match=r"radar coordinates.*geometryRadar\.h5"):
        read_mintpy_velocity(velocity)
    geometry = tmp_path / "geometryRadar.h5"
    with h5py.File(geometry, "w") as h5:
        h5.create_dataset("latitude", data=lat)
        h5.create_dataset("longitude", data=lon)
        h5.create_dataset("height", data=np.zeros((2, 3)))
    got = read_mintpy_velocity(velocity, geometry=geometry).set_index("pid")
    assert sorted(got.index) == ["r0c0", "r0c1", "r1c0", "r1c1"]  # NaN velocity, NaN latitude
    x, y = _to_3035("EPSG:4326", 16.31, 48.21)
    assert got.loc["r1c1", "easting"] == pytest.approx(x, abs=0.01)
    assert got.loc["r1c1", "northing"] == pytest.approx(y, abs=0.01)
    assert got.loc["r1c1", "mean_velocity"] == pytest.approx(-2.1, abs=1e-4)
    x0, y0 = _to_3035("EPSG:4326", 16.30, 48.20)
    inside = read_mintpy_velocity(
        velocity, geometry=geometry, aoi=box(x0 - 5, y0 - 5, x0 + 5, y0 + 5)
    )
    assert list(inside["pid"]) == ["r0c0"]


def test_bad_mintpy_files_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_mintpy_velocity(tmp_path / "nothing.h5")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(InvalidInputError, match="not a readable HDF5"):
        read_mintpy_velocity(text)
    geo = {"X_FIRST": "16.3", "Y_FIRST": "48.2", "X_STEP": "0.001", "Y_STEP": "-0.001"}
    other = _write(tmp_path / "ts.h5", geo, timeseries=np.zeros((3, 2, 3)))
    with pytest.raises(InvalidInputError, match="no dataset 'velocity'"):
        read_mintpy_velocity(other)
    with pytest.raises(InvalidInputError, match="3 dimensions"):
        read_mintpy_velocity(other, dataset="timeseries")
    radians = _write(tmp_path / "rad.h5", {**geo, "UNIT": "radian"}, velocity=VELOCITY)
    with pytest.raises(InvalidInputError, match="UNIT 'radian'"):
        read_mintpy_velocity(radians)
    metres = {**geo, "X_UNIT": "meters", "Y_UNIT": "meters"}
    with pytest.raises(InvalidInputError, match="neither EPSG nor UTM_ZONE"):
        read_mintpy_velocity(_write(tmp_path / "m.h5", metres, velocity=VELOCITY))
    wrong = _write(tmp_path / "std.h5", geo, velocity=VELOCITY, velocityStd=np.zeros((3, 3)))
    with pytest.raises(InvalidInputError, match="'velocityStd' has shape"):
        read_mintpy_velocity(wrong)
