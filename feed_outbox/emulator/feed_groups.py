"""Feed group configuration: which groups the emulated app has and of which type."""

from __future__ import annotations

from dataclasses import dataclass

FLAT, AGGREGATED, NOTIFICATION = "flat", "aggregated", "notification"
FEED_TYPES = (FLAT, AGGREGATED, NOTIFICATION)
DEFAULT_AGGREGATION_FORMAT = '{{ verb }}_{{ time.strftime("%Y-%m-%d") }}'

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


def build_feed_groups(overrides: dict[str, GroupSpec] | None = None) -> dict[str, FeedGroup]:
    """Defaults merged with `overrides` (name -> type or spec); bad types raise ValueError."""
    specs: dict[str, GroupSpec] = {**DEFAULT_FEED_GROUPS, **(overrides or {})}
    groups = {}
    for name, spec in specs.items():
        if isinstance(spec, str):
            spec = {"type": spec}
        kind = spec.get("type")
        if kind not in FEED_TYPES:
            raise ValueError(f"feed group {name!r}: type must be one of {FEED_TYPES}, not {kind!r}")
        fmt = spec.get("aggregation_format") or DEFAULT_AGGREGATION_FORMAT
        groups[name] = FeedGroup(name, kind, fmt)
    return groups


def parse_cli_group(text: str) -> tuple[str, str]:
    """`NAME:TYPE` from the command line."""
    name, sep, kind = text.partition(":")
    if not sep or not name or kind not in FEED_TYPES:
        raise ValueError(f"--feed-group expects NAME:TYPE with TYPE in {FEED_TYPES}, got {text!r}")
    return name, kind
