"""``{% render_activity activity [template_prefix] [missing_data_policy] %}``."""

from __future__ import annotations

import logging
import re

from django import template
from django.template import loader

from feed_outbox.exceptions import MissingDataException

logger = logging.getLogger(__name__)
register = template.Library()

LOG = "warn"
IGNORE = "ignore"
FAIL = "fail"
missing_data_policies = [LOG, IGNORE, FAIL]

# Verbs and prefixes come from feed data: they become template names only if they are safe.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def handle_not_enriched_data(activity, policy: str) -> None:
    message = (
        f"could not enrich field(s) {activity.not_enriched_data!r} "
        f"for activity #{activity.get('id')}"
    )
    if policy == IGNORE:
        return
    if policy == FAIL:
        raise MissingDataException(message)
    if policy == LOG:
        logger.warning(message)
        return
    raise TypeError(f"{policy} is not a valid missing_data_policy")


def template_name_for(activity, template_prefix: str = "") -> str | None:
    """``activity/[aggregated/][prefix_]verb.html``, or None if verb or prefix is unsafe."""
    verb = activity.get("verb")
    if not isinstance(verb, str) or not SAFE_NAME.match(verb):
        return None
    if template_prefix and not SAFE_NAME.match(template_prefix):
        return None
    prefix = f"{template_prefix}_" if template_prefix else ""
    folder = "activity/aggregated/" if "activities" in activity else "activity/"
    return f"{folder}{prefix}{verb}.html"


@register.simple_tag(takes_context=True)
def render_activity(context, activity, template_prefix: str = "", missing_data_policy: str = LOG):
    if missing_data_policy not in missing_data_policies:
        raise TypeError(f"{missing_data_policy} is not a valid missing_data_policy")
    if hasattr(activity, "enriched") and not activity.enriched:
        handle_not_enriched_data(activity, missing_data_policy)
        return ""
    name = template_name_for(activity, template_prefix)
    if name is None:
        logger.warning(
            "refusing to render activity #%s: unsafe verb %r or prefix %r",
            activity.get("id"),
            activity.get("verb"),
            template_prefix,
        )
        return ""
    tmpl = loader.get_template(name)
    # A copy of the caller's context plus ``activity``: nothing leaks back into the caller.
    values = context.flatten()
    values["activity"] = activity
    return tmpl.render(values, request=context.get("request"))
