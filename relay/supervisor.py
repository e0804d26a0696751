"""``--workers N``: N relay processes under one parent that forwards SIGTERM/SIGINT to them."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
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
    workers: int, argv: list[str], grace_period: float, apis: tuple[str, ...] = ()
) -> int:
    """Start ``workers`` children (``python -m relay`` with the same options), ``workers``
    per API of ``apis`` when given (``--api`` each); exit when all do."""
    command = [sys.executable, "-m", "relay", *_child_argv(argv)]
    commands = [[*command, "--api", api] for api in apis] if apis else [command]
    children = [subprocess.Popen(c) for c in commands for _ in range(workers)]
    logger.info("started %d relay processes: %s", len(children), [c.pid for c in children])
    stopping = False

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
    codes = [child.returncode for child in children]
    return 0 if stopping or not any(codes) else max(c for c in codes if c)
