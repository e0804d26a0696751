"""outbox_replay re-publishes the latest state of each key: twice is harmless, removed stays removed."""

import datetime

import pytest
from django.utils import timezone

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Follow, Tweet
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def feed_state(read, feed):
    """What a reader sees, independent of Stream's activity ids."""
    return sorted((a["foreign_id"], a["time"], a.get("text")) for a in read(feed))


def test_replay_twice_after_stream_lost_everything_gives_the_same_feeds(
    run_command, outbox_drain, stream_emulator, user_feed_activities
):
    alice, bob = UserFactory(), UserFactory()
    kept = TweetFactory.create_batch(3, user=alice)
    TweetFactory(user=bob)
    edited = TweetFactory(user=bob, text="first draft")
    gone = TweetFactory(user=alice)
    outbox_drain()
    edited.text = "final text"
    edited.save()
    gone.delete()
    outbox_drain()
    feeds = [f"user:{alice.pk}", f"user:{bob.pk}"]
    truth = {feed: feed_state(user_feed_activities, feed) for feed in feeds}
    assert len(truth[f"user:{alice.pk}"]) == len(kept)
    assert f"sample_app.Tweet:{edited.pk}" in {a[0] for a in truth[f"user:{bob.pk}"]}

    stream_emulator.reset()  # the outage: Stream lost the writes
    for _ in range(2):
        result = run_command("outbox_replay", "--all")
        assert result.code == 0, result.err
        outbox_drain()
        assert {feed: feed_state(user_feed_activities, feed) for feed in feeds} == truth
    assert "final text" in {a[2] for a in truth[f"user:{bob.pk}"]}


def test_replay_of_a_window_holding_an_add_whose_remove_came_later_leaves_it_removed(
    run_command, outbox_drain, user_feed_activities
):
    author = UserFactory()
    tweet = TweetFactory(user=author)
    outbox_drain()
    tweet.delete()
    outbox_drain()
    base = timezone.now() - datetime.timedelta(hours=3)
    OutboxEvent.objects.filter(kind=EventKind.ADD).update(created_at=base)
    OutboxEvent.objects.filter(kind=EventKind.REMOVE).update(
        created_at=base + datetime.timedelta(hours=2)
    )
    window = (
        "--since",
        base.isoformat(),
        "--until",
        (base + datetime.timedelta(hours=1)).isoformat(),
    )

    result = run_command("outbox_replay", *window)

    assert result.code == 0, result.err
    replayed = OutboxEvent.objects.filter(status=EventStatus.PENDING)
    assert [e.kind for e in replayed] == [EventKind.REMOVE]
    outbox_drain()
    assert user_feed_activities(f"user:{author.pk}") == []


def test_replay_never_re_adds_an_unpublished_activity(
    run_command, outbox_drain, user_feed_activities
):
    tweet = TweetFactory()
    outbox_drain()
    with tracking_disabled():
        Tweet.objects.filter(pk=tweet.pk).delete()  # gone without a remove event
    assert run_command("outbox_replay", "--key", f"sample_app.Tweet:{tweet.pk}").code == 0
    outbox_drain()
    assert user_feed_activities(f"user:{tweet.user_id}") == []


def test_replay_of_a_follow_then_unfollow_replays_the_unfollow(
    run_command, outbox_drain, user_feed_activities
):
    reader, writer = UserFactory(), UserFactory()
    TweetFactory(user=writer)
    Follow.objects.follow(reader, writer)
    outbox_drain()
    Follow.objects.unfollow(reader, writer)
    outbox_drain()
    OutboxEvent.objects.filter(kind=EventKind.UNFOLLOW).update(
        created_at=timezone.now() + datetime.timedelta(hours=1)
    )

    result = run_command("outbox_replay", "--until", timezone.now().isoformat())

    assert result.code == 0, result.err
    kinds = set(
        OutboxEvent.objects.filter(status=EventStatus.PENDING, aggregate_type="follow").values_list(
            "kind", flat=True
        )
    )
    assert kinds == {EventKind.UNFOLLOW}
    outbox_drain()
    assert user_feed_activities(f"timeline:{reader.pk}") == []


def test_replay_dead_publishes_the_dead_letters_latest_state(
    run_command, outbox_drain, user_feed_activities
):
    tweet = TweetFactory(text="was poisoned")
    OutboxEvent.objects.update(status=EventStatus.DEAD, last_error="HTTP 400")

    result = run_command("outbox_replay", "--dead")

    assert result.code == 0, result.err
    assert "queued 1 events (1 add)" in result.out
    outbox_drain()
    (activity,) = user_feed_activities(f"user:{tweet.user_id}")
    assert activity["text"] == "was poisoned"


