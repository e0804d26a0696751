"""A failure's cause groups events whose errors differ only in their request (URL, object)."""

from feed_outbox.operations.failure_causes import CAUSE_CHARS, error_cause

RESOLVE = (
    "ConnectionError: HTTPConnectionPool(host='api.127.0.0.1', port=8711): Max retries exceeded "
    'with url: /api/v1.0/feed/user/{}/?api_key=k (Caused by NameResolutionError("HTTPConnection'
    "(host='api.127.0.0.1', port=8711): Failed to resolve 'api.127.0.0.1' ([Errno -2] Name or "
    'service not known)"))'
)


def test_connection_errors_of_different_feeds_share_one_short_cause_naming_the_host():
    causes = {error_cause(RESOLVE.format(user)) for user in (1, 2, 42)}
    assert causes == {
        "ConnectionError: api.127.0.0.1:8711: Failed to resolve 'api.127.0.0.1' "
        "([Errno -2] Name or service not known)"
    }


def test_a_stream_answer_keeps_class_code_and_detail_without_its_raw_body():
    error = "FeedConfigException code 6 HTTP 400: feeds not configured: 'x' | answer: {\"a\": 1}"
    assert error_cause(error) == "FeedConfigException code 6 HTTP 400: feeds not configured: 'x'"


def test_a_long_or_empty_error_still_gives_a_short_cause():
    assert len(error_cause("ValueError: " + "x" * 5000)) == CAUSE_CHARS
    assert error_cause("") == "(no error recorded)"
    assert error_cause(
        "ReadTimeout: HTTPConnectionPool(host='localhost', port=1): Read timed out."
    ) == ("ReadTimeout: localhost:1: Read timed out.")
