"""``--workers N``: N relay processes under one parent that forwards SIGTERM/SIGINT to them.

With ``--metrics-port`` the parent serves /healthz, /readyz and /metrics for all of them: the
children write their figures in prometheus-client's multiprocess mode to a directory of the
parent's, which sums them in one scrape.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

logger = logging.getLogger("relay")


def _child_argv(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--workers":
            skip = True
            continue
        if arg.startswith("--workers="):
            continue
        if arg == "--metrics-port" or arg.startswith("--metrics-port="):
            # One port cannot be shared: children serve none (ask each process for its own).
            skip = arg == "--metrics-port"
            continue
        out.append(arg)
    return out


def run_workers(
    workers: int,
    argv: list[str],
    grace_period: float,
    metrics_port: int | None = None,
    apis: tuple[str, ...] = (),
) -> int:
    """Start ``workers`` children (``python -m relay`` with the same options), ``workers``
    per API of ``apis`` when given (``--api`` each); exit when all do."""
    command = [sys.executable, "-m", "relay", *_child_argv(argv)]
    commands = [[*command, "--api", api] for api in apis] if apis else [command]
    env = dict(os.environ)
    metrics_dir = None
    if metrics_port is not None:
        # A fresh directory per run: files left by an earlier run would be summed in.
        metrics_dir = tempfile.mkdtemp(prefix="feed-outbox-relay-metrics-")
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    children = [subprocess.Popen(c, env=env) for c in commands for _ in range(workers)]
    logger.info("started %d relay processes: %s", len(children), [c.pid for c in children])
    server = None
    if metrics_dir is not None:
        server = _serve_metrics(metrics_port, metrics_dir, children)
    try:
        return _supervise(children, metrics_dir)
    finally:
        if server is not None:
            server.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _serve_metrics(port: int, path: str, children: list[subprocess.Popen]):
    from relay.health import HealthServer
    from relay.metrics import DATABASE_UP, PAUSED, WorkersMetrics

    metrics = WorkersMetrics(path, lambda: [c.pid for c in children if c.poll() is None])

    def ready() -> tuple[bool, str]:
        stopped = [c.pid for c in children if c.poll() is not None]
        if stopped:
            return False, f"relay processes exited: {stopped}"
        if metrics.gauge(PAUSED):
            return False, "paused by a configuration error (see the relay processes' logs)"
        if metrics.gauge(DATABASE_UP) == 0:
            return False, "database unreachable (see the relay processes' logs)"
        return True, "ready"

    server = HealthServer(port, metrics, ready).start()
    # Tests and scripts read the port from this line when they asked for port 0.
    logger.info("metrics listening on port %d (all %d workers)", server.port, len(children))
    return server


def _supervise(children: list[subprocess.Popen], metrics_dir: str | None) -> int:
    stopping = False
    dead: set[int] = set()

    def forward(signum, frame):
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while any(child.poll() is None for child in children):
        time.sleep(0.2)
        if metrics_dir is not None:
            _forget_dead(children, metrics_dir, dead)
    if metrics_dir is not None:
        _forget_dead(children, metrics_dir, dead)
    codes = [child.returncode for child in children]
    return 0 if stopping or not any(codes) else max(c for c in codes if c)


def _forget_dead(children: list[subprocess.Popen], path: str, dead: set[int]) -> None:
    """A child that exited no longer counts in the live* gauges (its counters stay summed)."""
    from prometheus_client import multiprocess

    for child in children:
        if child.poll() is not None and child.pid not in dead:
            dead.add(child.pid)
            multiprocess.mark_process_dead(child.pid, path)
