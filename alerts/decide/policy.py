"""Alert rule policies: versioned YAML files with every threshold a quantity with units.

A policy file (``alerts/policies/<hazard>.yaml``) looks like::

    version: "irrigation-1.0.0"     # change it whenever a value changes
    hazard: irrigation
    finding_kind: irrigation_priority
    units: "1"                      # units the thresholds are compared in
    compare: above                  # above | below | magnitude (|value|)
    levels: {2: "0.20 1", 3: "0.40 1", 4: "0.60 1"}   # enter thresholds
    hysteresis: "0.05 1"            # leave level L below threshold(L) - hysteresis
    persistence: {k: 2, n: 3}       # counts of windows (integers, not quantities); optional
                                    # tracks: 2 and window: release (see below)
    coverage: {minimum: "50 %", degraded_below: "90 %"}   # optional: see below
    new_evidence_delta: "0.10 1"
    certainty: Likely
    approval_required: false
    valid_for: "7 d"
    event: Irrigation priority
    instruction: ...

A bare number where a quantity is expected is refused with the field and a fix; unknown keys are
refused too, so a typo never silently keeps a default. Files are read by the one policy loader
(:func:`alerts.policies.read_policy`), so a value may be ``{same_as: "<policy>.<section>.<key>"}``.

``also_rates`` (optional) lists policies of the same hazard that rate other finding kinds of the
same subject (deformation: ``deformation_distortion`` beside the vertical velocity): each rates its
own findings with its own thresholds and hysteresis, a window's level is the highest of them, and
the subject keeps one event (one work order), whatever raised it.

``persistence`` may also say ``tracks: m`` (m >= 2): a window in which at least m independent tracks
(:attr:`alerts.model.Finding.tracks`) each reach the window's level on their own, in the same
direction when ``compare`` is ``magnitude``, counts as persistent without waiting for k of n
windows (deformation: an ascending and a descending track of one EGMS release); and ``window: <noun>``
names the window in the revisions' text (``2 of the last 3 releases``; default ``window``).

``coverage`` is optional: a policy without it leaves the coverage decision to the caller, who binds
the profile's rule with :meth:`Policy.with_coverage` (irrigation: the profile's
``vegetation.min_clear_fraction``, the same numbers ``indices.park_table`` decided the park status
with; deformation: ``deformation.min_points``, the detector's gate). Without either, the detector's
status of each finding stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from alerts.model import Certainty
from alerts.policies import read_policy
from core.errors import InvalidInputError
from core.quantities import parse_delta, parse_duration, parse_quantity
from core.status import CoverageRule

__all__ = ["NoticePolicy", "Policy", "load_notice_policy", "load_policy", "parse_policy"]

_COMPARE = ("above", "below", "magnitude")
_KEYS = {
    "version",
    "hazard",
    "finding_kind",
    "units",
    "compare",
    "levels",
    "hysteresis",
    "persistence",
    "coverage",
    "new_evidence_delta",
    "certainty",
    "approval_required",
    "valid_for",
    "event",
    "instruction",
    "gate_on_finding_level",
    "also_rates",
}
_NOTICE_KEYS = {"version", "hazard", "valid_for", "certainty", "event", "instruction"}


@dataclass(frozen=True)
class Policy:
    """A validated rule policy; numbers are in ``units`` (fractions 0..1 for coverage)."""

    version: str
    hazard: str
    finding_kind: str
    units: str
    compare: str
    levels: tuple[tuple[int, float], ...]
    hysteresis: float
    persistence_k: int
    persistence_n: int
    coverage: CoverageRule | None
    new_evidence_delta: float
    certainty: Certainty
    approval_required: bool
    valid_for: timedelta
    event: str
    instruction: str = ""
    gate_on_finding_level: bool = False
    references: tuple[str, ...] = ()
    persistence_tracks: int | None = None
    """Independent tracks that, each reaching a level on its own in one window, make that level
    persistent (``persistence.tracks``); None: only k of n windows count."""
    window_name: str = "window"
    """What one window is called in the revisions' text (``persistence.window``)."""
    also: tuple[Policy, ...] = ()
    """Policies of the same hazard rating other finding kinds of the same subject (``also_rates``):
    a window's level is the highest any of them gives, so the subject holds one event."""

    def threshold(self, level: int) -> float:
        """Enter threshold of ``level`` in ``units``."""
        return dict(self.levels)[level]

    def with_coverage(self, rule: CoverageRule) -> Policy:
        """This policy deciding coverage with ``rule`` (the profile's numbers), and so do the
        ``also_rates`` policies rating beside it (the same subjects, the same rule)."""
        return replace(
            self, coverage=rule, also=tuple(other.with_coverage(rule) for other in self.also)
        )


