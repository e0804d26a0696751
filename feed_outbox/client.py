"""The Stream clients, built lazily from settings (never at import): stream-python for Feeds
v2, and the getstream SDK for Feeds v3 (``build_v3_client``, an optional dependency), each
sync (shared by every thread) and async (one per event loop: ``get_async_client``)."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import stream
from django.core.exceptions import ImproperlyConfigured

from feed_outbox import conf

_lock = threading.Lock()
_clients: dict[tuple, Any] = {}  # (api, settings) -> the client built for them


def _client_settings() -> tuple:
    return (
        conf.get("STREAM_API_KEY"),
        conf.get("STREAM_API_SECRET"),
        conf.get("STREAM_LOCATION"),
        float(conf.get("STREAM_TIMEOUT")),
        conf.get("STREAM_BASE_URL"),
    )


def base_url_problem(setting: str, value: Any, api: str = "v2") -> tuple[str, str] | None:
    """Why the ``api`` client cannot use ``value`` as its base URL: ``(message, hint)`` naming
    ``setting``, or None when it can.

    stream-python keeps only the scheme, host and port of a base URL and sends to
    ``api.<host>`` for every host but ``localhost`` (``BaseStreamClient.get_full_url``), so an
    IP address becomes ``api.127.0.0.1``, which never resolves. The getstream SDK (v3) uses
    the URL as given and refuses a scheme other than http/https (``validate_and_clean_url``).
    """
    if not isinstance(value, str):
        return (
            f"{setting} is {value!r}, not a URL.",
            "Write it as a URL like 'http://localhost:8700'.",
        )
    shown = repr(redacted(value))
    example = "http://localhost:8700"
    if "://" not in value and value.strip():
        example = redacted(f"http://{value.strip()}")  # 'localhost:8700' lacks only its scheme
    try:
        parts = urlsplit(value)
        host, port = parts.hostname, parts.port  # .port raises on a port that is no number
    except ValueError as exc:
        return f"{setting} is {shown}, not a URL the Stream clients can use: {exc}.", (
            f"Write it as a URL like {example!r}."
        )
    if parts.scheme not in ("http", "https") or not host:
        return f"{setting} is {shown}, which has no http:// or https:// scheme and host.", (
            f"Write it as a URL like {example!r}."
        )
    at = f":{port}" if port else ""
    origin = f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{at}"
    if parts.query or parts.fragment:
        return f"{setting} is {shown}: the Stream clients cannot use a query or fragment.", (
            f"Use {origin}{parts.path.rstrip('/') if api == 'v3' else ''} alone."
        )
    if api == "v3":
        return None
    if parts.path.strip("/") or parts.username or parts.password:
        return (
            f"{setting} is {shown}: stream-python keeps only its scheme, host and port, "
            "and would drop the rest.",
            f"Use {origin} alone.",
        )
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return (
        f"{setting} is {shown}: stream-python sends its requests to 'api.{host}', "
        "which never resolves (it puts 'api.' before every host but 'localhost').",
        f"Use {parts.scheme}://localhost{at} for a server on this machine, or a host name.",
    )


def redacted(url: str) -> str:
    """``url`` with the password of its user part hidden: messages must never show a secret."""
    return re.sub(r"(^|//)([^/@:]*):[^/@]*@", r"\1\2:[secret]@", url)


def _usable_base_url(setting: str, value: Any, api: str) -> Any:
    problem = base_url_problem(setting, value, api) if value else None
    if problem is not None:
        raise ImproperlyConfigured(" ".join(problem))
    return value


def build_client(*, use_async: bool = False, **overrides: Any) -> Any:
    """A new client (with its own HTTP session) from settings; ``overrides`` replace them.

    ``use_async``: stream-python's ``AsyncStreamClient`` (``stream.connect(use_async=True)``,
    since 5.2), whose calls are coroutines; it opens an aiohttp session per request
    (stream/client/async_client.py ``_make_request``), so it holds nothing bound to a loop.
    """
    key, secret, location, timeout, base_url = _client_settings()
    key = overrides.get("api_key", key)
    secret = overrides.get("api_secret", secret)
    location = overrides.get("location", location)
    timeout = overrides.get("timeout", timeout)
    base_url = overrides.get("base_url", base_url)
    if "base_url" not in overrides:
        base_url = _usable_base_url("STREAM_BASE_URL", base_url, "v2")
    if key and secret:
        return stream.connect(
            key,
            secret,
            location=location,
            timeout=timeout,
            base_url=base_url or None,
            use_async=use_async,
        )
    if os.environ.get("STREAM_URL"):
        return stream.connect(timeout=timeout, base_url=base_url or None, use_async=use_async)
    raise ImproperlyConfigured(
        "Stream credentials are not set: define STREAM_API_KEY and STREAM_API_SECRET "
        "in your settings (or the STREAM_URL environment variable)"
    )


def _v3_settings() -> tuple:
    return (
        conf.get("STREAM_V3_API_KEY") or conf.get("STREAM_API_KEY"),
        conf.get("STREAM_V3_API_SECRET") or conf.get("STREAM_API_SECRET"),
        float(conf.get("STREAM_TIMEOUT")),
        conf.get("STREAM_V3_BASE_URL") or conf.get("STREAM_BASE_URL"),
    )


def v3_base_url_setting() -> str:
    """The setting the v3 client's base URL comes from (STREAM_BASE_URL is its fallback)."""
    return "STREAM_V3_BASE_URL" if conf.get("STREAM_V3_BASE_URL") else "STREAM_BASE_URL"


