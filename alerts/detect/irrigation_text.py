"""The words of the irrigation "why", in English and German (the parks teams print either).

Templates use ``str.format`` fields; numbers are formatted by the caller's template. German follows
the city's usage: decimal comma, "Referenz" for the reference years' median.
"""

from __future__ import annotations

WHY: dict[str, dict[str, str]] = {
    "en": {
        "moisture": "moisture (NDMI)",
        "greenness_evi": "greenness (EVI)",
        "greenness_ndvi": "greenness (NDVI)",
        "at_median": "{label} at the {reference} median",
        "below": "{label} {value} below the {reference} median",
        "above": "{label} {value} above the {reference} median",
        "stressed": "{pct} % of the clear area stressed",
        "heat": "; heat exposure {value}",
        "persistent": "; stressed for {days} days",
        "no_stress": "no water stress: {phrase}",
        "partly_seen": " (partly seen: {pct} % of the park clear)",
        "no_clear": "no clear observation in this window",
        "few_clear": "only {pct} % of the park seen clear in the window (minimum {minimum} %)",
        "few_dates": "only {n} clear date{plural} in the window (minimum {minimum})",
        "thin_reference": "the {reference} reference saw only {pct} % of the park clear "
        "(minimum {minimum} %)",
        "no_reference": "no {reference} reference median for this park",
        "gap_default": "not enough clear observations in the window",
        "no_inputs": "no NDMI, NDVI, EVI or stressed share known for this park",
    },
    "de": {
        "moisture": "Feuchte (NDMI)",
        "greenness_evi": "Grünheit (EVI)",
        "greenness_ndvi": "Grünheit (NDVI)",
        "at_median": "{label} auf dem Median {reference}",
        "below": "{label} {value} unter dem Median {reference}",
        "above": "{label} {value} über dem Median {reference}",
        "stressed": "{pct} % der klar gesehenen Fläche gestresst",
        "heat": "; Hitzebelastung {value}",
        "persistent": "; seit {days} Tagen gestresst",
        "no_stress": "kein Wasserstress: {phrase}",
        "partly_seen": " (teilweise gesehen: {pct} % des Parks klar)",
        "no_clear": "keine klare Beobachtung in diesem Zeitfenster",
        "few_clear": "nur {pct} % des Parks im Zeitfenster klar gesehen (Minimum {minimum} %)",
        "few_dates": "nur {n} klare{plural} Aufnahme{plural} im Zeitfenster (Minimum {minimum})",
        "thin_reference": "die Referenz {reference} sah nur {pct} % des Parks klar "
        "(Minimum {minimum} %)",
        "no_reference": "kein Referenzmedian {reference} für diesen Park",
        "gap_default": "zu wenige klare Beobachtungen im Zeitfenster",
        "no_inputs": "weder NDMI, NDVI, EVI noch Stressanteil für diesen Park bekannt",
    },
}


def number(value: float, language: str) -> str:
    """``0.12`` in English, ``0,12`` in German."""
    text = f"{value:.2f}"
    return text.replace(".", ",") if language == "de" else text


def plural(n: int, language: str) -> str:
    """The plural ending of "date" ("s") or of "klare Aufnahme" ("n")."""
    if n == 1:
        return ""
    return "n" if language == "de" else "s"
