"""gunicorn settings, from the service's settings (service/config.py): `gunicorn --config
python:service.gunicorn_conf service.wsgi:app`. The app (and so its connection pool) is
created in each worker, never before fork."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

from service import config as _config  # not `config`: gunicorn reads that name as a setting

try:
    _settings = _config.read()
except _config.SettingsError as error:
    sys.exit(f"narratives: bad setting: {error}")

bind = _settings.bind
workers = _settings.WEB_CONCURRENCY
threads = _settings.GUNICORN_THREADS
# A request that outlives the statement timeout plus pool wait is stuck; recycle the worker.
timeout = _settings.GUNICORN_TIMEOUT
# Under Docker's 10 s stop timeout, so SIGTERM ends in a clean exit rather than SIGKILL.
graceful_timeout = _settings.GUNICORN_GRACEFUL_TIMEOUT
keepalive = _settings.GUNICORN_KEEPALIVE
# Whose X-Forwarded-* headers to believe: the proxy in front (see deploy/), no one else.
forwarded_allow_ips = _settings.FORWARDED_ALLOW_IPS
preload_app = False
accesslog = None  # see logconfig_dict: the app writes the access lines
errorlog = "-"
loglevel = _settings.LOG_LEVEL.lower()
# Bounded request lines and headers: a client cannot make a worker buffer without limit.
limit_request_line = 8190
limit_request_fields = 100
# Heartbeat files in memory: works on a read-only root filesystem and never blocks on disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# gunicorn's runtime control socket defaults to one path per user: several servers on a host
# would fight over it, and nothing here uses it.
control_socket_disable = True

# Gunicorn's own messages in the same JSON lines as the app's.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "service.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "service.logs.StderrHandler", "formatter": "json"}},
    "root": {"handlers": ["stderr"], "level": loglevel.upper()},
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
        # The app writes its own JSON access line (with request id and key); gunicorn logs
        # access whenever logconfig_dict is set, so silence its copy here.
        "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
    },
}

# Metrics from every worker are summed at scrape time through files in this directory; it must
# exist before any worker imports prometheus_client, and start empty.
_own_metrics_dir = None
if not _settings.PROMETHEUS_MULTIPROC_DIR:
    _own_metrics_dir = tempfile.mkdtemp(prefix="narratives-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def on_starting(server) -> None:
    for stale in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
