"""Public facts about Vienna that the demo city is drawn from, as small readable tables.

Kind of source: approximate WGS84 coordinates of public landmarks (district centres, park centres,
U-Bahn stations, the course of the Danube), approximate park areas and district areas as published by
the City of Vienna (Stadt Wien open data, CC BY 4.0, used only as the kind of fact, never as files),
the 2017 U-Bahn network (lines, station order, termini) and rounded population counts on 1 January 2022
(Statistik Austria, CC BY 4.0). All values are written down from general knowledge and rounded; they
are close to, not equal to, the official figures. Coordinates are ``(longitude, latitude)`` in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

LonLat = tuple[float, float]

STEPHANSPLATZ: LonLat = (16.3725, 48.2085)

# Approximate city limits, clockwise from Leopoldsberg (Wienerwald crest, then the south, the
# Lobau, the Marchfeld in the east and north-east, back across the Danube at Langenzersdorf).
CITY_OUTLINE: tuple[LonLat, ...] = (
    (16.350, 48.280), (16.334, 48.277), (16.300, 48.273), (16.280, 48.266), (16.258, 48.258),
    (16.237, 48.252), (16.218, 48.243), (16.198, 48.238), (16.190, 48.226), (16.182, 48.214),
    (16.187, 48.200), (16.186, 48.185), (16.196, 48.168), (16.212, 48.152), (16.232, 48.140),
    (16.252, 48.132), (16.272, 48.128), (16.292, 48.122), (16.312, 48.118), (16.340, 48.126),
    (16.370, 48.122), (16.398, 48.124), (16.425, 48.130), (16.452, 48.138), (16.480, 48.148),
    (16.500, 48.160), (16.530, 48.152), (16.548, 48.158), (16.555, 48.168), (16.566, 48.190),
    (16.577, 48.208), (16.570, 48.228), (16.548, 48.250), (16.515, 48.268), (16.488, 48.282),
    (16.468, 48.300), (16.445, 48.316), (16.418, 48.322), (16.395, 48.313), (16.378, 48.302),
    (16.368, 48.292),
)  # fmt: skip


@dataclass(frozen=True)
class DistrictFact:
    """One of the 23 districts: official number and name, area (km2) and Voronoi seed points."""

    district_id: int
    name: str
    area_km2: float
    seeds: tuple[LonLat, ...]


# Seeds sit near the middle of each district's built-up or central part; large districts have
# several seeds so that their cells follow the district's shape.
DISTRICTS: tuple[DistrictFact, ...] = (
    DistrictFact(1, "Innere Stadt", 2.87, ((16.3700, 48.2085), (16.3620, 48.2085))),
    DistrictFact(
        2,
        "Leopoldstadt",
        19.24,
        ((16.3850, 48.2190), (16.4050, 48.2110), (16.4260, 48.2010), (16.4500, 48.1850)),
    ),
    DistrictFact(3, "Landstraße", 7.40, ((16.3900, 48.2000), (16.4020, 48.1900))),
    DistrictFact(4, "Wieden", 1.78, ((16.3680, 48.1925),)),
    DistrictFact(5, "Margareten", 2.01, ((16.3550, 48.1880),)),
    DistrictFact(6, "Mariahilf", 1.46, ((16.3500, 48.1960),)),
    DistrictFact(7, "Neubau", 1.61, ((16.3480, 48.2020),)),
    DistrictFact(8, "Josefstadt", 1.09, ((16.3480, 48.2100),)),
    DistrictFact(
        9, "Alsergrund", 2.97, ((16.3500, 48.2200), (16.3600, 48.2260), (16.3600, 48.2320))
    ),
    DistrictFact(
        10,
        "Favoriten",
        31.82,
        (
            (16.3770, 48.1750),
            (16.3800, 48.1600),
            (16.3850, 48.1420),
            (16.3600, 48.1450),
            (16.4150, 48.1330),
        ),
    ),
    DistrictFact(
        11,
        "Simmering",
        23.26,
        ((16.4250, 48.1750), (16.4500, 48.1650), (16.4800, 48.1580), (16.4500, 48.1450)),
    ),
    DistrictFact(12, "Meidling", 8.10, ((16.3300, 48.1760), (16.3250, 48.1650))),
    DistrictFact(
        13,
        "Hietzing",
        37.71,
        ((16.2950, 48.1800), (16.2700, 48.1750), (16.2300, 48.1700), (16.2050, 48.1800)),
    ),
    DistrictFact(
        14,
        "Penzing",
        33.76,
        ((16.3050, 48.2000), (16.2700, 48.2050), (16.2400, 48.2150), (16.2050, 48.2250)),
    ),
    DistrictFact(15, "Rudolfsheim-Fünfhaus", 3.92, ((16.3250, 48.1940),)),
    DistrictFact(16, "Ottakring", 8.67, ((16.3200, 48.2120), (16.2950, 48.2150))),
    DistrictFact(
        17,
        "Hernals",
        11.39,
        ((16.3300, 48.2230), (16.3050, 48.2310), (16.2800, 48.2420), (16.2600, 48.2520)),
    ),
    DistrictFact(18, "Währing", 6.35, ((16.3350, 48.2300), (16.3100, 48.2400))),
    DistrictFact(
        19,
        "Döbling",
        24.94,
        ((16.3500, 48.2450), (16.3300, 48.2550), (16.3100, 48.2620), (16.3400, 48.2700)),
    ),
    DistrictFact(20, "Brigittenau", 5.71, ((16.3700, 48.2370), (16.3800, 48.2300))),
    DistrictFact(
        21,
        "Floridsdorf",
        44.44,
        ((16.4000, 48.2600), (16.4200, 48.2800), (16.4300, 48.3000), (16.4600, 48.2750)),
    ),
    DistrictFact(
        22,
        "Donaustadt",
        102.30,
        (
            (16.4300, 48.2350),
            (16.4600, 48.2300),
            (16.5000, 48.2250),
            (16.5400, 48.2100),
            (16.5000, 48.1950),
            (16.5300, 48.1650),
            (16.4900, 48.2500),
        ),
    ),
    DistrictFact(
        23,
        "Liesing",
        32.06,
        ((16.3100, 48.1450), (16.2850, 48.1400), (16.2600, 48.1450), (16.3300, 48.1400)),
    ),
)

# Districts on the left (north-east) bank of the Danube; every other district lies on the right bank.
LEFT_BANK_DISTRICTS = frozenset({21, 22})

# Rounded population on 1 January 2022: (district_id, total, aged 65 and over, aged under 5).
POPULATION_2022: tuple[tuple[int, int, int, int], ...] = (
    (1, 16_000, 4_200, 500),
    (2, 105_000, 16_000, 5_200),
    (3, 94_000, 15_000, 4_300),
    (4, 33_000, 5_800, 1_400),
    (5, 54_000, 7_900, 2_200),
    (6, 31_000, 5_100, 1_100),
    (7, 31_000, 4_900, 1_200),
    (8, 24_000, 4_100, 800),
    (9, 41_000, 6_600, 1_600),
    (10, 212_000, 32_000, 12_000),
    (11, 106_000, 15_000, 6_200),
    (12, 98_000, 15_500, 4_900),
    (13, 54_000, 12_800, 2_500),
    (14, 93_000, 17_900, 4_300),
    (15, 76_000, 10_600, 3_300),
    (16, 102_000, 16_300, 4_700),
    (17, 56_000, 9_200, 2_700),
    (18, 51_000, 9_000, 2_400),
    (19, 74_000, 16_200, 3_200),
    (20, 85_000, 13_200, 4_000),
    (21, 178_000, 29_000, 10_300),
    (22, 204_000, 31_000, 10_900),
    (23, 115_000, 22_000, 6_500),
)


@dataclass(frozen=True)
class ParkFact:
    """A named park: centre, approximate area (ha), kind, and a rectangle's shape.

    ``elongation`` is length / width of the rectangle drawn for it and ``bearing_deg`` the direction
    of its long axis (degrees clockwise from north).
    """

    name: str
    centre: LonLat
    area_ha: float
    kind: str = "park"
    elongation: float = 1.5
    bearing_deg: float = 0.0


PARKS: tuple[ParkFact, ...] = (
    ParkFact("Prater", (16.4160, 48.2045), 560.0, "park", 3.6, 135.0),
    ParkFact("Schönbrunn Schlosspark", (16.3095, 48.1805), 120.0, "garden", 1.2, 90.0),
    ParkFact("Augarten", (16.3765, 48.2265), 52.0, "garden", 1.9, 160.0),
    ParkFact("Stadtpark", (16.3795, 48.2045), 6.5, "park", 4.0, 150.0),
    ParkFact("Volksgarten", (16.3605, 48.2085), 5.0, "garden", 1.8, 45.0),
    ParkFact("Burggarten", (16.3662, 48.2040), 3.8, "garden", 2.0, 45.0),
    ParkFact("Rathauspark", (16.3585, 48.2110), 3.8, "park", 1.5, 20.0),
    ParkFact("Resselpark", (16.3705, 48.2002), 4.0, "park", 2.8, 70.0),
    ParkFact("Belvedere Gardens", (16.3805, 48.1950), 15.0, "garden", 3.3, 170.0),
    ParkFact("Schweizergarten", (16.3845, 48.1875), 11.5, "park", 1.6, 120.0),
    ParkFact("Arenbergpark", (16.3910, 48.2005), 3.0, "park", 1.6, 0.0),
    ParkFact("Esterházypark", (16.3530, 48.1975), 1.1, "park", 1.5, 30.0),
    ParkFact("Sigmund-Freud-Park", (16.3595, 48.2145), 1.5, "park", 2.6, 20.0),
    ParkFact("Türkenschanzpark", (16.3315, 48.2365), 15.0, "park", 2.4, 80.0),
    ParkFact("Donaupark", (16.4100, 48.2415), 63.0, "park", 1.7, 135.0),
    ParkFact("Kurpark Oberlaa", (16.3935, 48.1415), 61.0, "park", 1.7, 70.0),
    ParkFact("Wertheimsteinpark", (16.3455, 48.2440), 6.2, "park", 1.8, 0.0),
    ParkFact("Auer-Welsbach-Park", (16.3280, 48.1890), 11.0, "park", 2.2, 100.0),
    ParkFact("Alois-Drasche-Park", (16.3625, 48.1870), 1.6, "park", 1.6, 0.0),
    ParkFact("Setagayapark", (16.3525, 48.2495), 0.5, "garden", 1.6, 0.0),
    ParkFact("Hugo-Wolf-Park", (16.3350, 48.2410), 5.7, "park", 1.6, 0.0),
    ParkFact("Lainzer Tiergarten", (16.2280, 48.1680), 2450.0, "forest", 1.4, 80.0),
    ParkFact("Volkspark Laaerberg", (16.3990, 48.1615), 20.0, "park", 1.2, 0.0),
    ParkFact("Helmut-Zilk-Park", (16.3765, 48.1820), 6.5, "park", 2.5, 135.0),
    ParkFact("Pötzleinsdorfer Schlosspark", (16.3045, 48.2420), 35.0, "park", 1.6, 60.0),
    ParkFact("Wasserpark", (16.3960, 48.2495), 14.0, "park", 1.8, 135.0),
    ParkFact("Herderpark", (16.4245, 48.1740), 4.0, "park", 1.6, 0.0),
    ParkFact("Liechtensteinpark", (16.3595, 48.2225), 2.5, "garden", 2.5, 0.0),
    ParkFact("Rudolf-Bednar-Park", (16.3925, 48.2255), 3.1, "park", 3.0, 45.0),
    ParkFact("Schönbornpark", (16.3505, 48.2095), 1.0, "park", 1.4, 0.0),
    ParkFact("Hamerlingpark", (16.3435, 48.2090), 0.6, "park", 1.3, 0.0),
    ParkFact("Weghuberpark", (16.3565, 48.2065), 0.9, "park", 2.0, 0.0),
    ParkFact("Märzpark", (16.3300, 48.1985), 1.5, "park", 1.5, 90.0),
)

# The 2017 U-Bahn network: stations of each line in order, first to last terminus.
UBAHN_LINES_2017: dict[str, tuple[str, ...]] = {
    "U1": (
        "Leopoldau", "Großfeldsiedlung", "Aderklaaer Straße", "Rennbahnweg", "Kagraner Platz",
        "Kagran", "Alte Donau", "Kaisermühlen-VIC", "Donauinsel", "Vorgartenstraße", "Praterstern",
        "Nestroyplatz", "Schwedenplatz", "Stephansplatz", "Karlsplatz", "Taubstummengasse",
        "Südtiroler Platz", "Keplerplatz", "Reumannplatz", "Troststraße", "Altes Landgut",
        "Alaudagasse", "Neulaa", "Oberlaa",
    ),
    "U2": (
        "Karlsplatz", "Museumsquartier", "Volkstheater", "Rathaus", "Schottentor", "Schottenring",
        "Taborstraße", "Praterstern", "Messe-Prater", "Krieau", "Stadion", "Donaumarina",
        "Donaustadtbrücke", "Stadlau", "Hardeggasse", "Donauspital", "Aspernstraße",
        "Hausfeldstraße", "Aspern Nord", "Seestadt",
    ),
    "U3": (
        "Ottakring", "Kendlerstraße", "Hütteldorfer Straße", "Johnstraße", "Schweglerstraße",
        "Westbahnhof", "Zieglergasse", "Neubaugasse", "Volkstheater", "Herrengasse",
        "Stephansplatz", "Stubentor", "Landstraße", "Rochusgasse", "Kardinal-Nagl-Platz",
        "Schlachthausgasse", "Erdberg", "Gasometer", "Zippererstraße", "Enkplatz", "Simmering",
    ),
    "U4": (
        "Hütteldorf", "Ober St. Veit", "Unter St. Veit", "Braunschweiggasse", "Hietzing",
        "Schönbrunn", "Meidling Hauptstraße", "Längenfeldgasse", "Margaretengürtel",
        "Pilgramgasse", "Kettenbrückengasse", "Karlsplatz", "Stadtpark", "Landstraße",
        "Schwedenplatz", "Schottenring", "Roßauer Lände", "Friedensbrücke", "Spittelau",
        "Heiligenstadt",
    ),
    "U6": (
        "Siebenhirten", "Perfektastraße", "Erlaaer Straße", "Alterlaa", "Am Schöpfwerk",
        "Tscherttegasse", "Philadelphiabrücke", "Niederhofstraße", "Längenfeldgasse",
        "Gumpendorfer Straße", "Westbahnhof", "Burggasse-Stadthalle", "Thaliastraße",
        "Josefstädter Straße", "Alser Straße", "Michelbeuern-AKH", "Währinger Straße-Volksoper",
        "Nußdorfer Straße", "Spittelau", "Jägerstraße", "Dresdner Straße", "Handelskai",
        "Neue Donau", "Floridsdorf",
    ),
}  # fmt: skip

# Approximate station locations (one point per station, shared by the lines serving it).
STATIONS: dict[str, LonLat] = {
    "Leopoldau": (16.4520, 48.2775), "Großfeldsiedlung": (16.4480, 48.2710),
    "Aderklaaer Straße": (16.4510, 48.2635), "Rennbahnweg": (16.4490, 48.2575),
    "Kagraner Platz": (16.4435, 48.2495), "Kagran": (16.4330, 48.2430),
    "Alte Donau": (16.4250, 48.2385), "Kaisermühlen-VIC": (16.4175, 48.2335),
    "Donauinsel": (16.4115, 48.2290), "Vorgartenstraße": (16.4005, 48.2250),
    "Praterstern": (16.3920, 48.2185), "Nestroyplatz": (16.3850, 48.2150),
    "Schwedenplatz": (16.3780, 48.2115), "Stephansplatz": (16.3722, 48.2085),
    "Karlsplatz": (16.3695, 48.2003), "Taubstummengasse": (16.3705, 48.1950),
    "Südtiroler Platz": (16.3745, 48.1870), "Keplerplatz": (16.3760, 48.1800),
    "Reumannplatz": (16.3775, 48.1745), "Troststraße": (16.3815, 48.1690),
    "Altes Landgut": (16.3850, 48.1605), "Alaudagasse": (16.3895, 48.1535),
    "Neulaa": (16.3935, 48.1470), "Oberlaa": (16.4000, 48.1425),
    "Museumsquartier": (16.3610, 48.2030), "Volkstheater": (16.3580, 48.2055),
    "Rathaus": (16.3555, 48.2110), "Schottentor": (16.3620, 48.2150),
    "Schottenring": (16.3720, 48.2170), "Taborstraße": (16.3815, 48.2190),
    "Messe-Prater": (16.4040, 48.2175), "Krieau": (16.4135, 48.2155),
    "Stadion": (16.4205, 48.2105), "Donaumarina": (16.4335, 48.2115),
    "Donaustadtbrücke": (16.4460, 48.2160), "Stadlau": (16.4515, 48.2195),
    "Hardeggasse": (16.4610, 48.2240), "Donauspital": (16.4700, 48.2275),
    "Aspernstraße": (16.4790, 48.2305), "Hausfeldstraße": (16.4920, 48.2335),
    "Aspern Nord": (16.5040, 48.2345), "Seestadt": (16.5085, 48.2265),
    "Ottakring": (16.3115, 48.2115), "Kendlerstraße": (16.3090, 48.2050),
    "Hütteldorfer Straße": (16.3115, 48.1995), "Johnstraße": (16.3200, 48.1975),
    "Schweglerstraße": (16.3285, 48.1975), "Westbahnhof": (16.3380, 48.1966),
    "Zieglergasse": (16.3465, 48.1970), "Neubaugasse": (16.3525, 48.1990),
    "Herrengasse": (16.3660, 48.2095), "Stubentor": (16.3800, 48.2070),
    "Landstraße": (16.3845, 48.2065), "Rochusgasse": (16.3915, 48.2025),
    "Kardinal-Nagl-Platz": (16.3960, 48.1985), "Schlachthausgasse": (16.4020, 48.1930),
    "Erdberg": (16.4140, 48.1915), "Gasometer": (16.4180, 48.1855),
    "Zippererstraße": (16.4155, 48.1795), "Enkplatz": (16.4150, 48.1745),
    "Simmering": (16.4200, 48.1700),
    "Hütteldorf": (16.2610, 48.1970), "Ober St. Veit": (16.2750, 48.1920),
    "Unter St. Veit": (16.2860, 48.1910), "Braunschweiggasse": (16.2955, 48.1895),
    "Hietzing": (16.3040, 48.1875), "Schönbrunn": (16.3195, 48.1860),
    "Meidling Hauptstraße": (16.3280, 48.1840), "Längenfeldgasse": (16.3355, 48.1847),
    "Margaretengürtel": (16.3435, 48.1885), "Pilgramgasse": (16.3545, 48.1925),
    "Kettenbrückengasse": (16.3585, 48.1965), "Stadtpark": (16.3795, 48.2025),
    "Roßauer Lände": (16.3675, 48.2225), "Friedensbrücke": (16.3645, 48.2275),
    "Spittelau": (16.3585, 48.2355), "Heiligenstadt": (16.3660, 48.2490),
    "Siebenhirten": (16.3100, 48.1305), "Perfektastraße": (16.3160, 48.1355),
    "Erlaaer Straße": (16.3190, 48.1410), "Alterlaa": (16.3155, 48.1505),
    "Am Schöpfwerk": (16.3215, 48.1580), "Tscherttegasse": (16.3255, 48.1655),
    "Philadelphiabrücke": (16.3335, 48.1745), "Niederhofstraße": (16.3365, 48.1795),
    "Gumpendorfer Straße": (16.3375, 48.1905), "Burggasse-Stadthalle": (16.3375, 48.2035),
    "Thaliastraße": (16.3385, 48.2075), "Josefstädter Straße": (16.3395, 48.2115),
    "Alser Straße": (16.3415, 48.2165), "Michelbeuern-AKH": (16.3435, 48.2215),
    "Währinger Straße-Volksoper": (16.3495, 48.2255), "Nußdorfer Straße": (16.3530, 48.2315),
    "Jägerstraße": (16.3680, 48.2385), "Dresdner Straße": (16.3775, 48.2420),
    "Handelskai": (16.3850, 48.2420), "Neue Donau": (16.3925, 48.2470),
    "Floridsdorf": (16.4005, 48.2565),
}  # fmt: skip

# Course of the Danube (centre line, north-west to south-east) and its width in metres; the Neue
# Donau runs parallel on its north-east side, the Donauinsel (about 21 km) between the two.
DANUBE_COURSE: tuple[LonLat, ...] = (
    (16.3560, 48.2880), (16.3680, 48.2700), (16.3780, 48.2560), (16.3880, 48.2440), (16.4085, 48.2275),
    (16.4380, 48.2150), (16.4580, 48.2000), (16.4780, 48.1850), (16.4950, 48.1700), (16.5200, 48.1550),
    (16.5500, 48.1420),
)  # fmt: skip
DANUBE_WIDTH_M = 300.0
NEUE_DONAU_WIDTH_M = 200.0
DONAUINSEL_WIDTH_M = 210.0
DONAUINSEL_LENGTH_M = 21_000.0

# Donaukanal from Nussdorf through the centre to its mouth near the Praterspitz; about 50 m wide.
DONAUKANAL_COURSE: tuple[LonLat, ...] = (
    (16.3690, 48.2580), (16.3640, 48.2480), (16.3600, 48.2380), (16.3630, 48.2290), (16.3690, 48.2210),
    (16.3780, 48.2130), (16.3870, 48.2095), (16.4000, 48.2010), (16.4140, 48.1925), (16.4300, 48.1830),
    (16.4500, 48.1750), (16.4700, 48.1690),
)  # fmt: skip
DONAUKANAL_WIDTH_M = 50.0

# Alte Donau, the old arm north of the Danube around Kaisermühlen; about 200 m wide.
ALTE_DONAU_COURSE: tuple[LonLat, ...] = (
    (16.4020, 48.2500), (16.4150, 48.2460), (16.4240, 48.2400), (16.4280, 48.2330), (16.4300, 48.2250),
    (16.4360, 48.2180),
)  # fmt: skip
ALTE_DONAU_WIDTH_M = 200.0

# Forest: the Wienerwald edge in the west and north-west, the Lobau in the south-east.
FORESTS: dict[str, tuple[LonLat, ...]] = {
    "Wienerwald Kahlenberg and Hermannskogel": (
        (16.348, 48.279), (16.334, 48.277), (16.300, 48.273), (16.280, 48.266), (16.258, 48.258),
        (16.237, 48.252), (16.225, 48.247), (16.245, 48.243), (16.270, 48.250), (16.300, 48.258),
        (16.322, 48.264), (16.342, 48.268),
    ),
    "Wienerwald Hadersdorf-Weidlingau": (
        (16.198, 48.238), (16.190, 48.226), (16.182, 48.214), (16.187, 48.205), (16.215, 48.208),
        (16.240, 48.215), (16.250, 48.226), (16.232, 48.236),
    ),
    "Lainzer Tiergarten": (
        (16.190, 48.190), (16.215, 48.191), (16.245, 48.188), (16.262, 48.180), (16.268, 48.165),
        (16.258, 48.150), (16.235, 48.146), (16.212, 48.152), (16.196, 48.166), (16.188, 48.180),
    ),
    "Lobau": (
        (16.468, 48.196), (16.490, 48.198), (16.515, 48.190), (16.540, 48.176), (16.552, 48.160),
        (16.546, 48.147), (16.522, 48.156), (16.500, 48.168), (16.480, 48.180),
    ),
}  # fmt: skip
