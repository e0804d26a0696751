"""The emulator's inspection pages (every feed's activities) need the app's API key from any
client that is not on loopback; docker-compose publishes the emulator on loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import stream

from feed_outbox.emulator import Emulator
from feed_outbox.emulator.routing import Request
from tests.security.test_control_endpoint import non_loopback_address

PAGES = ["/_emulator/", "/_emulator", "/_emulator/feeds.json"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emulator():
    emulator = Emulator(api_key="the-key", api_secret="the-secret-0123456789abcdef0123", port=0)
    emulator.start()
    client = stream.connect("the-key", "the-secret-0123456789abcdef0123", base_url=emulator.url)
    client.feed("user", "1").add_activity({"actor": "u:1", "verb": "v", "object": "private"})
    yield emulator
    emulator.stop()


def page(emulator, path, peer, query=""):
    return emulator.inspector.handle(Request("GET", path, query, {}, b"", peer))


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("peer", ["192.0.2.2", "10.0.0.1", "fd00::2", "172.17.0.1"])
def test_a_remote_client_without_the_api_key_sees_no_feed(emulator, path, peer):
    for query in ("", "api_key=", "api_key=not-the-key", "api_key=the-ke"):
        response = page(emulator, path, peer, query)
        assert response.status == 401, (path, peer, query)
        assert "private" not in str(response.body)


@pytest.mark.parametrize("path", PAGES)
def test_a_remote_client_with_the_api_key_and_a_loopback_one_see_the_feeds(emulator, path):
    assert "private" in str(page(emulator, path, "192.0.2.2", "api_key=the-key").body)
    assert "private" in str(page(emulator, path, "127.0.0.1").body)


def test_the_page_links_feeds_json_with_the_key_it_was_opened_with(emulator):
    body = page(emulator, "/_emulator/", "192.0.2.2", "api_key=the-key").body
    assert "/_emulator/feeds.json?api_key=the-key" in body


def test_over_http_from_another_interface_the_pages_need_the_key():
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    with Emulator(api_key="k", api_secret="s", host="0.0.0.0", port=0) as emulator:
        url = f"http://{address}:{emulator.port}/_emulator/feeds.json"
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, params={"api_key": "k"}, timeout=5).status_code == 200


def test_docker_compose_publishes_the_emulator_on_loopback_only():
    compose = (ROOT / "docker-compose.yml").read_text()
    published = [line.split("#")[0].strip() for line in compose.splitlines()]
    assert '- "127.0.0.1:8700:8700"' in published
    assert not any(p.endswith(':8700"') and not p.startswith('- "127.0.0.1:') for p in published)
