"""The relay's lean stream-python clients (relay.delivery.v2_session) send, byte for byte, what
a stream-python client with a plain requests.Session sends: every request the relay makes,
read off the wire by a raw HTTP stand-in; and they behave as one where the lean path steps
aside (a cookie Stream sets, a session given more state)."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
import requests
import stream

from feed_outbox.write.outbox import RECONCILE_KEY
from relay.delivery.v2 import (
    RECONCILE,
    V2Delivery,
    _resolve_environment_once,
    call_stream,
    plan_calls,
)
from relay.delivery.v2_session import LeanSession, make_lean, memoize_tokens
from relay.events import Event
from tests.stand_in import StandIn

KEY, SECRET = "lean-key", "a-secret-long-enough-for-pyjwt-to-stay-quiet-here"
TIME = datetime.datetime(2026, 12, 6, 12, 0, 0, 123456).isoformat()


def event(id_, kind, feed="user:1", **payload):
    return Event(id_, kind, feed, f"app.Tweet:{id_}", payload, 1)


def activity(id_, **more):
    return {"actor": "user:1", "verb": "tweet", "object": f"app.Tweet:{id_}",
            "foreign_id": f"app.Tweet:{id_}", "time": TIME, **more}  # fmt: skip


# One batch of every request shape the relay sends (relay.delivery.v2 call_stream).
EVENTS = [
    event(1, "add", **activity(1)),
    event(2, "add", "user:2", **activity(2, to=["notification:3", "timeline:4"])),
    event(3, "add", "user:2", **activity(3, text="ünïcode ✓", extra={"n": [1, 2.5, None]})),
    event(4, "update", "user:5", **activity(4, to=["notification:6"]), **{RECONCILE_KEY: True}),
    event(5, "remove", foreign_id="app.Tweet:5"),
    event(6, "remove", activity_id="7f3c1a2e-0000-11ef-8000-000000000000"),
    event(7, "follow", "timeline:1", target="user:2"),
    event(8, "follow", "timeline:3", target="user:2", activity_copy_limit=0),
    event(9, "unfollow", "timeline:1", target="user:9", keep_history=True),
]


@pytest.fixture
def stand_in():
    server = StandIn(201, {"duration": "1ms"})
    yield server
    server.close()


@pytest.fixture
def client():
    """Builds stream-python clients, as the relay's, and closes their sessions afterwards: a
    socket left for the garbage collector warns in whichever later test collects it."""
    built_ones = []

    def build(stand_in, lean):
        built = stream.connect(KEY, SECRET, base_url=stand_in.url, timeout=5)
        _resolve_environment_once(built, built.session)  # as the relay's pool does
        built.session.hooks["response"].append(lambda response, *a, **k: None)  # the pool's
        if lean:
            make_lean(built)
        built_ones.append(built)
        return built

    yield build
    for built in built_ones:
        built.session.close()


def send_all(built):
    calls = plan_calls(EVENTS)
    assert RECONCILE in {c.endpoint for c in calls}  # every shape, the two-request one too
    for call in calls:
        call_stream(built, call, lambda bucket: None)


def test_every_request_the_relay_makes_is_the_same_on_the_wire(stand_in, client):
    plain = client(stand_in, lean=False)
    send_all(plain)
    sent_plain, stand_in.seen[:] = list(stand_in.seen), []

    lean = client(stand_in, lean=True)
    assert type(lean.session) is LeanSession
    send_all(lean)
    send_all(lean)  # the second time from the memoized tokens

    assert len(sent_plain) == 9
    assert stand_in.seen == sent_plain + sent_plain
    # The comparison sees what it must: the signature, the api_key, the body.
    line, headers, body = sent_plain[1]
    assert b"api_key=lean-key" in line and b'"to":' not in line
    assert dict(headers)["Authorization"] and b"notification:3 " in body


def test_a_cookie_stream_sets_is_sent_back_as_requests_would(stand_in, client):
    stand_in.answer_headers = [("Set-Cookie", "AWSALB=sticky; Path=/")]
    sent = {}
    for lean in (False, True):
        built = client(stand_in, lean)
        send_all(built)
        sent[lean], stand_in.seen[:] = list(stand_in.seen), []
        assert dict(built.session.cookies) == {"AWSALB": "sticky"}

    assert sent[True] == sent[False]
    assert ("Cookie", "AWSALB=sticky") in sent[True][1][1]


def test_a_session_given_more_state_takes_requests_whole_path(stand_in, client, monkeypatch):
    built = client(stand_in, lean=True)
    built.session.auth = ("user", "password")
    built.session.params = {"extra": "1"}
    whole = []
    monkeypatch.setattr(
        requests.Session, "prepare_request",
        lambda self, request: whole.append(request) or REQUESTS_PREPARE(self, request),
    )  # fmt: skip

    built.feed("user", "1").add_activity(activity(1))

    line, headers, _body = stand_in.seen[-1]
    assert len(whole) == 1 and b"extra=1" in line
    assert dict(headers)["Authorization"].startswith("Basic ")  # requests' auth, not the JWT
    # ...while a lean session with none of it never goes there.
    send_all(client(stand_in, lean=True))
    assert len(whole) == 1


REQUESTS_PREPARE = requests.Session.prepare_request


def test_a_test_that_patches_session_request_still_sees_every_call(stand_in, client):
    # A project's own tests may intercept Stream's calls by patching requests.Session.request
    # (unittest.mock): the relay's lean clients go through the patch too.
    built = client(stand_in, lean=True)
    answer = requests.Response()
    answer.status_code, answer._content = 201, b'{"duration": "1ms"}'
    with mock.patch.object(requests.Session, "request", return_value=answer) as patched:
        built.feed("user", "1").add_activity(activity(1))

    assert patched.call_count == 1 and stand_in.seen == []
    assert patched.call_args.args[0].upper() == "POST"


def test_memoized_tokens_are_the_tokens_stream_python_encodes():
    plain = stream.connect(KEY, SECRET)
    memoized = stream.connect(KEY, SECRET)
    memoize_tokens(memoized)
    memoize_tokens(memoized)  # once only: not a cache wrapped in a cache

    for args, kwargs in [
        (("feed", "*"), {"feed_id": "*"}),
        (("feed", "write"), {"feed_id": "user1"}),
        (("*", "*"), {"user_id": "42"}),
        (("follower", "read"), {"feed_id": "timeline1", "extra": "x", "more": 2}),
    ]:
        assert memoized.create_jwt_token(*args, **kwargs) == plain.create_jwt_token(*args, **kwargs)
    assert memoized.create_jwt_token("feed", "read", feed_id="user1", scopes=["a"]) == (
        plain.create_jwt_token("feed", "read", feed_id="user1", scopes=["a"])
    )  # unhashable: encoded every time
    assert memoized.feed("user", "1").token == plain.feed("user", "1").token


def test_the_relay_builds_its_v2_clients_lean(settings):
    built = V2Delivery().build_client()

    assert type(built.session) is LeanSession
    assert getattr(built.create_jwt_token, "memoized", False)
