"""The emulated v3 feed-group routes, driven by the real getstream SDK: what they answer and how
a group's settings shape the reads of its feeds (emulator/v3/feed_config.py has the sources)."""

from __future__ import annotations

import pytest
from getstream import Stream
from getstream.exceptions import StreamApiException
from getstream.models import (
    ActivityRequest,
    AggregationConfig,
    FeedRequest,
    NotificationConfig,
)

from feed_outbox.emulator import Emulator
from feed_outbox.emulator.feed_groups import V3_BUILT_IN_GROUPS, V3_DEFAULT_AGGREGATION_FORMAT
from feed_outbox.testing import EMULATOR_KEY as KEY
from feed_outbox.testing import EMULATOR_SECRET as SECRET


@pytest.fixture(scope="module")
def emulator():
    with Emulator(api_key=KEY, api_secret=SECRET, v3_feed_groups={}) as emu:
        yield emu


@pytest.fixture
def feeds(emulator):
    emulator.reset()
    client = Stream(api_key=KEY, api_secret=SECRET, base_url=emulator.url)
    yield client.feeds
    client.feeds.close()  # Stream.close() closes its own httpx client, not its feeds'
    client.close()


def add(feeds, group, activity_id, kind="like", user="u1", **custom):
    feeds.create_feeds_batch(feeds=[FeedRequest(feed_group_id=group, feed_id="1")])
    feeds.upsert_activities(
        activities=[
            ActivityRequest(
                id=activity_id, type=kind, feeds=[f"{group}:1"], user_id=user, custom=custom
            )
        ]
    )


def read_groups(feeds, group):
    return [
        (g.group, g.activity_count)
        for g in feeds.get_or_create_feed(group, "1", user_id="1").data.aggregated_activities
    ]


def test_an_app_started_without_groups_has_none_and_an_unknown_group_is_404_16(feeds):
    assert feeds.list_feed_groups().data.groups == {}
    with pytest.raises(StreamApiException) as raised:
        feeds.get_feed_group("timeline")
    assert (raised.value.status_code, raised.value.code) == (404, 16)
    assert "feed group 'timeline' does not exist" in raised.value.message
    with pytest.raises(StreamApiException) as raised:
        feeds.update_feed_group("timeline", custom={})
    assert (raised.value.status_code, raised.value.code) == (404, 16)


def test_creating_an_existing_group_is_400_4_and_get_or_create_answers_it_unchanged(feeds):
    feeds.create_feed_group(id="alerts", aggregation=AggregationConfig(format="{{ type }}"))
    with pytest.raises(StreamApiException) as raised:
        feeds.create_feed_group(id="alerts")
    assert (raised.value.status_code, raised.value.code) == (400, 4)
    again = feeds.get_or_create_feed_group("alerts", custom={"ignored": True}).data
    assert not again.was_created
    assert again.feed_group.aggregation.format == "{{ type }}" and again.feed_group.custom == {}


def test_a_group_created_without_visibility_has_visible(feeds):
    made = feeds.create_feed_group(id="plain").data.feed_group
    assert made.default_visibility == "visible" and made.aggregation is None


def test_a_format_sees_v3s_variables_only(feeds):
    # "type" is v2's verb on v3; a v2 name such as "verb" or a custom field named bare is
    # nothing v3's format can see, custom.<name> is.
    feeds.create_feed_group(id="by_verb", aggregation=AggregationConfig(format="{{ verb }}"))
    feeds.create_feed_group(
        id="by_topic", aggregation=AggregationConfig(format="{{ custom.topic }}-{{ user_id }}")
    )
    for group in ("by_verb", "by_topic"):
        add(feeds, group, f"{group}-a", topic="cats")
        add(feeds, group, f"{group}-b", kind="follow", topic="dogs")
    assert read_groups(feeds, "by_verb") == [("", 2)]
    assert sorted(read_groups(feeds, "by_topic")) == [("cats-u1", 1), ("dogs-u1", 1)]


def test_a_new_format_groups_later_activities_and_an_update_clears_what_it_omits(feeds):
    # Stream applies the format when an activity is written: earlier ones keep their group.
    feeds.create_feed_group(
        id="news", aggregation=AggregationConfig(format="{{ custom.topic }}"), custom={"a": 1}
    )
    add(feeds, "news", "x", topic="cats")
    add(feeds, "news", "y", kind="share", topic="cats")
    assert read_groups(feeds, "news") == [("cats", 2)]
    feeds.update_feed_group("news", aggregation=AggregationConfig(format="{{ type }}"))
    add(feeds, "news", "z", kind="share", topic="cats")
    assert sorted(read_groups(feeds, "news")) == [("cats", 2), ("share", 1)]
    assert feeds.get_feed_group("news").data.feed_group.custom in (None, {})


def test_a_notification_group_without_a_format_makes_each_activity_its_own_group(feeds):
    feeds.create_feed_group(id="bell", notification=NotificationConfig(track_seen=True))
    add(feeds, "bell", "n1")
    add(feeds, "bell", "n2")
    read = feeds.get_or_create_feed("bell", "1", user_id="1").data
    assert [g.activity_count for g in read.aggregated_activities] == [1, 1]
    assert read.notification_status.unseen == 2


def test_a_new_apps_built_in_groups_answer_their_kind():
    with Emulator(api_key=KEY, api_secret=SECRET, v3_feed_groups=V3_BUILT_IN_GROUPS) as emu:
        client = Stream(api_key=KEY, api_secret=SECRET, base_url=emu.url)
        with client.feeds as feeds, client:
            groups = feeds.list_feed_groups().data.groups
        assert set(groups) == {"user", "timeline", "foryou", "notification", "story", "stories"}
        bell = groups["notification"]
        assert bell.aggregation.format == V3_DEFAULT_AGGREGATION_FORMAT
        assert (bell.notification.track_seen, bell.notification.track_read) == (True, True)
        assert groups["user"].aggregation is None and groups["user"].notification is None
