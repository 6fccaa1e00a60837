"""The one policy loader: every YAML rule file of ``alerts/policies/`` (or a path) goes through here.

:func:`read_policy` finds a policy by built-in name (``"irrigation"``) or path, parses the YAML and
resolves references, so a value is stated in one file only: anywhere in a policy, the mapping
``{same_as: "<policy>.<section>.<key>"}`` is replaced by that value of the other built-in policy
(``irrigation.yaml`` takes its urgent limit from ``irrigation_priority.yaml`` this way). The
versions of the policies referenced are returned with the document, so a product can record every
rule version behind a decision. Parsing the values (quantities, ranges) is left to the typed
parsers: :func:`alerts.decide.policy.parse_policy` (hazard rules, notices) and
:func:`alerts.detect.irrigation_policy.parse_priority_policy` (the irrigation priority score).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.errors import InvalidInputError

__all__ = ["BUILT_IN", "OVERLAY_ENV", "PolicyDocument", "read_policy"]

BUILT_IN = Path(__file__).parent
OVERLAY_ENV = "GEOSPACE_POLICY_DIR"
"""A folder whose ``<name>.yaml`` files replace the built-in policies of that name (a backtest of
another rule version, ``geospace backtest --rules``); names it lacks stay built-in."""
_REF = "same_as"


@dataclass(frozen=True)
class PolicyDocument:
    """A parsed policy file with its references resolved.

    Attributes
    ----------
    raw : dict
        The YAML mapping, every ``{same_as: ...}`` replaced by the referenced value.
    source : str
        ``"<name>.yaml"`` for a built-in policy, else the path; used in error messages.
    references : tuple of str
        ``version`` of every policy a value was taken from, in order of first use.
    """

    raw: dict[str, Any]
    source: str
    references: tuple[str, ...] = ()


def _locate(name_or_path: str | Path) -> tuple[str, str]:
    """(YAML text, source) of a built-in policy name or a path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise InvalidInputError(f"policy file {path} does not exist; give a name or a path")
        return path.read_text(encoding="utf-8"), str(path)
    overlay = os.environ.get(OVERLAY_ENV)
    if overlay:
        replaced = Path(overlay) / f"{name_or_path}.yaml"
        if replaced.is_file():
            return replaced.read_text(encoding="utf-8"), str(replaced)
    resource = BUILT_IN / f"{name_or_path}.yaml"
    if not resource.is_file():
        names = ", ".join(sorted(p.stem for p in BUILT_IN.glob("*.yaml")))
        raise InvalidInputError(
            f"no built-in policy named {name_or_path!r}; use one of {names} or a path to a YAML file"
        )
    return resource.read_text(encoding="utf-8"), f"{name_or_path}.yaml"


def _load_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InvalidInputError(f"policy {source} is not valid YAML: {err}") from err


def _lookup(target: str, source: str, seen: tuple[str, ...]) -> tuple[Any, str]:
    """The value named ``"<policy>.<section>.<key>"`` and the referenced policy's version."""
    name, _, dotted = str(target).partition(".")
    if not name or not dotted:
        raise InvalidInputError(
            f"policy {source}: {_REF}: {target!r} must name '<policy>.<section>.<key>', "
            "e.g. 'irrigation_priority.classes.urgent'"
        )
    if name in seen:
        raise InvalidInputError(f"policy {source}: {_REF} loops through {' -> '.join(seen)}")
    doc = _read(name, (*seen, name))
    node: Any = doc.raw
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise InvalidInputError(
                f"policy {source}: {_REF}: {target!r} names nothing in {doc.source} "
                f"(no {part!r}); check the section and key"
            )
        node = node[part]
    return node, str(doc.raw.get("version", name))


def _resolve(node: Any, source: str, seen: tuple[str, ...], refs: list[str]) -> Any:
    if isinstance(node, Mapping):
        if _REF in node:
            if len(node) != 1:
                raise InvalidInputError(
                    f"policy {source}: a {{{_REF}: ...}} mapping takes no other key, got {dict(node)}"
                )
            value, version = _lookup(node[_REF], source, seen)
            if version not in refs:
                refs.append(version)
            return value
        return {key: _resolve(value, source, seen, refs) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, source, seen, refs) for value in node]
    return node


def _read(name_or_path: str | Path, seen: tuple[str, ...]) -> PolicyDocument:
    text, source = _locate(name_or_path)
    raw = _load_yaml(text, source)
    if not isinstance(raw, Mapping):
        raise InvalidInputError(
            f"policy {source}: expected a mapping of keys, got {type(raw).__name__}"
        )
    refs: list[str] = []
    resolved = _resolve(raw, source, seen, refs)
    return PolicyDocument(dict(resolved), source, tuple(refs))


def read_policy(name_or_path: str | Path) -> PolicyDocument:
    """Read a built-in policy by name (``"irrigation"``) or a YAML file by path, references resolved.

    Raises
    ------
    InvalidInputError
        Unknown name, missing file, invalid YAML, not a mapping, or a broken reference.
    """
    stem = Path(str(name_or_path)).stem
    return _read(name_or_path, (stem,))
