"""The emulator refuses a call the way the real service does, for every case of
docs/topics/stream-errors.md: HTTP status, code, exception and, where a source gives it, the detail
word for word, in the real answer's key order."""

from __future__ import annotations

import json
import socket
import time

import jwt
import pytest
import requests
import stream
from stream.exceptions import InputException, NotAllowedException, SiteSuspendedException

from tests.emulator.conftest import API_KEY, API_SECRET, activity
from tests.stream_answers import ANSWERS

FEED = "feed/user/1/"


def token(secret=API_SECRET, **payload):
    claims = {"resource": "*", "action": "*", "feed_id": "*", **payload}
    return jwt.encode(claims, secret, algorithm="HS256")


def call(emulator, path=FEED, auth=None, api_key=API_KEY, method="GET", body=None):
    params = {"api_key": api_key} if api_key is not None else {}
    headers = {"stream-auth-type": "jwt"}
    if auth is not None:
        headers["Authorization"] = auth
    return requests.request(
        method, f"{emulator.url}/api/v1.0/{path}", params=params, headers=headers, json=body
    )


def assert_real(response, case):
    """The answer is ``case``'s real one: status, code, exception, key order, and the exact
    detail where a source gives it (duration is timing, not content)."""
    answer = ANSWERS[case]
    assert response.status_code == answer.status
    body = response.json()
    assert list(body) == list(answer.body())
    assert {k: v for k, v in body.items() if k != "duration"} == {
        k: v for k, v in answer.body().items() if k != "duration"
    }


def test_wrong_secret_is_403_17_signature_is_invalid(emulator):
    assert_real(call(emulator, auth=token("not-the-secret-of-this-app-0123456789")), "wrong_secret")


def test_a_token_that_is_not_a_jwt_is_403_17_invalid_number_of_segments(emulator):
    assert_real(call(emulator, auth="not-a-token"), "malformed_token")


def test_a_token_whose_scope_does_not_cover_the_call_is_403_17_no_policy(emulator):
    assert_real(call(emulator, "feed/user/2/", auth=token(feed_id="user1")), "token_out_of_scope")


def test_an_expired_token_is_403_17_token_is_expired(emulator):
    response = call(emulator, auth=token(exp=int(time.time()) - 90))
    assert response.status_code == 403
    body = response.json()
    assert (body["code"], body["exception"]) == (17, "NotAllowedException")
    assert body["detail"] in ("token is expired by 1m30s", "token is expired by 1m31s")


def test_missing_and_unknown_api_keys_are_401_2(emulator):
    assert_real(call(emulator, api_key=None, auth=token()), "missing_api_key")
    assert_real(call(emulator, api_key="not-the-key", auth=token()), "unknown_api_key")


def test_a_suspended_app_is_401_7_through_the_real_client(emulator, client):
    emulator.set_faults(suspended=True)
    assert_real(call(emulator, auth=token()), "suspended_app")
    with pytest.raises(SiteSuspendedException) as raised:
        client.feed("user", "1").add_activity(activity(1))
    assert raised.value.status_code == 401
    emulator.set_faults(suspended=False)
    client.feed("user", "1").add_activity(activity(1))


def test_an_unknown_feed_group_is_400_6_naming_the_group(emulator):
    assert_real(call(emulator, "feed/nosuchgroup/1/", auth=token()), "unknown_feed_group")


def test_rate_limited_is_429_9(emulator):
    emulator.set_faults(rate_limits="stream", rate_limit_scale=0.01)  # one window per test
    auth = token()
    for n in range(300):  # remove: 300 a minute
        assert call(emulator, f"{FEED}x{n}/", auth, method="DELETE").status_code == 200
    assert_real(call(emulator, f"{FEED}x/", auth, method="DELETE"), "rate_limited")


def test_a_body_over_the_limit_is_413_18(emulator):
    request = (
        f"POST /api/v1.0/{FEED}?api_key={API_KEY} HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Length: {64 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        sock.sendall(request.encode())
        answer = sock.recv(65536).decode()
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 413")
    expected = ANSWERS["body_too_large"].body()
    assert list(json.loads(body).items()) == list(expected.items())


def test_an_activity_over_10kb_is_an_input_error(client):
    big = activity(1, text="x" * (10 * 1024))
    with pytest.raises(InputException) as raised:
        client.feed("user", "1").add_activity(big)
    assert raised.value.status_code == 400 and "10KB" in str(raised.value)
    client.feed("user", "1").add_activity(activity(2, text="x" * (9 * 1024)))


def test_a_server_error_is_500_code_minus_1(emulator):
    emulator.set_faults(error_rate=1.0)
    response = call(emulator, auth=token())
    assert response.status_code == 500
    assert response.json()["code"] == -1


def test_the_real_client_reads_the_wrong_secret_answer_as_not_allowed(emulator, monkeypatch):
    monkeypatch.delenv("LOCAL", raising=False)
    wrong = stream.connect(API_KEY, "not-the-secret-of-this-app-0123456789", base_url=emulator.url)
    with pytest.raises(NotAllowedException) as raised:
        wrong.feed("user", "1").add_activity(activity(1))
    assert (raised.value.status_code, raised.value.detail) == (403, "signature is invalid")


def test_retargeting_an_activity_stream_does_not_know_is_404_16(client):
    from stream.exceptions import DoesNotExistException

    with pytest.raises(DoesNotExistException) as raised:
        client.feed("user", "1").update_activity_to_targets(
            "tweet:404", "2024-01-01T00:00:00", new_targets=["notification:2"]
        )
    assert raised.value.status_code == 404
