"""Authentication and authorization: api key, JWT signature, token scope, error body shape."""

from __future__ import annotations

import jwt
import pytest
import requests
import stream
from stream.exceptions import ApiKeyException, NotAllowedException

from tests.emulator.conftest import API_KEY, API_SECRET, activity
from tests.stream_answers import ANSWERS

ERROR_FIELDS = {"code", "detail", "duration", "exception", "status_code"}


def token(secret=API_SECRET, **payload):
    return jwt.encode(payload, secret, algorithm="HS256")


def test_unknown_api_key_is_api_key_exception(emulator, monkeypatch):
    monkeypatch.delenv("LOCAL", raising=False)
    client = stream.connect("not-the-key", API_SECRET, base_url=emulator.url)
    with pytest.raises(ApiKeyException) as raised:
        client.feed("user", "1").add_activity(activity(1))
    assert raised.value.status_code == 401


def test_forged_secret_is_not_allowed_signature_is_invalid_as_stream_answers(emulator, monkeypatch):
    # Stream answers a wrong secret 403/17, not 401/3 (docs/topics/stream-errors.md)
    monkeypatch.delenv("LOCAL", raising=False)
    client = stream.connect(
        API_KEY, "a-different-secret-of-sufficient-length-123", base_url=emulator.url
    )
    with pytest.raises(NotAllowedException) as raised:
        client.feed("user", "1").get()
    assert raised.value.status_code == 403
    assert raised.value.detail == "signature is invalid"


def test_token_for_another_feed_is_not_allowed(client):
    other_feed = token(resource="feed", action="*", feed_id="user1")
    with pytest.raises(NotAllowedException) as raised:
        client.post("feed/user/2/", other_feed, data=activity(1))
    assert raised.value.status_code == 403
    assert raised.value.detail == ANSWERS["token_out_of_scope"].detail


def test_read_token_cannot_write(client):
    read_only = token(resource="feed", action="read", feed_id="user1")
    client.get("feed/user/1/", read_only)
    with pytest.raises(NotAllowedException, match="no policies allowing this request"):
        client.post("feed/user/1/", read_only, data=activity(1))


def test_feed_token_cannot_follow(client):
    feed_only = token(resource="feed", action="*", feed_id="*")
    with pytest.raises(NotAllowedException, match="no policies allowing this request"):
        client.post("feed/timeline/1/follows/", feed_only, data={"target": "user:1"})


def test_to_target_with_forged_token_is_rejected(client):
    forged = token(
        "wrong-secret-wrong-secret-wrong-secret!", resource="feed", action="*", feed_id="*"
    )
    writer = token(resource="feed", action="write", feed_id="user1")
    with pytest.raises(NotAllowedException, match="signature is invalid"):
        client.post("feed/user/1/", writer, data=activity(1, to=[f"user:2 {forged}"]))
    assert client.feed("user", "1").get()["results"] == []


def test_errors_are_json_with_stream_error_fields(emulator):
    url = f"{emulator.url}/api/v1.0/feed/user/1/"
    no_token = requests.get(url, params={"api_key": API_KEY})
    assert no_token.status_code == 403
    body = no_token.json()
    assert ERROR_FIELDS <= set(body)
    assert body["code"] == 17 and body["exception"] == "NotAllowedException" and body["detail"]
    unknown = requests.get(f"{emulator.url}/api/v1.0/no/such/thing/", params={"api_key": API_KEY})
    assert unknown.status_code == 404 and unknown.json()["detail"]


def test_malformed_http_gets_a_json_400(emulator):
    import socket

    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 400")
    assert '"detail"' in answer


def test_chunked_body_is_411(emulator):
    import socket

    request = (
        f"POST /api/v1.0/feed/user/1/?api_key={API_KEY} HTTP/1.1\r\nHost: localhost\r\n"
        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        sock.sendall(request.encode())
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 411")
