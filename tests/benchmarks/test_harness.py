"""`make bench` reports medians with min and max over repeated runs, and targets honestly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.benchmarks import _harness as h
from tests.benchmarks import _report
from tests.benchmarks.__main__ import merge_runs


def test_summary_is_median_min_max_of_the_runs():
    fig = h.summary([3.0, 1.0, 2.0, 10.0], "ms")
    assert (fig["median"], fig["min"], fig["max"], fig["runs"]) == (2.5, 1.0, 10.0, 4)


def test_target_is_judged_on_the_median_not_the_best_run():
    fig = h.summary([1.1, 1.4, 1.5], "×", {"op": "<=", "value": 1.30})
    assert h.met(fig) is False
    assert h.met(h.summary([1.1, 1.2, 1.5], "×", {"op": "<=", "value": 1.30})) is True
    assert h.met(h.summary([900.0], "events/s", {"op": ">=", "value": 1000})) is False
    assert h.met(h.summary([1.0])) is None


def test_single_run_values_of_repeated_scripts_are_merged_into_summaries():
    runs = [
        {"title": "t", "figures": {"rate": {"value": v, "unit": "req/s"}}, "ratios": {}}
        for v in (100.0, 300.0, 200.0)
    ]
    runs[0]["ratios"] = {"r": {"value": 1.5, "unit": "×", "target": {"op": "<=", "value": 1.3}}}
    runs[1]["ratios"] = {"r": {"value": 1.1, "unit": "×"}}
    runs[2]["ratios"] = {"r": {"value": 1.2, "unit": "×"}}
    merged = merge_runs(runs)
    assert merged["figures"]["rate"] == {
        "median": 200.0,
        "min": 100.0,
        "max": 300.0,
        "runs": 3,
        "unit": "req/s",
    }
    assert merged["ratios"]["r"]["median"] == 1.2
    assert h.met(merged["ratios"]["r"]) is True


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert (h.percentile(values, 50), h.percentile(values, 95), h.percentile(values, 99)) == (
        50,
        95,
        99,
    )


def test_markdown_table_shows_every_figure_its_spread_and_whether_targets_are_met():
    report = {
        "generated": "now",
        "mode": "quick",
        "machine": {"cpus": 2, "python": "3.11", "loadavg_start": (1.0, 1, 1)},
        "benchmarks": {
            "bench_x": {
                "title": "X",
                "ratios": {"b/a": h.summary([1.2, 1.6, 1.7], "×", {"op": "<=", "value": 1.3})},
            },
            "bench_y": {"title": "Y", "error": "Traceback\nRuntimeError: boom"},
        },
    }
    page = _report.markdown(report)
    assert "| b/a | 1.60 × | 1.20 – 1.70 | 3 | <= 1.30 ❌ |" in page
    assert "| failed: RuntimeError: boom |" in page


@pytest.mark.slow
def test_make_bench_runs_a_benchmark_repeatedly_and_writes_the_page(tmp_path):
    pytest.importorskip("matplotlib")
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks", "--quick", "--only", "bench_emulator"]
        + ["--repeats", "2", "--out", str(tmp_path)],
        cwd=h.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "results.json").read_text())["benchmarks"]["bench_emulator"]
    add = result["figures"]["add_activity"]
    assert add["runs"] == 2 and add["min"] <= add["median"] <= add["max"]
    assert "add_activity" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
