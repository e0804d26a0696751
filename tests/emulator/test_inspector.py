"""The /_emulator/ pages and control endpoints, and the Python control API."""

from __future__ import annotations

import requests

from feed_outbox.emulator.routing import Request
from tests.emulator.conftest import activity

# what every state-changing control request carries (emulator/inspector.py)
CONTROL = {"X-Emulator-Control": "1"}


def test_control_endpoint_reads_and_sets_faults(emulator):
    base = f"{emulator.url}/_emulator"
    assert requests.get(f"{base}/control").json()["faults"]["error_rate"] == 0
    answer = requests.post(
        f"{base}/control", json={"latency_ms": 5, "rate_limits": "stream"}, headers=CONTROL
    )
    assert answer.status_code == 200
    assert emulator.set_faults()["latency_ms"] == 5
    bad = requests.post(f"{base}/control", json={"error_rate": "often"}, headers=CONTROL)
    assert bad.status_code == 400 and "error_rate" in bad.json()["detail"]


def test_stats_log_and_reset_over_http(client, emulator):
    base = f"{emulator.url}/_emulator"
    client.feed("user", "1").add_activity(activity(1, foreign_id="p:1"))
    client.feed("user", "1").remove_activity(foreign_id="p:1")
    stats = requests.get(f"{base}/stats").json()
    assert stats["requests"] == {"add_activity": 1, "remove_activity": 1}
    log = requests.get(f"{base}/log").json()["log"]
    assert [(e["seq"], e["op"], e["foreign_id"]) for e in log] == [
        (1, "add_activity", "p:1"),
        (2, "remove_activity", "p:1"),
    ]
    assert requests.get(f"{base}/log", params={"since": 1}).json()["log"][0]["seq"] == 2
    assert requests.post(f"{base}/reset", headers=CONTROL).json() == {"reset": True}
    assert requests.get(f"{base}/stats").json()["requests"] == {}
    assert emulator.request_log() == []


def test_inspection_page_and_json(client, emulator):
    client.feed("user", "1").add_activity(activity(1, foreign_id="<b>p:1</b>"))
    page = requests.get(f"{emulator.url}/_emulator/")
    assert page.headers["Content-Type"].startswith("text/html")
    assert "user:1" in page.text and "&lt;b&gt;p:1&lt;/b&gt;" in page.text
    feeds = requests.get(f"{emulator.url}/_emulator/feeds.json").json()["feeds"]
    assert feeds["user:1"]["activities"][0]["foreign_id"] == "<b>p:1</b>"


def test_control_refuses_non_loopback_peers(emulator):
    for path in ("/_emulator/control", "/_emulator/stats", "/_emulator/log"):
        answer = emulator.inspector.handle(Request("GET", path, "", {}, b"", peer="10.2.3.4"))
        assert answer.status == 403
    reset = Request("POST", "/_emulator/reset", "", {}, b"", peer="192.168.1.9")
    assert emulator.inspector.handle(reset).status == 403
    local = emulator.inspector.handle(Request("GET", "/_emulator/stats", "", {}, b"", "::1"))
    assert local.status == 200


def test_request_log_is_ordered_write_operations(client, emulator):
    user = client.feed("user", "1")
    user.add_activities([activity(1, foreign_id="a"), activity(2, foreign_id="b")])
    client.feed("timeline", "1").follow("user", "1")
    client.feed("timeline", "1").unfollow("user", "1")
    user.get()
    log = emulator.request_log()
    assert [(e["op"], e["foreign_id"] or e["target"]) for e in log] == [
        ("add_activity", "a"),
        ("add_activity", "b"),
        ("follow", "user:1"),
        ("unfollow", "user:1"),
    ]
    assert [e["seq"] for e in log] == [1, 2, 3, 4]


def test_request_log_shows_removes_that_matched_nothing(client, emulator):
    user = client.feed("user", "1")
    user.remove_activity(foreign_id="p:1")  # arrives before its add
    user.add_activity(activity(1, foreign_id="p:1"))
    user.remove_activity(foreign_id="p:1")
    log = [(e["op"], e["foreign_id"], e["matched"]) for e in emulator.request_log()]
    assert log == [
        ("remove_activity", "p:1", 0),
        ("add_activity", "p:1", None),
        ("remove_activity", "p:1", 1),
    ]
