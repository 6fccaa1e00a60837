"""Routing: which sinks get an outbox row for a revision (the profile's ``sinks[].accepts``).

Each sink declares the hazards and the kinds of revision it takes (``core.profile.SinkAccepts``);
an omitted list takes all, so a sink without ``accepts`` takes everything. The kind of a revision
(:func:`delivery_kind`) comes from its hazard (:data:`HAZARD_KINDS`: irrigation and deformation
revisions are work orders, heat revisions bulletins) or, for hazard ``notice``, from the notice's
topic (a run digest, or an operator notice). For notices and digests the hazard matched is the one
they are about (``payload["about_hazard"]``), so "irrigation work orders only to Open311" and
"every notice to the operators" are both one line of the profile.

The packaged ``vienna`` profile routes each product this way: heat bulletins by ``{hazards: [heat],
kinds: [bulletin]}`` (the public-health RabbitMQ sink), deformation work orders by ``{hazards:
[deformation], kinds: [work_order]}`` (a maintenance Open311 queue with its own ``service_code``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from alerts.model import NOTICE_HAZARD
from core.errors import InvalidInputError
from core.profile import DeliveryKind

__all__ = ["HAZARD_KINDS", "DeliveryKind", "Route", "Routing", "delivery_kind", "topic_hazard"]

HAZARD_KINDS: dict[str, DeliveryKind] = {
    "irrigation": DeliveryKind.WORK_ORDER,
    "deformation": DeliveryKind.WORK_ORDER,
    "heat": DeliveryKind.BULLETIN,
}
"""The kind of every alert revision of a hazard; a new hazard adds its line here."""


def _fields(revision: Any) -> Mapping[str, Any]:
    return revision.to_dict() if hasattr(revision, "to_dict") else revision  # type: ignore[no-any-return]


def delivery_kind(revision: Any) -> DeliveryKind:
    """The kind of a revision (``alerts.model.Revision`` or its dict)."""
    data = _fields(revision)
    hazard = str(getattr(data.get("hazard"), "value", data.get("hazard")))
    if hazard == NOTICE_HAZARD:
        topic = (data.get("payload") or {}).get("notice")
        return DeliveryKind.DIGEST if topic == "digest" else DeliveryKind.NOTICE
    if hazard not in HAZARD_KINDS:
        raise InvalidInputError(
            f"revision {data.get('message_key', '?')}: hazard {hazard!r} has no delivery kind; "
            f"add it to alerts.sinks.routing.HAZARD_KINDS (known: {', '.join(HAZARD_KINDS)})"
        )
    return HAZARD_KINDS[hazard]


def topic_hazard(revision: Any) -> str:
    """The hazard a revision is about: its own, or for a notice the one it reports on."""
    data = _fields(revision)
    hazard = str(getattr(data.get("hazard"), "value", data.get("hazard")))
    if hazard == NOTICE_HAZARD:
        return str((data.get("payload") or {}).get("about_hazard", NOTICE_HAZARD))
    return hazard


@dataclass(frozen=True)
class Route:
    """One sink and what it accepts (None = any hazard / any kind)."""

    sink: str
    hazards: frozenset[str] | None = None
    kinds: frozenset[DeliveryKind] | None = None

    def accepts(self, hazard: str, kind: DeliveryKind) -> bool:
        """True when the sink takes a revision of ``kind`` about ``hazard``."""
        return (self.hazards is None or hazard in self.hazards) and (
            self.kinds is None or kind in self.kinds
        )


@dataclass(frozen=True)
class Routing:
    """The sinks of a profile with what each accepts; :meth:`sinks_for` picks a revision's."""

    routes: tuple[Route, ...]

    @classmethod
    def everything(cls, sinks: Iterable[str]) -> Routing:
        """Every sink takes every revision (no ``accepts`` anywhere)."""
        return cls(tuple(Route(name) for name in sinks))

    @classmethod
    def from_config(cls, config: Mapping[str, Mapping[str, Any]] | None) -> Routing:
        """From ``{name: spec}`` sink configuration (``SinkConfig.spec()``, the relay's JSON):
        each spec's optional ``accepts: {hazards: [...], kinds: [...]}``."""
        config = config or {"files": {"type": "files"}}
        routes = []
        for name, spec in config.items():
            accepts = spec.get("accepts") or {}
            unknown = sorted(set(accepts) - {"hazards", "kinds"})
            if unknown:
                raise InvalidInputError(
                    f"sink {name!r}: accepts has unknown key(s) {unknown}; use hazards and kinds"
                )
            hazards, kinds = accepts.get("hazards"), accepts.get("kinds")
            typos = sorted(set(map(str, hazards or ())) - set(HAZARD_KINDS))
            if typos:  # a misspelt hazard would silently route nothing to the sink
                raise InvalidInputError(
                    f"sink {name!r}: accepts.hazards names unknown hazard(s) {typos}; "
                    f"known: {', '.join(HAZARD_KINDS)}"
                )
            try:
                kind_set = None if kinds is None else frozenset(DeliveryKind(k) for k in kinds)
            except ValueError as err:
                names = ", ".join(k.value for k in DeliveryKind)
                raise InvalidInputError(
                    f"sink {name!r}: accepts.kinds {kinds!r} holds an unknown kind; use {names}"
                ) from err
            routes.append(
                Route(
                    str(name), None if hazards is None else frozenset(map(str, hazards)), kind_set
                )
            )
        return cls(tuple(routes))

    @classmethod
    def from_profile(cls, sinks: Iterable[Any]) -> Routing:
        """From a profile's ``sinks`` (``core.profile.SinkConfig`` values)."""
        return cls.from_config({sink.key: sink.spec() for sink in sinks})

    @property
    def sinks(self) -> tuple[str, ...]:
        """Every sink name, in profile order."""
        return tuple(route.sink for route in self.routes)

    def sinks_for(self, revision: Any) -> tuple[str, ...]:
        """Names of the sinks that accept ``revision`` (possibly none), in profile order."""
        hazard, kind = topic_hazard(revision), delivery_kind(revision)
        return tuple(route.sink for route in self.routes if route.accepts(hazard, kind))
