"""Fixtures: one in-process emulator per session, reset before every test, and a real client."""

from __future__ import annotations

import sys

import pytest
import stream

from feed_outbox.emulator import Emulator

API_KEY = "emulator-test-key"
API_SECRET = "emulator-test-secret-0123456789abcdef0123456789"


@pytest.fixture(scope="session")
def emulator():
    emu = Emulator(api_key=API_KEY, api_secret=API_SECRET, port=0).start()
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator):
    emulator.reset()
    yield


@pytest.fixture
def client(emulator, monkeypatch):
    # with LOCAL set the client ignores base_url and talks to localhost:8000
    monkeypatch.delenv("LOCAL", raising=False)
    return stream.connect(API_KEY, API_SECRET, base_url=emulator.url)


def activity(n: int | str = 1, **extra):
    """A minimal valid activity; `extra` overrides or adds fields."""
    return {"actor": "user:1", "verb": "tweet", "object": f"tweet:{n}", **extra}


def pytest_terminal_summary(terminalreporter):
    """How many inputs the fuzz test (test_fuzz.py) tried per surface, when it ran."""
    fuzz = sys.modules.get("tests.emulator.test_fuzz")
    if fuzz is not None and fuzz.TRIED:
        counts = ", ".join(f"{surface} {n}" for surface, n in sorted(fuzz.TRIED.items()))
        terminalreporter.write_line(f"emulator fuzz, inputs tried per surface: {counts}")
