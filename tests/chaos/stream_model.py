"""A pure-Python model of Stream Feeds v2's feed semantics: what every feed holds after a sequence
of writes, applied one by one. The chaos checker replays the committed outbox through it in
commit order to get the content every feed *should* have, whatever order the relay used.

The semantics are Stream's v2 API as the emulator implements it, each with its source there
(``feed_outbox/emulator/v2/store.py``; tests/chaos/test_stream_model.py replays random writes into
both and compares). It is written separately on purpose: it shares no code with the emulator,
so a bug there is not copied here.

* An activity is identified by (foreign_id, time); one activity is one object shared by every
  feed it is in, so an update (an add with the same pair) shows everywhere.
* add(feed, activity, to): the activity goes into ``feed``, into each of ``feed``'s *current*
  followers (origin = ``feed``), into each ``to`` target (origin None) and that target's
  followers (origin = the target). Feeds that already hold it keep their entry, so a re-add
  fans out to followers that lack it (a follow made with ``activity_copy_limit=0``).
* remove(feed, foreign_id): out of ``feed``, out of followers' copies whose origin is
  ``feed``, and out of the ``to`` targets this feed's add fanned out to (and their followers'
  copies of them). Copies in feeds that stopped following with ``keep_history`` stay.
* follow(source, target, limit): copies the newest ``limit`` (default 100; 0 copies none) of
  ``target``'s own activities (origin None in it), newest by (time, id) first; then ``target``'s
  new adds fan out to ``source``. Following twice changes nothing.
* unfollow(source, target, keep_history): unless ``keep_history``, purges ``source``'s copies
  whose origin is ``target``.
* update_to_targets(feed, foreign_id, time, new_targets): the activity's ``to`` becomes
  ``new_targets``; copies in targets no longer listed go, new ones are filled.
* An activity that is in no feed any more is gone: a later add creates it anew.

Limit: same-time activities are ordered by their (random) Stream id, which a model cannot
know; a follow's copy cut between two such activities is ambiguous. The workload gives every
activity of an author its own microsecond, so no such tie arises there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

DEFAULT_COPY_LIMIT = 100
RECONCILE_KEY = "_outbox"  # feed_outbox.write.outbox.RECONCILE_KEY: write-side data, not activity data
_ABSENT = "<absent>"

Key = tuple[str, str]  # (foreign_id, time): an activity's identity on Stream
GroupKey = Callable[[dict[str, Any]], str]


def default_group_key(activity: dict[str, Any]) -> str:
    """Stream's default aggregation format ``{{ verb }}_{{ time.strftime("%Y-%m-%d") }}``."""
    return f"{activity['verb']}_{activity['time'][:10]}"


def _feed_id(target: str) -> str:
    # `to` entries may carry a token after a space (stream-python signs them)
    return target.split(" ", 1)[0]


