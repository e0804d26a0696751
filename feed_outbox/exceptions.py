"""Exceptions raised by feed-outbox; all derive from FeedOutboxError, an Exception
(stream-django's used BaseException). The relay's own are in relay.exceptions, under it."""


class FeedOutboxError(Exception):
    """Base class of every feed-outbox error."""


class ActivityDataError(FeedOutboxError, ValueError):
    """An activity cannot be published as built: raised at save time, inside the transaction."""


class OutboxNotMigrated(FeedOutboxError):
    """The outbox table is missing (or lacks columns) on a database: ``migrate`` was not run."""


class MissingDataException(FeedOutboxError):
    """An activity could not be enriched and the missing-data policy is ``fail``."""


class InvalidCursor(FeedOutboxError, ValueError):
    """A cursor that is not an activity or group id."""
