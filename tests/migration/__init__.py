"""Switching a project that ran stream-django 1.8 to feed_outbox, with the data it published."""
