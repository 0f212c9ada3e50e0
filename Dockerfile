# Narrative Tracker API image.
#
#   docker build -t narrative-tracker .
#
# One image, two entry points (see docker-compose.yml):
#   migrations (one-shot):  python -m service migrate
#   API (default CMD):      gunicorn --config python:service.gunicorn_conf service.wsgi:app
# Configuration is environment-only: DATABASE_URL (required), PORT, WEB_CONCURRENCY, LOG_LEVEL.

# ---------------------------------------------------------------------------
# Builder: resolve the pinned runtime dependencies into a self-contained venv.
# Nothing from this stage reaches the final image except /opt/venv.
# ---------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Runtime pins only (requirements-dev.lock, with pytest/ruff/hadolint, never enters the image).
# psycopg[binary] ships a wheel with libpq, so no compiler or libpq-dev is needed.
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir -r /tmp/requirements.lock

# ---------------------------------------------------------------------------
# Runtime: slim base + venv + application source, running as a fixed non-root uid.
# ---------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PORT=8000

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin app

COPY --from=builder /opt/venv /opt/venv

# The application code stays root-owned and read-only for the service user.
# service/ finds migrations/ next to itself (service/ops/migrate.py looks two folders up).
WORKDIR /app
COPY service/ /app/service/
COPY migrations/ /app/migrations/
COPY openapi.yaml /app/openapi.yaml

USER 10001:10001

EXPOSE 8000

# Liveness only (no database); compose's api service overrides this with a /readyz probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/healthz', timeout=4)"]

# Exec form: gunicorn is PID 1 and receives SIGTERM directly for a graceful shutdown.
CMD ["gunicorn", "--config", "python:service.gunicorn_conf", "service.wsgi:app"]
