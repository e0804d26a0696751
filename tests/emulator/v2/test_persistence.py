"""`--data` persists the Feeds v2 store across a crash and restart (emulator/v2/persistence.py)."""

from __future__ import annotations

import signal

import pytest

from tests.emulator.cli import Cli
from tests.emulator.conftest import activity


@pytest.fixture(autouse=True)
def _no_local(monkeypatch):
    monkeypatch.delenv("LOCAL", raising=False)


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
