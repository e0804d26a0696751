"""The Django settings the documentation build runs under: enough for autodoc to import the
public modules (django.setup() with the app installed), no database and no Stream."""

SECRET_KEY = "documentation-build-only"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "feed_outbox",
    "relay",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Module-level objects built from settings (managers.stream_client, stream-django's names) resolve
# when autodoc looks at them: dummy credentials build a client that is never called.
STREAM_API_KEY = "docs"
STREAM_API_SECRET = "documentation-build-only-not-a-secret"
