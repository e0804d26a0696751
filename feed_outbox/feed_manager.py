"""``feed_manager``: the FeedManager instance of the class named by STREAM_FEED_MANAGER_CLASS."""

from __future__ import annotations

from typing import Any

from feed_outbox import conf
from feed_outbox.utils import get_class_from_string

_instances: dict[str, Any] = {}


def get_feed_manager() -> Any:
    """The manager for the current setting (one instance per class, created on first use)."""
    path = conf.get("STREAM_FEED_MANAGER_CLASS")
    manager = _instances.get(path)
    if manager is None:
        manager = _instances[path] = get_class_from_string(path)()
    return manager


class _LazyFeedManager:
    def __getattr__(self, name: str) -> Any:
        return getattr(get_feed_manager(), name)

    def __repr__(self) -> str:
        return f"<feed_manager: {conf.get('STREAM_FEED_MANAGER_CLASS')}>"


feed_manager: Any = _LazyFeedManager()


def disable_model_tracking(sender: Any = None, **kwargs: Any) -> None:
    """stream-django's receiver, kept by name: switches tracking off for every model.

    stream-django connected it to ``pre_migrate`` and so left tracking off after ``migrate``;
    feed-outbox connects it to nothing (migrations use historical models, which never publish).
    """
    get_feed_manager().disable_model_tracking()


def __getattr__(name: str) -> Any:
    # stream-django exposed the resolved class as ``feed_manager_class``; resolve it now.
    if name == "feed_manager_class":
        return get_class_from_string(conf.get("STREAM_FEED_MANAGER_CLASS"))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
