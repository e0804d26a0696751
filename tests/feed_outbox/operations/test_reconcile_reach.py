"""outbox_reconcile reads every feed readers read: timelines and grouped timelines reached
through follows, notification feeds reached through ``to``, and the follow relations.

Drift is planted with the real stream-python client against the emulator, after the relay
drained a consistent state: exactly what a lost or reordered delivery leaves behind.
"""

import pytest

from feed_outbox.client import get_client
from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.operations.reconcile import reconcile
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Follow, Like
from tests.factories import LikeFactory, TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NEWS = ("timeline", "timeline_aggregated")


def fid(obj):
    return f"{obj._meta.label}:{obj.pk}"


def feed(name):
    slug, user_id = name.split(":")
    return get_client().feed(slug, user_id)


def read_all(name):
    """Every activity of a feed, groups flattened, page by page, through stream-python."""
    from feed_outbox.stream_api.feed_reads import feed_entries

    return list(feed_entries(name, page_size=25))


def payload_of(instance):
    from feed_outbox.write.outbox import activity_payload

    return activity_payload(instance)


def drift_of(report):
    return sorted((d.kind, d.feed, d.foreign_id) for d in report.drift)


def test_reconcile_exits_0_on_a_consistent_database_with_follows_and_notifications(
    run_command, outbox_drain
):
    alice, bob, carol = UserFactory.create_batch(3)
    TweetFactory.create_batch(3, user=bob)  # before the follow: allowed, copied by it
    Follow.objects.follow(alice, bob)
    Follow.objects.follow(alice, carol)
    tweets = TweetFactory.create_batch(2, user=bob)
    LikeFactory(user=carol, tweet=tweets[0])
    outbox_drain()
    Follow.objects.unfollow(alice, carol)
    outbox_drain()

    result = run_command("outbox_reconcile")

    assert result.code == 0, result.out + result.err
    assert "0 missing, 0 phantom, 0 stale" in result.out
    assert "follows: 2 sources read, 0 missing, 0 phantom" in result.out
    report = reconcile()
    # bob's 2 tweets after the follow in both news feeds, the like in carol's feed and in
    # bob's notifications, bob's own 5 tweets: 2 * 2 + 2 + 5
    assert report.expected == 11 and report.allowed == 2 * 3


def test_follow_applied_after_150_tweets_leaves_50_missing_until_fixed(run_command, outbox_drain):
    """The issue's repro: A follows B, B posts 150 tweets; the follow reached Stream last, so
    Stream copied only B's newest 100 (activity_copy_limit) into A's news feeds."""
    a, b = UserFactory.create_batch(2)
    Follow.objects.follow(a, b)
    tweets = TweetFactory.create_batch(150, user=b)
    outbox_drain()
    for slug in NEWS:  # what a follow applied after the tweets does on Stream
        feed(f"{slug}:{a.pk}").unfollow("user", str(b.pk))
        feed(f"{slug}:{a.pk}").follow("user", str(b.pk))  # copies the newest 100
    assert len(read_all(f"timeline:{a.pk}")) == 100

    found = run_command("outbox_reconcile")

    assert found.code == 1
    assert "100 missing, 0 phantom, 0 stale" in found.out  # 50 in each news feed
    report = reconcile()
    oldest = {fid(t) for t in sorted(tweets, key=lambda t: t.created_at)[:50]}
    for slug in NEWS:
        missing = {d.foreign_id for d in report.drift if d.feed == f"{slug}:{a.pk}"}
        assert missing == oldest
    assert {d.origin for d in report.drift} == {f"user:{b.pk}"}
    scoped = reconcile(feed=f"timeline:{a.pk}")
    assert (scoped.feeds, len(scoped.drift), scoped.follows_checked) == (1, 50, 1)

    fixed = run_command("outbox_reconcile", "--fix")
    assert fixed.code == 1 and "queued 50 repairing events" in fixed.out
    outbox_drain()

    clean = run_command("outbox_reconcile")
    assert clean.code == 0, clean.out
    for slug in NEWS:
        held = {x["foreign_id"] for x in read_all(f"{slug}:{a.pk}")}
        assert held == {fid(t) for t in tweets}


def test_a_deleted_tweet_left_in_a_followers_timeline_is_a_phantom_and_is_removed(
    run_command, outbox_drain
):
    a, b = UserFactory.create_batch(2)
    Follow.objects.follow(a, b)
    kept, deleted = TweetFactory.create_batch(2, user=b)
    outbox_drain()
    timeline = feed(f"timeline:{a.pk}")
    # The delete's fan-out missed A: A was briefly not a follower on Stream (keep_history).
    timeline.unfollow("user", str(b.pk), keep_history=True)
    deleted_id = fid(deleted)
    deleted.delete()
    outbox_drain()
    timeline.follow("user", str(b.pk), activity_copy_limit=0)
    assert deleted_id in {x["foreign_id"] for x in read_all(f"timeline:{a.pk}")}

    report = reconcile()
    assert drift_of(report) == [("phantom", f"timeline:{a.pk}", deleted_id)]
    assert report.drift[0].route == "follow" and report.drift[0].origin == f"user:{b.pk}"

    assert run_command("outbox_reconcile", "--fix").code == 1
    outbox_drain()
    assert run_command("outbox_reconcile").code == 0
    assert [x["foreign_id"] for x in read_all(f"timeline:{a.pk}")] == [fid(kept)]


