"""ASGI entry point (uvicorn sample_app.asgi:application): every page, and the async timeline
(``/timeline/async/``), whose Stream reads await the clients' async APIs on the server's loop."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample_app.settings")
application = get_asgi_application()