class StreamModel:
    """Feeds, follows and shared activities; ``apply()`` takes one outbox event."""

    def __init__(self) -> None:
        self.activities: dict[Key, dict[str, Any]] = {}
        self.feeds: dict[str, dict[Key, str | None]] = {}  # feed -> {activity: origin}
        self.placements: dict[Key, set[str]] = {}
        self.to_by_feed: dict[Key, dict[str, list[str]]] = {}  # what each feed's add fanned to
        self.following: dict[str, dict[str, None]] = {}
        self.followers: dict[str, dict[str, None]] = {}

    # -- outbox events --------------------------------------------------------

    def apply(self, kind: str, feed: str, payload: dict[str, Any]) -> None:
        """One outbox event, as the relay sends it (relay/delivery/v2.py)."""
        if kind in ("add", "update"):
            data = {k: v for k, v in payload.items() if k != RECONCILE_KEY}
            to = [_feed_id(t) for t in data.pop("to", None) or []]
            if kind == "update" and RECONCILE_KEY in payload:
                self.update_to_targets(feed, data["foreign_id"], data["time"], to)
            self.add(feed, data, to)
        elif kind == "remove":
            self.remove(feed, payload["foreign_id"])
        elif kind == "follow":
            self.follow(feed, payload["target"], payload.get("activity_copy_limit"))
        elif kind == "unfollow":
            self.unfollow(feed, payload["target"], bool(payload.get("keep_history")))
        else:
            raise ValueError(f"unknown event kind {kind!r}")

    def replay(self, events: Iterable[tuple[str, str, dict[str, Any]]]) -> StreamModel:
        for kind, feed, payload in events:
            self.apply(kind, feed, payload)
        return self

    # -- writes ---------------------------------------------------------------

    def add(self, feed: str, data: dict[str, Any], to: list[str]) -> None:
        key = (data["foreign_id"], data["time"])
        previous = self.activities.get(key)
        stored = dict(data)
        if to or (previous and previous.get("to")):
            stored["to"] = list(to or previous["to"])
        self.activities[key] = stored
        self.placements.setdefault(key, set())
        self._place(feed, key, None)
        for follower in list(self.followers.get(feed, ())):
            self._place(follower, key, feed)
        if to:
            self.to_by_feed.setdefault(key, {})[feed] = list(to)
            for target in to:
                self._place_target(target, key)

    def remove(self, feed: str, foreign_id: str) -> None:
        for key in [k for k in self.feeds.get(feed, {}) if k[0] == foreign_id]:
            self._remove(feed, key)

    def follow(self, source: str, target: str, copy_limit: int | None) -> None:
        if target in self.following.get(source, {}):
            return
        self.following.setdefault(source, {})[target] = None
        self.followers.setdefault(target, {})[source] = None
        limit = DEFAULT_COPY_LIMIT if copy_limit is None else copy_limit
        own = [k for k, origin in self.feeds.get(target, {}).items() if origin is None]
        own.sort(key=lambda k: (k[1], k[0]), reverse=True)  # newest first (see Limit above)
        for key in own[:limit]:
            self._place(source, key, target)

    def unfollow(self, source: str, target: str, keep_history: bool) -> None:
        if self.following.get(source, {}).pop(target, _ABSENT) is _ABSENT:
            return
        self.followers.get(target, {}).pop(source, None)
        if keep_history:
            return
        entries = self.feeds.get(source, {})
        for key in [k for k, origin in entries.items() if origin == target]:
            self._unplace(source, key)

    def update_to_targets(
        self, feed: str, foreign_id: str, time: str, new_targets: list[str]
    ) -> None:
        key = (foreign_id, time)
        data = self.activities.get(key)
        if data is None:
            return  # Stream answers DoesNotExist; the relay's upsert that follows creates it
        current = list(data.get("to", []))
        removed = [t for t in current if t not in new_targets]
        added = [t for t in new_targets if t not in current]
        for target in removed:
            self._remove_target(target, key)
            if key not in self.activities:
                return
        new_to = [t for t in current if t not in removed] + added
        data = {k: v for k, v in data.items() if k != "to"}
        if new_to:
            data["to"] = new_to
        self.activities[key] = data
        self.to_by_feed.setdefault(key, {})[feed] = new_to
        for target in added:
            self._place_target(target, key)

    # -- placement ------------------------------------------------------------

    def _place(self, feed: str, key: Key, origin: str | None) -> None:
        entries = self.feeds.setdefault(feed, {})
        if key not in entries:
            entries[key] = origin
            self.placements[key].add(feed)

    def _place_target(self, target: str, key: Key) -> None:
        self._place(target, key, None)
        for follower in list(self.followers.get(target, ())):
            self._place(follower, key, target)

    def _origin(self, feed: str, key: Key) -> str | None:
        return self.feeds.get(feed, {}).get(key, _ABSENT)

    def _remove(self, feed: str, key: Key) -> None:
        victims = [feed] + [f for f in self.followers.get(feed, ()) if self._origin(f, key) == feed]
        for target in self.to_by_feed.get(key, {}).pop(feed, []):
            self._remove_target(target, key)
        for victim in victims:
            if key not in self.activities:
                return
            self._unplace(victim, key)

    def _remove_target(self, target: str, key: Key) -> None:
        victims = [target] if self._origin(target, key) is None else []
        victims += [f for f in self.followers.get(target, ()) if self._origin(f, key) == target]
        for victim in victims:
            self._unplace(victim, key)

    def _unplace(self, feed: str, key: Key) -> None:
        entries = self.feeds.get(feed)
        if entries is None or entries.pop(key, _ABSENT) == _ABSENT:
            return
        places = self.placements[key]
        places.discard(feed)
        if not places:  # in no feed: gone, as on Stream
            del self.placements[key], self.activities[key]
            self.to_by_feed.pop(key, None)

    # -- reads ----------------------------------------------------------------

    def flat(self, feed: str) -> dict[str, tuple[str, Any]]:
        """``{foreign_id: (time, text)}`` of a flat feed (the newest if a foreign_id is there twice)."""
        held: dict[str, tuple[str, Any]] = {}
        for key in sorted(self.feeds.get(feed, {}), key=lambda k: k[1]):
            held[key[0]] = (key[1], self.activities[key].get("text"))
        return held

    def groups(
        self, feed: str, group_key: GroupKey = default_group_key
    ) -> dict[str, dict[str, tuple[str, Any]]]:
        """``{group: {foreign_id: (time, text)}}`` of an aggregated or notification feed."""
        grouped: dict[str, dict[str, tuple[str, Any]]] = {}
        for foreign_id, (time, text) in self.flat(feed).items():
            data = self.activities[(foreign_id, time)]
            grouped.setdefault(group_key(data), {})[foreign_id] = (time, text)
        return grouped

    def follows(self) -> dict[str, set[str]]:
        return {source: set(targets) for source, targets in self.following.items() if targets}

    def feed_ids(self) -> set[str]:
        return set(self.feeds) | set(self.following) | set(self.followers)


def replay_committed(api: str = "v2", creations: dict[str, list[int]] | None = None) -> Any:
    """The model after every outbox event ``api``'s Stream was to apply, in id order (= commit
    order for events that interact: see checker.py). Dead letters are left out: Stream rejected
    them. v3 replays through ``stream_model_v3`` (``creations``: from the v3 request log)."""
    from feed_outbox.models import OutboxEvent

    rows = (
        OutboxEvent.objects.filter(api=api)
        .exclude(status="dead")
        .order_by("id")
        .values_list("kind", "feed", "payload")
    )
    if api == "v3":
        from tests.chaos.stream_model_v3 import StreamModelV3

        return StreamModelV3(creations).replay(rows.iterator(chunk_size=2000))
    return StreamModel().replay(rows.iterator(chunk_size=2000))
