"""Switches that stop model changes from becoming outbox events."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from django.db import models

from feed_outbox import conf

EVERY_MODEL = "EVERY_MODEL"

# Per thread/task, so a context manager in one request never silences another.
_disabled: contextvars.ContextVar[frozenset] = contextvars.ContextVar(
    "feed_outbox_tracking_disabled", default=frozenset()
)


@contextlib.contextmanager
def tracking_disabled(*models_: type[models.Model]) -> Iterator[None]:
    """Within the block, changes to ``models_`` (all Activity models if none) are not published."""
    keys = frozenset(models_ or (EVERY_MODEL,))
    token = _disabled.set(_disabled.get() | keys)
    try:
        yield
    finally:
        _disabled.reset(token)


def is_disabled_here(model: type[models.Model]) -> bool:
    disabled = _disabled.get()
    return EVERY_MODEL in disabled or model in disabled or (model._meta.concrete_model in disabled)


def disabled_by_setting() -> bool:
    return bool(conf.get("STREAM_DISABLE_MODEL_TRACKING"))
