"""A Pinterest-like app written the way stream-django's users wrote theirs: soft deletes and the
app's own receivers calling the feed manager (the tests connect those receivers themselves)."""

from django.apps import AppConfig


class PinboardConfig(AppConfig):
    name = "tests.migration.pinboard"
    label = "pinboard"
    default_auto_field = "django.db.models.BigAutoField"
