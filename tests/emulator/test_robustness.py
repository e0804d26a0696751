"""Bad input never crashes the emulator: every answer is JSON with a detail and a 4xx code."""

from __future__ import annotations

import jwt
import pytest
import requests

from feed_outbox.emulator.v2.api import ROUTES
from tests.emulator.conftest import API_KEY, API_SECRET

ADMIN = jwt.encode({"resource": "*", "action": "*", "feed_id": "*"}, API_SECRET, algorithm="HS256")
BODIES = [
    b"",
    b"null",
    b"[]",
    b"{}",
    b'"text"',
    b"42",
    b"{not json",
    b'{"activities": 5}',
    b'{"actor": {"a": 1}, "verb": [], "object": null, "time": 12e99}',
    b'{"changes": [{"id": 5, "set": []}]}',
    b'{"target": "user:1", "activity_copy_limit": "x"}',
    b'[{"source": null, "target": {}}]',
    b'{"feeds": "user:1", "activity": 1}',
    b'{"foreign_id": 1, "time": "never", "new_targets": "user:1"}',
    b'{"actor": "a", "verb": "v", "object": "o", "time": 12e99, "to": ["x"]}',
    b'{"actor": "a", "verb": "v", "object": "o", "time": "9999-99-99", "foreign_id": []}',
    b'{"activities": [{"actor": "a", "verb": "v", "object": "o", "to": "user:2"}]}',
    b'{"changes": [{"foreign_id": "f", "time": "x"}], "activity": {"actor": "a"}}',
    b'{"kind": 1, "activity_id": [], "parent": "nope", "user_id": "u", "target_feeds": 3}',
    b'{"id": 7, "data": 5}',
]


def _path(pattern: tuple[str, ...]) -> str:
    values = iter(["user", "1", "weird id", "x"])
    return "/".join(next(values) if part == "*" else part for part in pattern)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method}-{r.name}")
def test_every_route_answers_garbage_with_a_json_4xx(emulator, route):
    session = requests.Session()
    url = f"{emulator.url}/api/v1.0/{_path(route.pattern)}/"
    queries = [
        {"api_key": API_KEY},
        {
            "api_key": API_KEY,
            "limit": "-1",
            "offset": "x",
            "id_lt": "nope",
            "ids": "a,b",
            "mark_seen": "zz",
        },
    ]
    for body in BODIES:
        for params in queries:
            answer = session.request(
                route.method, url, params=params, data=body, headers={"Authorization": ADMIN}
            )
            assert answer.status_code < 500, (body, answer.text)
            payload = answer.json()
            if answer.status_code >= 400:
                assert payload["detail"], payload
            assert "duration" in payload


def test_unknown_paths_and_methods_are_json_errors(emulator):
    for method, path in [
        ("GET", "/"),
        ("PATCH", "/api/v1.0/feed/user/1/"),
        ("GET", "/api/v2/feed/user/1/"),
        ("GET", "/personalization/v1.0/x/"),
    ]:
        answer = requests.request(
            method,
            emulator.url + path,
            params={"api_key": API_KEY},
            headers={"Authorization": ADMIN},
        )
        assert 400 <= answer.status_code < 500 and answer.json()["detail"]


def _raw_get(path: str) -> bytes:
    return (
        f"GET {path}?api_key={API_KEY} HTTP/1.1\r\nHost: localhost\r\nAuthorization: {ADMIN}\r\n\r\n"
    ).encode()


def test_pipelined_and_fragmented_requests_are_answered_in_order(emulator):
    import socket

    first, second = _raw_get("/api/v1.0/feed/user/1/"), _raw_get("/api/v1.0/feed/user/2/follows/")
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        sock.sendall(first + second[:10])
        sock.sendall(second[10:])
        received = b""
        while received.count(b"HTTP/1.1 200") < 2:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    answers = received.split(b"HTTP/1.1 200 OK")[1:]
    assert b'"next"' in answers[0] and b'"next"' not in answers[1]