@dataclass(frozen=True)
class NoticePolicy:
    """Settings of operator notices (hazard ``notice``): DATA_GAP and dead-row notices."""

    version: str
    valid_for: timedelta
    certainty: Certainty
    event: str
    instruction: str = ""


def _where(source: str, field: str) -> str:
    return f"policy {source}: {field}"


def _require(raw: Mapping[str, Any], key: str, source: str) -> Any:
    if key not in raw or raw[key] is None:
        raise InvalidInputError(
            f"{_where(source, key)} is missing; add it (see alerts/decide/policy.py)"
        )
    return raw[key]


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{field}: expected a whole count of windows >= 1, got {value!r}")
    return value


def _levels(raw: Any, units: str, compare: str, source: str) -> tuple[tuple[int, float], ...]:
    field = _where(source, "levels")
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidInputError(
            f"{field}: expected a mapping level -> quantity, e.g. {{2: '0.2 1'}}"
        )
    levels = []
    for key, value in raw.items():
        if isinstance(key, bool) or not isinstance(key, int) or not 1 <= key <= 4:
            raise InvalidInputError(f"{field}: level {key!r} is not one of 1, 2, 3, 4")
        levels.append((key, parse_quantity(value, units, field=f"{field}.{key}")))
    levels.sort()
    values = [v for _, v in levels]
    ordered = values == sorted(values, reverse=(compare == "below"))
    if not ordered or len(set(values)) != len(values):
        word = "fall" if compare == "below" else "rise"
        raise InvalidInputError(f"{field}: thresholds must strictly {word} with the level: {raw!r}")
    return tuple(levels)


def _coverage(raw: Any, source: str) -> CoverageRule | None:
    if raw is None:
        return None
    field = _where(source, "coverage")
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"{field}: expected {{minimum: '60 %', degraded_below: '90 %'}}")
    minimum = parse_quantity(_require(raw, "minimum", source), "1", field=f"{field}.minimum")
    degraded = parse_quantity(
        raw.get("degraded_below", "90 %"), "1", field=f"{field}.degraded_below"
    )
    if not 0.0 <= minimum <= degraded <= 1.0:
        raise InvalidInputError(
            f"{field}: need 0 % <= minimum <= degraded_below <= 100 %, got {minimum}, {degraded}"
        )
    return CoverageRule(minimum, degraded)


def _certainty(raw: Any, field: str) -> Certainty:
    try:
        return Certainty(raw)
    except ValueError as err:
        names = ", ".join(c.value for c in Certainty)
        raise InvalidInputError(f"{field}: {raw!r} is not one of {names}") from err


