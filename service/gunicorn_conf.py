"""gunicorn settings, from the environment: `gunicorn --config python:service.gunicorn_conf
service.wsgi:app`. The app (and so its connection pool) is created in each worker, never
before fork."""

import os

bind = os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request that outlives the statement timeout plus pool wait is stuck; recycle the worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Under Docker's 10 s stop timeout, so SIGTERM ends in a clean exit rather than SIGKILL.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "8"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None  # empty: no access log
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Bounded request lines and headers: a client cannot make a worker buffer without limit.
limit_request_line = 8190
limit_request_fields = 100
# Heartbeat files in memory: works on a read-only root filesystem and never blocks on disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# gunicorn's runtime control socket defaults to one path per user: several servers on a host
# would fight over it, and nothing here uses it.
control_socket_disable = True
