"""Exceptions raised by feed-outbox; all derive from Exception (stream-django's used BaseException)."""


class FeedOutboxError(Exception):
    """Base class of every feed-outbox error."""


class ActivityDataError(FeedOutboxError, ValueError):
    """An activity cannot be published as built: raised at save time, inside the transaction."""


class MissingDataException(FeedOutboxError):
    """An activity could not be enriched and the missing-data policy is ``fail``."""
