from django.apps import AppConfig


class ChirpConfig(AppConfig):
    name = "tests.migration.chirp_before"
    label = "chirp"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        # stream-django 1.8 has no base-URL setting: client.py:10-12 calls
        # stream.connect(key, secret, location=..., timeout=...) at import. The same real client
        # is built again with the emulator's base URL and put where its feed manager reads it
        # (managers.py:4 imports the module global); every request still goes over HTTP.
        import os

        import stream
        import stream_django.client
        import stream_django.managers
        from django.conf import settings

        client = stream.connect(
            settings.STREAM_API_KEY,
            settings.STREAM_API_SECRET,
            base_url=os.environ["CHIRP_STREAM_BASE_URL"],
            timeout=settings.STREAM_TIMEOUT,
        )
        stream_django.client.stream_client = client
        stream_django.managers.stream_client = client
