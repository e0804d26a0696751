"""Value objects the relay passes around: a claimed event and the lease over a batch of them."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    id: int
    kind: str
    feed: str
    ordering_key: str
    payload: dict[str, Any]
    attempts: int
    api: str = "v2"  # the Stream API this row is delivered to
    # When it was written and the W3C trace context of its writer (relay.tracing links to it).
    created_at: datetime.datetime | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Event:
        """From an OutboxEvent instance (or any object with the same attributes)."""
        return cls(
            id=row.id,
            kind=row.kind,
            feed=row.feed,
            ordering_key=row.ordering_key,
            payload=row.payload,
            attempts=row.attempts,
            api=getattr(row, "api", "v2"),
            created_at=row.created_at,
            traceparent=row.traceparent,
            tracestate=row.tracestate,
        )

    @property
    def feed_slug(self) -> str:
        return self.feed.split(":", 1)[0]

    @property
    def feed_user_id(self) -> str:
        return self.feed.split(":", 1)[1]


@dataclass(frozen=True)
class Lease:
    """A batch claimed by ``owner``; only the holder of ``token`` may settle its events."""

    owner: str
    token: uuid.UUID
    expires_at: datetime.datetime
    events: tuple[Event, ...]

    def __len__(self) -> int:
        return len(self.events)
