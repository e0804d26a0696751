"""A secret given only through STREAM_URL (Heroku style, read by stream-python itself) is
scrubbed from the relay's log and the outbox's last_error like one from settings."""

from __future__ import annotations

import signal

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from tests.factories import OutboxEventFactory
from tests.polling import wait_for
from tests.relay.conftest import start_relay  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECRET = "urlonlysecret0123456789abcdef"


def test_a_secret_from_stream_url_is_in_no_log_and_no_last_error(start_relay, stand_in):  # noqa: F811
    # A hostile (or future) answer that quotes the secret back: it must still be written down
    # scrubbed.
    echo = stand_in(400, {"detail": f"bad data; signed with {SECRET}", "status_code": 400,
                          "code": 4, "exception": "InputException", "duration": "0.00ms"})  # fmt: skip
    event = OutboxEventFactory(feed="user:1")
    relay = start_relay(
        "--poll-interval", "0.1", "--max-attempts", "1",
        env={
            "FEED_OUTBOX_TEST_STREAM_API_KEY": "",
            "FEED_OUTBOX_TEST_STREAM_API_SECRET": "",
            "STREAM_URL": f"https://thekey:{SECRET}@us-east.stream-io-api.com/?app_id=1",
            "FEED_OUTBOX_TEST_STREAM_BASE_URL": echo.url,
        },
    )  # fmt: skip

    wait_for(lambda: OutboxEvent.objects.filter(status=EventStatus.DEAD).exists(), timeout=30)
    relay.wait_for_log("dead-lettered")
    relay.signal(signal.SIGTERM)
    assert relay.wait() == 0
    event.refresh_from_db()
    assert echo.requests >= 1  # the client built from STREAM_URL did call
    assert SECRET not in event.last_error and "[secret]" in event.last_error
    assert SECRET not in relay.output() and "[secret]" in relay.output()
