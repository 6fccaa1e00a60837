"""Building revisions from a rated finding: identity, times, certainty, status, text and evidence.

Used by :func:`alerts.decide.rules.decide`; pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.decide.policy import Policy
from alerts.model import (
    Certainty,
    Event,
    Finding,
    Revision,
    RevisionKind,
    RevisionStatus,
    SubjectStatus,
    message_key,
    utc_iso,
)

__all__ = ["Detail", "Persisted", "SubjectInfo", "alert_revision", "evidence"]


@dataclass(frozen=True)
class Detail:
    """One labelled figure about a subject for the people who act on it (work orders, webhooks).

    ``value`` is a number in ``units`` (``sigma`` its one-sigma uncertainty, same units) or a
    text; None (or NaN) means "not measured". In a revision's payload it is
    ``{"label", "value", "units"[, "sigma"][, "note"]}`` under ``payload["details"][key]``.
    """

    label: str
    value: float | str | None
    units: str = ""
    sigma: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN and infinities as None)."""
        value = (
            self.value if isinstance(self.value, str) or self.value is None else _num(self.value)
        )
        data: dict[str, Any] = {"label": self.label, "value": value, "units": self.units}
        if self.sigma is not None:
            data["sigma"] = _num(self.sigma)
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class SubjectInfo:
    """What a message says about its subject besides the id.

    Attributes
    ----------
    name : str
        Human-readable name (park, district, corridor segment).
    geometry : dict or None
        GeoJSON geometry in WGS84 (lon, lat).
    area_name : str
        CAP ``areaDesc`` (defaults to ``name``).
    emma_id : str or None
        MeteoAlarm EMMA_ID of the area where known (e.g. ``"AT901"``).
    details : mapping of str to Detail
        Figures people need, by a stable machine key (e.g. ``"vertical_velocity"``), in display
        order; copied into the revision's ``payload["details"]`` (omitted when empty).
    links : mapping of str to str
        URLs by role (``"plot"``: a picture of the evidence, Open311 ``media_url``); copied into
        ``payload["links"]`` (omitted when empty).
    """

    name: str = ""
    geometry: dict[str, Any] | None = field(default=None, hash=False)
    area_name: str = ""
    emma_id: str | None = None
    details: Mapping[str, Detail] = field(default_factory=dict, hash=False)
    links: Mapping[str, str] = field(default_factory=dict, hash=False)

    def payload_extras(self) -> dict[str, Any]:
        """``details`` and ``links`` as JSON for a revision's payload (empty when there are none)."""
        extras: dict[str, Any] = {}
        if self.details:
            extras["details"] = {str(k): d.to_dict() for k, d in self.details.items()}
        if self.links:
            extras["links"] = {str(k): str(v) for k, v in self.links.items()}
        return extras


@dataclass(frozen=True)
class Persisted:
    """How a level persisted when an event opened or rose: in k of the last n windows
    (``windows``), on independent tracks of the latest window (``tracks``: its rated findings,
    each with the tracks that reached the level on their own), or both."""

    windows: bool = False
    tracks: tuple[Finding, ...] = ()

    def met_by(self) -> list[str]:
        """``["windows"]``, ``["tracks"]`` or both, for the payload."""
        return [name for name, met in (("windows", self.windows), ("tracks", self.tracks)) if met]

    def describe(self, policy: Policy) -> str:
        """``persistent in 2 of the last 3 releases`` and/or ``seen on 2 tracks on their own in
        this release (vertical_velocity asc -6.8, desc -7.1 mm yr-1)``."""
        noun = policy.window_name
        parts = []
        if self.windows:
            parts.append(
                f"persistent in {policy.persistence_k} of the last {policy.persistence_n} {noun}s"
            )
        if self.tracks:
            figures = "; ".join(
                f"{f.kind} " + ", ".join(f"{t} {v:.3g}" for t, v in f.tracks) + f" {f.units}"
                for f in self.tracks
            )
            parts.append(
                f"seen on {policy.persistence_tracks} tracks on their own in this {noun} ({figures})"
            )
        return " and ".join(parts) or "not persistent"

    def to_dict(self) -> dict[str, Any]:
        """``met_by`` and, when the tracks met it, each finding's track values."""
        data: dict[str, Any] = {"met_by": self.met_by()}
        if self.tracks:
            data["track_values"] = {f.kind: {t: _num(v) for t, v in f.tracks} for f in self.tracks}
        return data


def evidence(latest: Finding, policy: Policy | None, level: int) -> dict[str, Any]:
    """The evidence of a revision: the rated finding, and the rule's threshold at ``level``."""
    data: dict[str, Any] = {
        "value": _num(latest.value),
        "units": latest.units,
        "coverage": _num(latest.coverage),
        "subject_status": str(latest.status),
        "window_start": utc_iso(latest.window_start),
        "window_end": utc_iso(latest.window_end),
        "sources": list(latest.sources),
        "finding_kind": latest.kind,
        "detector_threshold": _num(latest.threshold),
    }
    if policy is not None and level in dict(policy.levels):
        data["threshold"] = policy.threshold(level)
        data["persistence"] = {"k": policy.persistence_k, "n": policy.persistence_n}
        if policy.persistence_tracks:
            data["persistence"]["tracks"] = policy.persistence_tracks
    if policy is not None and policy.references:
        data["rule_references"] = list(policy.references)
    return data


