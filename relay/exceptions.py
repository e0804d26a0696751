"""Every error the relay raises, under feed_outbox's FeedOutboxError (one tree for the project).

What a Stream failure *means* (retry, dead-letter, pause) is relay.retry's; these are the
relay's own conditions.
"""

from __future__ import annotations

from feed_outbox.exceptions import FeedOutboxError


class RelayError(FeedOutboxError):
    """Base class of the relay's errors."""


class ConfigurationError(RelayError, RuntimeError):
    """Stream rejects the credentials or the app: no event can be delivered until fixed."""


class LeaseExpiring(RelayError):
    """The lease would end before a request could finish: sending could reorder a key."""


class RateLimited(RelayError):
    """Waiting for Stream's window to reset would outlast the caller's deadline."""
