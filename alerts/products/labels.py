"""Words and colours the parks-team products share: class names, column headers (en/de), colours.

Constants only (no settings): one place so the CSV, the PNG map and the HTML page say the same thing.
"""

from __future__ import annotations

from core.errors import InvalidInputError
from indices.park_table import Col

LANGUAGES = ("en", "de")

CLASS_NAMES: dict[str, dict[int, str]] = {
    "en": {1: "urgent", 2: "high", 3: "watch", 4: "none"},
    "de": {1: "dringend", 2: "hoch", 3: "beobachten", 4: "keine"},
}
DATA_GAP_NAME = {"en": "DATA_GAP (not enough clear sky)", "de": "DATA_GAP (zu wenig Klarsicht)"}

# ColorBrewer-like, readable for common colour-vision deficiencies (red/orange/yellow/blue-green).
CLASS_COLOURS: dict[int, str] = {1: "#d7191c", 2: "#fdae61", 3: "#ffffbf", 4: "#2c7bb6"}
DATA_GAP_COLOUR = "#bdbdbd"
ANOMALY_CMAP = "BrBG"
ANOMALY_RANGE = (-0.2, 0.2)  # fixed NDVI anomaly colour range so weeks compare

# product column -> header, per language
HEADERS: dict[str, dict[str, str]] = {
    "en": {
        "rank": "Rank",
        "name": "Park",
        Col.PARK_ID: "Park ID",
        "priority": "Priority",
        "why": "Why",
        "status": "Status",
        "score": "Score",
        Col.NDMI_ANOMALY: "NDMI anomaly",
        Col.NDVI_ANOMALY: "NDVI anomaly",
        Col.EVI_ANOMALY: "EVI anomaly",
        "stressed_pct": "Stressed area (%)",
        "clear_pct": "Clear sky (%)",
        Col.LAST_CLEAR_DATE: "Last clear date",
        Col.HEAT_EXPOSURE: "Heat exposure",
    },
    "de": {
        "rank": "Rang",
        "name": "Park",
        Col.PARK_ID: "Park-ID",
        "priority": "Priorität",
        "why": "Grund",
        "status": "Status",
        "score": "Punktzahl",
        Col.NDMI_ANOMALY: "NDMI-Anomalie",
        Col.NDVI_ANOMALY: "NDVI-Anomalie",
        Col.EVI_ANOMALY: "EVI-Anomalie",
        "stressed_pct": "Gestresste Fläche (%)",
        "clear_pct": "Klarsicht-Anteil (%)",
        Col.LAST_CLEAR_DATE: "Letztes klares Datum",
        Col.HEAT_EXPOSURE: "Hitzebelastung",
    },
}
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Irrigation priority",
        "window": "Window",
        "no_clear": "No clear observation in this window",
        "anomaly": "NDVI anomaly (now - reference median)",
        "clear_note": "Parks with less than {pct} % clear sky in the window are DATA_GAP (grey, hatched).",
    },
    "de": {
        "title": "Bewässerungspriorität",
        "window": "Zeitraum",
        "no_clear": "Keine klare Beobachtung in diesem Zeitraum",
        "anomaly": "NDVI-Anomalie (jetzt - Referenzmedian)",
        "clear_note": "Parks mit weniger als {pct} % Klarsicht im Zeitraum: DATA_GAP (grau, schraffiert).",
    },
}


def check_language(language: str) -> str:
    """Return ``language`` if it is ``"en"`` or ``"de"``; raise InvalidInputError otherwise."""
    if language not in LANGUAGES:
        raise InvalidInputError(f"language {language!r} is not supported; use 'en' or 'de'")
    return language


def priority_label(cls: object, language: str) -> str:
    """``"1 urgent"`` / ``"1 dringend"``; ``""`` for a park without a class."""
    if cls is None or not isinstance(cls, int | float) or cls != cls:
        return ""
    return f"{int(cls)} {CLASS_NAMES[language][int(cls)]}"
