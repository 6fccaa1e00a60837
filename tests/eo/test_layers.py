"""Layers are read from OGR sources and refused, with the fix, when ids or geometries are bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InvalidInputError
from eo.layers import read_layer, read_table

SQUARE = [[16.36, 48.20], [16.37, 48.20], [16.37, 48.21], [16.36, 48.21], [16.36, 48.20]]
BOWTIE = [[16.36, 48.20], [16.37, 48.21], [16.37, 48.20], [16.36, 48.21], [16.36, 48.20]]


def _write(tmp_path: Path, features: list[dict]) -> str:
    path = tmp_path / "parks.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return str(path)


def _feature(park_id: object, ring: list, name: str = "Stadtpark") -> dict:
    return {
        "type": "Feature",
        "properties": {"park_id": park_id, "name": name},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_reads_and_projects(tmp_path: Path) -> None:
    source = _write(
        tmp_path, [_feature("stadtpark", SQUARE), _feature("waehringer-park", SQUARE, "Währinger Park")]
    )
    layer = read_layer(
        source, id_field="park_id", name_field="name", crs="EPSG:32633", layer="parks"
    )
    assert list(layer["id"]) == ["stadtpark", "waehringer-park"]
    assert list(layer["name"]) == ["Stadtpark", "Währinger Park"]
    assert layer.crs.to_epsg() == 32633
    # ~740 m x 1110 m at 48.2 N: an independent order of magnitude for the projected area.
    assert 7e5 < layer.geometry.iloc[0].area < 9e5


@pytest.mark.parametrize(
    ("features", "kwargs", "message"),
    [
        ([_feature("a", BOWTIE)], {}, "1 invalid geometries \\(a: Self-intersection"),
        ([_feature("a", SQUARE)], {"id_field": "objectid"}, "has no id field 'objectid'"),
        ([_feature("a", SQUARE), _feature("a", SQUARE)], {}, "duplicate values \\['a'\\]"),
        ([_feature("a", SQUARE)], {"name_field": "label"}, "has no name field 'label'"),
        ([], {}, "has no features"),
    ],
)
def test_bad_layers_are_refused(tmp_path: Path, features: list, kwargs: dict, message: str) -> None:
    options = {
        "id_field": "park_id",
        "name_field": "name",
        "crs": "EPSG:32633",
        "layer": "parks",
    } | kwargs
    with pytest.raises(InvalidInputError, match=message):
        read_layer(_write(tmp_path, features), **options)


def test_missing_layer_and_table(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"does not exist; fix layers\.parks\.path"):
        read_layer(
            str(tmp_path / "nope.geojson"),
            id_field="id",
            name_field=None,
            crs="EPSG:32633",
            layer="parks",
        )
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_table(str(tmp_path / "nope.csv"), id_field="district_id", layer="population")
    table = tmp_path / "pop.csv"
    table.write_text("district_id,total\n1,16000\n")
    assert (
        read_table(str(table), id_field="district_id", layer="population")["total"].iloc[0] == 16000
    )
    with pytest.raises(InvalidInputError, match="no id field 'bezirk'"):
        read_table(str(table), id_field="bezirk", layer="population")


def test_numeric_ids_become_strings(tmp_path: Path) -> None:
    source = _write(tmp_path, [_feature(7, SQUARE), _feature(12, SQUARE, "Auer-Welsbach-Park")])
    layer = read_layer(source, id_field="park_id", name_field=None, crs="EPSG:32633", layer="parks")
    assert list(layer["id"]) == ["7", "12"] and list(layer["name"]) == ["7", "12"]
