"""The emulator's control endpoints answer loopback clients only (faults, reset, log, stats)."""

from __future__ import annotations

import socket

import pytest
import requests

from feed_outbox.emulator import Emulator
from feed_outbox.emulator.inspector import _is_loopback

CONTROL = [
    ("GET", "/_emulator/control"),
    ("POST", "/_emulator/control"),
    ("GET", "/_emulator/stats"),
    ("GET", "/_emulator/log"),
    ("POST", "/_emulator/reset"),
]


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.8.9.10", "::1"])
def test_loopback_peers_are_loopback(peer):
    assert _is_loopback(peer)


@pytest.mark.parametrize(
    "peer",
    [
        "192.0.2.2",
        "10.0.0.1",
        "fd00::2",
        "0.0.0.0",
        "",
        "localhost",
        "127.0.0.1.evil",
        "::ffff:10.0.0.1",
    ],
)
def test_other_peers_are_not(peer):
    assert not _is_loopback(peer)


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; picks the outgoing address
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.fixture
def emulator_on_every_interface():
    emulator = Emulator(api_key="k", api_secret="s", host="0.0.0.0", port=0)
    emulator.start()
    yield emulator
    emulator.stop()


def test_control_endpoints_refuse_a_client_on_another_interface(emulator_on_every_interface):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    port = emulator_on_every_interface.port
    emulator_on_every_interface.set_faults(error_rate=0.5)
    for method, path in CONTROL:
        response = requests.request(
            method, f"http://{address}:{port}{path}", json={"error_rate": 0}, timeout=5
        )
        assert response.status_code == 403, (method, path, response.text)
    # Nothing changed: the refused POSTs neither cleared the faults nor reset the state.
    assert emulator_on_every_interface.faults_config()["error_rate"] == 0.5
    # The same calls from loopback work (the refusal is about the peer, not the request).
    local = requests.get(f"http://127.0.0.1:{port}/_emulator/control", timeout=5)
    assert local.status_code == 200
