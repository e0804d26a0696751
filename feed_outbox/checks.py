"""System checks: misconfiguration is reported by ``manage.py check`` with an id and a hint."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks

from feed_outbox import conf

SLUG = re.compile(r"^[\w-]+$")


@checks.register()
def check_credentials(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Missing credentials are a warning, not an error: ``migrate`` and a build step never
    call Stream and must not be blocked; where Stream is called, the relay refuses to start
    (``stream_setup_errors``) and reads raise ImproperlyConfigured naming the settings."""
    missing = {m: None for api in conf.apis_in_use() for m in conf.missing_credentials(api)}
    if not missing:
        return []
    return [
        checks.Warning(
            f"Stream credentials are not set: {' and '.join(missing)} missing. The relay will "
            "refuse to start and feed reads will raise ImproperlyConfigured.",
            hint=_credentials_hint(),
            id="feed_outbox.W003",
        )
    ]


def _credentials_hint() -> str:
    from feed_outbox.client import redacted

    base_url = conf.get("STREAM_V3_BASE_URL") or conf.get("STREAM_BASE_URL")
    if base_url:
        return (
            f"Set STREAM_API_KEY and STREAM_API_SECRET to the key and secret of the server at "
            f"{redacted(str(base_url))!r} (the emulator's --api-key and STREAM_API_SECRET)."
        )
    return (
        "Set STREAM_API_KEY and STREAM_API_SECRET in your settings (or the STREAM_URL "
        "environment variable); offline, also point STREAM_BASE_URL at the emulator "
        "(python -m feed_outbox.emulator), started with the same key and secret."
    )


@checks.register()
def check_base_urls(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """A base URL the Stream clients cannot use fails every request (an IP address included:
    stream-python sends to ``api.<ip>``); see feed_outbox.client.base_url_problem."""
    return [
        checks.Error(message, hint=hint, id="feed_outbox.E006")
        for message, hint in _base_url_problems(conf.apis_in_use())
    ]


def _base_url_problems(apis: tuple[str, ...]) -> list[tuple[str, str]]:
    from feed_outbox.client import base_url_problem, v3_base_url_setting

    problems = []
    if "v2" in apis and conf.get("STREAM_BASE_URL"):
        problems.append(base_url_problem("STREAM_BASE_URL", conf.get("STREAM_BASE_URL")))
    v3_setting = v3_base_url_setting()
    if ("v3" in apis or v3_setting == "STREAM_V3_BASE_URL") and conf.get(v3_setting):
        if v3_setting == "STREAM_V3_BASE_URL" or "v2" not in apis:  # else checked above
            problems.append(base_url_problem(v3_setting, conf.get(v3_setting), "v3"))
    return [p for p in problems if p is not None]


def stream_setup_errors(apis: tuple[str, ...]) -> list[str]:
    """What keeps a process that calls Stream for ``apis`` (the relay) from working, one line
    each: missing credentials, an unusable base URL. Empty when it can start."""
    errors = []
    for api in apis:
        missing = conf.missing_credentials(api)
        if missing:
            errors.append(
                f"Stream {api} credentials are not set: {' and '.join(missing)} missing. "
                + _credentials_hint()
            )
    errors += [f"{message} {hint}" for message, hint in _base_url_problems(apis)]
    return errors


@checks.register()
def check_feed_slugs(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
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
def check_outbox_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
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
def check_activity_time_fields(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """An Activity model whose time field does not exist fails every save: say so before."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    from feed_outbox.activity import Activity

    warnings: list[checks.CheckMessage] = []
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
def check_lease_outlasts_requests(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
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
def check_switch_from_stream_django(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
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
