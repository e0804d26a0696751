"""The Feeds v3 feed groups the settings name, and the group settings that reproduce v2's feed
types on v3 (read by ``outbox_setup_v3``; sources in docs/topics/feeds-v3.md, "Feed groups").

On v2 a feed group's type (flat, aggregated, notification) and aggregation format are the app's
dashboard configuration; on v3 they are settings of the feed group itself (the SDK's
``CreateFeedGroupRequest``: ``aggregation`` = ``AggregationConfig(format=)``, ``notification`` =
``NotificationConfig(track_seen=, track_read=)``). A group with neither is flat, one with an
aggregation format aggregated, one with both a notification feed ("Aggregation" and
"Notification feeds" pages of Stream's v3 docs create them that way).

Which type each group has: ``FEED_OUTBOX_V3_FEED_GROUPS`` when it names the group; else the user
feed is flat, the notification feed a notification feed, and a news feed aggregated when its
name or slug says "aggregated" (stream-django's ``timeline_aggregated``, one of the four groups
Stream's v2 dashboard makes for a new app), flat otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from feed_outbox import conf

FLAT, AGGREGATED, NOTIFICATION = "flat", "aggregated", "notification"
KINDS = (FLAT, AGGREGATED, NOTIFICATION)
SETTING = "FEED_OUTBOX_V3_FEED_GROUPS"
#: v2's default aggregation format (Stream's v2 "Feed Group Types" page, "Aggregation Format").
V2_DEFAULT_FORMAT = '{{ verb }}_{{ time.strftime("%Y-%m-%d") }}'
#: What v3 formats may name ("Aggregation" page, "Aggregation Format Syntax"): ``type`` (v2's
#: verb), ``time`` (when the activity was created on v3), ``user_id``, ``custom`` with dotted
#: paths (``custom.topic``) and ``target_id``.
V3_VARIABLES = ("type", "time", "user_id", "custom", "target_id")
#: Notification feeds track seen and read, as v2's do ("is_seen"/"is_read", unseen/unread).
TRACKING = {"track_seen": True, "track_read": True}

_BLOCK = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_STRFTIME = re.compile(r"""time\.strftime\(\s*(['"])[^'"]*\1\s*\)""")


class FeedGroupSettingError(ValueError):
    """A feed group the settings describe in a way v3 cannot reproduce; names both."""

    def __init__(self, group: str, setting: str, problem: str) -> None:
        super().__init__(f"feed group {group!r}: {setting} {problem}")
        self.group = group
        self.setting = setting


@dataclass(frozen=True)
class WantedGroup:
    """A v3 feed group as the settings want it: its v2 type and v3 aggregation format."""

    name: str
    kind: str
    aggregation_format: str | None  # v3 syntax; None for flat feeds
    because: str  # the setting that names it, for the plan's output

    def managed(self) -> dict[str, Any]:
        """The settings this project manages, as ``managed_settings`` reads them from a group."""
        return {
            "aggregation.format": self.aggregation_format,
            "notification": dict(TRACKING) if self.kind == NOTIFICATION else None,
        }


def managed_settings(group: Any) -> dict[str, Any]:
    """The managed settings of a group as the SDK answers it (``FeedGroupResponse``): its
    aggregation format and its notification tracking (None where the group has none)."""
    aggregation = getattr(group, "aggregation", None)
    notification = getattr(group, "notification", None)
    return {
        "aggregation.format": getattr(aggregation, "format", None) or None,
        "notification": None
        if notification is None
        else {flag: getattr(notification, flag, None) for flag in TRACKING},
    }


def same_format(a: str | None, b: str | None) -> bool:
    """Formats equal but for the spaces just inside ``{{ }}`` (``{{type}}`` is ``{{ type }}``)."""
    if a is None or b is None:
        return a is b
    return _EXPRESSION.sub(_tight, a) == _EXPRESSION.sub(_tight, b)


def _tight(match: re.Match[str]) -> str:
    return "{{" + match[1].strip() + "}}"


def wanted_groups() -> list[WantedGroup]:
    """Every group the settings name (user, news, notification feeds and the extra groups of
    FEED_OUTBOX_V3_FEED_GROUPS), in that order, each with its v3 settings."""
    named: dict[str, tuple[str, str]] = {}  # slug -> (kind, the setting naming it)
    user = conf.get("STREAM_USER_FEED")
    if user:
        named[user] = (FLAT, "STREAM_USER_FEED")
    for key, slug in conf.news_feed_slugs().items():
        if slug and slug not in named:
            kind = AGGREGATED if "aggregated" in f"{key} {slug}".lower() else FLAT
            named[slug] = (kind, f"STREAM_NEWS_FEEDS[{key!r}]")
    notification = conf.get("STREAM_NOTIFICATION_FEED")
    if notification:
        named[notification] = (NOTIFICATION, "STREAM_NOTIFICATION_FEED")
    configured = conf.get(SETTING) or {}
    if not isinstance(configured, dict):
        raise FeedGroupSettingError("*", SETTING, "must be a dict of feed group -> type or spec")
    for slug in configured:
        named.setdefault(slug, (FLAT, f"{SETTING}[{slug!r}]"))
    return [
        _wanted(slug, kind, because, configured.get(slug))
        for slug, (kind, because) in named.items()
    ]


def _wanted(slug: str, kind: str, because: str, spec: Any) -> WantedGroup:
    where = f"{SETTING}[{slug!r}]"
    if spec is None:
        spec = {}
    elif isinstance(spec, str):
        spec = {"type": spec}
    elif not isinstance(spec, dict):
        raise FeedGroupSettingError(slug, where, f"is {spec!r}: give a type or a dict")
    unknown = set(spec) - {"type", "aggregation_format", "v3_aggregation_format"}
    if unknown:
        raise FeedGroupSettingError(slug, where, f"has unknown keys {sorted(unknown)}")
    if "type" in spec:
        kind, because = spec["type"], where
    if kind not in KINDS:
        raise FeedGroupSettingError(slug, f"{where}['type']", f"is {kind!r}: use one of {KINDS}")
    if kind == FLAT:
        if spec.get("aggregation_format") or spec.get("v3_aggregation_format"):
            raise FeedGroupSettingError(slug, where, "gives a flat group an aggregation format")
        return WantedGroup(slug, kind, None, because)
    if spec.get("v3_aggregation_format"):
        fmt = spec["v3_aggregation_format"]
        if not isinstance(fmt, str):
            raise FeedGroupSettingError(slug, f"{where}['v3_aggregation_format']", "is no string")
        return WantedGroup(slug, kind, fmt, because)
    v2_format = spec.get("aggregation_format") or V2_DEFAULT_FORMAT
    setting = f"{where}['aggregation_format']" if spec.get("aggregation_format") else because
    return WantedGroup(slug, kind, v3_format(v2_format, slug, setting), because)


def v3_format(v2_format: str, group: str = "?", setting: str = SETTING) -> str:
    """A v2 aggregation format in v3's variables: ``verb`` is ``type`` and every other
    activity field is in ``custom`` (feed_outbox.stream_api.v3_mapping keeps actor, object,
    target, foreign_id, time and extra data there). ``time.strftime(...)`` stays: on v3 it
    formats the activity's creation on v3, which is its first delivery, not v2's frozen time.

    Only ``{{ name }}``, ``{{ name.path }}`` and ``{{ time.strftime("...") }}`` translate;
    anything else (a ``{% if %}`` block, a filter, ``verb.infinitive``) raises
    FeedGroupSettingError: give the v3 format itself as ``v3_aggregation_format``."""
    if not isinstance(v2_format, str) or not v2_format.strip():
        raise FeedGroupSettingError(group, setting, "needs a non-empty aggregation format")
    block = _BLOCK.search(v2_format)
    if block:
        raise FeedGroupSettingError(
            group,
            setting,
            f"uses {block[0]!r}, which is not translated to v3: give the v3 "
            "format as 'v3_aggregation_format'",
        )

    def translate(match: re.Match[str]) -> str:
        expr = match[1].strip()
        if _STRFTIME.fullmatch(expr) or expr == "time":
            return "{{ " + expr + " }}"
        if not _NAME.fullmatch(expr):
            raise FeedGroupSettingError(
                group,
                setting,
                f"uses {match[0]!r}, which is not translated to v3: give the "
                "v3 format as 'v3_aggregation_format'",
            )
        head, _, rest = expr.partition(".")
        if head == "verb":
            if rest:
                raise FeedGroupSettingError(
                    group, setting, f"uses {match[0]!r}: a v3 type has no {rest!r}"
                )
            return "{{ type }}"
        return "{{ custom." + expr + " }}"

    return _EXPRESSION.sub(translate, v2_format)
