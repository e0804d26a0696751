"""Turning claimed events into stream-python calls, batching what Stream lets us batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from relay.events import Event
from relay.retry import Failure, classify

MAX_BATCH_ADD = 100  # Stream's limit for add_activities


@dataclass(frozen=True)
class Outcome:
    """The result of publishing one event: ``error`` is None when Stream applied it."""

    event: Event
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def plan_calls(events: Sequence[Event]) -> list[tuple[str, list[Event]]]:
    """Group a claimed batch into calls: adds and updates per feed, the rest one by one.

    A claimed batch never holds two events of one ordering key (the claim only hands out the
    oldest pending event of each key), so grouping cannot reorder a key's events.
    """
    groups: dict[str, list[Event]] = {}
    calls: list[tuple[str, list[Event]]] = []
    for event in events:
        if event.kind in ("add", "update"):
            group = groups.get(event.feed)
            if group is None or len(group) >= MAX_BATCH_ADD:
                group = groups[event.feed] = []
                calls.append(("add_activities", group))
            group.append(event)
        else:
            calls.append((event.kind, [event]))
    return calls


def call_stream(client: Any, call: str, events: list[Event]) -> None:
    """Make one Stream request for ``events``; raises what the client raises."""
    first = events[0]
    feed = client.feed(first.feed_slug, first.feed_user_id)
    if call == "add_activities":
        # An update is an add with the same foreign_id + time: Stream overwrites in place.
        activities = [dict(e.payload) for e in events]
        if len(activities) == 1:
            feed.add_activity(activities[0])
        else:
            feed.add_activities(activities)
    elif call == "remove":
        feed.remove_activity(foreign_id=first.payload["foreign_id"])
    elif call in ("follow", "unfollow"):
        slug, user_id = first.payload["target"].split(":", 1)
        if call == "follow":
            limit = first.payload.get("activity_copy_limit")
            feed.follow(slug, user_id, activity_copy_limit=limit)
        else:
            feed.unfollow(slug, user_id, keep_history=bool(first.payload.get("keep_history")))
    else:
        raise ValueError(f"unknown outbox event kind {first.kind!r} (event {first.id})")


def publish(client: Any, events: Iterable[Event]) -> list[Outcome]:
    """Publish a batch with one client; every event gets an Outcome."""
    outcomes: list[Outcome] = []
    for call, group in plan_calls(list(events)):
        try:
            call_stream(client, call, group)
        except Exception as exc:  # classified by the caller (relay.retry)
            if len(group) > 1 and classify(exc) is Failure.PERMANENT:
                # One bad activity fails the whole batch: isolate it so only it is retried.
                outcomes.extend(_one_by_one(client, call, group))
            else:
                outcomes.extend(Outcome(e, exc) for e in group)
        else:
            outcomes.extend(Outcome(e) for e in group)
    return outcomes


def _one_by_one(client: Any, call: str, group: list[Event]) -> list[Outcome]:
    outcomes = []
    for event in group:
        try:
            call_stream(client, call, [event])
        except Exception as exc:
            outcomes.append(Outcome(event, exc))
        else:
            outcomes.append(Outcome(event))
    return outcomes
