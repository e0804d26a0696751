"""outbox_reconcile finds each kind of drift between the database and Stream; --fix repairs it."""

import datetime

import pytest
from django.test import override_settings

from feed_outbox.client import get_client
from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.operations.reconcile import reconcile
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Tweet
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def drift_of(report):
    return sorted((d.kind, d.foreign_id) for d in report.drift)


def fid(tweet_or_pk):
    return f"sample_app.Tweet:{getattr(tweet_or_pk, 'pk', tweet_or_pk)}"


@pytest.fixture
def planted(outbox_drain):
    """One author feed with every kind of drift, planted behind the outbox's back."""
    author = UserFactory()
    good = TweetFactory(user=author, text="consistent")
    edited = TweetFactory(user=author, text="old text")
    moved = TweetFactory(user=author)
    doubled = TweetFactory(user=author)
    deleted = TweetFactory(user=author)
    outbox_drain()
    feed = get_client().feed("user", str(author.pk))
    with tracking_disabled():
        missing = TweetFactory(user=author, text="never published")
        Tweet.objects.filter(pk=edited.pk).update(text="new text")
        Tweet.objects.filter(pk=moved.pk).update(
            created_at=moved.created_at - datetime.timedelta(days=1)
        )
        deleted_pk = deleted.pk
        deleted.delete()
    feed.add_activity(
        {
            "actor": f"auth.User:{author.pk}",
            "verb": "tweet",
            "object": fid(doubled),
            "foreign_id": fid(doubled),
            "time": datetime.datetime(2020, 1, 1),
        }
    )
    feed.add_activity(
        {
            "actor": "x",
            "verb": "tweet",
            "object": "o",
            "foreign_id": fid(999_999),
            "time": "2020-01-01T00:00:00",
        }
    )
    assert not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists()
    return {
        "feed": f"user:{author.pk}",
        "good": good,
        "expected": sorted(
            [
                ("missing", fid(missing)),
                ("phantom", fid(deleted_pk)),
                ("phantom", fid(999_999)),
                ("stale", fid(edited)),
                ("stale", fid(moved)),
                ("stale", fid(doubled)),
            ]
        ),
    }


def test_reconcile_finds_each_planted_kind_of_drift(planted):
    report = reconcile()
    assert drift_of(report) == planted["expected"]
    details = {d.foreign_id: d.detail for d in report.drift}
    assert "text" in details[fid(planted["good"].pk + 1)]
    assert "time" in details[fid(planted["good"].pk + 2)]
    assert details[fid(planted["good"].pk + 3)] == "2 copies"


def test_reconcile_fix_repairs_every_drift_and_a_second_run_finds_none(
    planted, run_command, outbox_drain, user_feed_activities
):
    found = run_command("outbox_reconcile")
    assert found.code == 1
    assert "1 missing, 2 phantom, 3 stale" in found.out

    fixed = run_command("outbox_reconcile", "--fix")
    assert fixed.code == 1 and "queued" in fixed.out
    outbox_drain()

    clean = run_command("outbox_reconcile")
    assert clean.code == 0, clean.out + clean.err
    assert "0 missing, 0 phantom, 0 stale" in clean.out
    activities = user_feed_activities(planted["feed"])
    expected = {fid(t) for t in Tweet.objects.filter(user_id=planted["feed"].split(":")[1])}
    assert sorted(a["foreign_id"] for a in activities) == sorted(expected)
    texts = {a["foreign_id"]: a["text"] for a in activities}
    assert texts[fid(planted["good"].pk + 1)] == "new text"


def test_reconcile_fix_dry_run_queues_nothing(planted, run_command):
    result = run_command("outbox_reconcile", "--fix", "--dry-run")
    assert result.code == 1 and "would queue" in result.out
    assert not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists()


def test_reconcile_skips_activities_the_relay_has_not_delivered_yet(planted, outbox_drain):
    TweetFactory(user_id=planted["feed"].split(":")[1], text="on its way")
    report = reconcile()
    assert drift_of(report) == planted["expected"]
    assert report.pending == 1


def test_reconcile_is_scoped_by_feed_and_by_model(planted, outbox_drain, run_command):
    other = TweetFactory()
    outbox_drain()
    with tracking_disabled():
        Tweet.objects.filter(pk=other.pk).update(text="changed")

    only_other = reconcile(feed=f"user:{other.user_id}")
    assert drift_of(only_other) == [("stale", fid(other))]
    assert only_other.feeds == 1
    assert len(reconcile(model=Tweet).drift) == len(planted["expected"]) + 1
    assert run_command("outbox_reconcile", "--model", "auth.User").code == 2
    assert run_command("outbox_reconcile", "--feed", "user42").code == 2


def test_reconcile_reads_feeds_longer_than_a_page(outbox_drain, run_command):
    author = UserFactory()
    TweetFactory.create_batch(45, user=author)
    outbox_drain()
    report = reconcile(page_size=10)
    assert (report.expected, report.found, report.drift) == (45, 45, [])


def test_a_to_copy_the_database_does_not_list_is_a_phantom_in_that_feed(outbox_drain):
    from feed_outbox.write.outbox import activity_payload

    author, target = UserFactory(), UserFactory()
    TweetFactory(user=target)
    with tracking_disabled():
        tweet = TweetFactory(user=author)
    outbox_drain()
    activity = {**activity_payload(tweet), "to": [f"user:{target.pk}"]}
    get_client().feed("user", str(author.pk)).add_activity(activity)

    report = reconcile()

    assert [(d.kind, d.feed, d.foreign_id, d.route) for d in report.drift] == [
        ("phantom", f"user:{target.pk}", fid(tweet), "to")
    ]
    assert report.found == 3  # the author's activity, its `to` copy, the target's own tweet


def test_reconcile_without_usable_credentials_is_a_configuration_error(
    run_command, stream_emulator
):
    TweetFactory()
    with override_settings(STREAM_API_SECRET="not-the-secret"):
        refused = run_command("outbox_reconcile")
    assert refused.code == 2 and "refused the credentials" in refused.err
    with override_settings(STREAM_API_KEY=None, STREAM_API_SECRET=None):
        missing = run_command("outbox_reconcile")
    assert missing.code == 2 and "credentials are not set" in missing.err