def _num(value: float) -> float | None:
    """A float for JSON: None for NaN and infinities (JSON has neither)."""
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


AlsoRated = Sequence[tuple[Finding, Policy]]
"""The latest window's findings rated by a policy's ``also_rates`` policies, with their policy."""


def _also_evidence(also: AlsoRated) -> list[dict[str, Any]]:
    return [
        {"finding_kind": f.kind, "value": _num(f.value), "units": f.units, "level": f.level,
         "rule_version": p.version}
        for f, p in also
    ]  # fmt: skip


def _summary(
    kind: RevisionKind,
    level: int,
    latest: Finding,
    policy: Policy,
    name: str,
    also: AlsoRated = (),
    persisted: Persisted | None = None,
) -> str:
    """One line: the figures (the policy's own and its ``also_rates`` ones), what a level
    takes in each (``level 3 from 5 mm yr-1 or 0.002 1``) and, when the level was just reached,
    which persistence met it (:meth:`Persisted.describe`)."""
    value = f"{latest.kind} {latest.value:.3g} {latest.units}"
    value += "".join(f", {f.kind} {f.value:.3g} {f.units}" for f, _ in also)
    coverage = f"coverage {latest.coverage:.0%}"
    if latest.status == SubjectStatus.DEGRADED:
        coverage += " (degraded)"
    if kind == RevisionKind.CLEAR:
        return f"{policy.event} for {name} ended: {value}, {coverage}."
    threshold = f"{policy.threshold(level):.3g} {policy.units}"
    threshold += "".join(
        f" or {p.threshold(level):.3g} {p.units}" for _, p in also if level in dict(p.levels)
    )
    why = f"; {persisted.describe(policy)}" if persisted is not None else ""
    return (
        f"{policy.event} level {level} for {name}: {value} "
        f"(level {level} from {threshold}), {coverage}{why}; rule {policy.version}."
    )


def alert_revision(
    event: Event,
    number: int,
    kind: RevisionKind,
    level: int,
    latest: Finding,
    policy: Policy,
    *,
    now: datetime,
    subject: SubjectInfo,
    last: Revision | None,
    also: AlsoRated = (),
    persisted: Persisted | None = None,
) -> Revision:
    """Revision ``number`` of ``event`` at ``level`` with ``latest`` (rated) as its evidence.

    ``also``: the same window's findings rated by the policy's ``also_rates`` policies; the summary
    names their figures and the payload lists them (``also_rated``). ``persisted``: how the level
    persisted when the event opens or rises (k of n windows or independent tracks); the summary
    says it and ``payload["persistence"]`` gains ``met_by`` (and the tracks' values).

    Onset is the later of ``now`` and the window start (a forecast window lies ahead); expiry is the
    later of the window end and the onset, plus the policy's ``valid_for``. DEGRADED evidence lowers
    the policy's certainty one step; policies needing approval start as ``pending_approval``.
    """
    certainty: Certainty = policy.certainty
    if latest.status == SubjectStatus.DEGRADED:
        certainty = certainty.lower()
    onset = now if kind == RevisionKind.CLEAR else max(now, latest.window_start)
    end = onset if kind == RevisionKind.CLEAR else max(latest.window_end, onset)
    status = RevisionStatus.PENDING_APPROVAL if policy.approval_required else RevisionStatus.QUEUED
    name = subject.name or event.subject_id
    return Revision(
        alert_key=event.alert_key,
        message_key=message_key(event.alert_key, number),
        revision=number,
        hazard=event.hazard,
        subject_id=event.subject_id,
        kind=kind,
        level=level,
        certainty=certainty,
        status=status,
        created_at=now,
        onset=onset,
        expires=end + policy.valid_for,
        rule_version=policy.version,
        event_start=event.event_start,
        subject_name=subject.name,
        summary=_summary(kind, level, latest, policy, name, also, persisted),
        instruction="" if kind == RevisionKind.CLEAR else policy.instruction,
        previous_message_key=None if last is None else last.message_key,
        previous_identifier=None,  # CAP computes it from its identifier prefix
        previous_sent=None if last is None else last.created_at,
        payload={
            "event": policy.event,
            "kind": str(kind),
            **_with_persisted(evidence(latest, policy, level), persisted),
            **({"also_rated": _also_evidence(also)} if also else {}),
            **subject.payload_extras(),
        },
        geometry=subject.geometry,
        area_name=subject.area_name or subject.name or event.subject_id,
        emma_id=subject.emma_id,
    )


def _with_persisted(data: dict[str, Any], persisted: Persisted | None) -> dict[str, Any]:
    """``data`` with ``persistence`` extended by how it was met (when known)."""
    if persisted is not None and isinstance(data.get("persistence"), dict):
        data["persistence"] = {**data["persistence"], **persisted.to_dict()}
    return data
