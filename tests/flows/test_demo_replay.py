"""The demo replay runs each product flow's step in order, then delivers the outbox once."""

from __future__ import annotations

from pathlib import Path

import pytest

import flows.demo_replay as replay
from alerts.outbox.commands import ensure_outbox
from flows.demo_replay import ReplayStep, demo_steps, replay_demo_season


def test_vegetation_is_a_step_of_the_demo() -> None:
    names = [step.name for step in demo_steps()]
    assert "vegetation" in names
    assert len(names) == len(set(names)), f"a flow is replayed twice: {names}"


def test_steps_run_in_order_and_the_worst_exit_code_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[tuple[str, Path]] = []

    def step(name: str, code: int) -> ReplayStep:
        def run(out_dir: Path, progress: object) -> int:
            ran.append((name, out_dir))
            return code

        return ReplayStep(name, run)

    ensure_outbox(tmp_path)  # a real step's run creates it (flows.vegetation_inputs.prepare_run)
    monkeypatch.setattr(replay, "demo_steps", lambda: (step("a", 0), step("b", 2), step("c", 0)))
    assert replay_demo_season(out_dir=tmp_path, small=True) == 2
    assert ran == [("a", tmp_path), ("b", tmp_path), ("c", tmp_path)]
    assert "delivered 0 message(s)" in capsys.readouterr().out
