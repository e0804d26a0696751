"""Waiting for a condition in tests that drive real processes: poll with a deadline, never sleep blind."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll ``condition`` until it returns something truthy and return that; raise TimeoutError
    naming ``what`` (or the condition) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what or condition}")
        time.sleep(interval)


def within_one_window(seconds: float, window: float = 60.0) -> None:
    """Return when at least ``seconds`` are left in the current fixed ``window`` (the emulator's
    rate limits count per calendar minute, as Stream's headers say): a test that spends a whole
    window's budget and then expects a 429 must not have the window reset in the middle."""
    left = window - time.time() % window
    if left < seconds:
        time.sleep(left + 0.01)
