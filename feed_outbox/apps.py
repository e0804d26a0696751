"""App configuration: binds Activity models and registers the system checks."""

from django.apps import AppConfig


class FeedOutboxConfig(AppConfig):
    name = "feed_outbox"
    verbose_name = "Feed outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from feed_outbox import checks, signals  # noqa: F401  (registers checks)

        signals.bind_all_models()
