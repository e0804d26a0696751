"""Test helpers for projects using feed-outbox: an emulator to publish into, and a synchronous drain.

``drain_outbox`` runs the drain an installed package registers under the entry point group
``feed_outbox.drain``: the relay registers ``relay.testing:drain_outbox`` (pyproject.toml), so
feed_outbox itself never imports the relay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feed_outbox.emulator import Emulator

DRAIN_GROUP = "feed_outbox.drain"

# The emulator's credentials in tests. PyJWT warns (InsecureKeyLengthWarning) on an HS256 key
# under 32 bytes, every time it signs or verifies one, and Stream's clients sign with HS256: a
# shorter secret would fail a project's tests run with -W error.
EMULATOR_KEY = "feed-outbox-test-key"
EMULATOR_SECRET = "feed-outbox-test-secret-for-the-emulator-only"


def drain_outbox(using: str = "default", batch_size: int = 100, **client_overrides: Any) -> Any:
    """Publish every claimable outbox event now, with the registered drain (the relay's,
    ``relay.testing.drain_outbox``), and return its stats."""
    return registered_drain()(using, batch_size, **client_overrides)


@cache
def registered_drain() -> Callable[..., Any]:
    """The one drain registered under ``feed_outbox.drain`` (looked up once: the installed
    packages do not change while a test run lasts)."""
    found = list(entry_points(group=DRAIN_GROUP))
    if len(found) == 1:
        return found[0].load()
    from django.core.exceptions import ImproperlyConfigured

    if not found:
        raise ImproperlyConfigured(
            f"drain_outbox needs the relay: no installed package registers a drain under the "
            f"entry point group {DRAIN_GROUP!r}. The `relay` package of django-feed-outbox "
            "registers relay.testing:drain_outbox; in a checkout, reinstall it after pyproject.toml "
            "changes (`make install`)."
        )
    names = ", ".join(sorted(f"{point.name} = {point.value}" for point in found))
    raise ImproperlyConfigured(
        f"drain_outbox: several drains registered under {DRAIN_GROUP!r}: {names}"
    )


@contextmanager
def stream_settings(
    emulator: Emulator, api_key: str = EMULATOR_KEY, api_secret: str = EMULATOR_SECRET
) -> Iterator[None]:
    """Point every Stream client at ``emulator`` for the block: STREAM_API_KEY,
    STREAM_API_SECRET and STREAM_BASE_URL set to it, STREAM_LOCATION cleared (Django's
    ``override_settings``). The ``stream_emulator`` fixture runs its tests inside this."""
    from django.test import override_settings

    with override_settings(
        STREAM_API_KEY=api_key,
        STREAM_API_SECRET=api_secret,
        STREAM_BASE_URL=emulator.url,
        STREAM_LOCATION=None,
    ):
        yield


def start_emulator(
    api_key: str = EMULATOR_KEY, api_secret: str = EMULATOR_SECRET, **kwargs: Any
) -> Emulator:
    """Start the Stream emulator in a background thread on a free port; call ``.stop()`` after."""
    from feed_outbox.emulator import Emulator

    emulator = Emulator(api_key=api_key, api_secret=api_secret, port=0, **kwargs)
    emulator.start()
    return emulator
