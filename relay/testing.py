"""Driving the relay in-process for tests: ``drain_outbox`` publishes the outbox now.

It lives with the relay (data flows model → outbox → relay) and is registered as the
``feed_outbox.drain`` entry point (pyproject.toml), through which feed_outbox.testing and its
pytest plugin run it under their old names without importing the relay.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from feed_outbox import conf
from feed_outbox.client import build_client, build_v3_client
from relay.options import RelayOptions
from relay.runner import Relay
from relay.settle import DrainStats


def drain_outbox(
    using: str = "default", batch_size: int = 100, **client_overrides: Any
) -> DrainStats:
    """Publish every claimable outbox event now, on this thread and this connection.

    Works inside ``TestCase``/``django_db`` tests (rows not yet committed) as well as in
    transactional tests. Every API of FEED_OUTBOX_STREAM_API is drained, one after the other,
    by the relay's own loop (until idle). Returns the relays' DrainStats (delivered, retried,
    dead), summed; raises ``relay.exceptions.ConfigurationError`` if Stream refuses the
    credentials.
    """
    total = DrainStats()
    for api in conf.stream_apis():
        build = build_client if api == "v2" else build_v3_client
        relay = Relay(
            RelayOptions(batch_size=batch_size, using=using, owner="feed_outbox.testing", api=api),
            client_factory=partial(build, **client_overrides),
        )
        total.add(relay.drain())
    return total
