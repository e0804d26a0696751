"""Chirp's template filters: who is in an aggregated group, and when an activity happened."""

import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


def _unique(items):
    seen, out = set(), []
    for item in items:
        key = getattr(item, "pk", item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


@register.filter
def group_actors(group) -> list:
    """The distinct actors of a group's activities, newest first."""
    return _unique(a["actor"] for a in group.get("activities", []))


@register.filter
def group_objects(group) -> list:
    """The distinct objects (tweets) of a group's activities, newest first."""
    return _unique(a["object"] for a in group.get("activities", []))


@register.filter
def ago(value) -> str:
    """ "5 minutes" for an activity time; Stream's times are naive UTC."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return ""
    if not isinstance(value, datetime.datetime):
        return ""
    if timezone.is_naive(value):
        value = value.replace(tzinfo=datetime.UTC)
    if timezone.now() - value < datetime.timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"
