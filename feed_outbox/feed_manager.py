"""``feed_manager``: the FeedManager instance of the class named by STREAM_FEED_MANAGER_CLASS."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_migrate  # noqa: F401  (stream-django's module had it)

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


#: The manager of the current STREAM_FEED_MANAGER_CLASS (``isinstance`` sees its class);
#: ``from feed_outbox import feed_manager`` gives this object too, as stream-django's package did.
feed_manager: Any = conf.SettingsProxy(
    get_feed_manager, lambda: f"<feed_manager: {conf.get('STREAM_FEED_MANAGER_CLASS')}>"
)

#: stream-django bound this name to what ``class_prepared.connect(...)`` returns, None; kept so
#: code that lists its names finds it. feed-outbox binds models in AppConfig.ready().
class_prepared = None


def disable_model_tracking(sender: Any = None, **kwargs: Any) -> None:
    """stream-django's receiver, kept by name: switches tracking off for every model.

    stream-django connected it to ``pre_migrate`` and so left tracking off after ``migrate``;
    feed-outbox connects it to nothing (migrations use historical models, which never publish).
    """
    get_feed_manager().disable_model_tracking()


def __getattr__(name: str) -> Any:
    # stream-django's constants of this module, read from the settings now.
    if name == "feed_manager_class":
        return get_class_from_string(conf.get("STREAM_FEED_MANAGER_CLASS"))
    if name in ("FEED_MANAGER_CLASS", "DJANGO_MAJOR_VERSION"):
        return getattr(conf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
