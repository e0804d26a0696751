"""Misconfiguration is a system-check error naming the setting, not an exception at import."""

import subprocess
import sys

import pytest
from django.core import checks
from django.test import override_settings

from tests.conftest import ROOT, database_url


def _errors(ids):
    # No database: Django 6.1 runs model checks against every alias when none is given,
    # and on SQLite the JSONField check opens a connection these tests are not allowed.
    return [e for e in checks.run_checks(databases=[]) if e.id in ids]


@override_settings(STREAM_API_KEY=None, STREAM_API_SECRET="s", STREAM_BASE_URL=None)
def test_missing_api_key_is_a_warning_naming_it_and_how_to_get_started(monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    (warning,) = _errors({"feed_outbox.W003"})
    assert warning.level == checks.WARNING  # never blocks migrate or a build step
    assert "STREAM_API_KEY" in warning.msg
    assert "STREAM_API_SECRET" not in warning.msg
    assert "point STREAM_BASE_URL at the emulator" in warning.hint


@override_settings(
    STREAM_API_KEY=None, STREAM_API_SECRET=None, STREAM_BASE_URL="http://localhost:8700"
)
def test_missing_credentials_hint_does_not_suggest_a_base_url_already_set(monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    (warning,) = _errors({"feed_outbox.W003"})
    assert "point STREAM_BASE_URL" not in warning.hint
    assert "'http://localhost:8700'" in warning.hint


@override_settings(STREAM_API_KEY="k", STREAM_API_SECRET="s")
def test_configured_credentials_pass():
    assert _errors({"feed_outbox.W003"}) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_migrate_runs_without_stream_credentials():
    # A CI job or an image build runs migrate without Stream's secrets: it must not fail.
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "FEED_OUTBOX_TEST_STREAM_API_KEY": "",
        "FEED_OUTBOX_TEST_STREAM_API_SECRET": "",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "feed_outbox.W003" in result.stderr + result.stdout  # said, not blocking


@pytest.mark.parametrize(
    "url, named",
    [
        ("http://127.0.0.1:8711", "'api.127.0.0.1'"),
        ("http://[::1]:8711", "'api.::1'"),
        ("localhost:8711", "no http:// or https:// scheme"),
        ("http://localhost:8711/stream", "keeps only its scheme, host and port"),
        ("http://localhost:8711?x=1", "query or fragment"),
        ("http://localhost:port", "not a URL the Stream clients can use"),
        (8711, "not a URL"),
    ],
    ids=["ipv4", "ipv6", "no-scheme", "path", "query", "bad-port", "not-a-string"],
)
def test_a_base_url_stream_python_cannot_use_is_an_error_naming_the_setting(url, named):
    with override_settings(STREAM_BASE_URL=url, FEED_OUTBOX_STREAM_API="v2"):
        (error,) = _errors({"feed_outbox.E006"})
    assert error.msg.startswith("STREAM_BASE_URL is ")
    assert named in error.msg
    if url == "http://127.0.0.1:8711":
        assert "http://localhost:8711" in error.hint


def test_a_base_url_with_a_password_is_refused_without_showing_it(monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    url = "http://key:hunter2-secret@localhost:8711"
    with override_settings(STREAM_BASE_URL=url, STREAM_API_KEY=None, STREAM_API_SECRET=None):
        found = _errors({"feed_outbox.E006", "feed_outbox.W003"})
    assert {e.id for e in found} == {"feed_outbox.E006", "feed_outbox.W003"}
    assert all("hunter2" not in f"{e.msg} {e.hint}" for e in found)


@pytest.mark.parametrize("url", ["http://localhost:8711", "https://us-east-api.stream-io-api.com/"])
def test_a_base_url_stream_python_can_use_passes(url):
    with override_settings(STREAM_BASE_URL=url):
        assert _errors({"feed_outbox.E006"}) == []


def test_the_v3_sdk_takes_an_ip_but_not_a_url_without_scheme():
    # getstream uses its base URL as given (an IP works) and refuses any scheme but http(s).
    with override_settings(FEED_OUTBOX_STREAM_API="v3", STREAM_BASE_URL="http://127.0.0.1:8711"):
        assert _errors({"feed_outbox.E006"}) == []
    with override_settings(FEED_OUTBOX_STREAM_API="v3", STREAM_V3_BASE_URL="localhost:8711"):
        (error,) = _errors({"feed_outbox.E006"})
    assert error.msg.startswith("STREAM_V3_BASE_URL is 'localhost:8711'")
    assert "'http://localhost:8711'" in error.hint


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
