"""Error classes: what is retried, what is dead-lettered, what pauses the relay; backoff bounds."""

import json

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from stream import exceptions as stream_exceptions

from relay.delivery.v2 import RAW_ATTRIBUTE
from relay.retry import (
    Failure,
    LeaseExpiring,
    backoff_seconds,
    classify,
    describe,
    may_mean_configuration,
)
from tests.stream_answers import ANSWERS


def api_error(code, status, detail="detail"):
    exc = stream_exceptions.StreamApiException(detail)
    exc.code, exc.status_code = code, status
    return exc


def real(case, **body_changes):
    """The exception stream-python raises for a real answer, with the raw body the pool keeps."""
    answer = ANSWERS[case]
    body = {**answer.body(), **body_changes}
    classes = stream_exceptions.get_exception_dict()
    exc = classes.get(body["code"], stream_exceptions.StreamApiException)(
        body["detail"], status_code=answer.status
    )
    setattr(exc, RAW_ATTRIBUTE, (answer.status, json.dumps(body)))
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
        (api_error(17, 403, "signature is invalid"), Failure.CONFIGURATION),
        (api_error(17, 403, "token is expired by 5s"), Failure.CONFIGURATION),
        (api_error(1, 400), Failure.UNRECOGNISED),  # what the client makes of an unknown code
        (api_error(1, 404, "GetStreamAPI404"), Failure.UNRECOGNISED),  # not Stream's JSON
        (ImproperlyConfigured("no credentials"), Failure.CONFIGURATION),
        (TypeError("a bug"), Failure.PERMANENT),
    ],
)
def test_each_failure_has_its_class(exc, expected):
    assert classify(exc) is expected


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong_secret", Failure.CONFIGURATION),
        ("malformed_token", Failure.CONFIGURATION),
        ("missing_api_key", Failure.CONFIGURATION),
        ("unknown_api_key", Failure.CONFIGURATION),
        ("suspended_app", Failure.CONFIGURATION),
        ("token_out_of_scope", Failure.PERMANENT),  # unless every event meets it (runner)
        ("unknown_feed_group", Failure.PERMANENT),  # 'nosuchgroup' is no configured group
        ("rate_limited", Failure.RETRYABLE),
        ("body_too_large", Failure.PERMANENT),
    ],
)
def test_each_real_answer_has_its_class(case, expected):
    assert classify(real(case)) is expected


def test_an_unknown_configured_feed_group_is_configuration_and_another_is_the_events_own():
    detail = ANSWERS["unknown_feed_group"].detail
    configured = real("unknown_feed_group", detail=detail.replace("nosuchgroup", "timeline"))

    assert classify(configured) is Failure.CONFIGURATION  # STREAM_NEWS_FEEDS names it
    assert classify(real("unknown_feed_group")) is Failure.PERMANENT


def test_an_unknown_code_is_read_from_the_raw_answer_and_bounded():
    exc = real("body_too_large", code=413, exception="RequestTooLarge")  # stream-ruby#26

    assert exc.code == 1  # stream-python lost it
    assert classify(exc) is Failure.UNRECOGNISED
    assert "code 413" in describe(exc) and '"exception": "RequestTooLarge"' in describe(exc)


def test_only_answers_that_can_mean_the_apps_configuration_may_pause_when_shared():
    assert may_mean_configuration(real("token_out_of_scope"))
    assert may_mean_configuration(api_error(1, 404, "GetStreamAPI404"))  # wrong base URL
    assert not may_mean_configuration(real("unknown_feed_group"))
    assert not may_mean_configuration(api_error(4, 400))
    assert not may_mean_configuration(real("rate_limited"))


@override_settings(STREAM_API_SECRET="s3cret-value-123")
def test_describe_never_carries_the_secret():
    text = describe(api_error(3, 401).__class__("signature s3cret-value-123 mismatch"))

    assert "s3cret-value-123" not in text
    assert "[secret]" in text


@override_settings(STREAM_API_KEY=None, STREAM_API_SECRET=None)
def test_describe_never_carries_a_secret_given_only_through_stream_url(monkeypatch):
    secret = "urlsecret0123456789abcdef"
    monkeypatch.setenv("STREAM_URL", f"https://key123:{secret}@us-east.stream-io-api.com/?app_id=1")

    text = describe(api_error(3, 401, f"bad signature for {secret}"))

    assert secret not in text and "[secret]" in text


def test_backoff_has_full_jitter_and_a_cap():
    delays = [backoff_seconds(attempt, base=0.5, cap=10.0) for attempt in range(1, 40)]

    assert all(0 <= d <= 10.0 for d in delays)
    assert max(backoff_seconds(1, base=0.5) for _ in range(200)) <= 0.5
    assert len({round(d, 6) for d in delays}) > 30  # jittered, not a fixed schedule


def test_the_retry_decision_is_one_value_per_failure():
    from relay.retry import Action, RetryPolicy, decide

    policy = RetryPolicy(max_attempts=3, backoff=0.5, landing_seconds=12.0)
    bad_data = api_error(4, 400)

    assert decide(bad_data, 1, policy).action is Action.RETRY
    dead = decide(bad_data, 3, policy)
    assert (dead.action, dead.failure) == (Action.DEAD, Failure.PERMANENT)
    assert "code 4" in dead.message
    assert decide(LeaseExpiring("late"), 9, policy).action is Action.RELEASE
    paused = decide(ImproperlyConfigured("no key"), 1, policy)
    assert paused.action is Action.PAUSE and paused.key is not None
    assert decide(bad_data, 9, policy, shared=True).action is Action.PAUSE
    # A request that may still land holds its event (and key) at least landing_seconds.
    assert decide(requests.ReadTimeout("slow"), 1, policy).delay >= 12.0