def build_v3_client(*, use_async: bool = False, **overrides: Any) -> Any:
    """A new getstream ``Stream`` client (its own httpx pool) for Feeds v3, from settings.

    ``base_url`` points it at the emulator (``http://localhost:PORT``: the v3 routes share the
    emulator's port); unset, the SDK's default host is Stream's. ``use_async``: the SDK's
    ``AsyncStream``, whose httpx pool belongs to the event loop that opened its connections.
    """
    try:
        from getstream import AsyncStream, Stream
    except ImportError:
        raise ImproperlyConfigured(
            "Feeds v3 needs the getstream SDK: pip install 'django-feed-outbox[v3]'"
        ) from None
    key, secret, timeout, base_url = _v3_settings()
    key = overrides.get("api_key", key)
    secret = overrides.get("api_secret", secret)
    timeout = overrides.get("timeout", timeout)
    base_url = overrides.get("base_url", base_url)
    if "base_url" not in overrides:
        base_url = _usable_base_url(v3_base_url_setting(), base_url, "v3")
    if not (key and secret):
        raise ImproperlyConfigured(
            "Stream v3 credentials are not set: define STREAM_API_KEY and STREAM_API_SECRET "
            "(or STREAM_V3_API_KEY and STREAM_V3_API_SECRET) in your settings"
        )
    kwargs: dict[str, Any] = {"api_key": key, "api_secret": secret, "timeout": timeout}
    if base_url:
        kwargs["base_url"] = base_url.rstrip("/")
    return (AsyncStream if use_async else Stream)(**kwargs)


def _shared(api: str, settings: tuple, build: Callable[[], Any]) -> Any:
    """The client ``build`` made for ``api`` under ``settings``, built once across threads."""
    key = (api, settings)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = build()
    return client


def get_v3_client() -> Any:
    """The shared v3 client for the current settings (readers: feed_manager, reconcile)."""
    return _shared("v3", _v3_settings(), build_v3_client)


def get_client() -> stream.client.StreamClient:
    """The shared client for the current settings (a new one when they change)."""
    return _shared("v2", _client_settings(), build_client)


# Async clients, per event loop: an AsyncStream's httpx pool holds connections opened on one
# loop, and using them from another fails (RuntimeError "Event loop is closed" once the first
# loop is gone, as tried here), so each loop gets its own clients, built on first use. When
# the loop shuts down its async generators (asyncio.run, asyncio.Runner, asgiref's
# async_to_sync and uvicorn do before closing it), the parked generator of _closed_with_loop
# closes them; a closed loop's entry is dropped when the next loop registers. stream-python's
# async client holds nothing loop-bound, but living by the same rule costs a client per loop
# (one for a server's life) and keeps one story.
_loops: dict[asyncio.AbstractEventLoop, tuple[dict[tuple, Any], AsyncIterator[None]]] = {}


async def _closed_with_loop(clients: dict[tuple, Any]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for client in list(clients.values()):
            close = getattr(client, "aclose", None)
            if close is not None:
                await close()
        clients.clear()


async def _for_loop(api: str, settings: tuple, build: Callable[[], Any]) -> Any:
    """The client ``build`` made for ``api`` under ``settings`` on the running event loop."""
    loop = asyncio.get_running_loop()
    entry = _loops.get(loop)
    if entry is None:
        clients: dict[tuple, Any] = {}
        closer = _closed_with_loop(clients)
        await closer.__anext__()  # parked: the loop's asyncgen hooks now know it
        with _lock:
            for other in [other for other in _loops if other.is_closed()]:
                del _loops[other]
            entry = _loops.setdefault(loop, (clients, closer))
    clients = entry[0]
    key = (api, settings)
    client = clients.get(key)
    if client is None:  # one loop runs in one thread: no other builds for it meanwhile
        client = clients[key] = build()
    return client


async def get_async_client() -> Any:
    """This event loop's stream-python ``AsyncStreamClient`` for the current settings."""
    return await _for_loop("v2", _client_settings(), lambda: build_client(use_async=True))


async def get_async_v3_client() -> Any:
    """This event loop's getstream ``AsyncStream`` for the current settings."""
    return await _for_loop("v3", _v3_settings(), lambda: build_v3_client(use_async=True))


def init_client(raise_config_error: bool = False) -> stream.client.StreamClient | None:
    """stream-django's constructor: None instead of an error unless ``raise_config_error``."""
    try:
        return get_client()
    except ImproperlyConfigured:
        if raise_config_error:
            raise
        return None


#: stream-django's module-level client, resolved from the current settings at each use.
stream_client: Any = conf.SettingsProxy(get_client, lambda: "<lazy stream_client>")


def __getattr__(name: str) -> Any:
    if name == "DJANGO_MAJOR_VERSION":  # stream-django's client re-exported conf's
        return conf.DJANGO_MAJOR_VERSION
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
