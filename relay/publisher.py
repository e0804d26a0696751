"""Turning claimed events into stream-python calls, batching what Stream lets us batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stream import exceptions as stream_exceptions

from feed_outbox.stream_api.rate_limits import MAX_BATCH
from feed_outbox.write.outbox import RECONCILE_KEY
from relay.events import Event
from relay.retry import BOUNDED, classify

# Stream's rate-limit bucket of each request the relay makes (X-Ratelimit-* are per bucket).
BUCKETS = {"add": "add", "remove": "remove", "to_targets": "update", "follows": "follow"}


def _no_pacing(bucket: str) -> None:
    return None


@dataclass(frozen=True)
class Call:
    """One Stream request: ``endpoint`` names the stream-python method, ``events`` its events."""

    endpoint: str
    events: tuple[Event, ...]
    # The rate-limit bucket where the delivery names it (v3: Stream's operation id).
    bucket: str | None = None

    @property
    def rate_class(self) -> str:
        """Stream's rate-limit bucket of this call's (first) request."""
        if self.bucket is not None:
            return self.bucket
        if self.endpoint == "add_activities":
            return BUCKETS["add"]
        if self.endpoint == "reconcile_update":
            return BUCKETS["to_targets"]
        if self.endpoint == "remove_activity":
            return BUCKETS["remove"]
        return BUCKETS["follows"]

    def split(self) -> list[Call]:
        return [Call(self.endpoint, (event,), self.bucket) for event in self.events]


@dataclass(frozen=True)
class Outcome:
    """The result of publishing one event: ``error`` is None when Stream applied it."""

    event: Event
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def activity(event: Event) -> dict[str, Any]:
    """The activity Stream receives: the payload without the write side's instructions."""
    return {k: v for k, v in event.payload.items() if k != RECONCILE_KEY}


def _group_key(event: Event) -> tuple[str, ...] | None:
    """Events with the same key share one request; None means a request of its own."""
    if event.kind == "update" and RECONCILE_KEY in event.payload:
        return None  # its `to` targets changed: an upsert, then update_activity_to_targets
    if event.kind in ("add", "update"):
        # An update is an add with the same foreign_id + frozen time: Stream overwrites the
        # stored activity in place (id kept), under add's higher rate limit, and it works
        # even when Stream never saw the add.
        return ("add_activities", event.feed)
    if event.kind == "follow":
        return ("follow_many", str(event.payload.get("activity_copy_limit")))
    if event.kind == "unfollow":
        return ("unfollow_many",)
    return None


def plan_calls(events: Sequence[Event]) -> list[Call]:
    """Group a claimed batch into requests, in the order of each group's oldest event.

    A claimed batch never holds two events of one ordering key (the claim only hands out the
    oldest pending event of each key), so grouping cannot reorder a key's events.
    """
    groups: dict[tuple[str, ...], list[Event]] = {}
    planned: list[tuple[str, list[Event]]] = []
    for event in events:
        key = _group_key(event)
        if key is None:
            endpoint = {"remove": "remove_activity", "update": "reconcile_update"}[event.kind]
            planned.append((endpoint, [event]))
            continue
        group = groups.get(key)
        if group is None or len(group) >= MAX_BATCH:
            group = groups[key] = []
            planned.append((key[0], group))
        group.append(event)
    return [Call(endpoint, tuple(group)) for endpoint, group in planned]


def call_stream(client: Any, call: Call, pace: Callable[[str], None] = _no_pacing) -> None:
    """Make the Stream request(s) for ``call``, calling ``pace(bucket)`` before each one;
    raises what the client raises."""
    events = call.events
    first = events[0]
    pace(call.rate_class)
    if call.endpoint == "add_activities":
        feed = client.feed(first.feed_slug, first.feed_user_id)
        if len(events) == 1:
            feed.add_activity(activity(first))
        else:
            feed.add_activities([activity(e) for e in events])
    elif call.endpoint == "reconcile_update":
        feed = client.feed(first.feed_slug, first.feed_user_id)
        data = activity(first)
        # First exactly the targets it lists now, while Stream still knows the old ones (the
        # copies in feeds it left are removed); then the upsert of its fields.
        try:
            feed.update_activity_to_targets(
                data["foreign_id"], data["time"], new_targets=list(data.get("to") or [])
            )
        except stream_exceptions.DoesNotExistException:
            pass  # Stream never got the add: the upsert below creates it with its targets
        pace(BUCKETS["add"])
        feed.add_activity(data)
    elif call.endpoint == "remove_activity":
        feed = client.feed(first.feed_slug, first.feed_user_id)
        if first.payload.get("activity_id"):
            # One activity by its Stream id (adopting stream-django's, whose foreign ids a
            # tweet and its likes shared): its `to` and follower copies go with it.
            feed.remove_activity(activity_id=first.payload["activity_id"])
        else:
            feed.remove_activity(foreign_id=first.payload["foreign_id"])
    elif call.endpoint == "follow_many":
        limit = first.payload.get("activity_copy_limit")
        follows = [{"source": e.feed, "target": e.payload["target"]} for e in events]
        client.follow_many(follows, activity_copy_limit=limit)
    elif call.endpoint == "unfollow_many":
        unfollows = [
            {
                "source": e.feed,
                "target": e.payload["target"],
                "keep_history": bool(e.payload.get("keep_history")),
            }
            for e in events
        ]
        client.unfollow_many(unfollows)
    else:
        raise ValueError(f"unknown outbox event kind {first.kind!r} (event {first.id})")


def publish_call(send: Callable[[Call], None], call: Call) -> list[Outcome]:
    """Make ``call`` with ``send``; a permanent failure of a batch is isolated by sending its
    events singly (``send`` is call_stream bound to a client, plus pacing)."""
    try:
        send(call)
    except Exception as exc:  # classified by the caller (relay.retry)
        if len(call.events) > 1 and classify(exc) in BOUNDED:
            # One bad activity fails the whole request (or the request is too large as a
            # whole): only the bad one should be retried.
            return [outcome for single in call.split() for outcome in publish_call(send, single)]
        return [Outcome(event, exc) for event in call.events]
    return [Outcome(event) for event in call.events]
