"""FollowState: each follow pair's newest outbox event, read from real outbox rows."""

import pytest

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.operations.follow_state import (
    FOLLOW_AGGREGATE,
    FollowState,
    follow_key,
    follow_states,
    newest_states,
)
from feed_outbox.write.payload import format_time
from tests.factories import OutboxEventFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_follow_row_becomes_a_pending_follow_with_its_options():
    reader, author = UserFactory(), UserFactory()
    feed_manager.follow_feed(f"timeline:{reader.pk}", f"user:{author.pk}", activity_copy_limit=5)
    event = OutboxEvent.objects.get()

    [state] = follow_states("default")

    assert state == FollowState(
        event_id=event.pk,
        source=f"timeline:{reader.pk}",
        target=f"user:{author.pk}",
        kind=EventKind.FOLLOW,
        created_at=format_time(event.created_at),
        keep_history=False,
        pending=True,
        options={"activity_copy_limit": 5},
    )
    assert state.following
    assert state.key == follow_key(state.source, state.target) == event.ordering_key


def test_the_newest_event_of_a_pair_is_its_state():
    reader, author = UserFactory(), UserFactory()
    source, target = f"timeline:{reader.pk}", f"user:{author.pk}"
    feed_manager.follow_feed(source, target)
    feed_manager.unfollow_feed(source, target, keep_history=True)
    OutboxEvent.objects.update(status=EventStatus.DELIVERED)

    [state] = follow_states("default")

    assert state.kind == EventKind.UNFOLLOW
    assert not state.following
    assert state.keep_history
    assert not state.pending
    assert state.event_id == OutboxEvent.objects.latest("id").pk


def test_source_narrows_the_pairs_and_newest_states_reads_the_keys_asked():
    reader, other, author = UserFactory(), UserFactory(), UserFactory()
    target = f"user:{author.pk}"
    feed_manager.follow_feed(f"timeline:{reader.pk}", target)
    feed_manager.follow_feed(f"timeline:{other.pk}", target)
    mine = follow_key(f"timeline:{reader.pk}", target)

    assert [s.source for s in follow_states("default", source=f"timeline:{reader.pk}")] == [
        f"timeline:{reader.pk}"
    ]
    assert list(newest_states([mine, "follow:timeline:0>user:0"], "default")) == [mine]


def test_a_follow_row_without_a_target_is_passed_over():
    OutboxEventFactory(
        kind=EventKind.FOLLOW,
        feed="timeline:1",
        ordering_key="follow:timeline:1>",
        aggregate_type=FOLLOW_AGGREGATE,
        payload={"target": None},
    )

    assert list(follow_states("default")) == []
