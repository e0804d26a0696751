"""Test helpers for projects using feed-outbox: an emulator to publish into, and a synchronous drain.

This is the one place in ``feed_outbox`` that drives the relay in-process (imported lazily):
tests need delivery on the test's own connection, where uncommitted rows are visible.
"""

from __future__ import annotations

from typing import Any


def drain_outbox(using: str = "default", batch_size: int = 100, **client_overrides: Any):
    """Publish every claimable outbox event now, on this thread and this connection.

    Works inside ``TestCase``/``django_db`` tests (rows not yet committed) as well as in
    transactional tests. Every API of FEED_OUTBOX_STREAM_API is drained, one after the other.
    Returns the relays' DrainStats (delivered, retried, dead), summed; raises
    ``relay.runner.ConfigurationError`` if Stream refuses the credentials.
    """
    from feed_outbox import conf
    from feed_outbox.client import build_client, build_v3_client
    from relay.runner import DrainStats, Relay, RelayOptions

    total = DrainStats()
    for api in conf.stream_apis():
        build = build_client if api == "v2" else build_v3_client
        relay = Relay(
            RelayOptions(batch_size=batch_size, using=using, owner="feed_outbox.testing", api=api),
            client_factory=lambda build=build: build(**client_overrides),
        )
        stats = relay.drain()
        total.batches += stats.batches
        total.delivered += stats.delivered
        total.retried += stats.retried
        total.dead += stats.dead
    return total


def start_emulator(api_key: str = "test-key", api_secret: str = "test-secret", **kwargs: Any):
    """Start the Stream emulator in a background thread on a free port; call ``.stop()`` after."""
    from feed_outbox.emulator import Emulator

    emulator = Emulator(api_key=api_key, api_secret=api_secret, port=0, **kwargs)
    emulator.start()
    return emulator