def _check_keys(raw: Mapping[str, Any], allowed: set[str], source: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidInputError(
            f"policy {source}: unknown key(s) {', '.join(map(str, unknown))}; "
            f"known keys: {', '.join(sorted(allowed))}"
        )


def parse_policy(
    raw: Mapping[str, Any], source: str = "<mapping>", references: tuple[str, ...] = ()
) -> Policy:
    """Validate a rule policy mapping (as read from YAML) into a :class:`Policy`.

    ``references`` are the versions of the policies values were taken from (``same_as``).
    """
    if not isinstance(raw, Mapping):
        raise InvalidInputError(f"policy {source}: expected a mapping, got {type(raw).__name__}")
    _check_keys(raw, _KEYS, source)
    units = str(_require(raw, "units", source))
    compare = str(raw.get("compare", "above"))
    if compare not in _COMPARE:
        raise InvalidInputError(f"{_where(source, 'compare')}: {compare!r} not in {_COMPARE}")
    persistence = _require(raw, "persistence", source)
    if not isinstance(persistence, Mapping):
        raise InvalidInputError(f"{_where(source, 'persistence')}: expected {{k: 2, n: 3}}")
    _check_keys(persistence, {"k", "n", "tracks", "window"}, f"{source}: persistence")
    k = _count(persistence.get("k"), _where(source, "persistence.k"))
    n = _count(persistence.get("n"), _where(source, "persistence.n"))
    if k > n:
        raise InvalidInputError(f"{_where(source, 'persistence')}: k={k} exceeds n={n}")
    tracks = persistence.get("tracks")
    if tracks is not None:
        tracks = _count(tracks, _where(source, "persistence.tracks"))
        if tracks < 2:
            raise InvalidInputError(
                f"{_where(source, 'persistence.tracks')}: {tracks} track cannot confirm itself; "
                "write 2 or more, or leave tracks out"
            )
    window = persistence.get("window", "window")
    if not isinstance(window, str) or not window.strip():
        raise InvalidInputError(
            f"{_where(source, 'persistence.window')}: expected a noun such as 'release'"
        )
    hysteresis = parse_delta(
        _require(raw, "hysteresis", source), units, field=f"{source}: hysteresis"
    )
    delta_raw = _require(raw, "new_evidence_delta", source)
    delta = parse_delta(delta_raw, units, field=f"{source}: new_evidence_delta")
    if hysteresis < 0 or delta < 0:
        raise InvalidInputError(f"policy {source}: hysteresis and new_evidence_delta must be >= 0")
    coverage = _coverage(raw.get("coverage"), source)
    approval = raw.get("approval_required", False)
    if not isinstance(approval, bool):
        raise InvalidInputError(f"{_where(source, 'approval_required')}: write true or false")
    policy = Policy(
        version=str(_require(raw, "version", source)),
        hazard=str(_require(raw, "hazard", source)),
        finding_kind=str(_require(raw, "finding_kind", source)),
        units=units,
        compare=compare,
        levels=_levels(_require(raw, "levels", source), units, compare, source),
        hysteresis=hysteresis,
        persistence_k=k,
        persistence_n=n,
        coverage=coverage,
        new_evidence_delta=delta,
        certainty=_certainty(raw.get("certainty", "Likely"), _where(source, "certainty")),
        approval_required=approval,
        valid_for=parse_duration(_require(raw, "valid_for", source), field=f"{source}: valid_for"),
        event=str(_require(raw, "event", source)),
        instruction=str(raw.get("instruction", "") or ""),
        gate_on_finding_level=bool(raw.get("gate_on_finding_level", False)),
        references=tuple(references),
        persistence_tracks=tracks,
        window_name=window.strip(),
    )
    return _also(raw.get("also_rates"), policy, source)


def _also(raw: Any, policy: Policy, source: str) -> Policy:
    """``policy`` with the policies named in ``also_rates`` (same hazard, other finding kinds,
    none rating others in turn); their versions join the references, so a change of one revises
    the open events."""
    if raw is None:
        return policy
    field = _where(source, "also_rates")
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise InvalidInputError(f"{field}: expected a list of policy names, got {raw!r}")
    also = []
    for name in raw:
        other = load_policy(name)
        if other.hazard != policy.hazard or other.finding_kind == policy.finding_kind:
            raise InvalidInputError(
                f"{field}: {name} rates {other.hazard}/{other.finding_kind}; name a policy of "
                f"hazard {policy.hazard} rating another finding kind than {policy.finding_kind}"
            )
        if other.also:
            raise InvalidInputError(f"{field}: {name} has also_rates itself; list it here instead")
        also.append(other)
    refs = [*policy.references, *(o.version for o in also if o.version not in policy.references)]
    return replace(policy, also=tuple(also), references=tuple(refs))


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a built-in rule policy by name (``"irrigation"``) or a YAML file by path."""
    doc = read_policy(name_or_path)
    raw, source = doc.raw, doc.source
    if raw.get("hazard") == "notice":
        raise InvalidInputError(
            f"policy {source} is a notice policy; load it with load_notice_policy"
        )
    return parse_policy(raw, source, doc.references)


def load_notice_policy(name_or_path: str | Path = "notice") -> NoticePolicy:
    """Load the operator-notice policy (built-in ``notice`` or a YAML path)."""
    doc = read_policy(name_or_path)
    raw, source = doc.raw, doc.source
    if raw.get("hazard") != "notice":
        raise InvalidInputError(f"policy {source}: a notice policy needs 'hazard: notice'")
    _check_keys(raw, _NOTICE_KEYS, source)
    return NoticePolicy(
        version=str(_require(raw, "version", source)),
        valid_for=parse_duration(_require(raw, "valid_for", source), field=f"{source}: valid_for"),
        certainty=_certainty(raw.get("certainty", "Observed"), _where(source, "certainty")),
        event=str(_require(raw, "event", source)),
        instruction=str(raw.get("instruction", "") or ""),
    )
