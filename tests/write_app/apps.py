"""Test-only models of the write side: soft deletes, proxies, extra feeds, bad data."""

from django.apps import AppConfig


class WriteAppConfig(AppConfig):
    name = "tests.write_app"
    label = "write_app"
    default_auto_field = "django.db.models.BigAutoField"
