"""The one policy loader: built-in names and paths, ``same_as`` references, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.decide.policy import load_notice_policy, load_policy
from alerts.detect.irrigation_policy import load_priority_policy
from alerts.policies import read_policy
from core.errors import InvalidInputError


def test_the_urgent_limit_is_stated_once_and_shared() -> None:
    rule, priority = load_policy("irrigation"), load_priority_policy()
    assert rule.threshold(4) == priority.urgent
    assert rule.references == (priority.version,)
    raw = (Path(__file__).parents[2] / "alerts" / "policies" / "irrigation.yaml").read_text("utf-8")
    assert "0.60" not in raw  # the number itself lives in irrigation_priority.yaml


def test_a_changed_priority_limit_moves_the_work_order_limit(tmp_path: Path) -> None:
    """A reference resolves against the built-in policy it names; a path is read as given."""
    text = (Path(__file__).parents[2] / "alerts" / "policies" / "irrigation.yaml").read_text(
        "utf-8"
    )
    path = tmp_path / "rule.yaml"
    path.write_text(
        text.replace("irrigation_priority.classes.urgent", "irrigation_priority.classes.high")
    )
    assert load_policy(path).threshold(4) == load_priority_policy().class_thresholds[1]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("{same_as: irrigation_priority.classes.urgnt}", r"names nothing.*'urgnt'"),
        ("{same_as: nonexistent.a.b}", "no built-in policy named 'nonexistent'"),
        ("{same_as: irrigation_priority}", "must name '<policy>.<section>.<key>'"),
        ("{same_as: rule.levels.4}", "loops"),
        ("{same_as: irrigation_priority.classes.urgent, extra: 1}", "takes no other key"),
    ],
)
def test_broken_references_are_refused_with_the_fix(tmp_path: Path, value: str, match: str) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(f"version: t\nlevels:\n  4: {value}\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=match):
        read_policy(path)


def test_every_packaged_policy_loads_through_the_one_loader() -> None:
    for name in ("irrigation", "heat", "deformation"):
        assert load_policy(name).hazard == name
    assert load_notice_policy().version.startswith("notice-")
    assert load_priority_policy().version.startswith("irrigation-priority-")
    with pytest.raises(InvalidInputError, match="no built-in policy named 'irigation'"):
        load_policy("irigation")
