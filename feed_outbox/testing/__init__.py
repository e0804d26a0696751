"""Test helpers for projects using feed-outbox: an emulator to publish into, and a synchronous drain.

``drain_outbox`` is the relay's (relay.testing), re-exported here under its stream-django-era
name and imported only when used: feed_outbox itself never imports the relay.
"""

from __future__ import annotations

from typing import Any


def drain_outbox(using: str = "default", batch_size: int = 100, **client_overrides: Any):
    """Publish every claimable outbox event now (see ``relay.testing.drain_outbox``)."""
    from relay.testing import drain_outbox as drain

    return drain(using, batch_size, **client_overrides)


def start_emulator(api_key: str = "test-key", api_secret: str = "test-secret", **kwargs: Any):
    """Start the Stream emulator in a background thread on a free port; call ``.stop()`` after."""
    from feed_outbox.emulator import Emulator

    emulator = Emulator(api_key=api_key, api_secret=api_secret, port=0, **kwargs)
    emulator.start()
    return emulator
