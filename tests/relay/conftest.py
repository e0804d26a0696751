"""Relay processes for tests: started with subprocess, killed (SIGKILL) at teardown, polled."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request

import pytest

from tests.conftest import ROOT
from tests.polling import wait_for


class RelayProcess:
    """``python -m relay`` with its output in a file (so a test can read its log lines)."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.log = tempfile.NamedTemporaryFile("w+", prefix="relay-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relay", *args],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # A group of its own: killing it also kills the children of --workers.
            start_new_session=True,
        )

    def output(self) -> str:
        with open(self.log.name) as f:
            return f.read()

    def wait_for_log(self, pattern: str, timeout: float = 30.0) -> re.Match:
        def found():
            if self.proc.poll() is not None:
                raise AssertionError(f"relay exited ({self.proc.returncode}):\n{self.output()}")
            return re.search(pattern, self.output())

        return wait_for(found, timeout)

    @property
    def metrics_port(self) -> int:
        return int(self.wait_for_log(r"metrics listening on port (\d+)").group(1))

    def get(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self.log.close()
        os.unlink(self.log.name)


@pytest.fixture
def start_relay(subprocess_env):
    """``start_relay("--poll-interval", "0.2", env={...})`` → a running RelayProcess."""
    started: list[RelayProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> RelayProcess:
        relay = RelayProcess(list(args), {**subprocess_env, **(env or {})})
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.close()
