"""outbox_setup_v3 through the real getstream client, over HTTP, against an emulated v3 app that
starts with no feed groups (or with a new app's built-in ones): it creates what is missing,
updates what drifted, changes nothing the second time, and a relay on v3 then delivers feeds
that read as v2's."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.test import override_settings
from getstream import Stream
from getstream.models import AggregationConfig, NotificationConfig

from feed_outbox.emulator import Emulator
from feed_outbox.emulator.feed_groups import V3_BUILT_IN_GROUPS
from feed_outbox.testing import EMULATOR_KEY, EMULATOR_SECRET, stream_settings
from feed_outbox.testing import drain_outbox as outbox_drain

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

V3_FORMAT = '{{ type }}_{{ time.strftime("%Y-%m-%d") }}'
TRACKING = (True, True)


@pytest.fixture(scope="module")
def empty_app():
    with Emulator(api_key=EMULATOR_KEY, api_secret=EMULATOR_SECRET, v3_feed_groups={}) as emu:
        yield emu


@pytest.fixture
def app(empty_app):
    """The emulator, emptied, with the settings pointing every client at it (not the plugin's
    stream_emulator: its app has the groups already)."""
    empty_app.reset()
    with stream_settings(empty_app):
        yield empty_app


@contextmanager
def sdk(emulator):
    """The SDK's feeds client on ``emulator``, closed after use (its and its feeds' sockets)."""
    client = Stream(api_key=EMULATOR_KEY, api_secret=EMULATOR_SECRET, base_url=emulator.url)
    try:
        yield client.feeds
    finally:
        client.feeds.close()
        client.close()


def groups(emulator):
    with sdk(emulator) as feeds:
        return feeds.list_feed_groups().data.groups


def lines(result):
    return [line.strip() for line in result.out.splitlines()]


def test_on_an_app_without_groups_each_group_the_settings_name_is_created(app, run_command):
    result = run_command("outbox_setup_v3")
    assert result.code == 0, result
    made = groups(app)
    assert set(made) == {"user", "timeline", "timeline_aggregated", "notification"}
    for flat in ("user", "timeline"):
        assert (made[flat].aggregation, made[flat].notification) == (None, None)
    assert made["timeline_aggregated"].aggregation.format == V3_FORMAT
    assert made["timeline_aggregated"].notification is None
    bell = made["notification"]
    assert bell.aggregation.format == V3_FORMAT
    assert (bell.notification.track_seen, bell.notification.track_read) == TRACKING
    assert lines(result)[-1] == "done: 4 create, 0 update, 0 unchanged"
    assert any(line.startswith("create timeline_aggregated (aggregated;") for line in lines(result))


def test_a_second_run_changes_nothing(app, run_command):
    assert run_command("outbox_setup_v3").code == 0
    before = {name: g.updated_at for name, g in groups(app).items()}
    again = run_command("outbox_setup_v3")
    assert again.code == 0, again
    assert lines(again)[-1] == "done: 0 create, 0 update, 4 unchanged"
    assert {name: g.updated_at for name, g in groups(app).items()} == before


def test_a_drifted_group_is_updated_and_keeps_the_settings_it_does_not_manage(app, run_command):
    with sdk(app) as feeds:
        feeds.create_feed_group(id="timeline_aggregated", custom={"team": "feeds"})  # flat
        feeds.create_feed_group(
            id="notification",
            aggregation=AggregationConfig(format="{{ type }}", activities_sort="created_at_desc"),
            notification=NotificationConfig(
                track_seen=True, track_read=False, deduplication_window="1h"
            ),
        )
        feeds.create_feed_group(id="timeline", aggregation=AggregationConfig(format="{{ type }}"))
    result = run_command("outbox_setup_v3")
    assert result.code == 0, result
    out = result.out
    assert f"aggregation.format: none -> '{V3_FORMAT}'" in out
    assert (
        "notification: track_seen=true, track_read=false -> track_seen=true, track_read=true" in out
    )
    assert "aggregation.format: '{{ type }}' -> none" in out
    made = groups(app)
    assert made["timeline_aggregated"].aggregation.format == V3_FORMAT
    assert made["timeline_aggregated"].custom == {"team": "feeds"}
    bell = made["notification"]
    assert (bell.notification.track_seen, bell.notification.track_read) == TRACKING
    assert bell.notification.deduplication_window == "1h"
    assert bell.aggregation.format == V3_FORMAT
    assert bell.aggregation.activities_sort == "created_at_desc"
    assert made["timeline"].aggregation is None
    assert lines(run_command("outbox_setup_v3"))[-1] == "done: 0 create, 0 update, 4 unchanged"


def test_dry_run_prints_the_plan_and_changes_nothing(app, run_command):
    with sdk(app) as feeds:
        feeds.create_feed_group(id="user")
    result = run_command("outbox_setup_v3", "--dry-run")
    assert result.code == 1, result  # groups to create: a check a deploy can run
    assert "create notification (notification; STREAM_NOTIFICATION_FEED)" in result.out
    assert "unchanged user (flat; STREAM_USER_FEED)" in result.out
    assert "dry run: nothing changed (3 create, 0 update, 1 unchanged)" in result.out
    assert set(groups(app)) == {"user"}
    run_command("outbox_setup_v3")
    assert run_command("outbox_setup_v3", "--dry-run").code == 0


def test_a_new_apps_built_in_groups_are_kept_and_only_the_missing_one_is_created(run_command):
    with (
        Emulator(
            api_key=EMULATOR_KEY, api_secret=EMULATOR_SECRET, v3_feed_groups=V3_BUILT_IN_GROUPS
        ) as emu,
        stream_settings(emu),
    ):
        result = run_command("outbox_setup_v3")
        assert result.code == 0, result
        assert lines(result)[-1] == "done: 1 create, 0 update, 3 unchanged"
        assert "create timeline_aggregated" in result.out


@override_settings(
    STREAM_NEWS_FEEDS={"timeline": "timeline", "digest": "digest"},
    FEED_OUTBOX_V3_FEED_GROUPS={
        "digest": {"type": "aggregated", "aggregation_format": "{{ actor }}_{{ verb }}"},
        "alerts": "notification",
    },
)
def test_the_setting_types_groups_and_translates_their_v2_format(app, run_command):
    assert run_command("outbox_setup_v3").code == 0
    made = groups(app)
    assert made["digest"].aggregation.format == "{{ custom.actor }}_{{ type }}"
    assert made["alerts"].notification.track_read is True  # a group no other setting names


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        (
            {"type": "aggregated", "aggregation_format": "{% if verb %}x{% endif %}"},
            "FEED_OUTBOX_V3_FEED_GROUPS['timeline_aggregated']['aggregation_format']",
        ),
        ({"type": "stacked"}, "FEED_OUTBOX_V3_FEED_GROUPS['timeline_aggregated']['type']"),
    ],
)
def test_a_setting_v3_cannot_reproduce_is_exit_2_naming_group_and_setting(
    app, run_command, spec, named
):
    with override_settings(FEED_OUTBOX_V3_FEED_GROUPS={"timeline_aggregated": spec}):
        result = run_command("outbox_setup_v3")
    assert result.code == 2, result
    assert "feed group 'timeline_aggregated'" in result.err and named in result.err
    assert groups(app) == {}  # refused before any call


def test_a_call_stream_refuses_is_exit_1_naming_group_and_setting(app, run_command):
    bad = {"alerts": {"type": "aggregated", "v3_aggregation_format": "  "}}
    with override_settings(FEED_OUTBOX_V3_FEED_GROUPS=bad):
        result = run_command("outbox_setup_v3")
    assert result.code == 1, result
    assert "feed group 'alerts': create (aggregation.format) refused by Stream: HTTP 400" in (
        result.err
    )


def test_a_refused_listing_is_exit_1_saying_what_was_refused(run_command, stand_in):
    # A 403 in v3's error envelope (the SDK's APIError): a call Stream refuses as not allowed.
    body = {
        "code": 17,
        "message": "no policies allowing ListFeedGroups",
        "StatusCode": 403,
        "duration": "0.1ms",
        "more_info": "",
        "details": [],
        "exception_fields": {},
    }
    with stream_settings(stand_in(403, body)):  # what it reads of its server is the URL
        result = run_command("outbox_setup_v3")
    assert result.code == 1, result
    assert "the app's feed groups: list refused by Stream: HTTP 403, code 17" in result.err


def test_refused_or_missing_credentials_are_exit_2_and_the_secret_is_never_printed(
    app, run_command
):
    wrong = "not-the-apps-secret-but-long-enough-for-hs256"
    with override_settings(STREAM_API_SECRET=wrong):
        refused = run_command("outbox_setup_v3", "--dry-run")
    assert refused.code == 2 and "refused the credentials" in refused.err, refused
    with override_settings(STREAM_API_SECRET=None):
        missing = run_command("outbox_setup_v3")
    assert missing.code == 2 and "STREAM_API_SECRET" in missing.err, missing
    worked = run_command("outbox_setup_v3")
    for result in (refused, missing, worked):
        assert wrong not in result.out + result.err
        assert EMULATOR_SECRET not in result.out + result.err


def shape(read: dict) -> tuple:
    """What a reader sees of a feed page, whichever API answered it. The groups are sorted:
    both APIs put the group updated last first, and the relay delivers events of different
    keys in no fixed order (commit order holds per key), so each API may order them apart."""
    notification = "unseen" in read  # only notification groups have is_seen / is_read on v2
    groups = [
        (
            g["group"],
            g["verb"],
            g["activity_count"],
            g["actor_count"],
            (g["is_seen"], g["is_read"]) if notification else None,
            sorted(a["foreign_id"] for a in g["activities"]),
        )
        for g in read["results"]
    ]
    return sorted(groups), read.get("unseen"), read.get("unread")


def test_a_v3_relay_on_the_groups_it_made_delivers_feeds_that_read_as_v2s(app, run_command):
    from feed_outbox.feed_manager import feed_manager
    from sample_app.models import Follow, Like, Retweet
    from tests.factories import TweetFactory, UserFactory

    author, reader = UserFactory(), UserFactory()
    with override_settings(FEED_OUTBOX_STREAM_API="v2+v3"):
        Follow.objects.follow(reader, author)
        first, second = TweetFactory(user=author), TweetFactory(user=author)
        for _ in range(3):
            Like.objects.create(user=UserFactory(), tweet=first)
        Like.objects.create(user=UserFactory(), tweet=second)
        Retweet.objects.create(user=UserFactory(), tweet=first)
        assert run_command("outbox_setup_v3").code == 0
        outbox_drain()

    def read(api: str, slug: str, user, **marks) -> tuple:
        with override_settings(FEED_OUTBOX_READ_API=api):
            return shape(feed_manager.get_feed(slug, user.pk).get(limit=25, **marks))

    grouped = read("v2", "timeline_aggregated", reader)
    assert [(g[1], g[2]) for g in grouped[0]] == [("tweet", 2)]  # a v2 group key, "tweet_<day>"
    assert read("v3", "timeline_aggregated", reader) == grouped
    bell = read("v2", "notification", author)
    assert [(g[1], g[2]) for g in bell[0]] == [("like", 4), ("retweet", 1)]
    assert bell[1:] == (2, 2)
    assert read("v3", "notification", author) == bell
    # Marking works the same way on both: the answer shows the state before the mark.
    assert read("v3", "notification", author, mark_seen=True) == bell
    assert read("v2", "notification", author, mark_seen=True) == bell
    assert read("v3", "notification", author)[1:] == read("v2", "notification", author)[1:]
    assert read("v3", "notification", author)[1:] == (0, 2)


def test_a_relay_paused_on_missing_groups_delivers_once_they_are_set_up(app, run_command):
    from feed_outbox.models import EventStatus, OutboxEvent
    from relay.exceptions import ConfigurationError
    from tests.factories import TweetFactory, UserFactory

    with override_settings(FEED_OUTBOX_STREAM_API="v3"):
        TweetFactory(user=UserFactory())
        with pytest.raises(ConfigurationError, match="feed group 'user' does not exist") as paused:
            outbox_drain()  # paused: nothing dead-lettered
        assert "`python manage.py outbox_setup_v3` creates the feed groups" in str(paused.value)
        assert OutboxEvent.objects.get().status == EventStatus.PENDING
        assert run_command("outbox_setup_v3").code == 0
        assert outbox_drain().delivered == 1
