from django.apps import AppConfig


class ChirpConfig(AppConfig):
    name = "tests.migration.chirp_after"
    label = "chirp"
    default_auto_field = "django.db.models.AutoField"
