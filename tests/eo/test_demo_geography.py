"""The demo city's vector geography: structure, the --small variant, written layers, real-data checks."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point

from eo.demo.geography import Geography, district_population, small_extent, vienna_geography
from eo.demo.vectors import notice_text, write_layers
from tests.conftest import shared_file

OFFICIAL_NAMES = {
    1: "Innere Stadt", 2: "Leopoldstadt", 3: "Landstraße", 4: "Wieden", 5: "Margareten",
    6: "Mariahilf", 7: "Neubau", 8: "Josefstadt", 9: "Alsergrund", 10: "Favoriten",
    11: "Simmering", 12: "Meidling", 13: "Hietzing", 14: "Penzing", 15: "Rudolfsheim-Fünfhaus",
    16: "Ottakring", 17: "Hernals", 18: "Währing", 19: "Döbling", 20: "Brigittenau",
    21: "Floridsdorf", 22: "Donaustadt", 23: "Liesing",
}  # fmt: skip
# The 2017 network (U1 reached Oberlaa in September 2017, U2 ran Karlsplatz - Seestadt).
TERMINI = {
    "U1": ("Leopoldau", "Oberlaa"),
    "U2": ("Karlsplatz", "Seestadt"),
    "U3": ("Ottakring", "Simmering"),
    "U4": ("Hütteldorf", "Heiligenstadt"),
    "U6": ("Siebenhirten", "Floridsdorf"),
}
INTERCHANGES = {
    "Karlsplatz": {"U1", "U2", "U4"},
    "Stephansplatz": {"U1", "U3"},
    "Schwedenplatz": {"U1", "U4"},
    "Praterstern": {"U1", "U2"},
    "Volkstheater": {"U2", "U3"},
    "Schottenring": {"U2", "U4"},
    "Westbahnhof": {"U3", "U6"},
    "Landstraße": {"U3", "U4"},
    "Längenfeldgasse": {"U4", "U6"},
    "Spittelau": {"U4", "U6"},
}
LAYERS = ("districts", "parks", "corridors", "stations", "water", "forest", "boundary")


@pytest.fixture(scope="module")
def geo() -> Geography:
    return vienna_geography()


@pytest.fixture(scope="module")
def small() -> Geography:
    return vienna_geography(small=True)


def _boundary(g: Geography) -> shapely.Geometry:
    assert len(g.boundary) == 1
    return g.boundary.geometry.iloc[0]


def test_every_layer_is_in_utm_33n(geo: Geography) -> None:
    for name in LAYERS:
        frame = getattr(geo, name)
        assert frame.crs.to_epsg() == 32633, name
        assert len(frame) > 0, name
        assert frame.is_valid.all(), name
        assert not frame.geometry.is_empty.any(), name


def test_city_is_about_the_size_of_vienna(geo: Geography) -> None:
    # Vienna covers 414.9 km2; a hand-drawn outline should be within 15 %.
    assert _boundary(geo).area / 1e6 == pytest.approx(415, rel=0.15)


def test_23_districts_tile_the_boundary(geo: Geography) -> None:
    districts = geo.districts
    assert dict(zip(districts["district_id"], districts["name"], strict=True)) == OFFICIAL_NAMES
    assert districts["district_id"].is_unique
    for a, b in itertools.combinations(districts.geometry, 2):
        assert a.intersection(b).area < 1.0
    boundary = _boundary(geo)
    assert districts.geometry.area.sum() == pytest.approx(boundary.area, rel=1e-6)
    assert shapely.union_all(list(districts.geometry)).symmetric_difference(boundary).area < 10.0


def test_districts_have_plausible_sizes(geo: Geography) -> None:
    area = dict(zip(geo.districts["district_id"], geo.districts.geometry.area / 1e6, strict=True))
    assert max(area, key=lambda k: area[k]) == 22  # Donaustadt is by far the largest
    assert all(area[d] < 5.0 for d in range(4, 9))  # the small inner districts
    assert all(area[d] > 15.0 for d in (10, 13, 14, 21, 22, 23))


def test_parks_are_named_valid_and_inside_the_city(geo: Geography) -> None:
    parks = geo.parks
    assert len(parks) >= 20
    assert parks["park_id"].is_unique
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", p) for p in parks["park_id"])
    assert set(parks["kind"]) <= {"park", "forest", "garden"}
    assert parks["district_id"].between(1, 23).all()
    boundary = _boundary(geo).buffer(1.0)
    assert parks.geometry.within(boundary).all()
    ha = dict(zip(parks["name"], parks.geometry.area / 1e4, strict=True))
    assert all(0.3 <= a <= 3000 for a in ha.values())
    assert 300 < ha["Prater"] < 700
    assert 3 < ha["Stadtpark"] < 15
    assert 30 < ha["Augarten"] < 70
    tiergarten = parks.loc[parks["name"] == "Lainzer Tiergarten"].iloc[0]
    assert tiergarten["kind"] == "forest"
    assert 1500 < tiergarten.geometry.area / 1e4 < 3000


def test_park_district_is_where_the_park_lies(geo: Geography) -> None:
    districts = geo.districts.set_index("district_id").geometry
    for _, park in geo.parks.iterrows():
        assert districts[park["district_id"]].contains(park.geometry.representative_point())


def test_lines_pass_through_their_stations_in_order(geo: Geography) -> None:
    lines = geo.corridors.set_index("corridor_id")
    assert set(lines.index) == set(TERMINI)
    assert (lines["kind"] == "metro").all()
    located = geo.stations.set_index("name").geometry
    for _, station in geo.stations.iterrows():
        for line in station["lines"].split(","):
            assert lines.geometry[line].distance(station.geometry) < 1e-6, (station["name"], line)
    for line, (first, last) in TERMINI.items():
        coords = list(lines.geometry[line].coords)
        assert Point(coords[0]).distance(located[first]) < 1e-6
        assert Point(coords[-1]).distance(located[last]) < 1e-6


def test_interchanges_are_the_2017_ones(geo: Geography) -> None:
    stations = geo.stations
    assert stations["station_id"].is_unique
    served = {
        n: set(ls.split(",")) for n, ls in zip(stations["name"], stations["lines"], strict=True)
    }
    assert {n: ls for n, ls in served.items() if len(ls) > 1} == INTERCHANGES
    assert len(stations) > 90  # about a hundred stations in 2017


def test_water_layer(geo: Geography) -> None:
    water = geo.water
    assert set(water["kind"]) == {"river", "canal", "lake", "island"}
    by_name = water.set_index("name").geometry
    assert {"Donau", "Neue Donau", "Donauinsel", "Donaukanal", "Alte Donau"} <= set(by_name.index)
    island = by_name["Donauinsel"]
    # about 21 km long: area / width with the width taken from the stated ~210 m
    assert 17 < island.area / 210.0 / 1000 < 23
    assert island.intersection(by_name["Donau"]).area < 1.0
    wet = shapely.union_all([by_name["Donau"], by_name["Donaukanal"], by_name["Alte Donau"]])
    assert shapely.union_all(list(geo.parks.geometry)).intersection(wet).area < 1.0


def test_forest_layer(geo: Geography) -> None:
    names = " ".join(geo.forest["name"])
    assert "Lainzer Tiergarten" in names and "Lobau" in names and "Wienerwald" in names
    west = _boundary(geo).centroid.x
    assert (geo.forest.geometry.area > 1e6).all()
    assert (geo.forest.geometry.centroid.x < west).sum() >= 2


def test_geography_is_deterministic(geo: Geography) -> None:
    again = vienna_geography()
    for name in LAYERS:
        assert getattr(again, name).geometry.equals(getattr(geo, name).geometry), name


def test_small_variant_is_5_km_around_stephansplatz(geo: Geography, small: Geography) -> None:
    boundary = _boundary(small)
    minx, miny, maxx, maxy = boundary.bounds
    assert maxx - minx == pytest.approx(5000, abs=1) and maxy - miny == pytest.approx(5000, abs=1)
    stephansplatz = geo.stations.set_index("name").geometry["Stephansplatz"]
    assert boundary.centroid.distance(stephansplatz) < 100
    assert boundary.equals(small_extent())
    kept = set(small.districts["district_id"])
    assert set(range(1, 10)) <= kept and {13, 21, 23}.isdisjoint(kept)  # inner in, outer out
    assert small.districts.geometry.area.sum() == pytest.approx(boundary.area, rel=1e-6)
    assert len(small.parks) >= 8
    for name in LAYERS:
        frame = getattr(small, name)
        assert frame.geometry.within(boundary.buffer(1.0)).all(), name
        assert frame.is_valid.all() and not frame.geometry.is_empty.any(), name
    assert {"Stephansplatz", "Karlsplatz", "Praterstern"} <= set(small.stations["name"])


def test_population_table() -> None:
    pop = district_population()
    assert list(pop.columns) == [
        "district_id",
        "name",
        "total",
        "age_65_plus",
        "under_5",
        "area_km2",
    ]
    assert dict(zip(pop["district_id"], pop["name"], strict=True)) == OFFICIAL_NAMES
    # Vienna had about 1.93 million inhabitants on 1 January 2022 and covers 414.9 km2.
    assert pop["total"].sum() == pytest.approx(1.93e6, rel=0.02)
    assert pop["area_km2"].sum() == pytest.approx(414.9, rel=0.01)
    assert ((pop["age_65_plus"] < pop["total"] / 3) & (pop["under_5"] < pop["total"] / 10)).all()


def test_notice_names_sources_and_says_synthetic() -> None:
    text = notice_text()
    assert "SYNTHETIC" in text.upper()
    for needle in ("CC BY 4.0", "Statistik Austria", "Stadt Wien", "2017", "2022", "Danube"):
        assert needle in text


def test_written_layers_are_readable_and_labelled(small: Geography, tmp_path: Path) -> None:
    write_layers(small, tmp_path / "layers")
    out = tmp_path / "layers"
    for name in LAYERS:
        path = out / f"{name}.geojson"
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["geospace:synthetic"] is True
        assert "synthetic" in document["description"].lower()
        assert document["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::32633"
        frame = gpd.read_file(path)
        assert frame.crs.to_epsg() == 32633, name
        expected = getattr(small, name)
        assert len(frame) == len(expected), name
        if len(expected):  # an empty layer (no forest near the centre) carries no columns
            assert set(expected.columns) <= set(frame.columns), name
    parks = gpd.read_file(out / "parks.geojson")
    assert list(parks["park_id"]) == list(small.parks["park_id"])
    pop = pd.read_csv(out / "population.csv")
    assert list(pop.columns) == [
        "district_id",
        "name",
        "total",
        "age_65_plus",
        "under_5",
        "area_km2",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.geojson" for n in LAYERS] + ["population.csv"]
    )  # no temporary files left behind


# --- real data (../shared/data/vienna): the demo is built from facts, and checked against data ---


def _norm(name: str) -> str:
    """Station name for matching: before ' bzw.' or ' / ', lower case, ASCII, letters only."""
    name = re.split(r" bzw\.| / ", name)[0].lower().replace("sankt", "st")
    for umlaut, ascii_ in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        name = name.replace(umlaut, ascii_)
    return re.sub(r"[^a-z0-9]", "", name)


def test_district_points_fall_in_the_real_districts(geo: Geography) -> None:
    real = gpd.read_file(shared_file("vienna", "BEZIRKSGRENZEOGD.json")).to_crs(32633)
    real_by_id = {int(n): g for n, g in zip(real["BEZNR"], real.geometry, strict=True)}
    assert set(real_by_id) == set(OFFICIAL_NAMES)
    for _, district in geo.districts.iterrows():
        point = district.geometry.representative_point()
        assert real_by_id[district["district_id"]].contains(point), district["name"]


def test_termini_and_interchanges_are_within_500_m_of_the_real_stations(geo: Geography) -> None:
    real = gpd.read_file(shared_file("vienna", "UBAHNOGD_UBAHNHALTOGD_2017.json"))
    real = real.loc[real.geom_type == "Point"].to_crs(32633)
    real_points: dict[str, list[shapely.Geometry]] = {}
    for name, point in zip(real["HTXT"], real.geometry, strict=True):
        real_points.setdefault(_norm(name), []).append(point)
    checked = {s for pair in TERMINI.values() for s in pair} | set(INTERCHANGES)
    demo = geo.stations.set_index("name").geometry
    for name in sorted(checked):
        candidates = real_points[_norm(name)]
        assert min(p.distance(demo[name]) for p in candidates) < 500.0, name


def test_population_is_close_to_the_published_counts() -> None:
    real = pd.read_csv(shared_file("vienna", "vienna_districts_population_2022.csv"))
    real_total = dict(zip(real["CityKennziffer"] // 100 - 900, real["pop_total"], strict=True))
    for _, row in district_population().iterrows():
        assert row["total"] == pytest.approx(real_total[row["district_id"]], rel=0.05), row["name"]
