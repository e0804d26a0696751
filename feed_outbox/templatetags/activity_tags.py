"""``{% render_activity activity [template_prefix] [missing_data_policy] %}``.

Templates: ``activity/[aggregated/][prefix_]verb.html``, stream-django's rules; the verb comes
from feed data and only becomes a template name when it is made of letters, digits, ``_``, ``-``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from django import template
from django.template import Context, TemplateDoesNotExist, loader  # noqa: F401  (stream-django's names)

from feed_outbox.exceptions import MissingDataException

logger = logging.getLogger(__name__)
register = template.Library()

LOG = "warn"
IGNORE = "ignore"
FAIL = "fail"
missing_data_policies = [LOG, IGNORE, FAIL]

SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


def handle_not_enriched_data(activity: Any, policy: str) -> None:
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


def template_name_for(activity: Mapping, template_prefix: str = "") -> str | None:
    """``activity/[aggregated/][prefix_]verb.html``, or None if the verb or prefix is unsafe."""
    verb = activity.get("verb")
    if not isinstance(verb, str) or not SAFE_NAME.fullmatch(verb):
        return None
    if not isinstance(template_prefix, str):
        return None
    if template_prefix and not SAFE_NAME.fullmatch(template_prefix):
        return None
    prefix = f"{template_prefix}_" if template_prefix else ""
    folder = "activity/aggregated/" if "activities" in activity else "activity/"
    return f"{folder}{prefix}{verb}.html"


@register.simple_tag(takes_context=True)
def render_activity(
    context: template.Context,
    activity: Mapping,
    template_prefix: str = "",
    missing_data_policy: str = LOG,
) -> str:
    if missing_data_policy not in missing_data_policies:
        raise TypeError(f"{missing_data_policy} is not a valid missing_data_policy")
    if not isinstance(activity, Mapping):
        logger.warning("render_activity got %r, not an activity", type(activity).__name__)
        return ""
    if hasattr(activity, "enriched") and not activity.enriched:
        handle_not_enriched_data(activity, missing_data_policy)
        return ""
    name = template_name_for(activity, template_prefix)
    if name is None:
        if missing_data_policy == FAIL:
            raise TemplateDoesNotExist(f"unsafe verb {activity.get('verb')!r} or prefix")
        logger.warning(
            "refusing to render activity #%s: unsafe verb %r or prefix %r",
            activity.get("id"),
            activity.get("verb"),
            template_prefix,
        )
        return ""
    assert context.template is not None  # a tag renders inside a template
    try:
        tmpl = context.template.engine.get_template(name)
    except TemplateDoesNotExist:
        # A verb nobody wrote a template for is feed data, not a bug in the page.
        if missing_data_policy == FAIL:
            raise
        logger.warning("no template %s for activity #%s", name, activity.get("id"))
        return ""
    # Render in the caller's context (context processors' values included) with ``activity``
    # and ``request`` pushed on top and popped afterwards: nothing leaks into the caller.
    request = context.get("request") or getattr(context, "request", None)
    with context.push(activity=activity, request=request):
        return tmpl.render(context)