def test_replay_skips_keys_whose_newer_state_is_already_pending(run_command):
    tweet = TweetFactory()
    OutboxEvent.objects.update(status=EventStatus.DELIVERED, delivered_at=timezone.now())
    tweet.text = "edited"
    tweet.save()

    result = run_command("outbox_replay", "--model", "sample_app.Tweet")

    assert "0 events" in result.out and "1 keys skipped (already pending)" in result.out
    assert OutboxEvent.objects.filter(status=EventStatus.PENDING).count() == 1


def test_replay_selects_by_feed_and_reports_the_estimated_drain_time(run_command, outbox_drain):
    alice, bob = UserFactory(), UserFactory()
    TweetFactory.create_batch(2, user=alice)
    TweetFactory(user=bob)
    feed_manager.follow_user(alice.pk, bob.pk)
    outbox_drain()

    result = run_command("outbox_replay", "--feed", f"user:{alice.pk}", "--dry-run")

    assert result.code == 0, result.err
    assert "would queue 2 events (2 add)" in result.out
    assert "estimated drain: ~" in result.out and "1 add_activities" in result.out
    assert not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists()


def test_replay_without_a_selection_is_a_usage_error(run_command):
    result = run_command("outbox_replay")
    assert result.code == 2
    assert "--all" in result.err


def waiting_on_a_lock(pid_to_skip):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> %s",
            [pid_to_skip],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_replay_racing_a_delete_never_resurrects_the_activity(
    run_command, outbox_drain, user_feed_activities
):
    import threading
    import time

    from django.db import connection, connections, transaction

    tweet = TweetFactory()
    outbox_drain()
    deleting, commit = threading.Event(), threading.Event()
    errors = []

    def delete_in_an_open_transaction():
        try:
            with transaction.atomic():
                Tweet.objects.get(pk=tweet.pk).delete()  # row lock + remove event, uncommitted
                deleting.set()
                commit.wait(60)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    deleter = threading.Thread(target=delete_in_an_open_transaction)
    deleter.start()
    assert deleting.wait(30)
    results = []
    replayer = threading.Thread(
        target=lambda: (
            results.append(run_command("outbox_replay", "--all")),
            connections.close_all(),
        )
    )
    replayer.start()
    connection.ensure_connection()
    my_pid = connection.connection.info.backend_pid
    # Replay either waits for the deleter's row lock (as it must) or, if it did not lock,
    # finishes with what it read: the final assertions tell the two apart.
    deadline = time.monotonic() + 60
    while not results and not waiting_on_a_lock(my_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    commit.set()
    deleter.join(60)
    replayer.join(60)

    assert not errors and results and results[0].code == 0, (errors, results)
    kinds = list(
        OutboxEvent.objects.filter(ordering_key=f"sample_app.Tweet:{tweet.pk}")
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds[-1] == EventKind.REMOVE, kinds
    outbox_drain()
    assert user_feed_activities(f"user:{tweet.user_id}") == []


def test_replay_api_v3_refills_only_v3_after_it_lost_everything(
    run_command, outbox_drain, stream_emulator
):
    from django.test import override_settings

    def v3_ids(feed):
        with override_settings(FEED_OUTBOX_READ_API="v3"):
            slug, user_id = feed.split(":")
            page = feed_manager.get_feed(slug, user_id).get(limit=100)["results"]
        return sorted((a["foreign_id"], a["time"], a.get("text")) for a in page)

    with override_settings(FEED_OUTBOX_STREAM_API="v2+v3"):
        author = UserFactory()
        kept = TweetFactory.create_batch(3, user=author)
        gone = TweetFactory(user=author)
        outbox_drain()
        gone.delete()
        kept[0].text = "edited"
        kept[0].save()
        outbox_drain()
        feed = f"user:{author.pk}"
        truth = v3_ids(feed)
        assert len(truth) == 3 and "edited" in {t for _f, _t, t in truth}

        stream_emulator.v3_state(lambda store: store.reset())  # only v3 lost its writes
        assert v3_ids(feed) == []
        for _ in range(2):  # twice is harmless
            before = OutboxEvent.objects.filter(api="v2").count()
            result = run_command("outbox_replay", "--all", "--api", "v3")
            assert result.code == 0, result.err
            assert OutboxEvent.objects.filter(api="v2").count() == before  # v2 left alone
            assert OutboxEvent.objects.filter(api="v3", status=EventStatus.PENDING).exists()
            outbox_drain()
            assert v3_ids(feed) == truth
