"""Settings of feed-outbox with their defaults, read from django.conf.settings at use time.

Values are memoised until Django's ``setting_changed`` signal (sent by ``override_settings``)
says otherwise, so a save pays no settings lookups and nothing is frozen at import
(stream-django froze them).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings  # also stream-django's ``conf.settings``
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # stream-django's names and defaults.
    "STREAM_API_KEY": None,
    "STREAM_API_SECRET": None,
    "STREAM_LOCATION": None,
    "STREAM_TIMEOUT": 6.0,
    "STREAM_FEED_MANAGER_CLASS": "feed_outbox.managers.FeedManager",
    "STREAM_USER_FEED": "user",
    "STREAM_NEWS_FEEDS": {"timeline": "timeline", "timeline_aggregated": "timeline_aggregated"},
    "STREAM_NOTIFICATION_FEED": "notification",
    "STREAM_DISABLE_MODEL_TRACKING": False,
    # New: where the client talks to (the emulator offline, Stream itself when unset).
    "STREAM_BASE_URL": None,
    # Outbox behaviour.
    "FEED_OUTBOX_TIME_FIELD": "created_at",
    "FEED_OUTBOX_MAX_ACTIVITY_BYTES": 10 * 1024,
    "FEED_OUTBOX_WARN_ACTIVITY_BYTES": 1024,
    "FEED_OUTBOX_NOTIFY": True,
    "FEED_OUTBOX_NOTIFY_CHANNEL": "feed_outbox",
    "FEED_OUTBOX_MAX_ATTEMPTS": 8,
    "FEED_OUTBOX_BLOCK_KEY_ON_DEAD": False,
    "FEED_OUTBOX_LEASE_SECONDS": 30,
    # How long after it was sent Stream may still apply a request; None: 2 x STREAM_TIMEOUT.
    "FEED_OUTBOX_LANDING_SECONDS": None,
    "FEED_OUTBOX_RETENTION": 7 * 24 * 3600,
    "FEED_OUTBOX_ENRICH_MODELS": (),
    # Which Stream API(s) the outbox delivers to: "v2" (stream-python), "v3" (getstream) or
    # "v2+v3" (both, each with its own delivery state: Stream's migration path).
    "FEED_OUTBOX_STREAM_API": "v2",
    # Feeds v3 credentials and address; unset: the STREAM_API_KEY / _SECRET / STREAM_BASE_URL
    # values (Stream's migration keeps one app: v2 and v3 share its key).
    "STREAM_V3_API_KEY": None,
    "STREAM_V3_API_SECRET": None,
    "STREAM_V3_BASE_URL": None,
    # Which API feed_manager reads from (None: v3 when only v3 is written, else v2).
    "FEED_OUTBOX_READ_API": None,
}


_memo: dict[str, Any] = {}


def get(name: str) -> Any:
    """Return setting ``name`` or its default; unknown names are a programming error."""
    try:
        return _memo[name]
    except KeyError:
        pass
    if name not in DEFAULTS:
        raise KeyError(f"feed_outbox has no setting named {name!r}")
    value = _memo[name] = getattr(settings, name, DEFAULTS[name])
    return value


def _forget(*, setting: str, **kwargs: Any) -> None:
    _memo.pop(setting, None)


setting_changed.connect(_forget, dispatch_uid="feed_outbox.conf")


def credentials_configured() -> bool:
    """True when a client can be built: key and secret, or a Heroku-style STREAM_URL."""
    return bool(get("STREAM_API_KEY") and get("STREAM_API_SECRET")) or bool(
        os.environ.get("STREAM_URL")
    )


def missing_credentials(api: str = "v2") -> list[str]:
    """The settings ``api``'s client lacks (empty when it can be built): v2 takes a key and a
    secret or STREAM_URL; v3 its own key and secret, else the shared ones."""
    if api == "v3":
        return [
            f"{name} (or STREAM_V3_{name[7:]})"
            for name in ("STREAM_API_KEY", "STREAM_API_SECRET")
            if not (get(f"STREAM_V3_{name[7:]}") or get(name))
        ]
    if credentials_configured():
        return []
    return [name for name in ("STREAM_API_KEY", "STREAM_API_SECRET") if not get(name)]


def apis_in_use() -> tuple[str, ...]:
    """The Stream APIs this project writes or reads (v2 when FEED_OUTBOX_STREAM_API is not
    valid: that setting's own error is raised where it is used)."""
    try:
        return tuple(sorted({*stream_apis(), read_api()}))
    except ValueError:
        return ("v2",)


def landing_seconds() -> float:
    """How long a request may stay in flight at Stream: never less than the client timeout."""
    timeout = float(get("STREAM_TIMEOUT"))
    configured = get("FEED_OUTBOX_LANDING_SECONDS")
    return max(timeout, 2 * timeout if configured is None else float(configured))


STREAM_API_CHOICES = {"v2": ("v2",), "v3": ("v3",), "v2+v3": ("v2", "v3")}


def stream_apis() -> tuple[str, ...]:
    """The APIs every outbox event is written for, from FEED_OUTBOX_STREAM_API."""
    value = get("FEED_OUTBOX_STREAM_API")
    try:
        return STREAM_API_CHOICES[value]
    except (KeyError, TypeError):
        raise ValueError(
            f"FEED_OUTBOX_STREAM_API is {value!r}; use one of {', '.join(STREAM_API_CHOICES)}"
        ) from None


def read_api() -> str:
    """The API feed_manager reads: FEED_OUTBOX_READ_API, else v3 only when v2 is not written."""
    value = get("FEED_OUTBOX_READ_API")
    if value in ("v2", "v3"):
        return value
    return "v3" if stream_apis() == ("v3",) else "v2"


def stream_secrets() -> list[str]:
    """Every form in which the app's Stream secret is given: the setting, and the password of a
    Heroku-style ``STREAM_URL`` (``https://key:secret@location.stream-io-api.com/?app_id=1``),
    which stream-python reads by itself when the settings hold no credentials."""
    secrets = [get("STREAM_API_SECRET") or ""]
    url = os.environ.get("STREAM_URL") or ""
    if "@" in url:
        try:
            password = urlsplit(url).password or ""
        except ValueError:  # a malformed URL still must not leak what looks like its secret
            password = url.split("@", 1)[0].rpartition(":")[2]
        secrets += [password, unquote(password)]
    return sorted({s for s in secrets if s}, key=len, reverse=True)


def configured_feed_slugs() -> set[str]:
    """The feed groups the settings name: the user feed, the news feeds, the notification feed."""
    slugs = {get("STREAM_USER_FEED"), get("STREAM_NOTIFICATION_FEED")}
    slugs.update(news_feed_slugs().values())
    return {s for s in slugs if s}


def news_feed_slugs() -> dict[str, str]:
    """The news feeds as ``{name: slug}``; a list/tuple of slugs maps each slug to itself."""
    feeds = get("STREAM_NEWS_FEEDS")
    if isinstance(feeds, dict):
        return dict(feeds)
    return {slug: slug for slug in feeds}


# stream-django's module constants (``conf.USER_FEED`` …), read at use time like the rest.
_LEGACY_NAMES = {
    "API_KEY": "STREAM_API_KEY",
    "API_SECRET": "STREAM_API_SECRET",
    "LOCATION": "STREAM_LOCATION",
    "TIMEOUT": "STREAM_TIMEOUT",
    "FEED_MANAGER_CLASS": "STREAM_FEED_MANAGER_CLASS",
    "USER_FEED": "STREAM_USER_FEED",
    "NEWS_FEEDS": "STREAM_NEWS_FEEDS",
    "NOTIFICATION_FEED": "STREAM_NOTIFICATION_FEED",
    "DISABLE_MODEL_TRACKING": "STREAM_DISABLE_MODEL_TRACKING",
}


def is_valid_config() -> bool:
    """stream-django's name for :func:`credentials_configured`."""
    return credentials_configured()


class SettingsProxy:
    """Stands in for an object built from settings (stream-django built it at import): every use
    resolves it again, so ``override_settings`` applies, and ``isinstance`` sees the real class."""

    __slots__ = ("_resolve", "_describe")

    def __init__(self, resolve: Any, describe: Any) -> None:
        object.__setattr__(self, "_resolve", resolve)
        object.__setattr__(self, "_describe", describe)

    def __repr__(self) -> str:  # never resolves: a repr must not need credentials
        return self._describe()

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # what isinstance() and type checks of user code ask
        return type(self._resolve())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._resolve(), name, value)

    def __dir__(self) -> list[str]:
        return dir(self._resolve())


def __getattr__(name: str) -> Any:
    if name in _LEGACY_NAMES:
        return get(_LEGACY_NAMES[name])
    if name == "DJANGO_MAJOR_VERSION":
        import django

        return django.VERSION[0] + 0.1 * django.VERSION[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
