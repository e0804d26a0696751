"""Error classes: what is retried, what is dead-lettered, what pauses the relay; backoff bounds."""

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from stream import exceptions as stream_exceptions

from relay.retry import Failure, LeaseExpiring, backoff_seconds, classify, describe


def api_error(code, status):
    exc = stream_exceptions.StreamApiException("detail")
    exc.code, exc.status_code = code, status
    return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (requests.Timeout(), Failure.RETRYABLE),
        (requests.ConnectionError(), Failure.RETRYABLE),
        (LeaseExpiring(), Failure.RETRYABLE),
        (api_error(1, 500), Failure.RETRYABLE),
        (api_error(1, 503), Failure.RETRYABLE),
        (api_error(9, 429), Failure.RETRYABLE),
        *[(api_error(code, 400), Failure.PERMANENT) for code in (4, 5, 6, 13, 15, 16, 17)],
        *[(api_error(code, 401), Failure.CONFIGURATION) for code in (2, 3, 7)],
        (ImproperlyConfigured("no credentials"), Failure.CONFIGURATION),
        (TypeError("a bug"), Failure.PERMANENT),
    ],
)
def test_each_failure_has_its_class(exc, expected):
    assert classify(exc) is expected


@override_settings(STREAM_API_SECRET="s3cret-value-123")
def test_describe_never_carries_the_secret():
    text = describe(api_error(3, 401).__class__("signature s3cret-value-123 mismatch"))

    assert "s3cret-value-123" not in text
    assert "[secret]" in text


def test_backoff_has_full_jitter_and_a_cap():
    delays = [backoff_seconds(attempt, base=0.5, cap=10.0) for attempt in range(1, 40)]

    assert all(0 <= d <= 10.0 for d in delays)
    assert max(backoff_seconds(1, base=0.5) for _ in range(200)) <= 0.5
    assert len({round(d, 6) for d in delays}) > 30  # jittered, not a fixed schedule
