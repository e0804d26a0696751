"""App configuration: connects the signal receivers, binds Activity models, registers the checks."""

from django.apps import AppConfig


class FeedOutboxConfig(AppConfig):
    name = "feed_outbox"
    verbose_name = "Feed outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from feed_outbox import checks  # noqa: F401  (registers checks)
        from feed_outbox.write import signals

        signals.connect()
