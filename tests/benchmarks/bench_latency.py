"""Commit-to-feed latency: from COMMIT returning to the activity applied in the emulator.

Run: python -m tests.benchmarks.bench_latency [--quick] [--json PATH] [--transactions N]
    [--rate R] [--seconds S] [--writers W]
One relay process runs as a sidecar; this process commits N single-event transactions, spaced
like live traffic (5-15 ms apart). Each activity's latency is the emulator's write-log time
minus the commit time (one machine, one clock). Two modes: LISTEN/NOTIFY (the write side's
trigger) with the default 1 s polling floor, and --poll-only at --poll-interval.
Then, under load: three relay processes while W writer threads commit R single-event
transactions a second between them for S seconds (each on its own schedule, committing at
once when behind it); the rate achieved is printed beside the latency. Then the same load on
one relay: every commit wakes every relay, so this shows what the herd costs apart from
what the machine allows. Each loaded run also prints the whole machine's CPU an event (every
process: writers, PostgreSQL, emulator, relays) and how busy its cores were: near 100 %, the
events queue for the CPU whatever the relay does.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.benchmarks import _harness as h


def start_relay(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "relay", *args],
        env={**os.environ, "PYTHONPATH": str(h.ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(base_url: str, transactions: int, tag: str, relay_args: list[str]) -> list[float]:
    from django.db import transaction

    from tests.benchmarks.bench_relay import add_event

    relay = start_relay(*relay_args)
    try:
        time.sleep(3.0)  # Django setup, LISTEN, first empty claim
        committed: dict[str, float] = {}
        for i in range(transactions):
            key = f"bench.Item:{tag}{i}"
            with transaction.atomic():
                add_event(f"user:{tag}{i % 50}", key, i).save()
            committed[key] = time.time()
            time.sleep(random.uniform(0.005, 0.015))
        h.wait_delivered(what="the relay")
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=30)
    return latencies(h.applied_at(base_url), committed)


def latencies(applied: dict[str, float], committed: dict[str, float]) -> list[float]:
    """Milliseconds from each key's commit to its application; a key applied well before its
    commit (one an earlier measurement used: the log keeps the first time) is refused, not
    averaged. (A writer thread may lose the GIL between its COMMIT and reading the clock: a
    few milliseconds either way are the measurement's own.)"""
    early = [key for key, at in committed.items() if applied[key] < at - 0.5]
    if early:
        raise RuntimeError(f"{len(early)} keys applied before their commit, e.g. {early[0]}")
    return [(applied[key] - at) * 1000 for key, at in committed.items()]


# The writers stand for application servers, on other hosts in production: here they share
# the relays' two cores, so each commit is one INSERT of the row the write side stores (an
# add of a small activity, bench_relay.add_event's), in autocommit, over psycopg, rather than
# a Django save, whose cost bench_save measures. The NOTIFY trigger fires as for any commit.
INSERT = """
INSERT INTO feed_outbox_outboxevent (kind, feed, ordering_key, aggregate_type, payload, api,
    status, attempts, created_at, lease_owner, last_error)
VALUES ('add', %s, %s, '', %s, 'v2', 'pending', 0, now(), '', '')
"""


def write_at_rate(
    writer: int, writers: int, rate: float, seconds: float, start_at: float, tag: str
) -> dict[str, float]:
    """One writer thread: its share of ``rate`` single-event transactions a second, each at
    its scheduled instant (at once when behind: a late commit is not skipped). Threads, not
    processes: a writer mostly waits for its COMMIT's WAL flush, not for the interpreter."""
    import psycopg
    from psycopg.types.json import Jsonb

    from tests.benchmarks.bench_relay import add_event

    committed: dict[str, float] = {}
    interval = writers / rate
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        i = 0
        while True:
            due = start_at + i * interval + writer / rate
            if due >= start_at + seconds:
                break
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            n = i * writers + writer
            event = add_event(f"user:{tag}{n % 50}", f"bench.Item:{tag}{n}", n)  # as measure()
            conn.execute(INSERT, (event.feed, event.ordering_key, Jsonb(event.payload)))
            committed[event.ordering_key] = time.time()
            i += 1
    return committed


def write_load(rate: float, seconds: float, writers: int, tag: str) -> dict[str, float]:
    start_at = time.time() + 0.5  # every writer connected first
    with ThreadPoolExecutor(writers) as pool:
        futures = [
            pool.submit(write_at_rate, w, writers, rate, seconds, start_at, tag)
            for w in range(writers)
        ]
        committed: dict[str, float] = {}
        for future in futures:
            committed.update(future.result())
    return committed


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine has been busy and has had, over all its cores, since
    boot (/proc/stat's first line: idle and iowait are not busy; guest time is already in
    user time)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, sum(fields) / tick


@dataclass
class Loaded:
    """One loaded run: every event's latency, the rate reached (events over first to last
    commit), the relays' CPU milliseconds an event (their own, from /proc: the machine's
    load does not inflate it the way it does wall time), and the whole machine's: every
    process's CPU an event (writers, PostgreSQL, emulator, relays) and the share of its cores
    it kept busy from the first commit until the last event was applied."""

    latencies: list[float]
    achieved: float
    relay_cpu: float
    machine_cpu: float
    busy: float


def measure_loaded(
    base_url: str, rate: float, seconds: float, writers: int, relays: int = 3, tag: str = ""
) -> Loaded:
    """``relays`` relay processes while ``writers`` threads commit ``rate`` events a second."""
    from tests.benchmarks.bench_emulator import cpu_seconds

    procs = [start_relay() for _ in range(relays)]
    try:
        time.sleep(3.0)
        write_load(rate, 1.0, writers, f"{tag}w")  # warm-up: every relay has claimed and sent
        h.wait_delivered(120)
        cpu_before = sum(cpu_seconds(proc.pid) for proc in procs)
        busy_before, had_before = machine_cpu()
        # Keys of their own: the emulator's log gives the first time a key was applied.
        committed = write_load(rate, seconds, writers, f"{tag}m")
        h.wait_delivered(120)
        busy_after, had_after = machine_cpu()
        cpu = sum(cpu_seconds(proc.pid) for proc in procs) - cpu_before
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    times = sorted(committed.values())
    events = len(committed)
    # The window starts 0.5 s before the first commit (write_load connects its writers) and
    # ends at the last event's settlement: the busy share is a little under the load's own.
    return Loaded(
        latencies=latencies(h.applied_at(base_url), committed),
        achieved=(len(times) - 1) / (times[-1] - times[0]),
        relay_cpu=cpu * 1000 / events,
        machine_cpu=(busy_after - busy_before) * 1000 / events,
        busy=(busy_after - busy_before) / (had_after - had_before),
    )


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--transactions", type=int, default=1000)
    p.add_argument("--poll-interval", type=float, default=1.0)
    p.add_argument("--rate", type=float, default=1000.0, help="events/s under load")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of load (--quick: 3)")
    p.add_argument("--writers", type=int, default=16, help="writer threads under load")
    args = p.parse_args()
    n = 200 if args.quick else args.transactions
    figures = {}
    with h.scratch_database(h.database_url("latency")) as url, h.emulator() as base_url:
        h.setup_django(url, base_url)
        listen = measure(base_url, n, "l", [])
        poll = measure(
            base_url, n, "p", ["--poll-only", "--poll-interval", str(args.poll_interval)]
        )
        seconds = 3.0 if args.quick else args.seconds
        loaded = measure_loaded(base_url, args.rate, seconds, args.writers)
        # The same load on one relay: what the machine allows without a wake-up of every
        # relay for every commit (each claims; the losers find nothing).
        alone = measure_loaded(base_url, args.rate, seconds, args.writers, relays=1, tag="one")
    for name, values, p50, p99 in (
        ("LISTEN/NOTIFY", listen, 2, 4),
        (f"poll only, every {args.poll_interval:g} s", poll, None, args.poll_interval * 1000 + 100),
    ):
        figures[f"{name}: p50"] = {
            "value": h.percentile(values, 50),
            "unit": "ms",
            **({"target": {"op": "<=", "value": p50}} if p50 else {}),
        }
        figures[f"{name}: p99"] = {
            "value": h.percentile(values, 99),
            "unit": "ms",
            "target": {"op": "<=", "value": p99},
        }
        figures[f"{name}: max"] = {"value": max(values), "unit": "ms"}
    for name, run, target in (
        (f"3 relays, {args.rate:,.0f} events/s", loaded, 10),
        (f"1 relay, {args.rate:,.0f} events/s", alone, None),
    ):
        figures[f"{name}: rate achieved"] = {
            "value": run.achieved,
            "unit": "events/s",
            **({"target": {"op": ">=", "value": args.rate * 0.95}} if target else {}),
        }
        figures[f"{name}: p50"] = {"value": h.percentile(run.latencies, 50), "unit": "ms"}
        figures[f"{name}: p99"] = {
            "value": h.percentile(run.latencies, 99),
            "unit": "ms",
            **({"target": {"op": "<=", "value": target}} if target else {}),
        }
        figures[f"{name}: max"] = {"value": max(run.latencies), "unit": "ms"}
        figures[f"{name}: relays' CPU per event"] = {"value": run.relay_cpu, "unit": "ms"}
        # Every process's CPU an event, and how busy the cores were: at 100 % the events
        # queue for the CPU, whatever the relay does.
        figures[f"{name}: machine's CPU per event"] = {"value": run.machine_cpu, "unit": "ms"}
        figures[f"{name}: machine busy"] = {"value": run.busy * 100, "unit": "%"}
    h.emit(
        {
            "title": f"Commit-to-feed latency over {n:,} single-event transactions",
            "figures": figures,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
