"""Importing a class from a dotted path (stream-django's helper, kept for compatibility)."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string


def get_class_from_string(path: str, default: Any = None) -> Any:
    """Return the object at dotted ``path``; ``default`` if it is missing and one is given."""
    try:
        return import_string(path)
    except ImportError:
        if default:
            return default
        raise
