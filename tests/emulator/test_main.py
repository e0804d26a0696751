"""The command line (`python -m feed_outbox.emulator`): port line, flags, secret hygiene."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.emulator.cli import KEY, ROOT, SECRET, Cli
from tests.emulator.conftest import activity


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


def test_cli_serves_a_v3_app_without_groups_on_request():
    from getstream import Stream

    cli = Cli("--v3-app", "empty")
    try:
        client = Stream(api_key=KEY, api_secret=SECRET, base_url=cli.url)
        with client.feeds as feeds, client:
            assert feeds.list_feed_groups().data.groups == {}
    finally:
        cli.stop()
