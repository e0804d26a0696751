"""The relay's call model, shared by every Stream API: a call, the activity it sends, its outcomes."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from feed_outbox.stream_api.rate_limits import MAX_BATCH
from feed_outbox.write.outbox import RECONCILE_KEY
from relay.events import Event


@dataclass(frozen=True)
class Call:
    """One request to Stream as its delivery planned it (relay.delivery): ``endpoint`` names it
    in the delivery's terms, ``events`` are what it carries."""

    endpoint: str
    events: tuple[Event, ...]
    # Stream's rate-limit bucket of the call's (first) request, as the delivery names it.
    rate_class: str

    def split(self) -> list[Call]:
        return [Call(self.endpoint, (event,), self.rate_class) for event in self.events]


@dataclass(frozen=True)
class Outcome:
    """The result of publishing one event: ``error`` is None when Stream applied it."""

    event: Event
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def activity(event: Event) -> dict[str, Any]:
    """The activity Stream receives: the payload without the write side's instructions."""
    return {k: v for k, v in event.payload.items() if k != RECONCILE_KEY}


def batched(
    events: Sequence[Event], place: Callable[[Event], tuple[str, Hashable | None]]
) -> list[tuple[str, list[Event]]]:
    """Group events into requests of at most MAX_BATCH, in the order of each group's oldest
    event: ``place`` names an event's endpoint and the key of the events it may share a request
    with (None: a request of its own). Each delivery's planner says how its API groups."""
    groups: dict[Hashable, list[Event]] = {}
    planned: list[tuple[str, list[Event]]] = []
    for event in events:
        endpoint, key = place(event)
        if key is None:
            planned.append((endpoint, [event]))
            continue
        group = groups.get(key)
        if group is None or len(group) >= MAX_BATCH:
            group = groups[key] = []
            planned.append((endpoint, group))
        group.append(event)
    return planned
