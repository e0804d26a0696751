"""A stream-django project just switched to feed_outbox, with every pattern ``outbox_switch_check``
finds (and a few it must not): loaded only by its own settings, in a subprocess."""
