"""CAP 1.2 documents of revisions (MeteoAlarm profile for heat), and a safe parser.

One revision is one CAP ``alert``: identifier ``<prefix>.<alert_key[:20]>.<revision>``; status
``Draft`` until a person approved it (``pending_approval``, ``rejected``, ``expired``), ``Actual``
once approved (``queued``, ``sent``, ``dead``); msgType ``Alert`` (revision 1), ``Update`` or
``Cancel`` (the clear), the latter two with ``references`` = "sender,identifier,sent" of the
previous revision. Times are written ``YYYY-MM-DDThh:mm:ss+hh:mm`` (no ``Z``, no fractions; UTC is
``-00:00`` as CAP 1.2 section 3.3.2 requires, or local time with ``timezone``). Text XML 1.0 cannot
carry is removed and reported (:class:`alerts.formats.xmltext.ControlCharactersRemovedWarning` from
:func:`to_xml`, the list from :func:`build_cap`).

References
----------
OASIS (2010). Common Alerting Protocol Version 1.2. urn:oasis:names:tc:emergency:cap:1.2.
EUMETNET MeteoAlarm (2019). CAP profile: parameters awareness_level and awareness_type.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from alerts.formats.areas import MAX_VERTICES, cap_polygons
from alerts.formats.xmltext import ControlCharactersRemovedWarning, Removal, clean_text
from alerts.model import Revision, RevisionStatus, cap_identifier
from core.errors import InvalidInputError

__all__ = [
    "CAP_NS",
    "DEFAULT_IDENTIFIER_PREFIX",
    "DEFAULT_SENDER",
    "LEVELS",
    "CapDocument",
    "build_cap",
    "cap_time",
    "parse_cap",
    "to_xml",
]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
DEFAULT_SENDER = "geospace@example.invalid"
DEFAULT_IDENTIFIER_PREFIX = "geospace"
SENDER_NAME = "geospace"

LEVELS: dict[int, tuple[str, str]] = {
    1: ("green", "Minor"),
    2: ("yellow", "Moderate"),
    3: ("orange", "Severe"),
    4: ("red", "Extreme"),
}
"""MeteoAlarm awareness level -> (colour, CAP severity)."""

# hazard -> (category, responseType, urgency when not computed, MeteoAlarm awareness_type or "")
_HAZARDS: dict[str, tuple[str, str, str, str]] = {
    "heat": ("Health", "Monitor", "", "5; high-temperature"),
    "irrigation": ("Env", "Execute", "Expected", ""),
    "deformation": ("Infra", "Assess", "Future", ""),
    "notice": ("Other", "None", "Unknown", ""),
}
_DRAFT = {RevisionStatus.PENDING_APPROVAL, RevisionStatus.REJECTED, RevisionStatus.EXPIRED}
_FORBIDDEN_ID = set(" ,<&")


@dataclass(frozen=True)
class CapDocument:
    """A serialised CAP alert and the characters removed from its text fields."""

    xml: bytes
    identifier: str
    removed: tuple[Removal, ...]


def cap_time(when: datetime, timezone: str | None = None) -> str:
    """``YYYY-MM-DDThh:mm:ss+hh:mm``; UTC as ``-00:00`` (CAP 1.2 3.3.2), or local in ``timezone``."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    if timezone is None:
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "-00:00"
    text = aware.astimezone(ZoneInfo(timezone)).replace(microsecond=0).isoformat()
    return text[:-6].split(".")[0] + text[-6:]


def _check_token(value: str, field: str) -> str:
    bad = sorted(_FORBIDDEN_ID.intersection(value))
    if not value or bad:
        raise InvalidInputError(
            f"CAP {field} {value!r} is empty or holds {bad}: CAP forbids spaces, commas, '<' and "
            "'&' there; configure a plain token such as 'geospace@city.example'"
        )
    return value


