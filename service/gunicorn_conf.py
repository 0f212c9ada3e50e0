"""gunicorn settings, from the service's settings (service/config.py): `gunicorn --config
python:service.gunicorn_conf service.wsgi:app`. The app (and so its connection pool) is
created in each worker, never before fork."""

import ipaddress
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import gunicorn.http.wsgi
import gunicorn.util
from werkzeug.middleware.proxy_fix import ProxyFix

from service import closing, logs, memory
from service import config as _config  # not `config`: gunicorn reads that name as a setting
from service.domain import urls
from service.matching import lemmas

try:
    _settings = _config.read()
except _config.SettingsError as error:
    sys.exit(f"narratives: bad setting: {error}")

bind = _settings.bind
workers = _settings.WEB_CONCURRENCY
threads = _settings.GUNICORN_THREADS
# A sync worker (threads = 1) silent this long is stuck and is replaced. A threaded worker's main
# thread keeps the heartbeat going whatever its request threads do: their requests are bounded by
# the statement timeout, the pool wait and the TCP timeouts (service/db.py), not by this.
timeout = _settings.GUNICORN_TIMEOUT
# Connections a threaded worker holds at once (kept alive, or queued for a thread): few, so that
# a busy worker stops accepting and leaves new connections to an idle one. gunicorn's 1,000
# would let one worker queue hundreds behind its threads while the other sat idle.
worker_connections = 100
# Under Docker's 10 s stop timeout, so SIGTERM ends in a clean exit rather than SIGKILL.
graceful_timeout = _settings.GUNICORN_GRACEFUL_TIMEOUT
keepalive = _settings.GUNICORN_KEEPALIVE
preload_app = False
accesslog = None  # see logconfig_dict: the app writes the access lines
logger_class = logs.GunicornLogger
errorlog = "-"
loglevel = _settings.LOG_LEVEL.lower()
# Bounded request lines and headers: a client cannot make a worker buffer without limit.
limit_request_line = 8190
limit_request_fields = 100
# Peers whose X-Forwarded-* headers are believed: the proxy in front (docker-compose.yml's nginx).
# gunicorn itself takes only the scheme from them; post_worker_init takes the client address and
# host. A comma-separated list of addresses or networks, or "*".
forwarded_allow_ips = _settings.FORWARDED_ALLOW_IPS
# gunicorn writes "Server: gunicorn" on every response from this module global, read per response;
# naming the stack only helps someone looking for a known hole in it.
gunicorn.http.wsgi.SERVER = "narrative-tracker"
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


# After a large body: the URL cache is emptied (service/memory.py) before the trim.
_trimmer = memory.Trimmer(forget=(urls.normalize.cache_clear,))


def pre_request(worker, req) -> None:
    worker.log.debug("%s %s", req.method, req.path)  # gunicorn's own pre_request, kept
    _trimmer.started()


def post_request(worker, req, environ, resp) -> None:
    try:
        closing.note_answered(environ, resp)
    finally:
        _trimmer.finished(environ)  # always paired with started(), or no trim would come again


def post_fork(server, worker) -> None:
    # Before the worker loads the app, whose pool starts threads.
    memory.tune_malloc()


def post_worker_init(worker) -> None:
    # The Ukrainian dictionary loads here, before the worker takes a request, not in the first
    # match or Ukrainian sighting it serves.
    lemmas.warm()
    worker.wsgi = _FromTrustedProxy(worker.wsgi, worker.cfg.forwarded_allow_ips, worker.notify)
    memory.settle()  # last: what the worker keeps for life is loaded


class _FromTrustedProxy:
    """werkzeug's ProxyFix (client address from X-Forwarded-For, host from X-Forwarded-Host, one
    proxy deep), applied only when the connection comes from forwarded_allow_ips: anyone else
    could write those headers themselves."""

    def __init__(self, app, allowed: list[str], heartbeat) -> None:
        self.app = app
        # A view that runs long while making progress (an NDJSON import reading its body)
        # calls this, so that the arbiter does not take its worker for a stuck one.
        self.heartbeat = heartbeat
        self.behind_proxy = ProxyFix(app, x_for=1, x_proto=0, x_host=1)
        self.everyone = "*" in allowed
        self.networks = [ipaddress.ip_network(entry) for entry in allowed if entry != "*"]

    def _trusted(self, address: str | None) -> bool:
        if self.everyone:
            return True
        try:
            peer = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(peer in network for network in self.networks)

    def __call__(self, environ, start_response):
        environ["narratives.heartbeat"] = self.heartbeat
        app = self.behind_proxy if self._trusted(environ.get("REMOTE_ADDR")) else self.app
        return app(environ, start_response)


def on_exit(server) -> None:
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)


def _problem_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own refusals (a request it cannot parse, before the app sees it) as RFC 9457
    documents like every other error, not HTML; nginx passes them through as it passes the app's.
    Replaces gunicorn.util.write_error, which the workers look up at each call."""
    problem = {"type": "about:blank", "title": reason, "status": status_int}
    body = json.dumps({**problem, "detail": mesg or reason}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn.util.write_nonblock(sock, head.encode("latin-1") + body)


gunicorn.util.write_error = _problem_error
# No two-second linger after an answer whose request was read in full (service/closing.py).
closing.install()
