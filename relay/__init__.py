"""The relay: drains the feed_outbox table into Stream (``python -m relay``)."""
