"""relay.testing.drain_outbox, the in-process drain behind the pytest plugin's outbox_drain."""

from __future__ import annotations

import gc
import warnings

import pytest
from django.test import override_settings

from feed_outbox.testing import drain_outbox
from tests.factories import TweetFactory, UserFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("api", ["v2", "v3", "v2+v3"])
def test_a_drain_leaves_no_connection_open_to_stream(api, stream_emulator):
    """A user's suite run with -W error fails on a socket left for the garbage collector
    (ResourceWarning, raised from its __del__): each drain closes the clients it built."""
    with override_settings(FEED_OUTBOX_STREAM_API=api):
        TweetFactory(user=UserFactory())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            stats = drain_outbox()
            gc.collect()
    assert stats.delivered == len(api.split("+"))
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed, unclosed
