"""Misconfiguration is a system-check error naming the setting, not an exception at import."""

from django.core import checks
from django.test import override_settings


def _errors(ids):
    # No database: Django 6.1 runs model checks against every alias when none is given,
    # and on SQLite the JSONField check opens a connection these tests are not allowed.
    return [e for e in checks.run_checks(databases=[]) if e.id in ids]


@override_settings(STREAM_API_KEY=None, STREAM_API_SECRET="s")
def test_missing_api_key_is_reported_by_name(monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    (error,) = _errors({"feed_outbox.E001"})
    assert "STREAM_API_KEY" in error.msg
    assert "STREAM_API_SECRET" not in error.msg


@override_settings(STREAM_API_KEY="k", STREAM_API_SECRET="s")
def test_configured_credentials_pass():
    assert _errors({"feed_outbox.E001"}) == []


@override_settings(STREAM_NEWS_FEEDS={"timeline": "time line"}, STREAM_NOTIFICATION_FEED="../x")
def test_invalid_feed_group_names_are_reported():
    errors = _errors({"feed_outbox.E002"})
    assert {e.msg.split(" is ")[0] for e in errors} == {
        "STREAM_NEWS_FEEDS['timeline']",
        "STREAM_NOTIFICATION_FEED",
    }


def test_importing_the_client_without_credentials_does_not_raise():
    with override_settings(STREAM_API_KEY=None, STREAM_API_SECRET=None):
        import feed_outbox.client  # noqa: F401
        from feed_outbox.client import stream_client

        assert repr(stream_client) == "<lazy stream_client>"
