"""relay.testing.drain_outbox, the in-process drain behind the pytest plugin's outbox_drain."""

from __future__ import annotations

import gc
import re
import warnings
from urllib.parse import urlsplit

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
        # What earlier tests left for the collector is collected first, outside the record:
        # a client of another test, collected here, once failed this test (CI, Python 3.13).
        gc.collect()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            stats = drain_outbox()
            gc.collect()
    assert stats.delivered == len(api.split("+"))
    # The drain's own sockets are those to this test's emulator.
    to_this_emulator = re.compile(rf"raddr=\('[^']*', {urlsplit(stream_emulator.url).port}\b")
    unclosed = [
        str(w.message)
        for w in caught
        if issubclass(w.category, ResourceWarning) and to_this_emulator.search(str(w.message))
    ]
    assert not unclosed, unclosed
