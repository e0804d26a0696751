"""Add "relay" to INSTALLED_APPS for the ``manage.py relay`` command."""

from django.apps import AppConfig


class RelayConfig(AppConfig):
    name = "relay"
    verbose_name = "Feed outbox relay"
