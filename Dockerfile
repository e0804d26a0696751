# One image for the web app and the relay sidecar (`python -m relay`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=sample_app.settings

WORKDIR /app

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app app

COPY pyproject.toml README.md LICENSE ./
COPY feed_outbox ./feed_outbox
COPY relay ./relay
# The project itself; its dependencies are pinned by pyproject.toml's ranges.
# hadolint ignore=DL3013
RUN pip install ".[server,drf]"

COPY sample_app ./sample_app
COPY manage.py ./
RUN python -m compileall -q /app \
    && python manage.py collectstatic --noinput -v 0 \
    && chown -R 10001:10001 /app

USER 10001
EXPOSE 8000

# The relay sidecar runs the same image with: python -m relay
CMD ["gunicorn", "sample_app.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
