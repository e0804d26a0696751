"""Fault injection: 5xx before applying, lost responses after applying, rate limits, latency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import stream
from stream.exceptions import RateLimitReached, StreamApiException

from tests.emulator.conftest import API_KEY, API_SECRET, activity
from tests.polling import within_one_window


def test_error_rate_answers_5xx_and_applies_nothing(client, emulator):
    emulator.set_faults(error_rate=1.0)
    with pytest.raises(StreamApiException) as raised:
        client.feed("user", "1").add_activity(activity(1))
    assert raised.value.status_code >= 500
    emulator.set_faults(error_rate=0)
    assert client.feed("user", "1").get()["results"] == []
    assert emulator.stats()["faults"]["error"] == 1
    assert emulator.request_log() == []


def test_lost_response_applies_the_write_then_drops_the_connection(client, emulator):
    emulator.set_faults(lost_response_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        client.feed("user", "1").add_activity(activity(1, foreign_id="p:1"))
    emulator.set_faults(lost_response_rate=0)
    [stored] = client.feed("user", "1").get()["results"]
    assert stored["foreign_id"] == "p:1"
    assert emulator.stats()["faults"]["lost_response"] == 1
    assert [entry["op"] for entry in emulator.request_log()] == ["add_activity"]


def test_lost_responses_only_hit_writes(client, emulator):
    emulator.set_faults(lost_response_rate=1.0)
    assert client.feed("user", "1").get()["results"] == []


def test_rate_limit_headers_and_429(emulator):
    emulator.set_faults(rate_limits="stream")
    url = f"{emulator.url}/api/v1.0/feed/user/1/x/"
    token = (
        stream.connect(API_KEY, API_SECRET).feed("user", "1").create_scope_token("feed", "delete")
    )
    session = requests.Session()
    headers = {"Authorization": token, "stream-auth-type": "jwt"}
    first = session.delete(url, params={"api_key": API_KEY}, headers=headers, data="{}")
    assert first.status_code == 200
    assert first.headers["X-Ratelimit-Limit"] == "300"
    assert int(first.headers["X-Ratelimit-Remaining"]) <= 299
    assert int(first.headers["X-Ratelimit-Reset"]) >= int(time.time())
    statuses = []
    for _ in range(700):  # at most two minute-windows' worth: a 429 must come
        answer = session.delete(url, params={"api_key": API_KEY}, headers=headers, data="{}")
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            break
    assert statuses[-1] == 429
    body = answer.json()
    assert body["code"] == 9 and body["exception"] == "RateLimitReached"
    assert answer.headers["X-Ratelimit-Remaining"] == "0"
    assert emulator.stats()["faults"]["rate_limited"] == 1


def test_rate_limited_client_call_raises_rate_limit_reached(client, emulator):
    within_one_window(10)  # the call must land in the minute it used up
    emulator.set_faults(rate_limits="stream")

    def use_up_the_minute() -> None:  # 1000 adds, without sending 1000 requests
        now = time.time()
        for _ in range(1000):
            emulator.faults.rate_limiter.take("add_activity", 1, now)

    emulator._on_loop(use_up_the_minute)
    with pytest.raises(RateLimitReached) as raised:
        client.feed("user", "1").add_activity(activity(1))
    assert raised.value.status_code == 429
    assert client.feed("user", "1").get()["results"] == []


def test_rate_limit_scale_shortens_the_window(emulator):
    emulator.set_faults(rate_limits="stream", rate_limit_scale=600)  # a "minute" is 0.1 s
    limiter = emulator.faults.rate_limiter
    start = time.time()
    allowed = sum(limiter.take("update_activities", 600, start)[0] for _ in range(300))
    assert allowed == 250
    assert limiter.take("update_activities", 600, start + 0.1)[0]


def test_rate_limit_counts_replace_streams_count_for_one_class(emulator):
    emulator.set_faults(rate_limits="stream", rate_limit_counts={"v3:UpsertActivities": 2})
    now = time.time()
    taken = [emulator.faults.rate_limit("v3:UpsertActivities", now) for _ in range(3)]
    assert [allowed for allowed, _h in taken] == [True, True, False]
    assert taken[0][1]["X-Ratelimit-Limit"] == "2"
    assert emulator.faults.rate_limit("v3:DeleteActivities", now)[1]["X-Ratelimit-Limit"] == "300"
    with pytest.raises(ValueError):
        emulator.set_faults(rate_limit_counts={"v3:NoSuchEndpoint": 1})
    with pytest.raises(ValueError):
        emulator.set_faults(rate_limit_counts={"v3:UpsertActivities": 0})


def test_latency_delays_requests_without_serializing_them(client, emulator):
    emulator.set_faults(latency_ms=300)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: client.feed("user", str(n)).get(), range(8)))
    elapsed = time.perf_counter() - started
    assert 0.3 <= elapsed < 1.5
    assert emulator.stats()["faults"]["latency"] == 8


def test_invalid_fault_settings_change_nothing(emulator):
    with pytest.raises(ValueError):
        emulator.set_faults(error_rate=2)
    with pytest.raises(ValueError):
        emulator.set_faults(rate_limits="sometimes")
    assert emulator.stats()["faults"] == {}
    assert emulator.set_faults()["error_rate"] == 0
