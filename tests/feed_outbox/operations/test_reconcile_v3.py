"""outbox_reconcile --api v3 judges Feeds v3 against the database and --fix repairs v3 only;
--compare v2 v3 is the migration's shadow read, one API against the other.

Drift is planted in the v3 emulator through the getstream SDK after a v2+v3 drain left both
APIs consistent: what a lost v3 delivery or a hand edit in Stream's dashboard leaves behind.
"""

import pytest
from django.test import override_settings

from feed_outbox.client import get_client, get_v3_client
from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.stream_api import v3_mapping
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Follow, Tweet
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def fid(tweet_or_pk):
    return f"sample_app.Tweet:{getattr(tweet_or_pk, 'pk', tweet_or_pk)}"


@pytest.fixture
def both_apis():
    with override_settings(FEED_OUTBOX_STREAM_API="v2+v3"):
        yield


@pytest.fixture
def world(both_apis, outbox_drain):
    """Alice follows Bob; Bob tweeted three times; both APIs hold it all."""
    alice, bob = UserFactory(), UserFactory()
    Follow.objects.follow(alice, bob)
    tweets = TweetFactory.create_batch(3, user=bob, text="hello")
    outbox_drain()
    return alice, bob, tweets


def v3_activity(feed, payload):
    from getstream.models import ActivityRequest

    request = v3_mapping.activity_request(feed, payload)
    get_v3_client().feeds.upsert_activities(activities=[ActivityRequest(**request)])


def v3_delete(feed, foreign_id):
    get_v3_client().feeds.delete_activities(
        ids=[v3_mapping.activity_id(feed, foreign_id)], hard_delete=True
    )


def v3_unfollow(source, target):
    from getstream.models import UnfollowPair

    get_v3_client().feeds.get_or_create_unfollows(
        follows=[UnfollowPair(source=source, target=target, keep_history=False)]
    )


def plant_v3_drift(world):
    alice, bob, tweets = world
    user = f"user:{bob.pk}"
    v3_delete(user, fid(tweets[0]))  # missing in Bob's feed (and Alice's timelines)
    with tracking_disabled():
        gone = TweetFactory(user=bob)
        gone_pk = gone.pk
        gone.delete()
    v3_activity(  # phantom: a tweet the database no longer has
        user,
        {"actor": f"auth.User:{bob.pk}", "verb": "tweet", "object": fid(gone_pk),
         "foreign_id": fid(gone_pk), "time": "2020-01-01T00:00:00"},
    )
    v3_unfollow(f"timeline:{alice.pk}", user)  # missing follow, and its copies with it
    return user


def test_reconcile_v3_reports_drift_planted_in_v3_and_fix_repairs_v3_only(
    world, run_command, outbox_drain
):
    alice, bob, tweets = world
    user = plant_v3_drift(world)

    result = run_command("outbox_reconcile", "--api", "v3")
    assert result.code == 1, result.out
    assert f"missing  {user:<24} {fid(tweets[0])}" in result.out
    assert "phantom" in result.out and "follow user:" in result.out, result.out
    assert "1 missing, 0 phantom" in result.out  # the follow relation line
    assert run_command("outbox_reconcile", "--api", "v2").code == 0  # v2 untouched

    v2_rows = OutboxEvent.objects.filter(api="v2").count()
    fixed = run_command("outbox_reconcile", "--api", "v3", "--fix")
    assert fixed.code == 1 and "repairing events for v3" in fixed.out
    assert OutboxEvent.objects.filter(api="v2").count() == v2_rows
    assert OutboxEvent.objects.filter(api="v3", status=EventStatus.PENDING).exists()
    outbox_drain()

    again = run_command("outbox_reconcile", "--api", "v3")
    assert again.code == 0, again.out
    assert run_command("outbox_reconcile", "--compare", "v2", "v3").code == 0


def test_reconcile_v3_finds_and_fixes_stale_data_without_recreating_the_activity(
    world, run_command, outbox_drain
):
    _alice, bob, tweets = world
    user = f"user:{bob.pk}"
    with tracking_disabled():
        Tweet.objects.filter(pk=tweets[1].pk).update(text="edited")
    result = run_command("outbox_reconcile", "--api", "v3", "--fix")
    assert result.code == 1
    assert f"stale    {user:<24} {fid(tweets[1])} (text differ)" in result.out
    kinds = set(OutboxEvent.objects.filter(api="v3", status=EventStatus.PENDING)
                .values_list("kind", flat=True))
    assert kinds == {"add"}  # an upsert: the activity keeps its id and reactions
    outbox_drain()
    assert run_command("outbox_reconcile", "--api", "v3").code == 0


def test_a_phantom_timeline_copy_on_v3_is_removed_from_its_home_and_re_added(
    world, run_command, outbox_drain
):
    """v3 has no per-feed copy to delete: the copy's home is rewritten, and the re-add only
    reaches the feeds that follow it now."""
    alice, _bob, _tweets = world
    carol = UserFactory()
    TweetFactory(user=carol)
    outbox_drain()
    from getstream.models import FollowRequest

    get_v3_client().feeds.get_or_create_follows(follows=[FollowRequest(  # only on v3
        source=f"timeline:{alice.pk}", target=f"user:{carol.pk}", activity_copy_limit=100)])
    result = run_command("outbox_reconcile", "--api", "v3", "--fix")
    assert result.code == 1
    assert f"phantom  timeline:{alice.pk}" in result.out
    outbox_drain()
    assert run_command("outbox_reconcile", "--api", "v3").code == 0


def test_compare_finds_v2_and_v3_identical_after_a_v2_v3_drain(world, run_command):
    result = run_command("outbox_reconcile", "--compare", "v2", "v3")
    assert result.code == 0, result.out
    assert "only in v2: 0" in result.out and "v2 and v3 hold the same feeds" in result.out


def test_compare_reports_what_only_one_api_holds(world, run_command):
    alice, bob, tweets = world
    user = plant_v3_drift(world)
    result = run_command("outbox_reconcile", "--compare", "v2", "v3")
    assert result.code == 1
    assert f"only in v2  {user:<24} {fid(tweets[0])} @" in result.out
    assert f"only in v3  {user:<24} sample_app.Tweet:" in result.out
    assert f"only in v2  timeline:{alice.pk}" in result.out and f"follow {user}" in result.out
    # v2 drift is a difference too, seen from the other side.
    get_client().feed("user", str(bob.pk)).remove_activity(foreign_id=fid(tweets[2]))
    scoped = run_command("outbox_reconcile", "--compare", "v3", "v2", "--feed", user)
    assert f"only in v3  {user:<24} {fid(tweets[2])} @" in scoped.out


def test_compare_skips_keys_the_relay_is_still_delivering(
    both_apis, stream_emulator, run_command
):
    TweetFactory()  # pending on both APIs: neither holds it yet
    assert run_command("outbox_reconcile", "--compare", "v2", "v3").code == 0


def test_compare_refuses_what_does_not_apply(stream_emulator, run_command):
    assert run_command("outbox_reconcile", "--compare", "v2", "v2").code == 2
    assert run_command("outbox_reconcile", "--compare", "v2", "v3", "--fix").code == 2
