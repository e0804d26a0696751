"""The switched project's app: its receivers are connected in ready(), as real apps do."""

from django.apps import AppConfig


class SwitchAppConfig(AppConfig):
    name = "tests.switch_app"
    label = "switch_app"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tests.switch_app import receivers  # noqa: F401  (connects them)