def test_missing_and_phantom_follow_relations_are_found_and_fixed(run_command, outbox_drain):
    a, b, c = UserFactory.create_batch(3)
    Follow.objects.follow(a, b)
    outbox_drain()
    feed(f"timeline:{a.pk}").unfollow("user", str(b.pk))  # lost follow
    feed(f"timeline:{a.pk}").follow("user", str(c.pk))  # follow the database never had

    found = run_command("outbox_reconcile")

    assert found.code == 1
    assert "follows: 2 sources read, 1 missing, 1 phantom" in found.out
    drift = sorted((d.kind, d.feed, d.target) for d in reconcile().drift)
    assert drift == [
        ("missing", f"timeline:{a.pk}", f"user:{b.pk}"),
        ("phantom", f"timeline:{a.pk}", f"user:{c.pk}"),
    ]
    assert run_command("outbox_reconcile", "--fix").code == 1
    queued = OutboxEvent.objects.filter(status=EventStatus.PENDING)
    assert sorted(queued.values_list("kind", "ordering_key")) == [
        ("follow", f"follow:timeline:{a.pk}>user:{b.pk}"),
        ("unfollow", f"follow:timeline:{a.pk}>user:{c.pk}"),
    ]
    outbox_drain()

    assert run_command("outbox_reconcile").code == 0
    following = feed(f"timeline:{a.pk}").following()["results"]
    assert [row["target_id"] for row in following] == [f"user:{b.pk}"]


def test_notification_drift_missing_and_phantom_is_found_and_fixed(run_command, outbox_drain):
    author, fan, other = UserFactory.create_batch(3)
    tweet = TweetFactory(user=author)
    lost = LikeFactory(user=fan, tweet=tweet)
    gone = LikeFactory(user=other, tweet=tweet)
    outbox_drain()
    notifications = f"notification:{author.pk}"
    feed(notifications).remove_activity(foreign_id=fid(lost))  # a copy Stream lost
    gone_id = fid(gone)
    with tracking_disabled():  # deleted behind the outbox's back: its copies stay
        Like.objects.filter(pk=gone.pk).delete()

    report = reconcile()

    assert drift_of(report) == sorted(
        [
            ("missing", notifications, fid(lost)),
            ("phantom", notifications, gone_id),
            ("phantom", f"user:{other.pk}", gone_id),
        ]
    )
    routes = {(d.feed, d.route) for d in report.drift}
    assert (notifications, "to") in routes
    assert run_command("outbox_reconcile", "--fix").code == 1
    outbox_drain()

    assert run_command("outbox_reconcile").code == 0
    assert [x["foreign_id"] for x in read_all(notifications)] == [fid(lost)]


def test_a_to_target_the_row_no_longer_lists_is_a_phantom_fixed_by_its_update(
    run_command, outbox_drain
):
    author, fan = UserFactory.create_batch(2)
    like = LikeFactory(user=fan, tweet=TweetFactory(user=author))
    outbox_drain()
    own_tweet = TweetFactory(user=fan)
    with tracking_disabled():  # retargeted behind the outbox's back: now notifies no one
        Like.objects.filter(pk=like.pk).update(tweet=own_tweet)
    outbox_drain()

    report = reconcile()

    assert sorted((d.kind, d.feed, d.route) for d in report.drift) == [
        ("phantom", f"notification:{author.pk}", "to"),
        ("stale", f"user:{fan.pk}", "own"),  # its object changed too
    ]
    assert run_command("outbox_reconcile", "--fix").code == 1
    kinds = OutboxEvent.objects.filter(status=EventStatus.PENDING).values_list("kind", "feed")
    assert sorted(kinds) == [
        ("add", f"user:{fan.pk}"),
        ("remove", f"notification:{author.pk}"),
        ("update", f"user:{fan.pk}"),  # RECONCILE_KEY: Stream's `to` targets become the row's
    ]
    outbox_drain()
    assert run_command("outbox_reconcile").code == 0
    assert read_all(f"notification:{author.pk}") == []


def test_an_unfollow_with_keep_history_allows_the_copies_it_kept(run_command, outbox_drain):
    from feed_outbox.feed_manager import feed_manager

    a, b = UserFactory.create_batch(2)
    Follow.objects.follow(a, b)
    kept = TweetFactory.create_batch(2, user=b)
    outbox_drain()
    feed_manager.unfollow_user(a.pk, b.pk, keep_history=True)
    outbox_drain()
    later = TweetFactory(user=b)  # after the unfollow: must not reach A
    outbox_drain()

    assert run_command("outbox_reconcile").code == 0
    held = {x["foreign_id"] for x in read_all(f"timeline:{a.pk}")}
    assert held == {fid(t) for t in kept}
    feed(f"timeline:{a.pk}").add_activity(  # as if the unfollow had come too late
        {**payload_of(later), "foreign_id": fid(later)}
    )
    assert drift_of(reconcile()) == [("phantom", f"timeline:{a.pk}", fid(later))]


def test_without_add_events_after_the_follow_is_decided_by_time(run_command, outbox_drain):
    """Purged add events: an activity is required in a follower's timeline when its time is
    later than the follow event's created_at."""
    import datetime

    from django.utils import timezone

    a, b = UserFactory.create_batch(2)
    old = TweetFactory(user=b, created_at=timezone.now() - datetime.timedelta(days=1))
    Follow.objects.follow(a, b)
    new = TweetFactory(user=b)
    outbox_drain()
    OutboxEvent.objects.filter(kind="add").delete()  # purged history: only times are left
    for slug in NEWS:
        for tweet in (old, new):
            feed(f"{slug}:{a.pk}").remove_activity(foreign_id=fid(tweet))

    report = reconcile()

    assert sorted((d.kind, d.feed) for d in report.drift) == [
        ("missing", f"timeline:{a.pk}"),
        ("missing", f"timeline_aggregated:{a.pk}"),
    ]
    assert {d.foreign_id for d in report.drift} == {fid(new)}
