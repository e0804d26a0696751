"""A real ASGI server for tests and benchmarks: uvicorn serving sample_app.asgi in a subprocess,
on a port that was free a moment before (uvicorn's --fd takes Unix sockets only)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from tests.conftest import ROOT
from tests.subprocesses import stop


@dataclass(frozen=True)
class Served:
    url: str  # http://localhost:PORT
    pid: int


@contextlib.contextmanager
def uvicorn(env: dict[str, str], *args: str) -> Iterator[Served]:
    """``python -m uvicorn sample_app.asgi:application`` with ``env``, once it answers; stopped
    after the block."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://localhost:{port}"
    command = [sys.executable, "-m", "uvicorn", "sample_app.asgi:application", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", "--backlog", "4096"]
    process = subprocess.Popen([*command, *args], cwd=ROOT, env=env)
    try:
        _wait_answering(url, process)
        yield Served(url, process.pid)
    finally:
        stop(process)


def _wait_answering(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with status {process.returncode}")
        try:
            urllib.request.urlopen(f"{url}/login/", timeout=5).close()
            return
        except urllib.error.HTTPError:  # an answer all the same
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer within {seconds:g} s")
