"""Bad inputs (wrong types, unknown fields, malformed ids, forgeries) each get an answer, and
none of them changes or poisons the state: control values are finite, in range and of the right
type; stored data stays strict JSON."""

from __future__ import annotations

import jwt
import pytest
import requests

from tests.emulator.conftest import API_KEY, API_SECRET, activity
from tests.emulator.rawhttp import exchange, request
from tests.emulator.test_robustness import ADMIN

CONTROL = {"X-Emulator-Control": "1", "Content-Type": "application/json"}
DEEP = b"[" * 100_000 + b"]" * 100_000


def test_a_non_ascii_digit_as_since_is_a_400_not_a_dropped_connection(emulator):
    for since in ("%C2%B2", "%EF%BC%91", "-1", "1e3", "9" * 40):
        answer = exchange(
            emulator.port, request(emulator.port, "GET", f"/_emulator/log?since={since}")
        )
        assert answer.status == 400, since
        assert "since" in answer.json()["detail"]
    assert exchange(
        emulator.port, request(emulator.port, "GET", "/_emulator/log?since=0")
    ).json() == {"log": []}


@pytest.mark.parametrize(
    "path", ["/_emulator/control", "/api/v1.0/feed/user/1/", "/api/v2/feeds/activities"]
)
def test_a_deeply_nested_body_is_a_400_on_control_and_api_routes(emulator, path):
    headers = {**CONTROL, "Authorization": ADMIN, "stream-auth-type": "jwt"}
    target = f"{path}?api_key={API_KEY}"
    for body in (DEEP, b'{"a":' * 200 + b"1" + b"}" * 200):
        answer = exchange(emulator.port, request(emulator.port, "POST", target, body, headers))
        assert answer.status == 400, answer.body[:300]
        assert "nested deeper" in answer.body.decode()
    assert emulator.stats()["activities"] == 0


@pytest.mark.parametrize(
    "changes, setting",
    [
        (b'{"latency_ms": Infinity}', "Infinity"),
        (b'{"latency_ms": NaN}', "NaN"),
        (b'{"latency_ms": -Infinity}', "-Infinity"),
        (b'{"latency_ms": 1e400}', "out of range"),
        (b'{"latency_ms": 600001}', "latency_ms"),
        (b'{"latency_ms": true}', "latency_ms"),
        (b'{"latency_ms": "5"}', "latency_ms"),
        (b'{"error_rate": 1.5}', "error_rate"),
        (b'{"rate_limit_scale": 0}', "rate_limit_scale"),
        (b'{"rate_limit_counts": {"add_activity": true}}', "rate_limit_counts"),
        (b'{"rate_limit_counts": {"add_activity": 2.5}}', "rate_limit_counts"),
        (b'{"rate_limit_counts": {"add_activity": 0}}', "rate_limit_counts"),
        (b'{"suspended": 1}', "suspended"),
        (b"[]", "JSON object"),
    ],
)
def test_a_control_value_that_is_not_finite_in_range_and_typed_changes_nothing(
    emulator, changes, setting
):
    before = emulator.faults_config()
    answer = requests.post(f"{emulator.url}/_emulator/control", data=changes, headers=CONTROL)
    assert answer.status_code == 400
    assert setting in answer.json()["detail"]
    assert emulator.faults_config() == before
    # and the emulator serves at once: no request waits on an infinite latency
    assert requests.get(f"{emulator.url}/_emulator/stats", timeout=5).status_code == 200


def test_good_control_values_are_still_applied(emulator):
    changes = {"latency_ms": 1, "error_rate": 0.5, "rate_limit_counts": {"add_activity": 3}}
    answer = requests.post(f"{emulator.url}/_emulator/control", json=changes, headers=CONTROL)
    assert answer.status_code == 200
    assert answer.json()["faults"]["rate_limit_counts"] == {"add_activity": 3}
    assert emulator.faults_config()["error_rate"] == 0.5


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"])
def test_a_v2_write_with_a_non_finite_number_is_an_input_error_and_stores_nothing(
    emulator, client, number
):
    body = b'{"actor": "u:1", "verb": "v", "object": "o:1", "score": ' + number + b"}"
    answer = requests.post(
        f"{emulator.url}/api/v1.0/feed/user/1/",
        params={"api_key": API_KEY},
        data=body,
        headers={"Authorization": ADMIN, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["exception"] == "InputException" and answer.json()["code"] == 4
    client.feed("user", "1").add_activity(activity(1, score=1.5))
    feeds = exchange(emulator.port, request(emulator.port, "GET", "/_emulator/feeds.json"))
    stored = feeds.json()["feeds"]["user:1"]["activities"]  # strict: NaN would fail to parse
    assert [a["score"] for a in stored] == [1.5]


def test_a_v3_write_with_nan_is_an_input_error_and_stores_nothing(emulator):
    server_token = jwt.encode({}, API_SECRET, algorithm="HS256")  # what getstream.Stream signs
    answer = requests.post(
        f"{emulator.url}/api/v2/feeds/activities",
        params={"api_key": API_KEY},
        data=b'{"type": "post", "feeds": ["user:1"], "user_id": "1", "custom": {"s": NaN}}',
        headers={
            "Authorization": server_token,
            "stream-auth-type": "jwt",
            "Content-Type": "application/json",
        },
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 4 and "NaN" in answer.json()["message"]
    assert emulator.v3_state(lambda store: len(store.activities)) == 0
