"""Settings of the sample app, read from the environment through django-environ.

With no environment at all it runs the demo: SQLite in .demo/ and the emulator on :8700.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_DIR = BASE_DIR / ".demo"

env = environ.Env(DEBUG=(bool, False))

DEBUG = env("DEBUG")
# Demo-only defaults (docs/demo.md, "Demo-only settings"; `manage.py check --deploy` names each one):
# a key anyone can read, and plain HTTP on localhost, where Secure cookies would never be
# sent back and a redirect to HTTPS would find nothing. A deployment sets SECRET_KEY and,
# behind TLS, HTTPS=1; HSTS (which browsers remember) is left to its own settings.
SECRET_KEY = env("SECRET_KEY", default="insecure-demo-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
HTTPS = env.bool("HTTPS", default=False)
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "feed_outbox",
    "relay",
    "rest_framework",  # the JSON API (sample_app.api); the optional extra feed-outbox[drf]
    "sample_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sample_app.urls"
WSGI_APPLICATION = "sample_app.wsgi.application"
ASGI_APPLICATION = "sample_app.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "feed_outbox.context_processors.notifications",
                "feed_outbox.context_processors.outbox_lag",
                "sample_app.context_processors.demo_stream",
            ],
        },
    },
]

_default_db = f"sqlite:///{DEMO_DIR / 'db.sqlite3'}"
DATABASES = {"default": env.db("DATABASE_URL", default=_default_db)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DEMO_DIR.mkdir(exist_ok=True)
    # The relay and the web process share the file: wait for each other's locks. IMMEDIATE
    # takes the write lock at BEGIN: a deferred transaction that reads and then writes (a
    # login saving its session) meets a relay's write with an immediate "database is locked"
    # instead of waiting (SQLite cannot upgrade a read lock while another writer holds one).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["timeout"] = 20
    options["transaction_mode"] = "IMMEDIATE"
DATABASES["default"]["ATOMIC_REQUESTS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django's four validators guard sign-ups. The seeded accounts' printed password 'demo' would
# fail them: seed_demo sets it with set_password(), which validates nothing.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / ".static"))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "timeline"
LOGOUT_REDIRECT_URL = "login"

# Stream: the emulator by default; set STREAM_BASE_URL to "" with real credentials for Stream.
STREAM_API_KEY = env("STREAM_API_KEY", default="demo-key")
STREAM_API_SECRET = env("STREAM_API_SECRET", default="demo-secret-for-the-local-emulator-only")
STREAM_BASE_URL = env("STREAM_BASE_URL", default="http://localhost:8700") or None
# "v2", "v3" or "v2+v3" (docs/topics/feeds-v3.md); the emulator serves both APIs on one port.
FEED_OUTBOX_STREAM_API = env("FEED_OUTBOX_STREAM_API", default="v2")
STREAM_NEWS_FEEDS = {"timeline": "timeline", "timeline_aggregated": "timeline_aggregated"}
# Chirp never ran stream-django: no like or retweet went out under its tweet's reference, the
# foreign id stream-django would have given them (outbox_switch_check, docs/topics/migrating.md).
SILENCED_SYSTEM_CHECKS = ["feed_outbox.W110"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "relay": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "feed_outbox": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
