"""Feeds v2 through stream-python: today's publisher (relay.publisher), behind the interface."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import requests
from stream import exceptions as stream_exceptions

from feed_outbox.client import build_client
from relay import answers, publisher
from relay.delivery.base import ResponseObserver
from relay.events import Event
from relay.publisher import Call


class V2Delivery:
    api = "v2"

    def __init__(self, client_factory: Callable[[], Any] | None = None) -> None:
        self._client_factory = client_factory or build_client

    def build_client(self) -> Any:
        return self._client_factory()

    def observe_responses(self, client: Any, observe: ResponseObserver) -> None:
        session = getattr(client, "session", None)
        if session is not None:
            _resolve_environment_once(client, session)
            session.hooks["response"].append(lambda response, *a, **k: observe(response))

    def plan_calls(self, events: Sequence[Event]) -> list[Call]:
        return publisher.plan_calls(events)

    def send(self, client: Any, call: Call, pace: Callable[[str], None]) -> None:
        publisher.call_stream(client, call, pace)

    def rate_limited(self, exc: BaseException) -> bool:
        return isinstance(exc, stream_exceptions.RateLimitReached)

    def keep_raw_answer(self, exc: BaseException, response: Any) -> None:
        answers.keep_raw_answer(exc, response)


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
