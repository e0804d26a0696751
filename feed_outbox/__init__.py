"""feed-outbox: publish Django activity feeds to Stream through a transactional outbox."""

__version__ = "0.1.0"
