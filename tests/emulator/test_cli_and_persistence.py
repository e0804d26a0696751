"""The command line (port line, flags, secret hygiene) and `--data` persistence across restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import stream

from tests.emulator.conftest import activity

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


@pytest.fixture(autouse=True)
def _no_local(monkeypatch):
    monkeypatch.delenv("LOCAL", raising=False)


def test_cli_prints_exactly_one_port_line_and_never_the_secret():
    cli = Cli("--feed-group", "digest:aggregated")
    assert int(cli.url.rsplit(":", 1)[1]) > 0
    cli.client.feed("digest", "1").add_activity(activity(1))
    assert cli.client.feed("digest", "1").get()["results"][0]["activity_count"] == 1
    out, err = cli.stop()
    assert out == ""  # nothing after the port line
    assert SECRET not in cli.line + out + err


def test_cli_rejects_a_bad_feed_group():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "feed_outbox.emulator", "--port", "0", "--feed-group", "x:round"],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
    )
    assert done.returncode == 2 and "NAME:TYPE" in done.stderr and done.stdout == ""


def test_data_survives_a_crash_and_restart(tmp_path):
    data = str(tmp_path / "emulator.sqlite3")
    cli = Cli("--data", data)
    user = cli.client.feed("user", "1")
    cli.client.feed("timeline", "1").follow("user", "1")
    added = user.add_activity(activity(1, foreign_id="p:1", to=["notification:1"]))
    user.add_activity(activity(2, foreign_id="p:2"))
    user.remove_activity(foreign_id="p:2")
    cli.client.feed("notification", "1").get(mark_read=True)
    cli.stop(signal.SIGKILL)  # no shutdown hook: only what was committed before answering

    again = Cli("--data", data)
    try:
        [stored] = again.client.feed("user", "1").get()["results"]
        assert stored["id"] == added["id"] and stored["to"] == ["notification:1"]
        [copy] = again.client.feed("timeline", "1").get()["results"]
        assert copy["origin"] == "user:1"
        assert again.client.feed("notification", "1").get()["unread"] == 0
        # follows survived too: new activities still fan out
        again.client.feed("user", "1").add_activity(activity(3))
        assert len(again.client.feed("timeline", "1").get()["results"]) == 2
        # and uniqueness: the same foreign_id+time updates, keeping the id
        same = again.client.feed("user", "1").add_activity(
            activity(1, foreign_id="p:1", time=stored["time"])
        )
        assert same["id"] == added["id"]
        # removal propagation still knows the `to` targets
        again.client.feed("user", "1").remove_activity(added["id"])
        assert again.client.feed("notification", "1").get()["results"] == []
    finally:
        again.stop()


def test_cli_fault_flags_are_applied_and_changeable_at_runtime():
    import requests
    from stream.exceptions import StreamApiException

    cli = Cli("--error-rate", "1", "--latency-ms", "1", "--rate-limits", "stream")
    try:
        with pytest.raises(StreamApiException):
            cli.client.feed("user", "1").add_activity(activity(1))
        faults = requests.get(f"{cli.url}/_emulator/control").json()["faults"]
        assert faults["error_rate"] == 1 and faults["rate_limits"] == "stream"
        requests.post(
            f"{cli.url}/_emulator/control",
            json={"error_rate": 0},
            headers={"X-Emulator-Control": "1"},
        )
        cli.client.feed("user", "1").add_activity(activity(1))
        stats = requests.get(f"{cli.url}/_emulator/stats").json()
        assert stats["faults"]["error"] == 1 and stats["activities"] == 1
    finally:
        cli.stop()
