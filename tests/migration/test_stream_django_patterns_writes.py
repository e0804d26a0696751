"""What public stream-django apps write, imports switched: every feed a reader reads ends as the
app meant (read back through stream-python from the emulator, the outbox drained by the relay's
loop). The patterns and the apps they come from: /work/notes/survey-result.md,
docs/topics/migrating.md; the models: tests/migration/patterns/models.py.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction
from django.test import override_settings

from feed_outbox.activity import create_model_reference
from feed_outbox.exceptions import ActivityDataError
from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import OutboxEvent
from tests.factories import UserFactory
from tests.migration.patterns.feeds import FeedManager as PatternsFeedManager
from tests.migration.patterns.models import (
    Chirp,
    FollowActivity,
    Item,
    Keep,
    Milestone,
    ProjectPost,
    Subscription,
    Unpropertied,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

READER_FEEDS = ("timeline", "timeline_aggregated")


def ref(instance) -> str:
    return create_model_reference(instance)


def test_notify_targets_reach_own_timeline_hashtag_feeds_and_mentioned_users(
    outbox_drain, foreign_ids
):
    """django_twitter / markui: ``activity_notify`` lists the author's own timeline, hashtag feeds
    (``user:hash_<tag>``), the mentioned users' timelines and notification feeds."""
    alice, bob, carol = UserFactory(username="alice"), UserFactory(username="bob"), UserFactory()
    Subscription.objects.create(user=carol, target=alice)
    chirp = Chirp.objects.create(user=alice, text="shipping #Django today @bob")
    outbox_drain()

    fid = ref(chirp)
    holders = [
        f"user:{alice.pk}",
        f"timeline:{alice.pk}",
        "user:hash_django",
        f"timeline:{bob.pk}",
        f"notification:{bob.pk}",
        *(f"{slug}:{carol.pk}" for slug in READER_FEEDS),
    ]
    assert {feed: foreign_ids(feed) for feed in holders} == {feed: [fid] for feed in holders}

    chirp.delete()
    outbox_drain()
    assert {feed: foreign_ids(feed) for feed in holders} == {feed: [] for feed in holders}


def test_a_notify_target_that_is_no_feed_id_fails_the_save_before_anything_is_written(
    monkeypatch,
):
    """markui copies to ``hashtag:<keyword>`` with the keyword as typed; ``c++`` is no feed id.
    ``feed_manager.get_feed`` refuses it in the app's ``activity_notify`` as stream-django's
    did (stream-python checks the id), and the save fails with nothing written. A target given
    as a string (feed_outbox accepts ``'slug:id'``) fails the same way, naming model and hook."""
    monkeypatch.setattr(Chirp, "hashtags", lambda self: ["c++"])
    user = UserFactory()
    with pytest.raises(ValueError, match=r"hash_c\+\+"), transaction.atomic():
        Chirp.objects.create(user=user, text="learning #c++")

    monkeypatch.setattr(Chirp, "activity_notify", property(lambda self: ["user:hash_c++"]))
    with pytest.raises(ActivityDataError) as raised, transaction.atomic():
        Chirp.objects.create(user=user, text="learning #c++")
    assert str(raised.value).startswith("patterns.Chirp.activity_notify: 'user:hash_c++'")
    assert not Chirp.objects.exists() and not OutboxEvent.objects.exists()


def test_tracking_switched_off_and_on_by_hand_as_deploy_commands_do(outbox_drain, foreign_ids):
    """django_twitter's after_deploy command and Stream-Example-Py's tests call
    ``disable_model_tracking()`` / ``enable_model_tracking()``: rows saved in between are not
    published, later ones are."""
    author = UserFactory()
    item = Item.objects.create(owner=author, title="x")
    feed_manager.disable_model_tracking()
    try:
        Keep.objects.create(user=author, item=item)
    finally:
        feed_manager.enable_model_tracking()
    later = Keep.objects.create(user=author, item=item)
    outbox_drain()
    assert foreign_ids(f"user:{author.pk}") == [ref(later)]


