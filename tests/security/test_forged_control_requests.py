"""A web page a developer visits cannot drive the emulator on their machine: cross-origin and
DNS-rebinding requests to /_emulator are refused, while the real clients are still served."""

from __future__ import annotations

import pytest
import requests
import stream
from getstream import Stream
from getstream.models import FeedRequest

from feed_outbox.emulator import Emulator
from tests.emulator.rawhttp import exchange, request

KEY, SECRET = "forge-key", "forge-secret-0123456789abcdef0123456789"
EVERY_PATH = [
    ("GET", "/_emulator/"),
    ("GET", "/_emulator/feeds.json"),
    ("GET", "/_emulator/control"),
    ("POST", "/_emulator/control"),
    ("GET", "/_emulator/stats"),
    ("GET", "/_emulator/log"),
    ("POST", "/_emulator/reset"),
]
CONTROL = {"X-Emulator-Control": "1"}


@pytest.fixture(scope="module")
def emulator():
    with Emulator(api_key=KEY, api_secret=SECRET, port=0) as emulator:
        yield emulator


@pytest.fixture
def one_feed(emulator):
    emulator.reset()
    client = stream.connect(KEY, SECRET, base_url=emulator.url)
    client.feed("user", "1").add_activity({"actor": "u:1", "verb": "v", "object": "kept"})
    return emulator


def feed_count(emulator) -> int:
    return emulator.stats()["activities"]


def test_a_cross_origin_text_plain_reset_wipes_nothing(one_feed):
    # what a form or fetch(..., {mode: "no-cors"}) on any page can send to localhost
    forged = request(
        one_feed.port,
        "POST",
        "/_emulator/reset",
        b"{}",
        {"Origin": "https://attacker.example", "Content-Type": "text/plain"},
    )
    answer = exchange(one_feed.port, forged)
    assert answer.status == 403
    assert feed_count(one_feed) == 1


def test_a_reset_without_the_control_header_wipes_nothing(one_feed):
    answer = requests.post(
        f"{one_feed.url}/_emulator/reset", headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 403
    assert "X-Emulator-Control: 1" in answer.json()["detail"]
    assert feed_count(one_feed) == 1
    assert requests.post(f"{one_feed.url}/_emulator/reset", headers=CONTROL).status_code == 200
    assert feed_count(one_feed) == 0


def test_a_faults_change_without_the_control_header_changes_nothing(emulator):
    answer = requests.post(f"{emulator.url}/_emulator/control", json={"error_rate": 1})
    assert answer.status_code == 403
    assert emulator.faults_config()["error_rate"] == 0


@pytest.mark.parametrize("method, path", EVERY_PATH)
@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:{port}", "localhost.attacker.example", "[::2]"]
)
def test_a_rebound_host_name_is_refused_everywhere(one_feed, method, path, host):
    host = host.format(port=one_feed.port)
    forged = request(one_feed.port, method, path, b"{}", CONTROL, host=host)
    answer = exchange(one_feed.port, forged)
    assert answer.status == 403, answer.body
    assert b"kept" not in answer.body and "Host" in answer.json()["detail"]
    assert feed_count(one_feed) == 1


@pytest.mark.parametrize("method, path", EVERY_PATH)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},  # sandboxed frames and file:// pages
        {"Origin": "http://localhost:1"},  # another local server's page
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cross_origin_request_is_refused_everywhere(one_feed, method, path, headers):
    answer = exchange(
        one_feed.port, request(one_feed.port, method, path, b"{}", {**CONTROL, **headers})
    )
    assert answer.status == 403, answer.body
    assert b"kept" not in answer.body
    assert feed_count(one_feed) == 1


@pytest.mark.parametrize(
    "host", ["localhost:{port}", "127.0.0.1:{port}", "127.0.0.1", "[::1]:{port}"]
)
def test_local_names_and_the_same_origin_are_served(one_feed, host):
    host = host.format(port=one_feed.port)
    for headers in ({}, {"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}):
        page = exchange(
            one_feed.port,
            request(one_feed.port, "GET", "/_emulator/feeds.json", b"", headers, host),
        )
        assert page.status == 200 and b"kept" in page.body
        control = request(
            one_feed.port, "POST", "/_emulator/control", b"{}", {**CONTROL, **headers}, host
        )
        assert exchange(one_feed.port, control).status == 200


def test_the_real_clients_are_still_served(emulator):
    emulator.reset()
    # stream-python and the getstream SDK send Host: localhost:PORT
    client = stream.connect(KEY, SECRET, base_url=emulator.url)
    client.feed("user", "1").add_activity({"actor": "u:1", "verb": "v", "object": "o:1"})
    assert len(client.feed("user", "1").get()["results"]) == 1
    feeds = Stream(api_key=KEY, api_secret=SECRET, base_url=emulator.url).feeds
    feeds.create_feeds_batch(
        feeds=[FeedRequest(feed_group_id="user", feed_id="1", created_by_id="1")]
    )
    assert feeds.get_or_create_feed("user", "1", limit=10).data.activities == []
