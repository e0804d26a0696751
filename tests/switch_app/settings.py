"""Settings of the switched project: stream-django's settings kept, its context processor left."""

SECRET_KEY = "switch-check-test"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
USE_TZ = False  # marker: W112
TIME_ZONE = "Europe/Berlin"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "feed_outbox",
    "tests.switch_app",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "stream_django.context_processors.stream",  # marker: W104 context processor
            ]
        },
    }
]

STREAM_API_KEY = "switch-key"
STREAM_API_SECRET = "switch-secret-long-enough-for-an-hmac-key"
STREAM_FEED_MANAGER_CLASS = "tests.switch_app.managers.DirectFeedManager"
STREAM_NEWS_FEEDS = {"timeline": "flat", "timeline_aggregated": "aggregated"}  # marker: W105
STREAM_PERSONAL_FEED = "personal"  # marker: W106
