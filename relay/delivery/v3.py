"""Feeds v3 through the getstream SDK: batch upsert by id, batch delete, get-or-create follows,
and how the SDK's failures read.

The mapping of an outbox payload to a v3 activity is feed_outbox.stream_api.v3_mapping. What this adds:
v3 feeds must exist before activities are added to them, so every feed a call writes to (and
both feeds of a follow) is created first with its owner (CreateFeedsBatch, get-or-create),
once per process; the other calls are idempotent by construction (upsert by a deterministic
id, get-or-create follow/unfollow, a delete whose 404 means "already gone").

Each request is the one the SDK's typed method would make (tests/relay/delivery/test_v3.py
holds every body equal to what the SDK's request models encode), sent by ``post`` below on
the SDK's own httpx client, with the SDK's headers and exceptions, and without the SDK's
reading of a successful answer, which the relay never looks at. The typed methods decode
every answer into dataclass models (about 0.1 s of CPU for an upsert of 100 activities); the
SDK's untyped ``post`` still scans the whole answer with ijson for its "duration" and parses
it with json.loads. Measured for an upsert of 100 activities and its ~100 KB answer (thread
CPU, issue 25): the SDK's ``post`` 5.0-5.4 ms a call, of which the ijson scan ~1.9-3.2 ms,
json.loads ~0.7-0.9 ms and the rest of the SDK (None-stripping, span, logs) ~0.5 ms, where
httpx itself (encoding, sending, receiving, reading) took ~1.0 ms; ``post`` below 0.8-1.0 ms.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from feed_outbox.client import build_v3_client
from feed_outbox.stream_api import v3_mapping
from feed_outbox.stream_api.rate_limits import MAX_BATCH
from relay.answers import RAW_LIMIT, Answer, json_object, quoted
from relay.calls import Call, activity, batched
from relay.delivery.base import ResponseObserver
from relay.events import Event

# v3 follows copy every existing activity when activity_copy_limit is unset (the SDK's
# FollowRequest docs: "Not set = unlimited"); v2 copies 100. The outbox's truth is v2's, and
# v2+v3 must end with equal feeds, so an unset limit is sent as v2's default.
V2_COPY_LIMIT = 100

UPSERT, DELETE, FOLLOW, UNFOLLOW = (
    "upsert_activities",
    "delete_activities",
    "get_or_create_follows",
    "get_or_create_unfollows",
)
# Stream's operation ids: v3 rate limits are per endpoint and minute.
BUCKETS = {
    UPSERT: "v3:UpsertActivities",
    DELETE: "v3:DeleteActivities",
    FOLLOW: "v3:FollowBatch",
    UNFOLLOW: "v3:UnfollowBatch",
}
CREATE_FEEDS = "v3:CreateFeedsBatch"
# The path of each request: the SDK's FeedsRestClient methods upsert_activities,
# delete_activities, get_or_create_follows, get_or_create_unfollows, create_feeds_batch.
PATHS = {
    UPSERT: "/api/v2/feeds/activities/batch",
    DELETE: "/api/v2/feeds/activities/delete",
    FOLLOW: "/api/v2/feeds/follows/batch/upsert",
    UNFOLLOW: "/api/v2/feeds/unfollow/batch/upsert",
    CREATE_FEEDS: "/api/v2/feeds/feeds/batch",
}
_ENDPOINT = {
    "add": UPSERT,
    "update": UPSERT,
    "remove": DELETE,
    "follow": FOLLOW,
    "unfollow": UNFOLLOW,
}
# Feeds v3 shares Stream's platform error codes (its "API error codes" page): 2 API key, 5
# authentication, 40-43 the token (expired, not valid yet, issued in the future, bad
# signature), all 401; 4 input, 16 does not exist, 17 not allowed, 18/22 too large or many.
CREDENTIAL_CODES = frozenset({2, 5, 40, 41, 42, 43, 99})
PERMANENT_CODES = frozenset({4, 6, 16, 17, 18, 20, 22})
DOES_NOT_EXIST = 16


class V3Delivery:
    api = "v3"

    def __init__(self, client_factory: Callable[[], Any] | None = None) -> None:
        self._client_factory = client_factory or build_v3_client
        self._created: set[str] = set()  # feeds known to exist (this process made sure)
        self._lock = threading.Lock()
        self._client: Any = None
        self._spare = 0  # threads self._client may still serve
        self._built: list[Any] = []  # every client made, for close()
        self._observers: list[ResponseObserver] = []  # every pool's, latest last

    def build_client(self) -> Any:
        """A client shared by pool threads. Its httpx.Client "can be shared between threads"
        (httpx's Client docstring), while each new getstream client loads the CA bundle twice
        (its own httpx.Client and the one its ``feeds`` replaces): 20-80 ms of CPU a thread.
        It pools ``max_conns_per_host`` connections (100 unless configured): a thread past
        them would wait for one and send later than the lease margin allows (relay.pool), so
        each client serves that many threads at most."""
        with self._lock:
            if self._spare <= 0:
                self._client = self._client_factory()
                self._built.append(self._client)
                self._spare = int(getattr(self._client, "max_conns_per_host", None) or 1)
            self._spare -= 1
            return self._client

    def close(self) -> None:
        """Close every client made (their httpx pools' sockets); a later pool builds anew.
        The SDK's ``Stream.close()`` closes its own httpx client, not its ``feeds``' (which
        replaced it for every feeds request): both are closed."""
        with self._lock:
            built, self._built = self._built, []
            self._client, self._spare = None, 0
        for client in built:
            client.feeds.close()
            client.close()

    def observe_responses(self, client: Any, observe: ResponseObserver) -> None:
        http = getattr(client.feeds, "client", None)  # the SDK's httpx.Client
        if http is None:
            return
        # The threads of a pool share a client and an observer: one hook is enough (httpx
        # runs it on the thread that made the request). The relay makes a pool per run: the
        # observers of earlier pools go.
        with self._lock:
            if observe not in self._observers:
                self._observers.append(observe)
            hooks = http.event_hooks["response"]
            hooks[:] = [h for h in hooks if h == observe or h not in self._observers]
            if observe not in hooks:
                hooks.append(observe)

    def plan_calls(self, events: Sequence[Event]) -> list[Call]:
        # One v3 batch spans feeds (each activity lists its own), so events group by kind
        # only. A claimed batch holds one event per ordering key: grouping cannot reorder one.
        planned = batched(events, _place)
        # An unknown kind's call is never sent (send raises): it has no bucket of its own.
        return [Call(name, tuple(group), BUCKETS.get(name, name)) for name, group in planned]

    def send(self, client: Any, call: Call, pace: Callable[[str], None]) -> None:
        feeds = client.feeds
        events = call.events
        if call.endpoint == UPSERT:
            # An update whose `to` changed needs nothing more on v3: the upsert replaces `feeds`.
            body = upsert_body(events)
            self._ensure_feeds(feeds, [f for a in body["activities"] for f in a["feeds"]], pace)
            pace(BUCKETS[UPSERT])
            post(feeds, PATHS[UPSERT], body)
        elif call.endpoint == DELETE:
            self._delete(feeds, events, pace)
        elif call.endpoint in (FOLLOW, UNFOLLOW):
            self._ensure_feeds(feeds, [f for e in events for f in (e.feed, _target(e))], pace)
            pace(BUCKETS[call.endpoint])
            body = follow_body(events) if call.endpoint == FOLLOW else unfollow_body(events)
            post(feeds, PATHS[call.endpoint], body)
        else:
            first = events[0]
            raise ValueError(f"unknown outbox event kind {first.kind!r} (event {first.id})")

    def _ensure_feeds(self, feeds: Any, wanted: list[str], pace: Callable[[str], None]) -> None:
        missing = [f for f in dict.fromkeys(wanted) if f not in self._created]
        for start in range(0, len(missing), MAX_BATCH):
            chunk = missing[start : start + MAX_BATCH]
            pace(CREATE_FEEDS)
            post(feeds, PATHS[CREATE_FEEDS], create_feeds_body(chunk))
            with self._lock:
                self._created.update(chunk)

    def _delete(self, feeds: Any, events: Sequence[Event], pace: Callable[[str], None]) -> None:
        from getstream.exceptions import StreamApiException

        ids = [v3_mapping.activity_id(e.feed, e.payload["foreign_id"]) for e in events]
        try:
            pace(BUCKETS[DELETE])
            post(feeds, PATHS[DELETE], delete_body(ids))
            return
        except StreamApiException as exc:
            if exc.status_code != 404:
                raise
        # One id of the batch is not there (Stream never got its add, or a retried delete
        # already removed it): delete one by one, and a 404 alone means "already gone".
        for activity_id in ids:
            try:
                pace(BUCKETS[DELETE])
                post(feeds, PATHS[DELETE], delete_body([activity_id]))
            except StreamApiException as exc:
                if exc.status_code != 404:
                    raise

    def rate_limited(self, exc: BaseException) -> bool:
        from getstream.exceptions import StreamRateLimitException

        return isinstance(exc, StreamRateLimitException)

    def keep_raw_answer(self, exc: BaseException, response: Any) -> None:
        return None  # the SDK's exception keeps the whole answer (raw_response_body)

    @staticmethod
    def answer_of(exc: BaseException) -> Answer | None:
        """A getstream StreamApiException: the SDK keeps status, code, message and the body."""
        module = _sdk_exceptions()
        if module is None or not isinstance(exc, module.StreamApiException):
            return None
        raw = exc.raw_response_body or ""
        code = exc.code if exc.api_error is not None or json_object(raw) else None
        status = int(exc.status_code or 0)
        detail = exc.message or ""
        raw = raw[:RAW_LIMIT]
        # 404/16 "feed group 'name' does not exist"
        unknown = quoted(detail) if code == DOES_NOT_EXIST and "feed group" in detail else None
        return Answer(
            status,
            code,
            type(exc).__name__,
            detail,
            raw,
            # v3 answers token problems with 401 and their own codes
            refuses_credentials=status == 401 or code in CREDENTIAL_CODES,
            permanent=code in PERMANENT_CODES,
            json=bool(json_object(raw)),
            unknown_feed_groups=unknown or frozenset(),
            # v3's feed groups are set up on Stream's side (docs/topics/v3-feed-groups.md)
            remedy="`python manage.py outbox_setup_v3` creates the feed groups the settings name"
            if unknown
            else "",
        )

    @staticmethod
    def unanswered(exc: BaseException) -> bool:
        """A getstream StreamTransportException: no answer at all (the network, a timeout)."""
        module = _sdk_exceptions()
        return module is not None and isinstance(exc, module.StreamTransportException)

    @staticmethod
    def may_still_land(exc: BaseException) -> bool:
        """httpx's ConnectError / ConnectTimeout: the request never left; anything else (a
        read timeout, a reset after sending) may have reached Stream."""
        import httpx  # loaded already: the SDK raised ``exc``

        return not isinstance(exc.__cause__, (httpx.ConnectError, httpx.ConnectTimeout))


def post(feeds: Any, path: str, body: dict[str, Any]) -> None:
    """POST ``body`` to ``path`` as the SDK's ``post`` does (getstream/base.py
    ``_attempt_sync``), minus its reading of a successful answer (the module's docstring).

    On the SDK's own httpx client (``feeds.client``: its base URL, auth header, ``api_key``
    parameter, connection pool and event hooks), the bytes ``post`` sends (None values
    stripped, encoded as httpx encodes ``json=``) and an ``x-client-request-id`` as it adds;
    a failure raises what ``post`` raises, built by the SDK's own ``build_api_exception`` (a
    429 is a StreamRateLimitException with its Retry-After) and ``wrap_transport_error``. A
    success whose body is not a JSON object raises too, as the SDK's parse of it would (a
    wrong base URL's page): told by its braces, not parsed. Not made: the SDK's span,
    metrics and debug logs of the request (the relay has its own, relay.tracing)."""
    import httpx  # loaded already: the SDK's client is an httpx.Client
    from getstream.exceptions import (
        StreamApiException,
        build_api_exception,
        wrap_transport_error,
    )

    content = _encode(body)
    if b"null" in content:  # rare: only then is the walk worth it
        content = _encode(_strip_none(body))
    headers = {"Content-Type": "application/json", "x-client-request-id": str(uuid.uuid4())}
    try:
        response = feeds.client.post(path, content=content, headers=headers)
    except httpx.RequestError as err:
        raise wrap_transport_error(err) from err
    if response.status_code >= 399:  # the SDK's own threshold (_parse_response)
        raise build_api_exception(response)
    answer = response.content.strip()
    if answer and not (answer[:1] == b"{" and answer[-1:] == b"}"):
        raise StreamApiException(response=response)


def _encode(body: Any) -> bytes:
    # httpx's encoding of ``json=`` (httpx/_content.py encode_json): the same bytes as before
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _strip_none(value: Any) -> Any:
    """The SDK's None-stripping of a request body (getstream/base.py ``_strip_none``): a None
    value leaves its object, a None item stays in its list."""
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(item) for item in value]
    return value


def _sdk_exceptions() -> Any:
    """getstream.exceptions if the SDK is loaded. Looked up, never imported: without the SDK
    loaded no exception can be one of its own, and a v2 relay must not pay its import (seconds
    on a busy host) on its first failure, while a late write may be landing."""
    return sys.modules.get("getstream.exceptions")


# The request bodies, as the SDK's models encode them (UpsertActivitiesRequest of
# ActivityRequest, DeleteActivitiesRequest, FollowBatchRequest of FollowRequest,
# UnfollowBatchRequest of UnfollowPair, CreateFeedsBatchRequest of FeedRequest).
def upsert_body(events: Sequence[Event]) -> dict[str, Any]:
    return {"activities": [v3_mapping.activity_request(e.feed, activity(e)) for e in events]}


def delete_body(ids: list[str]) -> dict[str, Any]:
    return {"ids": ids, "hard_delete": True}


def follow_body(events: Sequence[Event]) -> dict[str, Any]:
    return {
        "follows": [
            {"source": e.feed, "target": _target(e), "activity_copy_limit": _copy_limit(e)}
            for e in events
        ]
    }


def unfollow_body(events: Sequence[Event]) -> dict[str, Any]:
    return {
        "follows": [
            {
                "source": e.feed,
                "target": _target(e),
                "keep_history": bool(e.payload.get("keep_history")),
            }
            for e in events
        ]
    }


def create_feeds_body(fids: list[str]) -> dict[str, Any]:
    feeds = []
    for fid in fids:
        group, feed_id = fid.split(":", 1)
        feeds.append(
            {
                "feed_group_id": group,
                "feed_id": feed_id,
                "created_by_id": v3_mapping.feed_owner(fid),
            }
        )
    return {"feeds": feeds}


def _target(event: Event) -> str:
    return str(event.payload["target"])


def _copy_limit(event: Event) -> int:
    limit = event.payload.get("activity_copy_limit")
    return V2_COPY_LIMIT if limit is None else int(limit)


def _place(event: Event) -> tuple[str, str | None]:
    """A kind's endpoint, shared by every event of that kind; an unknown kind alone."""
    endpoint = _ENDPOINT.get(event.kind)
    return (endpoint, endpoint) if endpoint else (f"unknown:{event.kind}", None)
