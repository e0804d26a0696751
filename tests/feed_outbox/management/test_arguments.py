"""The shared argument types accept every form the commands document (their refusals are
proven command by command in test_bad_arguments)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from feed_outbox.management import arguments
from sample_app.models import Tweet


@pytest.mark.parametrize(
    "text, seconds",
    [("90", 90), ("90s", 90), ("15m", 900), ("1.5h", 5400), ("7d", 604800), ("1w", 604800),
     (" 2H ", 7200), ("36 h", 129600)],
)  # fmt: skip
def test_every_documented_duration_form_is_accepted(text, seconds):
    assert arguments.duration(text) == datetime.timedelta(seconds=seconds)


def test_instants_are_iso_times_dates_or_durations_ago():
    assert arguments.instant("2026-01-02") == datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)
    with_offset = arguments.instant("2026-01-02T10:00:00+02:00")
    assert with_offset == datetime.datetime(2026, 1, 2, 8, tzinfo=datetime.UTC)
    before = timezone.now()
    two_hours_ago = arguments.instant("2h")
    assert before - datetime.timedelta(hours=2) <= two_hours_ago
    assert two_hours_ago <= timezone.now() - datetime.timedelta(hours=2)
    assert arguments.instant("700000d").year >= 1  # far back, still a time


@pytest.mark.parametrize("feed", ["timeline:42", "user:a-b_c", "timeline_aggregated:7", "x:-"])
def test_feed_ids_stream_accepts_are_accepted(feed):
    assert arguments.feed_id(feed) == feed


@pytest.mark.parametrize(
    "key, stored",
    [
        ("sample_app.Tweet:7", "sample_app.Tweet:7"),
        ("sample_app.tweet:07", "sample_app.Tweet:7"),
        ("follow:timeline:1>user:2", "follow:timeline:1>user:2"),
    ],
)
def test_ordering_keys_are_accepted_as_the_outbox_writes_them(key, stored):
    assert arguments.ordering_key(key) == stored


def test_models_counts_seconds_and_pks_are_converted():
    assert arguments.activity_model("sample_app.tweet") is Tweet
    assert arguments.event_model("sample_app.tweet") == "sample_app.Tweet"
    assert arguments.event_model("follow") == "follow"
    assert arguments.count(1, 100)(" 100 ") == 100
    assert arguments.count(0)("0") == 0
    assert arguments.seconds(0)("0.5") == 0.5
    assert arguments.primary_key(Tweet, "42") == 42
    assert arguments.port("0") == 0
