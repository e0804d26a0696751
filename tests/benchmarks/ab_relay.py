"""Relay A/B against another commit: events/s and relay CPU per 1,000 events, trees alternated.

Run: git worktree add ../pre-causal 4cd491e
     python -m tests.benchmarks.ab_relay --tree ../pre-causal --tree . [--rounds 2]

Each round runs every tree in turn, each in a child process started in that tree (its own
models, migrations, relay and emulator): the tree's own ``tests.benchmarks.bench_relay.measure``
drains a fresh backlog of ``--events`` adds per case (1,000 feeds, 20 feeds, each its own feed;
0 and 20 ms of emulator latency) with ``python -m relay --once``. Its ``run_relay`` is replaced
by one that also reads the relay processes' own CPU (user + sys from ``os.wait4``; never the
emulator's), so a tree from before bench_relay printed CPU is measured the same way.
Alternating the trees spreads the machine's drift over both sides; the figures are each
run's, printed side by side, with the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# Runs inside the child, in the tree measured: only names every tree's harness has.
DRIVER = r"""
import inspect, json, os, subprocess, sys, time
from tests.benchmarks import _harness as h
from tests.benchmarks import bench_relay as b

cpu_of_runs = []
returns_cpu = "cpu_seconds" in inspect.getsource(b.measure)  # bench_relay printing CPU itself


def run_relay(*args, processes=1):
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "relay", "--once", *args],
            env={**os.environ, "PYTHONPATH": str(h.ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    cpu = 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError("relay failed")
        cpu += usage.ru_utime + usage.ru_stime
    elapsed = time.perf_counter() - started
    cpu_of_runs.append(cpu)
    return (elapsed, cpu) if returns_cpu else elapsed


b.run_relay = run_relay
events, label = int(sys.argv[1]), sys.argv[2]
with h.scratch_database(h.database_url("ab_" + label)) as url:
    for latency in (0, 20):
        with h.emulator("--latency-ms", str(latency)) as base:
            h.setup_django(url, base)
            os.environ["STREAM_BASE_URL"] = base
            for case, feeds in b.CASES.items():
                cpu_of_runs.clear()
                rates = b.measure(base, events, feeds, f"l{latency}", 1, 32, 100)[0]
                print(json.dumps({
                    "case": f"{case} @ {latency} ms",
                    "events/s": rates[0],
                    "cpu": cpu_of_runs[0] / events * 1000,
                }), flush=True)
"""


def run_tree(tree: Path, events: int, label: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", DRIVER, str(events), label],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.ab_relay", description=__doc__
    )
    parser.add_argument("--tree", action="append", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.tree]
    names = [f"{i}_{tree.name}".replace("-", "_") for i, tree in enumerate(trees)]
    runs: dict[tuple[str, str], list[dict]] = {}
    for round_ in range(args.rounds):
        for tree, name in zip(trees, names, strict=True):
            for row in run_tree(tree, args.events, name):
                runs.setdefault((row["case"], name), []).append(row)
            print(f"round {round_ + 1}: {tree} done", file=sys.stderr, flush=True)
    cases = list(dict.fromkeys(case for case, _ in runs))
    header = " | ".join(f"{tree.name}: events/s, CPU s/1,000" for tree in trees)
    print(f"| case ({args.events:,} adds) | {header} | events/s ratio |")
    print("|---|" + "---:|" * (len(trees) + 1))
    for case in cases:
        cells, medians = [], []
        for name in names:
            rows = runs[(case, name)]
            rates = " / ".join(f"{r['events/s']:,.0f}" for r in rows)
            cpus = " / ".join(f"{r['cpu']:.3f}" for r in rows)
            cells.append(f"{rates}; {cpus}")
            medians.append(statistics.median(r["events/s"] for r in rows))
        print(f"| {case} | {' | '.join(cells)} | {medians[-1] / medians[0]:.2f}× |")


if __name__ == "__main__":
    main()
