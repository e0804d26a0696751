"""feed-outbox: publish Django activity feeds to Stream through a transactional outbox.

As in stream-django, the package's ``feed_manager`` is the manager object, not the module of that
name, whichever of ``import feed_outbox.feed_manager`` and ``from feed_outbox import
feed_manager`` a project runs first. It is resolved on first use: importing the package needs no
settings and imports no Django (the emulator runs from it).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from feed_outbox.feed_manager import feed_manager as feed_manager


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # The import system binds an imported submodule on its package: for feed_manager, bind
        # the manager object the way stream-django's ``__init__`` rebinds that name.
        if name == "feed_manager" and isinstance(value, types.ModuleType):
            value = value.feed_manager
        super().__setattr__(name, value)


def _django_version() -> list[int]:
    import django

    return list(django.VERSION[:3])


def __getattr__(name: str) -> Any:
    if name == "feed_manager":
        import feed_outbox.feed_manager  # noqa: F401  (binds the manager, through _Package)

        return sys.modules[__name__].__dict__["feed_manager"]
    # stream-django's ``__init__`` kept Django's version in these names.
    if name == "version_list":
        return _django_version()
    if name in ("major", "minor"):
        return _django_version()[name == "minor"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
