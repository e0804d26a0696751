"""outbox_setup_v3's work: compare the Feeds v3 feed groups the settings want with the app's,
and create or update them through the getstream SDK's feed-group API.

Idempotent by construction: a group whose managed settings already match is left alone, so a
second run changes nothing. Only the managed settings (feed_outbox.stream_api.v3_feed_groups:
the aggregation format and notification tracking) are compared; an update sends every other
setting back as the group has it, because Stream's UpdateFeedGroup replaces all of them ("feed
group updates use full-replacement semantics": Stream's v3 "Feed groups" page).

A create goes through GetOrCreateFeedGroup, so a group made meanwhile (by another run, or one
that ListFeedGroups did not show yet: a group write "can take up to 30 seconds to propagate to
all API nodes", same page) is not an error: its answer is compared and updated like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from feed_outbox.stream_api.v3_feed_groups import (
    TRACKING,
    WantedGroup,
    managed_settings,
    same_format,
)

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
ALL = "*"  # what a call on no one group (ListFeedGroups) is about


class SetupError(Exception):
    """Stream refused a feed group call; names the group and the settings it was setting."""

    def __init__(self, group: str, action: str, settings: list[str], answer: str) -> None:
        what = f" ({', '.join(settings)})" if settings else ""
        subject = "the app's feed groups" if group == ALL else f"feed group {group!r}"
        super().__init__(f"{subject}: {action}{what} refused by Stream: {answer}")
        self.group = group


@dataclass(frozen=True)
class Change:
    setting: str
    old: Any
    new: Any


@dataclass
class GroupPlan:
    wanted: WantedGroup
    action: str
    changes: list[Change] = field(default_factory=list)
    current: Any = None  # the SDK's FeedGroupResponse, None when the group is missing

    def describe(self) -> str:
        head = f"{self.action} {self.wanted.name} ({self.wanted.kind}; {self.wanted.because})"
        if self.action == UNCHANGED:
            return head
        lines = [head] + [
            f"    {c.setting}: {_shown(c.old)} -> {_shown(c.new)}" for c in self.changes
        ]
        return "\n".join(lines)


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={str(v).lower()}" for k, v in value.items())
    return repr(value)


def differences(wanted: WantedGroup, current: Any) -> list[Change]:
    """How ``current`` (a FeedGroupResponse, None when missing) differs from ``wanted``."""
    have = managed_settings(current) if current is not None else {}
    want = wanted.managed()
    changes = []
    fmt = have.get("aggregation.format")
    if not same_format(fmt, want["aggregation.format"]):
        changes.append(Change("aggregation.format", fmt, want["aggregation.format"]))
    if have.get("notification") != want["notification"]:
        changes.append(Change("notification", have.get("notification"), want["notification"]))
    return changes


def plan(client: Any, groups: list[WantedGroup]) -> list[GroupPlan]:
    """What to do for each group, from one ListFeedGroups."""
    answered = _call(ALL, "list", [], client.feeds.list_feed_groups).data.groups or {}
    plans = []
    for wanted in groups:
        current = answered.get(wanted.name)
        changes = differences(wanted, current)
        if current is None:
            plans.append(GroupPlan(wanted, CREATE, changes))
        else:
            plans.append(GroupPlan(wanted, UPDATE if changes else UNCHANGED, changes, current))
    return plans


def apply(
    client: Any, plans: list[GroupPlan], on_done: Callable[[GroupPlan], None] | None = None
) -> list[GroupPlan]:
    """Carry out ``plans``; answers what was done (a create that found the group made
    meanwhile becomes an update or unchanged)."""
    from getstream.models import AggregationConfig, NotificationConfig

    done = []
    for step in plans:
        wanted = step.wanted
        if step.action == CREATE:
            settings = _names(step.changes)
            kwargs: dict[str, Any] = {}
            if wanted.aggregation_format is not None:
                kwargs["aggregation"] = AggregationConfig(format=wanted.aggregation_format)
            if wanted.kind == "notification":
                kwargs["notification"] = NotificationConfig(**TRACKING)
            answer = _call(
                wanted.name,
                "create",
                settings,
                client.feeds.get_or_create_feed_group,
                wanted.name,
                **kwargs,
            ).data
            if not answer.was_created:  # made meanwhile: as it is, it may still differ
                current = answer.feed_group
                changes = differences(wanted, current)
                step = GroupPlan(wanted, UPDATE if changes else UNCHANGED, changes, current)
        if step.action == UPDATE:
            _update(client, step)
        done.append(step)
        if on_done is not None:
            on_done(step)
    return done


def _update(client: Any, step: GroupPlan) -> None:
    from getstream.models import AggregationConfig, NotificationConfig, UpdateFeedGroupRequest

    wanted, current = step.wanted, step.current
    # Every setting UpdateFeedGroupRequest has, read from the SDK's model rather than listed
    # here: the update replaces them all, so one a later SDK adds is sent back, not reset.
    names = [setting.name for setting in fields(UpdateFeedGroupRequest)]
    kwargs = {name: getattr(current, name, None) for name in names}
    kwargs["activity_selectors"] = _selectors(kwargs["activity_selectors"])
    aggregation = current.aggregation
    if wanted.aggregation_format is None:
        kwargs["aggregation"] = None
    elif aggregation is None:
        kwargs["aggregation"] = AggregationConfig(format=wanted.aggregation_format)
    else:  # keep its activities_sort and score_strategy
        kwargs["aggregation"] = AggregationConfig(
            activities_sort=aggregation.activities_sort,
            format=wanted.aggregation_format,
            score_strategy=aggregation.score_strategy,
        )
    notification = current.notification
    if wanted.kind != "notification":
        kwargs["notification"] = None
    else:  # keep its deduplication_window
        window = notification.deduplication_window if notification is not None else None
        kwargs["notification"] = NotificationConfig(deduplication_window=window, **TRACKING)
    _call(
        wanted.name,
        "update",
        _names(step.changes),
        client.feeds.update_feed_group,
        wanted.name,
        **kwargs,
    )


def _selectors(selectors: list[Any] | None) -> list[Any] | None:
    """The group's activity selectors as a request takes them: an answer's
    ActivitySelectorConfigResponse holds ``cutoff_time`` as a datetime (Stream answers
    nanoseconds), ActivitySelectorConfig as the RFC 3339 string a request sends."""
    if not selectors:
        return selectors
    from getstream.models import ActivitySelectorConfig

    return [ActivitySelectorConfig.from_dict(s.to_dict()) for s in selectors]


def _names(changes: list[Change]) -> list[str]:
    return [c.setting for c in changes]


def _call(
    group: str,
    action: str,
    settings: list[str],
    call: Callable[..., Any],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """``call(*args, **kwargs)``; an answer refusing it becomes a SetupError naming the group (a refused
    credential, unreachable Stream and a missing SDK are the command's to report)."""
    from getstream.exceptions import StreamApiException

    try:
        return call(*args, **kwargs)
    except StreamApiException as exc:
        if exc.status_code == 401:
            raise
        answer = f"HTTP {exc.status_code}, code {exc.code}: {exc.message or exc.raw_response_body}"
        raise SetupError(group, action, settings, answer) from exc
