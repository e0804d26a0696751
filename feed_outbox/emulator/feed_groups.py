"""Feed group configuration: which groups the emulated app has and of which type."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

FLAT, AGGREGATED, NOTIFICATION = "flat", "aggregated", "notification"
FEED_TYPES = (FLAT, AGGREGATED, NOTIFICATION)
DEFAULT_AGGREGATION_FORMAT = '{{ verb }}_{{ time.strftime("%Y-%m-%d") }}'
# Feeds v3 names v2's verb ``type``: its aggregation formats see ``type``, ``time`` (the
# activity's creation), ``user_id``, ``custom`` (``custom.topic``) and ``target_id`` only
# (Stream's v3 "Aggregation" page, "Aggregation Format Syntax"); the built-in notification group
# uses this format ("Notification feeds" page, "Aggregation format").
V3_DEFAULT_AGGREGATION_FORMAT = '{{ type }}_{{ time.strftime("%Y-%m-%d") }}'
V3_VARIABLES = ("type", "time", "user_id", "custom", "target_id")

DEFAULT_FEED_GROUPS: dict[str, str] = {
    "user": FLAT,
    "timeline": FLAT,
    "flat": FLAT,
    "topic": FLAT,
    "flat-type": FLAT,
    "timeline_aggregated": AGGREGATED,
    "aggregated": AGGREGATED,
    "notification": NOTIFICATION,
}


@dataclass(frozen=True)
class FeedGroup:
    name: str
    kind: str
    aggregation_format: str = DEFAULT_AGGREGATION_FORMAT


# a group is given as its type, or as {"type": ..., "aggregation_format": ...}
GroupSpec = str | dict

#: The groups every new Feeds v3 app has (Stream's v3 "Feed groups" page, "Built-in groups":
#: user, timeline, foryou, notification, story, stories). Ranking, selectors and stories
#: settings are not modelled: here they are flat feeds.
V3_BUILT_IN_GROUPS: dict[str, GroupSpec] = {
    "user": FLAT,
    "timeline": FLAT,
    "foryou": FLAT,
    "notification": {"type": NOTIFICATION, "aggregation_format": V3_DEFAULT_AGGREGATION_FORMAT},
    "story": FLAT,
    "stories": FLAT,
}


def build_feed_groups(
    overrides: Mapping[str, GroupSpec] | None = None,
    defaults: Mapping[str, GroupSpec] | None = None,
    default_format: str = DEFAULT_AGGREGATION_FORMAT,
) -> dict[str, FeedGroup]:
    """``defaults`` (the v2 groups above unless given) merged with `overrides` (name -> type or
    spec); bad types raise ValueError."""
    base = DEFAULT_FEED_GROUPS if defaults is None else defaults
    specs: dict[str, GroupSpec] = {**base, **(overrides or {})}
    groups = {}
    for name, spec in specs.items():
        if isinstance(spec, str):
            spec = {"type": spec}
        kind = spec.get("type")
        if kind not in FEED_TYPES:
            raise ValueError(f"feed group {name!r}: type must be one of {FEED_TYPES}, not {kind!r}")
        fmt = spec.get("aggregation_format") or default_format
        groups[name] = FeedGroup(name, kind, fmt)
    return groups


def build_v3_feed_groups(
    specs: Mapping[str, GroupSpec] | None, v2_groups: dict[str, FeedGroup]
) -> dict[str, FeedGroup]:
    """The v3 app's groups: ``specs`` exactly (formats in v3's variables; ``{}`` for an app with
    no groups, ``V3_BUILT_IN_GROUPS`` for a new one), or, when None, the v2 groups as a v3 app
    set up to match them has them (``as_v3``)."""
    if specs is None:
        return as_v3(v2_groups)
    return build_feed_groups(specs, defaults={}, default_format=V3_DEFAULT_AGGREGATION_FORMAT)


_NAME = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)")


def as_v3(groups: dict[str, FeedGroup]) -> dict[str, FeedGroup]:
    """The v2 groups as a v3 app set up to match them has them: each format in v3's variables
    (``verb`` is ``type``; any other activity field lives in ``custom``, as feed-outbox's
    mapping writes it). What a v3 app started from the v2 configuration serves."""

    def variable(match: re.Match[str]) -> str:
        head, _, rest = match[1].partition(".")
        if head == "verb":
            head = "type"
        elif head not in V3_VARIABLES:
            head = f"custom.{head}"
        return "{{ " + head + (f".{rest}" if rest else "")

    return {
        name: FeedGroup(name, g.kind, _NAME.sub(variable, g.aggregation_format))
        for name, g in groups.items()
    }


def parse_cli_group(text: str) -> tuple[str, str]:
    """`NAME:TYPE` from the command line."""
    name, sep, kind = text.partition(":")
    if not sep or not name or kind not in FEED_TYPES:
        raise ValueError(f"--feed-group expects NAME:TYPE with TYPE in {FEED_TYPES}, got {text!r}")
    return name, kind
