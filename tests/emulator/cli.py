"""The emulator's command line run in a subprocess, for the CLI and `--data` restart tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import stream

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "cli-key", "cli-secret-that-must-never-be-printed-0123456789"
PREFIX = "Stream emulator listening on http://localhost:"


class Cli:
    def __init__(self, *args: str) -> None:
        # the secret through the environment, as the demo and docker-compose pass it
        env = {**os.environ, "PYTHONPATH": str(ROOT), "STREAM_API_SECRET": SECRET}
        env.pop("LOCAL", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "feed_outbox.emulator",
                "--port",
                "0",
                "--api-key",
                KEY,
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.line = self.proc.stdout.readline()
        if not self.line.startswith(PREFIX):
            self.proc.kill()
            raise AssertionError(f"no port line: {self.line!r} {self.proc.stderr.read()}")
        self.url = self.line.strip().split(" on ")[1]
        self.client = stream.connect(KEY, SECRET, base_url=self.url)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return out, err
