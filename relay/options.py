"""The relay's options: one typed value, its unset fields filled from settings in one place.

``python -m relay``'s flags take their defaults from here (relay.cli), so a default is written
once; a field left None is read from its setting when the options are made, never at use.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from feed_outbox import conf
from relay.retry import RetryPolicy


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RelayOptions:
    batch_size: int = 100
    concurrency: int = 32
    poll_interval: float = 1.0
    poll_only: bool = False
    grace_period: float = 8.0
    # A field typed without None but defaulting to None is filled from its setting by
    # __post_init__: readers of the options see the settled type.
    lease_seconds: float = None  # type: ignore[assignment]  # None: FEED_OUTBOX_LEASE_SECONDS
    max_attempts: int = None  # type: ignore[assignment]  # None: FEED_OUTBOX_MAX_ATTEMPTS
    retry_backoff: float = 0.5
    # How long after it was sent Stream may still apply a request (None: the setting).
    landing_seconds: float = None  # type: ignore[assignment]  # settled in __post_init__
    using: str = "default"
    owner: str = field(default_factory=default_owner)
    # The Stream API whose rows this relay claims (None: the only one FEED_OUTBOX_STREAM_API
    # names; with "v2+v3" each API has relays of its own, so one's outage never holds the other).
    api: str = None  # type: ignore[assignment]  # settled in __post_init__
    stream_timeout: float = None  # type: ignore[assignment]  # None: STREAM_TIMEOUT
    notify_channel: str = None  # type: ignore[assignment]  # None: FEED_OUTBOX_NOTIFY_CHANNEL

    def __post_init__(self) -> None:
        self._fill_from_settings()

    @classmethod
    def from_settings(cls, **overrides: Any) -> RelayOptions:
        """Options from settings and defaults; an override of None keeps the default (a flag
        the command line left out)."""
        return cls(**{name: value for name, value in overrides.items() if value is not None})

    @staticmethod
    def default(name: str) -> Any:
        """The default of field ``name`` without reading settings (the CLI's parser is built
        before django.setup())."""
        for option in fields(RelayOptions):
            if option.name == name:
                return None if option.default is MISSING else option.default
        raise KeyError(name)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(self.max_attempts, self.retry_backoff, self.landing_seconds)

    def _fill_from_settings(self) -> None:
        # The one place the relay reads its settings (and casts them).
        if self.api is None:
            apis = conf.stream_apis()
            if len(apis) > 1:
                raise ValueError(
                    f"FEED_OUTBOX_STREAM_API names {' and '.join(apis)}: a relay delivers to one "
                    "API, give RelayOptions(api=...) (python -m relay starts one per API)"
                )
            self.api = apis[0]
        if self.lease_seconds is None:
            self.lease_seconds = float(conf.get("FEED_OUTBOX_LEASE_SECONDS"))
        if self.max_attempts is None:
            self.max_attempts = int(conf.get("FEED_OUTBOX_MAX_ATTEMPTS"))
        if self.landing_seconds is None:
            self.landing_seconds = conf.landing_seconds()
        if self.stream_timeout is None:
            self.stream_timeout = float(conf.get("STREAM_TIMEOUT"))
        if self.notify_channel is None:
            self.notify_channel = str(conf.get("FEED_OUTBOX_NOTIFY_CHANNEL"))
