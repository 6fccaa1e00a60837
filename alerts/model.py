"""Values of the alert chain: findings (evidence), events and their revisions (outbound messages).

A :class:`Finding` is one window of evidence about one subject. Rules (``alerts/decide/rules.py``) turn the
findings history of a subject into an :class:`Event` identified by :func:`alert_key`, which changes
by :class:`Revision` s; each revision is one outbound message identified by :func:`message_key`
(DESIGN section 5).

Keys (documented formula, reproduced independently in the tests):

- ``alert_key = sha256(json.dumps([hazard, subject_id, event_start], separators=(",", ":"),
  ensure_ascii=False).encode("utf-8")).hexdigest()`` with ``event_start`` in UTC as
  ``YYYY-MM-DDThh:mm:ss+00:00`` (naive datetimes are UTC; a date is its midnight UTC);
- ``message_key = sha256(json.dumps([alert_key, revision], separators=(",", ":")).encode()).hexdigest()``;
- CAP ``identifier = f"{prefix}.{alert_key[:20]}.{revision}"``.

The JSON array encoding makes the keys unambiguous whatever characters the fields contain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from core.errors import InvalidInputError
from core.status import SubjectStatus

__all__ = [
    "NOTICE_HAZARD",
    "Certainty",
    "Event",
    "Finding",
    "Revision",
    "RevisionKind",
    "RevisionStatus",
    "alert_key",
    "cap_identifier",
    "irrigation_level",
    "message_key",
    "utc_iso",
]

NOTICE_HAZARD = "notice"
"""Hazard name of operator notices (DATA_GAP, dead rows): revisions of their own."""


class RevisionStatus(StrEnum):
    """Delivery state of a revision: pending_approval -> queued -> sent, or a terminal state."""

    PENDING_APPROVAL = "pending_approval"
    QUEUED = "queued"
    SENT = "sent"
    REJECTED = "rejected"
    EXPIRED = "expired"
    DEAD = "dead"


class RevisionKind(StrEnum):
    """Why a revision was produced."""

    NEW = "new"
    LEVEL_CHANGE = "level_change"
    NEW_EVIDENCE = "new_evidence"
    RULE_VERSION_CHANGE = "rule_version_change"
    CLEAR = "clear"
    NOTICE = "notice"


class Certainty(StrEnum):
    """CAP certainty: Possible (forecast only) < Likely (satellite, persistent) < Observed."""

    POSSIBLE = "Possible"
    LIKELY = "Likely"
    OBSERVED = "Observed"

    def lower(self) -> Certainty:
        """One step less certain (Possible stays Possible): how DEGRADED coverage is expressed."""
        order = list(Certainty)
        return order[max(order.index(self) - 1, 0)]


def _utc(when: datetime | date) -> datetime:
    """``when`` as an aware UTC datetime in whole seconds (CAP times carry no fractions)."""
    if not isinstance(when, datetime):
        return datetime(when.year, when.month, when.day, tzinfo=UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).replace(microsecond=0)


def utc_iso(when: datetime | date) -> str:
    """``when`` in UTC as ``YYYY-MM-DDThh:mm:ss+00:00`` (naive = UTC, a date = its midnight)."""
    return _utc(when).isoformat(timespec="seconds")


def _sha256_json(items: list[Any]) -> str:
    text = json.dumps(items, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def alert_key(hazard: str, subject_id: str, event_start: datetime | date) -> str:
    """Identity of an event: sha256 of ``[hazard, subject_id, utc_iso(event_start)]`` (hex).

    Parameters
    ----------
    hazard : str
        ``"irrigation"``, ``"heat"``, ``"deformation"`` or ``"notice"``.
    subject_id : str
        Park, district block or corridor segment id (for notices: the subject the notice is about).
    event_start : datetime or date
        Start of the first window in which the subject entered the alert state (persisted).
    """
    return _sha256_json([str(hazard), str(subject_id), utc_iso(event_start)])


def message_key(alert_key: str, revision: int) -> str:
    """Identity of one outbound message: sha256 of ``[alert_key, revision]`` (hex)."""
    if int(revision) < 1:
        raise InvalidInputError(f"revision must be >= 1, got {revision!r}")
    return _sha256_json([str(alert_key), int(revision)])


def cap_identifier(prefix: str, alert_key: str, revision: int) -> str:
    """CAP ``identifier``: ``<prefix>.<alert_key[:20]>.<revision>``."""
    return f"{prefix}.{alert_key[:20]}.{int(revision)}"


def irrigation_level(priority_class: int) -> int:
    """Alert level of an irrigation priority class p (1 urgent ... 4 none): ``5 - p``."""
    p = int(priority_class)
    if p not in (1, 2, 3, 4):
        raise InvalidInputError(
            f"irrigation priority class must be 1 (urgent) .. 4 (none), got {priority_class!r}"
        )
    return 5 - p


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _utc(value)
    return _utc(datetime.fromisoformat(str(value)))


def _json_copy(value: Any, name: str, key: str) -> Any:
    """A deep copy through JSON: lists for tuples, and refusal of NaN and non-JSON objects."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"revision {key}: {name} must be JSON-serialisable without NaN ({err}); "
            "convert numpy values with float() and NaN to None"
        ) from err