def test_follow_receivers_of_a_plain_follow_model_commit_with_the_save(outbox_drain, foreign_ids):
    """django_twitter's Follow is no Activity: its post_save/post_delete receivers call
    ``follow_user``/``unfollow_user``. A rolled-back follow follows nobody (stream-django had
    followed already); a committed one copies the target's activities into both news feeds,
    and the unfollow takes them out again."""
    reader, author = UserFactory(), UserFactory()
    keep = Keep.objects.create(user=author, item=Item.objects.create(owner=author, title="x"))

    with pytest.raises(RuntimeError), transaction.atomic():
        Subscription.objects.create(user=reader, target=author)
        raise RuntimeError("the view failed after the follow")
    outbox_drain()
    assert [foreign_ids(f"{slug}:{reader.pk}") for slug in READER_FEEDS] == [[], []]

    subscription = Subscription.objects.create(user=reader, target=author)
    outbox_drain()
    assert [foreign_ids(f"{slug}:{reader.pk}") for slug in READER_FEEDS] == [[ref(keep)]] * 2

    subscription.delete()
    outbox_drain()
    assert [foreign_ids(f"{slug}:{reader.pk}") for slug in READER_FEEDS] == [[], []]


@override_settings(STREAM_NEWS_FEEDS={"flat": "flat"})
def test_news_feeds_setting_with_one_flat_feed_is_what_follows_and_reads(outbox_drain, foreign_ids):
    """twitterMock and roberthettrick/django_twitter set ``STREAM_NEWS_FEEDS = dict(flat='flat')``:
    the follow receivers follow from ``flat`` only and ``get_news_feeds`` is keyed the same."""
    reader, author = UserFactory(), UserFactory()
    Subscription.objects.create(user=reader, target=author)
    keep = Keep.objects.create(user=author, item=Item.objects.create(owner=author, title="x"))
    outbox_drain()

    news = feed_manager.get_news_feeds(reader.pk)
    assert {key: feed.id for key, feed in news.items()} == {"flat": f"flat:{reader.pk}"}
    assert foreign_ids(f"flat:{reader.pk}") == [ref(keep)]
    assert foreign_ids(f"timeline:{reader.pk}") == []


@override_settings(STREAM_FEED_MANAGER_CLASS="tests.migration.patterns.feeds.FeedManager")
def test_custom_feed_manager_class_keeps_its_getters_and_its_remove_override(
    outbox_drain, foreign_ids
):
    """CapitolZen and upkoding subclass the manager (STREAM_FEED_MANAGER_CLASS): their getters
    answer through ``feed_manager`` and a delete goes through their ``remove_activity_from_feed``."""
    PatternsFeedManager.removed.clear()
    author = UserFactory()
    keep = Keep.objects.create(user=author, item=Item.objects.create(owner=author, title="x"))
    outbox_drain()
    assert feed_manager.get_group_feed(7).id == "topic:7"
    assert foreign_ids(f"user:{author.pk}") == [ref(keep)]

    keep.delete()
    outbox_drain()
    assert PatternsFeedManager.removed == [keep]
    assert foreign_ids(f"user:{author.pk}") == []


@override_settings(STREAM_DISABLE_MODEL_TRACKING=True)
def test_manual_publishing_with_tracking_off_and_the_remove_through_the_outbox(
    outbox_drain, foreign_ids
):
    """upkoding: tracking off, ``create_activity()`` plus ``to`` targets added by hand and sent
    with ``feed.add_activity`` (still straight to Stream), then ``remove_activity_from_feed``,
    which now queues a remove: the relay takes the activity out of the author feed and every
    ``to`` copy."""
    user = UserFactory()
    item = Item.objects.create(owner=user, title="a project")
    milestone = Milestone.objects.create(user=user, item=item, kind=Milestone.STARTED)
    assert not OutboxEvent.objects.exists()

    manager = PatternsFeedManager()
    notify = [manager.get_group_feed(item.pk), manager.get_group_feed("global")]
    activity = manager.add_notify_to_activity(milestone.create_activity(), notify)
    manager.get_user_feed(user.pk).add_activity(activity)
    holders = [f"user:{user.pk}", f"topic:{item.pk}", "topic:global"]
    assert [foreign_ids(feed) for feed in holders] == [[ref(milestone)]] * 3

    feed_manager.remove_activity_from_feed(milestone)
    assert [foreign_ids(feed) for feed in holders] == [[ref(milestone)]] * 3  # queued, not sent
    outbox_drain()
    assert [foreign_ids(feed) for feed in holders] == [[], [], []]


