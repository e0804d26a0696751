"""``--workers N``: N relay processes under one parent that forwards SIGTERM/SIGINT to them,
and that they outlive by no more than their grace period, however it dies.

With ``--metrics-port`` the parent serves /healthz, /readyz and /metrics for all of them: the
children write their figures in prometheus-client's multiprocess mode to a directory of the
parent's, which sums them in one scrape.

A parent killed with SIGKILL (or by the OOM killer) forwards nothing: each child watches the
read end of a pipe whose only write end the parent holds. The kernel closes it whatever way
the parent ends, and the child reads end-of-file and stops as on SIGTERM. Linux's
prctl(PR_SET_PDEATHSIG) was the other way; it fires when the parent *thread* that started the
child ends (not the process), exists only on Linux (not on a developer's macOS) and leaves a
window between fork and the prctl call. The pipe has none of these.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relay.health import HealthServer

logger = logging.getLogger("relay")
# The environment variable naming, in a child, the pipe its parent holds open (watch_parent).
PARENT_FD = "FEED_OUTBOX_RELAY_PARENT_FD"


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
    # The parent keeps the write end (never written to) for as long as it lives; Popen's
    # close_fds keeps it out of every child, so only the parent's death closes it.
    watched, held = os.pipe()
    env[PARENT_FD] = str(watched)
    children = [
        subprocess.Popen(c, env=env, pass_fds=(watched,))
        for c in commands
        for _ in range(workers)
    ]
    os.close(watched)
    logger.info("started %d relay processes: %s", len(children), [c.pid for c in children])
    server = None
    if metrics_dir is not None:
        assert metrics_port is not None  # metrics_dir is made for a metrics port only
        server = _serve_metrics(metrics_port, metrics_dir, children)
    try:
        return _supervise(children, metrics_dir)
    finally:
        os.close(held)
        if server is not None:
            server.stop()
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def watch_parent(on_gone: Callable[[], None]) -> bool:
    """In a ``--workers`` child: call ``on_gone`` (on a thread of its own) once the parent
    process is gone. False when this process was not started by ``run_workers``."""
    value = os.environ.pop(PARENT_FD, None)
    if not value:
        return False
    fd = int(value)
    os.set_inheritable(fd, False)  # nothing this process starts may keep the pipe open

    def watch() -> None:
        # The parent never writes: read() returns only at end-of-file, when it has exited.
        while os.read(fd, 1):
            pass
        os.close(fd)
        on_gone()

    threading.Thread(target=watch, name="relay-parent-watch", daemon=True).start()
    return True


def _serve_metrics(port: int, path: str, children: list[subprocess.Popen]) -> HealthServer:
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

    def forward(signum: int, frame: FrameType | None) -> None:
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
