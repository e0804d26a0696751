"""`make bench`: run every tests/benchmarks/bench_*.py, each in its own child process, and write
bench-results/results.json, results.md (the table) and results.png (the chart).

Run: python -m tests.benchmarks [--quick] [--only NAME ...] [--repeats N] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import _harness as h
from tests.benchmarks import _report

HERE = Path(__file__).resolve().parent
# The order (save path, relay, backlog, latency, scale, enrichment), then the rest.
ORDER = ("bench_save_path", "bench_save", "bench_relay", "bench_backlog", "bench_latency")
# Feeds v3 next to v2's relay and latency figures (the same backlog and save, through both APIs).
ORDER += ("bench_v3",)
ORDER += ("bench_claim", "bench_scale", "bench_enrich", "bench_async_reads", "bench_emulator")
# Scripts that only print: the arguments of their quick run (their output is kept verbatim).
PRINT_ONLY_QUICK_ARGS = {"bench_emulator": ["--clients", "4", "--seconds", "2"]}


def discover(only: list[str]) -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))

    def rank(name: str) -> tuple[int, str]:
        hits = [(len(prefix), i) for i, prefix in enumerate(ORDER) if name.startswith(prefix)]
        return (max(hits)[1] if hits else len(ORDER), name)  # the longest prefix decides

    names.sort(key=rank)
    return [n for n in names if not only or any(o in n for o in only)]


def run_child(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run a benchmark in its own process group, so a timeout also stops its emulators and relays."""
    env = {**os.environ, "PYTHONPATH": f"{h.ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=h.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def merge_runs(runs: list[dict]) -> dict:
    """One result from repeated runs of a script that reports single-run values."""
    merged = {**runs[0]}
    for kind in ("figures", "ratios"):
        merged[kind] = {}
        for name, first in runs[0].get(kind, {}).items():
            if "median" in first:
                merged[kind][name] = first
                continue
            values = [r[kind][name]["value"] for r in runs if name in r.get(kind, {})]
            merged[kind][name] = h.summary(values, first.get("unit", ""), first.get("target"))
    return merged


def run_benchmark(name: str, quick: bool, repeats: int, timeout: float) -> dict:
    source = (HERE / f"{name}.py").read_text()
    started = time.monotonic()
    if "--json" not in source:
        args = ["-m", f"tests.benchmarks.{name}", *(PRINT_ONLY_QUICK_ARGS.get(name, []) * quick)]
        done = run_child(args, timeout)
        result = {"title": name, "output": done.stdout, "notes": ["printed output only"]}
        if done.returncode:
            result["error"] = done.stderr[-2000:] or f"exit status {done.returncode}"
        result["seconds"] = time.monotonic() - started
        return result
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            path = Path(tmp, f"{i}.json")
            args = ["-m", f"tests.benchmarks.{name}", "--json", str(path)]
            if quick and "--quick" in source:
                args.append("--quick")
            done = run_child(args, timeout)
            if done.returncode or not path.exists():
                error = done.stderr[-2000:] or f"exit status {done.returncode}"
                return {"title": name, "error": error, "output": done.stdout}
            runs.append(json.loads(path.read_text()))
            already_summarised = all(
                "median" in f
                for kind in ("figures", "ratios")
                for f in runs[0].get(kind, {}).values()
            )
            if already_summarised:  # the script repeats internally
                break
    result = merge_runs(runs)
    result["seconds"] = time.monotonic() - started
    return result


def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
    }
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=h.ROOT, capture_output=True, text=True
        )
        info["commit"] = commit.stdout.strip()
    except OSError:
        pass
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few minutes")
    parser.add_argument("--only", nargs="*", default=[], help="benchmarks whose name contains …")
    parser.add_argument("--repeats", type=int, help="runs of single-run scripts (default 2/5)")
    parser.add_argument("--out", default=str(h.ROOT / "bench-results"))
    parser.add_argument("--timeout", type=float, help="seconds per script (default 900/3600)")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    timeout = args.timeout or (900 if args.quick else 3600)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "benchmarks": {},
    }
    failed = []
    for name in discover(args.only):
        print(f"== {name} ({report['mode']})", flush=True)
        try:
            result = run_benchmark(name, args.quick, repeats, timeout)
        except subprocess.TimeoutExpired:
            result = {"title": name, "error": f"timed out after {timeout:.0f} s"}
        report["benchmarks"][name] = result
        if "error" in result:
            failed.append(name)
            print(f"   FAILED: {result['error'].strip().splitlines()[-1:]}", flush=True)
        else:
            print(_report.text(result), flush=True)
        # written after each benchmark, so an interrupted run keeps what it measured
        report["machine"]["loadavg_end"] = os.getloadavg()
        (out / "results.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "results.md").write_text(_report.markdown(report))
    chart = _report.chart(report, out / "results.png")
    print(f"\nwrote {out / 'results.json'}, {out / 'results.md'}" + (f", {chart}" if chart else ""))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
