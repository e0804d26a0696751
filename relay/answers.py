"""Stream's error answers as the relay meets them: what relay.retry decides on, whatever the API.

The answers the real service gives, each with its source, are in ``docs/topics/stream-errors.md``;
the emulator answers the same. How an exception becomes an ``Answer`` (and what its codes
mean) is its API's delivery's: relay.delivery.v2 and relay.delivery.v3 read them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

RAW_LIMIT = 1000  # characters of a raw answer worth keeping in last_error
_QUOTED = re.compile(r"'([^']+)'")


@dataclass(frozen=True)
class Answer:
    """One error answer: HTTP status, Stream's code, exception name and detail, and the body,
    with what its API's codes say about it (read by the delivery, relay.delivery)."""

    status: int
    code: int | None
    exception: str
    detail: str
    raw: str = ""
    # The key, the secret, the token or the app is refused: no event can go out.
    refuses_credentials: bool = False
    # A documented code for something wrong with the event's own data.
    permanent: bool = False
    # False when the body was not Stream's JSON (a proxy's page, a wrong base URL).
    json: bool = True
    # The feed groups the answer says the app does not have (its detail quotes them).
    unknown_feed_groups: frozenset[str] = frozenset()
    # What the operator can do about it, when the API knows (added to a pause's message).
    remedy: str = ""

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two answers the same failure."""
        return (self.status, self.code, self.exception, self.detail)


def json_object(raw: str) -> dict[str, Any]:
    """The JSON object ``raw`` holds ({} when it holds none)."""
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def quoted(detail: str) -> frozenset[str]:
    """The names a detail quotes ('name'): how Stream names what it does not know."""
    return frozenset(_QUOTED.findall(detail))
