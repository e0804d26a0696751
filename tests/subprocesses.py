"""Stopping the servers and relays tests start as child processes."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not exited within ``timeout`` seconds; waits."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
