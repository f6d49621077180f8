# MakrX image: gunicorn serves the web app (static files via WhiteNoise); the same
# image runs `celery -A makrx worker` and `celery -A makrx beat` (see docker-compose.yml).

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: dependencies, compiled translations, collected static files --------
FROM ${PYTHON_IMAGE} AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# gettext provides msgfmt for `compilemessages`; it stays out of the runtime image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

WORKDIR /app
COPY . .

# Build-time only values: a non-empty DATABASE_URL selects production mode (which
# refuses to start without a long SECRET_KEY, REDIS_URL and ALLOWED_HOSTS), so
# collectstatic uses whitenoise's CompressedManifestStaticFilesStorage (hashed,
# pre-compressed files plus staticfiles.json). Nothing connects to the database.
RUN export SECRET_KEY=build-only-never-used-at-run-time-0123456789abcdefghijklmnop \
           DATABASE_URL=postgres://build@localhost:5432/build \
           REDIS_URL=redis://localhost:6379/0 \
           ALLOWED_HOSTS=localhost \
           DEBUG=false \
    && python manage.py compilemessages --ignore='.venv' \
    && python manage.py collectstatic --noinput \
    && test -f staticfiles/staticfiles.json

# --- runtime --------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=makrx.settings \
    WEB_CONCURRENCY=3

RUN groupadd --system --gid 10001 makrx \
    && useradd --system --uid 10001 --gid makrx --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin makrx

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

# The code stays owned by root (read-only for the app); only media is writable.
# A named volume mounted on /app/media starts with this ownership.
RUN mkdir -p /app/media && chown makrx:makrx /app/media

WORKDIR /app
USER makrx:makrx

EXPOSE 8000

# /health answers 200 when the database, cache and broker work, 503 otherwise.
# The Host header is the first ALLOWED_HOSTS entry, so the request is not refused
# as a disallowed host; /health is exempt from the HTTPS redirect.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; host = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.').replace('*', '') or 'localhost'; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/health', headers={'Host': host}), timeout=8)"]

# gunicorn takes its number of workers from WEB_CONCURRENCY. Threaded workers: a
# checkout waits on the payment provider (Stripe) after its transaction, and a worker
# serves other requests meanwhile. Each thread may hold one pooled database
# connection (DATABASE_POOL_MAX, 20 by default, stays above the thread count).
CMD ["gunicorn", "makrx.wsgi:application", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", \
     "--threads", "8", \
     "--worker-tmp-dir", "/dev/shm", \
     "--timeout", "60", \
     "--graceful-timeout", "30", \
     "--access-logfile", "-"]
