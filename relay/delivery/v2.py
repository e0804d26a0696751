"""Feeds v2 through stream-python: how events become its requests, and how its failures read."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import requests
import urllib3
from stream import exceptions as stream_exceptions

from feed_outbox.client import build_client
from feed_outbox.stream_api.errors import CREDENTIAL_CODES, FEED_CONFIG, names_a_bad_token
from feed_outbox.stream_api.rate_limits import V2_REQUESTS
from feed_outbox.write.outbox import RECONCILE_KEY
from relay.answers import RAW_LIMIT, Answer, json_object, quoted
from relay.calls import Call, activity, batched
from relay.delivery.base import ResponseObserver
from relay.delivery.v2_session import make_lean
from relay.events import Event

# The stream-python request of each V2_REQUESTS row (feed_outbox.stream_api.rate_limits).
ENDPOINTS = {
    "add_activities": "add_activities",
    "remove": "remove_activity",
    "follow": "follow_many",
    "unfollow": "unfollow_many",
}
RECONCILE = "reconcile_update"  # an update whose `to` changed: two requests (call_stream)
# Stream's rate-limit bucket of each call's first request (X-Ratelimit-* are per bucket).
BUCKETS = {
    "add_activities": "add",
    RECONCILE: "update",
    "remove_activity": "remove",
    "follow_many": "follow",
    "unfollow_many": "follow",
}
# What each documented code means for an event; docs/topics/stream-errors.md has the sources.
PERMANENT_CODES = frozenset({4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 22})
# Set on a StreamApiException by the pool: (HTTP status, body text) of the answer.
RAW_ATTRIBUTE = "stream_answer"


class V2Delivery:
    api = "v2"

    def __init__(self, client_factory: Callable[[], Any] | None = None) -> None:
        self._client_factory = client_factory or build_client

    def build_client(self) -> Any:
        client = self._client_factory()
        _answers_without_datetimes(client)
        make_lean(client)
        return client

    def close(self) -> None:
        """Nothing to close: each thread's client (its requests.Session) is its own and goes
        with the thread; urllib3 closes its pooled connections when the session is collected
        (tests/relay/test_testing.py: no ResourceWarning)."""

    def observe_responses(self, client: Any, observe: ResponseObserver) -> None:
        session = getattr(client, "session", None)
        if session is not None:
            _resolve_environment_once(client, session)
            session.hooks["response"].append(lambda response, *a, **k: observe(response))

    def plan_calls(self, events: Sequence[Event]) -> list[Call]:
        return plan_calls(events)

    def send(self, client: Any, call: Call, pace: Callable[[str], None]) -> None:
        call_stream(client, call, pace)

    def rate_limited(self, exc: BaseException) -> bool:
        return isinstance(exc, stream_exceptions.RateLimitReached)

    def keep_raw_answer(self, exc: BaseException, response: Any) -> None:
        """Remember the answer ``exc`` was raised for (the pool calls this with the last
        response): stream-python keeps only the status and detail, and picks its exception
        class by ``code`` (an unknown code becomes a plain StreamApiException with code 1)."""
        if response is None or not isinstance(exc, stream_exceptions.StreamApiException):
            return
        try:
            text = response.text
        except Exception:  # undecodable body: the status still says something
            text = ""
        setattr(exc, RAW_ATTRIBUTE, (response.status_code, text[: RAW_LIMIT * 4]))

    @staticmethod
    def answer_of(exc: BaseException) -> Answer | None:
        """A stream-python StreamApiException, its real code read from the raw body kept."""
        if not isinstance(exc, stream_exceptions.StreamApiException):
            return None
        status, raw = getattr(exc, RAW_ATTRIBUTE, None) or (None, "")
        body = json_object(raw)
        status = int(status or getattr(exc, "status_code", None) or 0)
        code = body.get("code") if isinstance(body.get("code"), int) else None
        if code is None and not raw:
            code = getattr(exc, "code", None)  # no raw body kept: the client's reading of it
        exception = body.get("exception") if isinstance(body.get("exception"), str) else ""
        detail = body.get("detail") if isinstance(body.get("detail"), str) else None
        if detail is None:
            detail = str(getattr(exc, "detail", "") or exc)
        raw = raw[:RAW_LIMIT]
        return Answer(
            status,
            code,
            exception or type(exc).__name__,
            detail,
            raw,
            # A 403/17 "signature is invalid" is the wrong secret too.
            refuses_credentials=code in CREDENTIAL_CODES or names_a_bad_token(code, detail),
            permanent=code in PERMANENT_CODES,
            json=bool(json_object(raw)) or detail != f"GetStreamAPI{status}",
            unknown_feed_groups=quoted(detail) if code == FEED_CONFIG else frozenset(),
        )

    @staticmethod
    def unanswered(exc: BaseException) -> bool:
        return isinstance(exc, requests.RequestException)

    @staticmethod
    def may_still_land(exc: BaseException) -> bool:
        """A read timeout or a dropped connection leaves the request at Stream (the emulator
        applies a write whose latency outlasts the client's timeout); a refused connection or
        a connect timeout never sent it."""
        if isinstance(exc, requests.ConnectTimeout):
            return False
        if isinstance(exc, requests.ConnectionError):
            reason = exc.args[0] if exc.args else None
            reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
            return not isinstance(reason, urllib3.exceptions.NewConnectionError)
        return isinstance(exc, requests.Timeout)


def _endpoint(event: Event) -> str:
    if event.kind == "update" and RECONCILE_KEY in event.payload:
        return RECONCILE  # its `to` targets changed: update_activity_to_targets, then an upsert
    # An update is an add with the same foreign_id + frozen time: Stream overwrites the
    # stored activity in place (id kept), under add's higher rate limit, and it works even
    # when Stream never saw the add.
    return ENDPOINTS[V2_REQUESTS[event.kind][0]]


def _group_key(event: Event, endpoint: str) -> tuple[str, ...] | None:
    """Events with the same key share one request; None means a request of its own."""
    shared_by = V2_REQUESTS[event.kind][1]
    if endpoint == RECONCILE or shared_by is None:
        return None
    if shared_by == "feed":
        return (endpoint, event.feed)
    if event.kind == "follow":  # one activity_copy_limit per follow_many
        return (endpoint, str(event.payload.get("activity_copy_limit")))
    return (endpoint,)


def plan_calls(events: Sequence[Event]) -> list[Call]:
    """Group a claimed batch into requests as V2_REQUESTS says, in the order of each group's
    oldest event.

    A claimed batch never holds two events of one ordering key (the claim only hands out the
    oldest pending event of each key), so grouping cannot reorder a key's events.
    """
    planned = batched(events, _place)
    return [Call(endpoint, tuple(group), BUCKETS[endpoint]) for endpoint, group in planned]


def _place(event: Event) -> tuple[str, tuple[str, ...] | None]:
    endpoint = _endpoint(event)
    return endpoint, _group_key(event, endpoint)


def call_stream(client: Any, call: Call, pace: Callable[[str], None]) -> None:
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
    elif call.endpoint == RECONCILE:
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
        pace(BUCKETS["add_activities"])
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


def _resolve_environment_once(client: Any, session: Any) -> None:
    """Read proxy and CA-bundle variables once instead of on every request.

    requests looks them up per request when ``trust_env`` is on: a fifth of a request's CPU
    time here, and every request of a relay goes to the same host.
    """
    if not session.trust_env:
        return
    url = client.get_full_url("api", "")
    session.proxies.update(requests.utils.get_environ_proxies(url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def _answers_without_datetimes(client: Any) -> None:
    """Read a successful answer with plain ``json.loads`` on this client (the relay's own, one
    per pool thread: Delivery.build_client builds a new one).

    stream-python decodes every answer with a hook that tries ``strptime`` on each string of
    every object (stream/serializer.py ``_datetime_decoder``, from StreamClient
    ``_parse_response``): about eleven failed parses per activity an add_activities answer
    echoes, the largest share of the relay's CPU per event, for answers the relay never reads
    (call_stream ignores what every request returns). An error answer, or a success whose
    body names an exception, still goes through stream-python's own reading, which raises."""
    parse = getattr(client, "_parse_response", None)
    if parse is None:
        return

    def parse_response(response: Any) -> Any:
        if 200 <= response.status_code < 300:
            try:
                parsed = json.loads(response.text)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and not parsed.get("exception"):
                return parsed
        return parse(response)

    client._parse_response = parse_response
