"""The patterns app: models reproducing what public stream-django apps do, after the switch."""

from django.apps import AppConfig


class PatternsConfig(AppConfig):
    name = "tests.migration.patterns"
    label = "patterns"
    default_auto_field = "django.db.models.BigAutoField"
