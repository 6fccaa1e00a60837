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
        "machine": {
            "cpus": 2,
            "memory_mib": 1024,
            "python": "3.11",
            "load_average_at_start": [1.0],
        },
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


def _case(median_s: float, cpu: float, rss: float, **extra: object) -> dict:
    return {
        "median_s": median_s,
        "min_s": median_s,
        "max_s": median_s,
        "runs": [{"seconds": median_s, "cpu_seconds": cpu}],
        "items": 36,
        "input_mpx": 32.2,
        "mpx_per_s": round(32.2 / median_s, 2),
        "load_average": [1.0, 1.0, 1.0],
        "process": {"peak_rss_mib": rss, "exit_code": 0},
        **extra,
    }


def test_vegetation_case_ratios_and_exponent_from_made_up_results(tmp_path: Path) -> None:
    from bench.bench_vegetation import case_ratios, fitted_exponent

    # time = 2 s x size: exponent exactly 1; the 16x pipeline uses 1.5x the memory of 1x.
    assert fitted_exponent([(1, 2.0), (4, 8.0), (16, 32.0)]) == 1.0
    assert fitted_exponent([(1, 2.0)]) is None
    cases = {
        factor: {
            "pipeline": _case(2.0 * factor, 2.0 * factor, 400.0 * (1.5 if factor == 16 else 1)),
            "decode": _case(1.5 * factor, 1.0 * factor, 200.0),
            "naive": _case(8.0 * factor, 8.0 * factor, 900.0),
            "odc": _case(1.0 * factor, 1.0 * factor, 400.0),
        }
        for factor in (1, 4, 16)
    }
    cases[16]["pipeline-distributed"] = _case(40.0, 1.0, 300.0, worker_peak_rss_mib=[250.0, 700.0])
    ratios = case_ratios(cases)
    assert ratios["x16 decode limit time / pipeline time"] == {
        "value": 0.75, "target": 0.6, "verdict": "pass"}  # fmt: skip
    assert ratios["x16 naive time / pipeline time"]["verdict"] == "pass"  # 4x the naive way
    assert ratios["x16 odc-stac time / pipeline time"]["verdict"] == "short"  # odc twice as fast
    assert ratios["x16 decode limit CPU / pipeline CPU"]["value"] == 0.5
    assert ratios["pipeline time exponent over pixels x scenes"]["verdict"] == "pass"
    assert ratios["pipeline peak RSS x16 / x1"] == {"value": 1.5, "target": 1.3, "verdict": "short"}
    # 700 MiB on a worker against 600 MiB for the whole pipeline on one machine: short.
    dist = ratios["x16 distributed worker peak RSS / one-machine peak RSS"]
    assert dist["verdict"] == "short" and dist["value"] == round(700 / 600, 3)
    # The case table of RESULTS.md: one row per size and implementation, workers' peaks shown.
    results = {
        "mode": "full",
        "machine": {"cpus": 2, "memory_mib": 1024, "python": "3.11", "load_average_at_start": [1]},
        "scripts": {
            "bench_vegetation": {
                "exit_code": 0,
                "seconds": 1.0,
                "json": {
                    "repeats": 1,
                    "case": {f"x{f}": c for f, c in cases.items()},
                    "ratios": ratios,
                },
            }
        },
    }
    write_reports(tmp_path, results)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| x16 | pipeline-distributed | 36 | 32.2 | 40.0 (40.0..40.0) | 1.0 |" in text
    assert "300.0 (workers [250.0, 700.0])" in text
    assert "| bench_vegetation: pipeline peak RSS x16 / x1 | 1.5 | 1.3 | short |" in text


def test_gi_star_ratios_name_the_size_and_judge_each_target() -> None:
    from bench.bench_heat import gi_star_ratios

    rows: list[dict[str, object]] = [
        {"cells": 10000, "ours_s": 0.001, "speedup_g_local": 4000.0, "max_abs_z_diff": 1e-12},
        {"cells": 99856, "ours_s": 0.02, "speedup_g_local": 90.0, "max_abs_z_diff": 2e-6},
        {"cells": 9998244, "ours_s": 31.0},
    ]
    ratios = gi_star_ratios(rows)
    assert ratios["Gi* esda G_Local time / geospace time at 99856 cells"]["verdict"] == "short"
    assert ratios["Gi* largest abs(z - esda z) where both ran"]["verdict"] == "short"
    assert ratios["Gi* seconds at 9998244 cells"]["verdict"] == "short"
    # a quick run (esda to 10^4 only, no 10^7) judges what it measured and names its size
    quick = gi_star_ratios(rows[:1])
    assert set(quick) == {
        "Gi* esda G_Local time / geospace time at 10000 cells",
        "Gi* largest abs(z - esda z) where both ran",
    }
    assert all(r["verdict"] == "pass" for r in quick.values())


def test_rabbitmq_rows_are_judged_like_the_outbox_backends(tmp_path: Path) -> None:
    results = _results(pg_low=2000, pg_high=2000)
    results["scripts"]["bench_relay"]["json"]["rabbitmq"] = [
        {"backlog": 1000, "relay_per_s": 314},
        {"backlog": 10000, "relay_per_s": 300},
    ]
    write_reports(tmp_path, results)
    text = (tmp_path / "RESULTS.md").read_text()
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if "|" in line}
    assert rows["relay rabbitmq at 1000"].endswith("| 314 | >= 1000/s | short |")
    assert rows["relay rabbitmq rate at 10000 / at 1000"].endswith("| 0.96 | >= 0.8 | pass |")


def test_scene_ratios_judge_memory_and_time_as_the_archive_grows(tmp_path: Path) -> None:
    from bench.bench_vegetation import scene_ratios

    by_scenes = {
        1: {"decode": _case(1.0, 1.0, 300), "pipeline": _case(5.0, 5.0, 400)},
        4: {"decode": _case(4.0, 4.0, 300), "pipeline": _case(20.0, 20.0, 480)},
        16: {"decode": _case(16.0, 16.0, 300), "pipeline": _case(80.0, 80.0, 1200)},
    }
    ratios = scene_ratios(by_scenes)
    assert ratios["pipeline peak RSS at 4x scenes / at 1x"]["verdict"] == "pass"  # 1.2
    assert ratios["pipeline peak RSS at 16x scenes / at 1x"]["verdict"] == "short"  # 3.0
    assert ratios["pipeline time exponent over scenes"]["value"] == 1.0
    assert ratios["16x scenes decode limit time / pipeline time"]["value"] == 0.2
    results = _results(pg_low=2000, pg_high=2000)
    results["scripts"]["bench_vegetation"]["json"] = {
        "repeats": 1,
        "case": {"x1": by_scenes[1]},
        "scenes": {f"s{n}": c for n, c in by_scenes.items()},
        "ratios": ratios,
    }
    write_reports(tmp_path, results)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| x1, 16x scenes | pipeline | 36 |" in text
    assert "| x1, 1x scenes |" not in text