def test_verb_from_row_data_and_an_aware_time_override(outbox_drain, read_feed):
    """upkoding's events: the verb is the row's display value, the time an aware ``created``
    (no ``created_at``). The time lands in UTC; a later save overwrites the activity in place
    with the new verb (stream-django never published updates)."""
    user = UserFactory()
    item = Item.objects.create(owner=user, title="a project")
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    created = datetime.datetime(2026, 1, 2, 10, 0, tzinfo=plus_two)
    milestone = Milestone.objects.create(
        user=user, item=item, kind=Milestone.STARTED, created=created
    )
    outbox_drain()
    [activity] = read_feed(f"user:{user.pk}")
    utc = datetime.datetime(2026, 1, 2, 8, 0, tzinfo=datetime.UTC)
    assert (activity["verb"], activity["time"]) == ("project-started", utc)
    assert activity["object"] == ref(item)

    milestone.kind = Milestone.COMPLETED
    milestone.save()
    outbox_drain()
    [activity] = read_feed(f"user:{user.pk}")
    assert (activity["verb"], activity["foreign_id"]) == ("project-completed", ref(milestone))


def test_author_feed_and_actor_id_overrides_put_a_follow_in_the_targets_notifications(
    outbox_drain, read_feed, foreign_ids
):
    """stream-twitter-video's Follow activity lives in the target's notification feed (its
    ``activity_author_feed`` and ``activity_actor_id``); zakanda removes such rows with
    ``QuerySet.delete()``, which takes every one of them out of Stream."""
    target = UserFactory()
    fans = UserFactory.create_batch(3)
    follows = [FollowActivity.objects.create(user=fan, target_user=target) for fan in fans]
    outbox_drain()
    groups = feed_manager.get_notification_feed(target.pk).get()["results"]
    assert [(g["verb"], g["activity_count"]) for g in groups] == [("follow", 3)]
    assert foreign_ids(f"notification:{target.pk}") == sorted(ref(f) for f in follows)
    assert read_feed(f"notification:{target.pk}")[0]["object"] == ref(target)

    FollowActivity.objects.filter(target_user=target).delete()
    outbox_drain()
    assert foreign_ids(f"notification:{target.pk}") == []


def test_project_actor_in_its_own_feed_group_reaches_readers_that_follow_that_feed(
    outbox_drain, foreign_ids
):
    """GrowHome: a project is the actor, in a feed group of its own; readers' news feeds
    followed it with direct ``feed.follow`` calls. Those still work (at once, outside the
    outbox); ``feed_manager.follow_feed`` is the transactional way, and both readers see the
    post in their timeline and grouped timeline."""
    owner, direct_reader, outbox_reader = UserFactory.create_batch(3)
    project = Item.objects.create(owner=owner, title="a project")
    target = feed_manager.get_feed("topic", project.pk)
    for feed in feed_manager.get_news_feeds(direct_reader.pk).values():
        feed.follow(target.slug, target.user_id)
    for slug in READER_FEEDS:
        feed_manager.follow_feed(f"{slug}:{outbox_reader.pk}", target.id)
    post = ProjectPost.objects.create(project=project, text="we shipped")
    outbox_drain()

    assert foreign_ids(f"topic:{project.pk}") == [ref(post)]
    for reader in (direct_reader, outbox_reader):
        assert [foreign_ids(f"{slug}:{reader.pk}") for slug in READER_FEEDS] == [[ref(post)]] * 2


def test_actor_attr_written_as_a_method_fails_at_save_naming_the_model_and_hook():
    """GrowHome's Follow and Like define ``activity_actor_attr`` without ``@property``:
    stream-django failed inside its post_save; feed_outbox refuses the save and says why."""
    actor = UserFactory()
    with pytest.raises(ActivityDataError) as raised, transaction.atomic():
        Unpropertied.objects.create(actor=actor)
    assert "patterns.Unpropertied" in str(raised.value)
    assert "activity_actor_attr" in str(raised.value)
    assert not Unpropertied.objects.exists()
