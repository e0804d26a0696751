"""A value longer than its outbox column fails the save with an error naming the model, the hook,
the length and the limit, on PostgreSQL and SQLite alike, and nothing is written.

(The INSERT once cast such values to varchar(n): PostgreSQL truncated a feed id silently and
the activity went to another feed; a plain INSERT makes PostgreSQL raise a bare DataError and
SQLite store the value whole.)
"""

import datetime

import pytest

from feed_outbox.exceptions import ActivityDataError
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.write.outbox import enqueue, follow_event
from tests.factories import UserFactory
from tests.write_app.models import Note

pytestmark = pytest.mark.django_db(transaction=True)


def save_note():
    Note(user=UserFactory(), posted_at=datetime.datetime.now(datetime.UTC)).save()


def nothing_written():
    return not Note.objects.exists() and not OutboxEvent.objects.exists()


def test_an_over_long_foreign_id_names_the_hook_length_and_limit(monkeypatch):
    monkeypatch.setattr(Note, "activity_foreign_id", property(lambda self: "n" * 256))
    with pytest.raises(
        ActivityDataError,
        match=r"write_app\.Note: activity_foreign_id is 256 characters long, over the "
        r"outbox's limit of 255 for ordering_key",
    ):
        save_note()
    assert nothing_written()


def test_an_over_long_feed_id_is_refused_not_truncated(monkeypatch):
    feed = "user:" + "9" * 300
    monkeypatch.setattr(Note, "activity_feeds", lambda self: [feed])
    with pytest.raises(
        ActivityDataError, match=r"write_app\.Note: activity_feeds\(\) gives the feed 305 "
    ):
        save_note()
    assert nothing_written()


def test_a_value_at_the_limit_is_written_whole(monkeypatch):
    feed = "user:" + "9" * 250
    monkeypatch.setattr(Note, "activity_feeds", lambda self: [feed])
    save_note()
    assert OutboxEvent.objects.get().feed == feed


def test_an_over_long_follow_key_is_refused():
    # each feed is valid on its own; their follow key is not
    event = follow_event("timeline:" + "1" * 120, "user:" + "2" * 130, EventKind.FOLLOW)
    with pytest.raises(ActivityDataError, match=r"follow: the follow's key .* 272 characters"):
        enqueue([event])
    assert not OutboxEvent.objects.exists()
