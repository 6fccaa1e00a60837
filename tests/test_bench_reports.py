"""``geospace bench`` summary files: both written under --out, ratios judged against their targets.

No timing is measured or asserted here: the inputs are made-up script results.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.run_all import write_reports


def _results(pg_low: int, pg_high: int) -> dict:
    return {
        "mode": "quick",
        "machine": {"cpus": 2, "memory_mib": 1024, "python": "3.11", "load_average_at_start": [1.0]},
        "scripts": {
            "bench_relay": {
                "exit_code": 0,
                "seconds": 1.0,
                "json": {
                    "sqlite": [],
                    "postgres": [
                        {"backlog": 1000, "relay_per_s": pg_low},
                        {"backlog": 10000, "relay_per_s": pg_high},
                    ],
                },
            },
            "bench_vegetation": {
                "exit_code": 0,
                "seconds": 2.0,
                "json": {
                    "ratios": {
                        "season_vs_decode_limit": {"value": 0.5, "target": 0.3, "verdict": "pass"}
                    }
                },
            },
            "bench_heat": {"exit_code": 1, "seconds": 3.0, "json": None},
        },
    }


def test_both_files_are_written_with_verdicts(tmp_path: Path) -> None:
    results = _results(pg_low=2000, pg_high=1200)
    write_reports(tmp_path / "bench", results)
    assert json.loads((tmp_path / "bench" / "results.json").read_text()) == results
    text = (tmp_path / "bench" / "RESULTS.md").read_text()
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if "|" in line}
    assert rows["relay postgres at 1000"].endswith("| pass |")
    # 1200 / 2000 = 0.6 < 0.8: the rate falls with the backlog.
    assert rows["relay postgres rate at 10000 / at 1000"].endswith("| 0.6 | >= 0.8 | short |")
    assert rows["bench_vegetation: season_vs_decode_limit"].endswith("| 0.5 | 0.3 | pass |")
    assert rows["bench_heat"].startswith("| bench_heat | 1 |")
    assert not list((tmp_path / "bench").glob("*.tmp"))