class _Builder:
    """Appends CAP elements, cleaning every text and collecting what was removed."""

    def __init__(self) -> None:
        self.removed: list[Removal] = []

    def add(self, parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            cleaned, removal = clean_text(str(text), tag)
            if removal is not None:
                self.removed.append(removal)
            el.text = cleaned
        return el

    def pair(self, parent: etree._Element, tag: str, name: str, value: str) -> None:
        el = self.add(parent, tag)
        self.add(el, "valueName", name)
        self.add(el, "value", value)


def _urgency(rev: Revision, default: str) -> str:
    if rev.msg_type == "Cancel":
        return "Past"
    if default:
        return default
    return "Expected" if rev.onset > rev.created_at else "Immediate"


def _headline(rev: Revision, event: str, area: str) -> str:
    colour = LEVELS[rev.level][0]
    if rev.msg_type == "Cancel":
        return f"Ended: {event} for {area}"
    return f"{colour.capitalize()} {event} for {area}"


def _info(b: _Builder, root: etree._Element, rev: Revision, lang: str, tz: str | None) -> None:
    category, response, urgency, awareness_type = _HAZARDS.get(rev.hazard, _HAZARDS["notice"])
    colour, severity = LEVELS[rev.level]
    event = str(rev.payload.get("event") or rev.hazard)
    area_name = rev.area_name or rev.subject_name or rev.subject_id
    info = b.add(root, "info")
    b.add(info, "language", lang)
    b.add(info, "category", category)
    b.add(info, "event", event)
    b.add(info, "responseType", "AllClear" if rev.msg_type == "Cancel" else response)
    b.add(info, "urgency", _urgency(rev, urgency))
    b.add(info, "severity", severity)
    b.add(info, "certainty", str(rev.certainty))
    b.add(info, "effective", cap_time(rev.created_at, tz))
    b.add(info, "onset", cap_time(rev.onset, tz))
    if rev.expires is not None:
        b.add(info, "expires", cap_time(rev.expires, tz))
    b.add(info, "senderName", SENDER_NAME)
    b.add(info, "headline", _headline(rev, event, area_name))
    b.add(info, "description", rev.summary or _headline(rev, event, area_name))
    if rev.instruction:
        b.add(info, "instruction", rev.instruction)
    b.pair(info, "parameter", "awareness_level", f"{rev.level}; {colour}; {severity}")
    if awareness_type:
        b.pair(info, "parameter", "awareness_type", awareness_type)
    b.pair(info, "parameter", "alert_key", rev.alert_key)
    b.pair(info, "parameter", "message_key", rev.message_key)
    b.pair(info, "parameter", "rule_version", rev.rule_version)
    area = b.add(info, "area")
    b.add(area, "areaDesc", area_name)
    for polygon in cap_polygons(rev.geometry, MAX_VERTICES):
        b.add(area, "polygon", polygon)
    if rev.emma_id:
        b.pair(area, "geocode", "EMMA_ID", rev.emma_id)


def build_cap(
    revision: Revision,
    *,
    sender: str = DEFAULT_SENDER,
    identifier_prefix: str = DEFAULT_IDENTIFIER_PREFIX,
    language: str = "en-GB",
    timezone: str | None = None,
) -> CapDocument:
    """The CAP 1.2 document of ``revision`` and the report of removed characters.

    Parameters
    ----------
    revision : Revision
        The revision to publish (any status; Draft until approved).
    sender : str
        CAP ``sender`` (no spaces, commas, ``<`` or ``&``).
    identifier_prefix : str
        Prefix of the CAP identifier (same restrictions).
    language : str
        RFC 3066 language of the ``info`` block.
    timezone : str, optional
        IANA zone to write local times in (e.g. ``"Europe/Vienna"``); UTC (``-00:00``) by default.
    """
    _check_token(sender, "sender")
    _check_token(identifier_prefix, "identifier prefix")
    identifier = cap_identifier(identifier_prefix, revision.alert_key, revision.revision)
    b = _Builder()
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    b.add(root, "identifier", identifier)
    b.add(root, "sender", sender)
    b.add(root, "sent", cap_time(revision.created_at, timezone))
    b.add(root, "status", "Draft" if revision.status in _DRAFT else "Actual")
    b.add(root, "msgType", revision.msg_type)
    if revision.hazard == "notice":
        b.add(root, "scope", "Restricted")
        b.add(root, "restriction", "Operators of the geospace alert service")
    else:
        b.add(root, "scope", "Public")
    if revision.msg_type != "Alert":
        b.add(root, "references", _references(revision, sender, identifier_prefix, timezone))
    _info(b, root, revision, language, timezone)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return CapDocument(xml=xml, identifier=identifier, removed=tuple(b.removed))


def _references(rev: Revision, sender: str, prefix: str, tz: str | None) -> str:
    if rev.revision < 2 or rev.previous_sent is None:
        raise InvalidInputError(
            f"revision {rev.message_key} is a CAP {rev.msg_type} but names no previous revision "
            "(previous_sent); build it with alerts.decide.rules.decide"
        )
    previous = rev.previous_identifier or cap_identifier(prefix, rev.alert_key, rev.revision - 1)
    return f"{sender},{previous},{cap_time(rev.previous_sent, tz)}"


def to_xml(
    revision: Revision,
    *,
    sender: str = DEFAULT_SENDER,
    identifier_prefix: str = DEFAULT_IDENTIFIER_PREFIX,
    language: str = "en-GB",
    timezone: str | None = None,
) -> bytes:
    """CAP 1.2 XML (UTF-8 bytes) of ``revision``; see :func:`build_cap` for the parameters.

    Warns :class:`~alerts.formats.xmltext.ControlCharactersRemovedWarning` naming the fields and code points
    when characters XML 1.0 cannot carry were removed.
    """
    doc = build_cap(
        revision,
        sender=sender,
        identifier_prefix=identifier_prefix,
        language=language,
        timezone=timezone,
    )
    if doc.removed:
        warnings.warn(
            f"CAP {doc.identifier}: characters XML 1.0 cannot carry were removed: "
            + "; ".join(map(str, doc.removed)),
            ControlCharactersRemovedWarning,
            stacklevel=2,
        )
    return doc.xml


def _children(el: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el:
        tag = child.tag.split("}", 1)[-1]
        if tag in ("parameter", "geocode", "eventCode"):
            name = child.findtext(f"{{{CAP_NS}}}valueName") or ""
            out.setdefault(tag, {})[name] = child.findtext(f"{{{CAP_NS}}}value") or ""
        elif tag in ("info", "area"):
            out.setdefault(tag, []).append(_children(child))
        elif tag in ("polygon", "circle", "category", "responseType"):
            out.setdefault(tag, []).append(child.text or "")
        else:
            out[tag] = child.text or ""
    return out


def parse_cap(xml_bytes: bytes) -> dict[str, Any]:
    """Parse a CAP 1.2 document safely (defusedxml) into nested dicts.

    Elements become keys by local name; ``info`` and ``area`` are lists of dicts; ``parameter`` and
    ``geocode`` are dicts valueName -> value; ``polygon``, ``category`` and ``responseType`` lists.
    """
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(xml_bytes)
    except Exception as err:  # defusedxml raises ParseError or its own DefusedXmlException
        raise InvalidInputError(f"not a well-formed, safe XML document: {err}") from err
    if root.tag != f"{{{CAP_NS}}}alert":
        raise InvalidInputError(f"root element is {root.tag!r}, not a CAP 1.2 alert ({CAP_NS})")
    return _children(root)