@dataclass(frozen=True)
class Finding:
    """Evidence about one subject in one window.

    Attributes
    ----------
    kind : str
        What was measured, e.g. ``"irrigation_priority"``, ``"lst_hotspot"``, ``"vertical_velocity"``.
    subject_id : str
        The park, block or segment.
    window_start, window_end : datetime
        The window the evidence covers (UTC).
    value : float
        The measured value in ``units`` (NaN when the window is a DATA_GAP).
    units : str
        Units of ``value`` and ``threshold`` (``"1"`` for dimensionless).
    threshold : float
        The threshold the detector compared ``value`` with, in ``units``.
    coverage : float
        Valid-data fraction behind the value, 0..1.
    level : int
        0 = no alert state, 1-4 = alert level proposed by the detector.
    sources : tuple of str
        Scene ids, product ids, station ids behind the value.
    status : SubjectStatus
        OK, DATA_GAP or DEGRADED as the detector saw it.
    reasons : tuple of str
        Why the subject is a DATA_GAP, as codes (e.g. ``indices.park_table.GapReason``); empty
        otherwise. A DATA_GAP notice is updated only when these change.
    tracks : tuple of (str, float)
        The same figure measured by each independent track of the window on its own, as
        ``(track, value in units)`` (deformation: the segment's LOS-to-vertical velocity, or
        angular distortion, from its ascending and from its descending points alone); only tracks
        that pass the detector's gates on their own are listed. A policy with
        ``persistence.tracks`` counts a window whose tracks agree as persistent (DESIGN section 5).
    """

    kind: str
    subject_id: str
    window_start: datetime
    window_end: datetime
    value: float
    units: str
    threshold: float
    coverage: float
    level: int = 0
    sources: tuple[str, ...] = ()
    status: SubjectStatus = SubjectStatus.OK
    reasons: tuple[str, ...] = ()
    tracks: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= int(self.level) <= 4:
            raise InvalidInputError(
                f"finding {self.kind}/{self.subject_id}: level must be 0 (none) .. 4, got {self.level!r}"
            )
        object.__setattr__(self, "window_start", _utc(self.window_start))
        object.__setattr__(self, "window_end", _utc(self.window_end))
        object.__setattr__(self, "status", SubjectStatus(self.status))
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))
        object.__setattr__(self, "reasons", tuple(str(r) for r in self.reasons))
        object.__setattr__(self, "tracks", tuple((str(t), float(v)) for t, v in self.tracks))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (times as ISO 8601 UTC)."""
        return {
            "kind": self.kind,
            "subject_id": self.subject_id,
            "window_start": utc_iso(self.window_start),
            "window_end": utc_iso(self.window_end),
            "value": float(self.value),
            "units": self.units,
            "threshold": float(self.threshold),
            "coverage": float(self.coverage),
            "level": int(self.level),
            "sources": list(self.sources),
            "status": str(self.status),
            **({"reasons": list(self.reasons)} if self.reasons else {}),
            **({"tracks": dict(self.tracks)} if self.tracks else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        return cls(
            kind=str(data["kind"]),
            subject_id=str(data["subject_id"]),
            window_start=_parse_time(data["window_start"]),  # type: ignore[arg-type]
            window_end=_parse_time(data["window_end"]),  # type: ignore[arg-type]
            value=float(data["value"]),
            units=str(data["units"]),
            threshold=float(data["threshold"]),
            coverage=float(data["coverage"]),
            level=int(data.get("level", 0)),
            sources=tuple(data.get("sources", ())),
            status=SubjectStatus(data.get("status", "OK")),
            reasons=tuple(data.get("reasons", ())),
            tracks=tuple((data.get("tracks") or {}).items()),
        )


@dataclass(frozen=True)
class Event:
    """An alert event of one subject: open from ``event_start`` until cleared."""

    alert_key: str
    hazard: str
    subject_id: str
    event_start: datetime
    open: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "event_start", _utc(self.event_start))

    @classmethod
    def start(cls, hazard: str, subject_id: str, event_start: datetime) -> Event:
        """A new open event with its key computed from the documented formula."""
        return cls(alert_key(hazard, subject_id, event_start), hazard, subject_id, event_start)


_TIME_FIELDS = ("created_at", "onset", "expires", "previous_sent", "event_start")


@dataclass(frozen=True)
class Revision:
    """One revision of one event: one outbound message (CAP, Open311, webhook, ...).

    ``payload`` holds the evidence (JSON-serialisable: findings as dicts, numbers, strings) and
    ``geometry`` a GeoJSON geometry in WGS84 (lon, lat) or None. ``previous_*`` name the revision
    this one updates or cancels (CAP ``references``). The instance is frozen but holds dicts, so it
    is not hashable; identify revisions by ``message_key``.
    """

    alert_key: str
    message_key: str
    revision: int
    hazard: str
    subject_id: str
    kind: RevisionKind
    level: int
    certainty: Certainty
    status: RevisionStatus
    created_at: datetime
    onset: datetime
    expires: datetime | None
    rule_version: str
    event_start: datetime
    subject_name: str = ""
    summary: str = ""
    instruction: str = ""
    previous_message_key: str | None = None
    previous_identifier: str | None = None
    previous_sent: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    geometry: dict[str, Any] | None = None
    area_name: str = ""
    emma_id: str | None = None

    def __post_init__(self) -> None:
        if int(self.revision) < 1:
            raise InvalidInputError(
                f"revision of {self.alert_key} must be >= 1, got {self.revision}"
            )
        if not 1 <= int(self.level) <= 4:
            raise InvalidInputError(
                f"revision {self.message_key}: level must be 1 .. 4, got {self.level!r}"
            )
        object.__setattr__(self, "kind", RevisionKind(self.kind))
        object.__setattr__(self, "certainty", Certainty(self.certainty))
        object.__setattr__(self, "status", RevisionStatus(self.status))
        for name in _TIME_FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _utc(value))
        object.__setattr__(self, "payload", _json_copy(self.payload, "payload", self.message_key))
        if self.geometry is not None:
            object.__setattr__(
                self, "geometry", _json_copy(self.geometry, "geometry", self.message_key)
            )

    @property
    def msg_type(self) -> str:
        """CAP msgType: ``Cancel`` for a clear, ``Alert`` for revision 1, else ``Update``."""
        if self.kind == RevisionKind.CLEAR:
            return "Cancel"
        return "Alert" if self.revision == 1 else "Update"

    @property
    def needs_approval(self) -> bool:
        """True while a person has to approve the revision before it is queued."""
        return self.status == RevisionStatus.PENDING_APPROVAL

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (enums as strings, times as ISO 8601 UTC); :meth:`from_dict` inverts it."""
        data: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name in _TIME_FIELDS:
                value = None if value is None else utc_iso(value)
            elif isinstance(value, StrEnum):
                value = str(value)
            data[name] = value
        data["msg_type"] = self.msg_type
        return json.loads(json.dumps(data, allow_nan=False))  # deep copy; refuses non-JSON values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Revision:
        """Build a revision from :meth:`to_dict` output (extra keys such as ``msg_type`` ignored)."""
        values: dict[str, Any] = {
            name: data.get(name) for name in cls.__dataclass_fields__ if name in data
        }
        for name in _TIME_FIELDS:
            if name in values:
                values[name] = _parse_time(values[name])
        for name in ("payload",):
            if values.get(name) is None:
                values[name] = {}
        for name in ("subject_name", "summary", "instruction", "area_name"):
            if values.get(name) is None:
                values[name] = ""
        return cls(**values)
