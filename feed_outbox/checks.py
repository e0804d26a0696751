"""System checks: misconfiguration is reported by ``manage.py check`` with an id and a hint."""

from __future__ import annotations

import re

from django.core import checks

from feed_outbox import conf

SLUG = re.compile(r"^[\w-]+$")


@checks.register()
def check_credentials(app_configs=None, **kwargs):
    if conf.credentials_configured():
        return []
    missing = [n for n in ("STREAM_API_KEY", "STREAM_API_SECRET") if not conf.get(n)]
    return [
        checks.Error(
            f"Stream credentials are not set: {' and '.join(missing)} missing.",
            hint="Set STREAM_API_KEY and STREAM_API_SECRET in your settings (or the STREAM_URL "
            "environment variable); offline, point STREAM_BASE_URL at the emulator.",
            id="feed_outbox.E001",
        )
    ]


@checks.register()
def check_feed_slugs(app_configs=None, **kwargs):
    errors = []
    named = [
        ("STREAM_USER_FEED", conf.get("STREAM_USER_FEED")),
        ("STREAM_NOTIFICATION_FEED", conf.get("STREAM_NOTIFICATION_FEED")),
    ]
    feeds = conf.get("STREAM_NEWS_FEEDS")
    if not isinstance(feeds, (dict, list, tuple)):
        errors.append(
            checks.Error(
                f"STREAM_NEWS_FEEDS is a {type(feeds).__name__}.",
                hint="Use a dict {name: feed slug} or a list of feed slugs.",
                id="feed_outbox.E003",
            )
        )
    else:
        named += [(f"STREAM_NEWS_FEEDS[{n!r}]", s) for n, s in conf.news_feed_slugs().items()]
    for setting, slug in named:
        if not isinstance(slug, str) or not SLUG.match(slug):
            errors.append(
                checks.Error(
                    f"{setting} is {slug!r}, which is not a feed group name.",
                    hint="Feed group names are letters, digits, '_' and '-'.",
                    id="feed_outbox.E002",
                )
            )
    return errors


@checks.register()
def check_outbox_settings(app_configs=None, **kwargs):
    errors = []
    channel = conf.get("FEED_OUTBOX_NOTIFY_CHANNEL")
    # LISTEN takes an identifier: PostgreSQL truncates names beyond 63 bytes.
    if not isinstance(channel, str) or not channel or len(channel.encode()) > 63:
        errors.append(
            checks.Error(
                f"FEED_OUTBOX_NOTIFY_CHANNEL is {channel!r}.",
                hint="Use a non-empty name of at most 63 bytes (a PostgreSQL identifier).",
                id="feed_outbox.E004",
            )
        )
    for name in ("FEED_OUTBOX_MAX_ACTIVITY_BYTES", "FEED_OUTBOX_WARN_ACTIVITY_BYTES"):
        value = conf.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            errors.append(
                checks.Error(
                    f"{name} is {value!r}.",
                    hint="Use a positive number of bytes.",
                    id="feed_outbox.E005",
                )
            )
    return errors


@checks.register(checks.Tags.models)
def check_activity_time_fields(app_configs=None, **kwargs):
    """An Activity model whose time field does not exist fails every save: say so before."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    from feed_outbox.activity import Activity

    warnings = []
    configs = app_configs or apps.get_app_configs()
    for model in (m for config in configs for m in config.get_models()):
        if not issubclass(model, Activity) or model.activity_time is not Activity.activity_time:
            continue
        field = model.activity_time_field or conf.get("FEED_OUTBOX_TIME_FIELD")
        try:
            model._meta.get_field(field)
        except FieldDoesNotExist:
            warnings.append(
                checks.Warning(
                    f"{model._meta.label} has no field {field!r} for the activity time: "
                    "saving it will fail.",
                    hint="Add the field, set activity_time_field, or override activity_time.",
                    obj=model,
                    id="feed_outbox.W001",
                )
            )
    return warnings


@checks.register()
def check_lease_outlasts_requests(app_configs=None, **kwargs):
    """A lease must outlast a request's time in flight, or a dead relay's late write could
    land after the next relay delivered a newer event of the same key."""
    lease = float(conf.get("FEED_OUTBOX_LEASE_SECONDS"))
    landing = conf.landing_seconds()
    if lease >= 2 * (landing + 1.0):
        return []
    return [
        checks.Warning(
            f"FEED_OUTBOX_LEASE_SECONDS ({lease:g}) is less than twice the time a request may "
            f"stay in flight at Stream ({landing:g} s, from FEED_OUTBOX_LANDING_SECONDS and "
            "STREAM_TIMEOUT) plus a second: a relay that dies mid-request may leave a write "
            "that lands after its lease passed to another relay.",
            hint="Raise FEED_OUTBOX_LEASE_SECONDS or lower STREAM_TIMEOUT / FEED_OUTBOX_LANDING_SECONDS.",
            id="feed_outbox.W002",
        )
    ]


@checks.register()
def check_switch_from_stream_django(app_configs=None, **kwargs):
    """What behaves differently after the switch from stream-django (``outbox_switch_check``)."""
    from feed_outbox.switch_check import find_all

    return [
        checks.Warning(
            f"{finding.where}: {finding.message}" if finding.file else finding.message,
            hint=finding.change,
            obj=finding.object,
            id=finding.id,
        )
        for finding in find_all(app_configs)
    ]
