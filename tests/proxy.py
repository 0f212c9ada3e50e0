"""nginx in front of a real gunicorn, as docker-compose.yml's `nginx` service runs it, and clients
that are slow on purpose. Shared by tests/test_proxy.py and reliability/test_slow_clients.py.

The shipped template is rendered the way the official image's entrypoint does it (envsubst of the
variables NGINX_ENVSUBST_FILTER names, with compose's defaults) and included in the http block of
a copy of the image's nginx.conf whose paths point into a private folder. Debian's nginx runs it.
"""

from __future__ import annotations

import http.client
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "deploy" / "nginx" / "templates"
COMPOSE_FILE = ROOT / "docker-compose.yml"
MIME_TYPES = Path("/etc/nginx/mime.types")


def nginx_binary() -> str:
    """The nginx to run; skips the test where there is none, except in CI, where it fails."""
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin")
    if found:
        return found
    message = "nginx is not installed (apt-get install nginx; .ci/run installs it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message + ": CI must run the proxy tests")
    pytest.skip(message)


# --------------------------------------------------------------------------- rendering

_DEFAULTED = re.compile(r"\$\{(\w+):?-([^}]*)\}")
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


def compose_environment(service: str) -> dict[str, str]:
    """A service's environment as Compose hands it over when neither the shell nor an .env file
    sets anything: ${VAR:-default} is its default, $$ a dollar sign."""
    data = yaml.safe_load(COMPOSE_FILE.read_text("utf-8"))
    resolved = {}
    for name, value in (data["services"][service].get("environment") or {}).items():
        text = _DEFAULTED.sub(lambda m: m.group(2), str(value))
        assert "${" not in text, f"{service}.{name}: a variable without a default: {value}"
        resolved[name] = text.replace("$$", "$")
    return resolved


def envsubst(text: str, environ: Mapping[str, str]) -> str:
    """What the image's /docker-entrypoint.d/20-envsubst-on-templates.sh does to a template:
    `envsubst "$defined_envs"`, defined_envs naming every environment variable that matches
    NGINX_ENVSUBST_FILTER (all of them without one). A reference to any other name (nginx's own
    $host and the like) is left as written, as envsubst leaves it."""
    pattern = environ.get("NGINX_ENVSUBST_FILTER", "")
    defined = {name for name in environ if re.search(pattern, name)}

    def swap(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return environ[name] if name in defined else match.group(0)

    return _REFERENCE.sub(swap, text)


def render(environ: Mapping[str, str], conf_d: Path) -> list[Path]:
    """Each templates/X.template into conf_d/X, as the image renders into /etc/nginx/conf.d."""
    conf_d.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted(TEMPLATES.glob("*.template")):
        target = conf_d / template.name.removesuffix(".template")
        target.write_text(envsubst(template.read_text("utf-8"), environ), "utf-8")
        written.append(target)
    return written


def main_config(prefix: Path, conf_d: Path) -> str:
    """The official image's /etc/nginx/nginx.conf, its paths moved into `prefix` (and one worker:
    the test machines are small). The user directive is left out: as root, workers run as
    nobody; otherwise nginx ignores it anyway."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    mime = f"include {MIME_TYPES};" if MIME_TYPES.is_file() else ""
    return f"""worker_processes 1;
error_log {prefix / "error.log"} notice;
pid {prefix / "nginx.pid"};
events {{
    worker_connections 1024;
}}
http {{
    {mime}
    default_type application/octet-stream;
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" "$http_x_forwarded_for"';
    access_log {prefix / "access.log"} main;
    sendfile on;
    keepalive_timeout 65;
{temp_paths}
    include {conf_d}/*.conf;
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Configured:
    binary: str
    prefix: Path
    config: Path
    port: int
    environ: dict[str, str]

    def argv(self, *extra: str) -> list[str]:
        paths = ["-e", f"{self.prefix}/error.log", "-p", str(self.prefix), "-c", str(self.config)]
        return [self.binary, *paths, *extra]

    def test(self) -> subprocess.CompletedProcess:
        """`nginx -t`: parses the whole configuration, opens its files and listening sockets."""
        return subprocess.run(self.argv("-t"), capture_output=True, text=True, timeout=30)

    def rendered(self) -> str:
        return "".join(p.read_text("utf-8") for p in sorted((self.prefix / "conf.d").glob("*")))


@contextmanager
def configured(upstream: str, **overrides: str) -> Iterator[Configured]:
    """The shipped configuration rendered into a private folder, for `upstream` (host:port)."""
    binary = nginx_binary()
    # Not pytest's tmp_path: nginx's workers (nobody, when started as root) must reach their
    # temp folders, and pytest's base folder is private to its user.
    prefix = Path(tempfile.mkdtemp(prefix="narratives-nginx-"))
    prefix.chmod(0o755)
    try:
        port = free_port()
        environ = {
            **compose_environment("nginx"),
            "API_UPSTREAM": upstream,
            "PROXY_LISTEN": f"127.0.0.1:{port}",  # loopback only in tests
            **overrides,
        }
        conf_d = prefix / "conf.d"
        render(environ, conf_d)
        config = prefix / "nginx.conf"
        config.write_text(main_config(prefix, conf_d), "utf-8")
        yield Configured(binary, prefix, config, port, environ)
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


@dataclass
class Proxy:
    setup: Configured
    process: subprocess.Popen

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.setup.port)

    def log(self, name: str = "error.log") -> str:
        path = self.setup.prefix / name
        return path.read_text("utf-8", "replace") if path.exists() else ""


@contextmanager
def nginx(upstream: str, children: list | None = None, **overrides: str) -> Iterator[Proxy]:
    """nginx running the shipped configuration in front of `upstream`, stopped afterwards (and
    listed in `children` meanwhile, for a watchdog that may have to kill it)."""
    with configured(upstream, **overrides) as setup:
        checked = setup.test()
        assert checked.returncode == 0, f"nginx -t failed:\n{checked.stderr}"
        process = subprocess.Popen(
            setup.argv("-g", "daemon off;"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proxy = Proxy(setup, process)
        listed = children if children is not None else []
        listed.append(process)
        try:
            _wait_for_port(proxy)
            yield proxy
        finally:
            _stop(process)
            listed.remove(process)


def _wait_for_port(proxy: Proxy, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proxy.process.poll() is not None:
            raise RuntimeError("nginx exited:\n" + proxy.log())
        with suppress(OSError), socket.create_connection(proxy.address, timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError("nginx did not listen:\n" + proxy.log())


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # fast shutdown: open connections are not waited on
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


# --------------------------------------------------------------------------- clients


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    elapsed: float


def fetch(
    address: tuple[str, int],
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    source: str = "127.0.0.1",
    timeout: float = 5,
) -> Answer:
    """One request on a new connection from `source` (any 127.x address is this machine)."""
    connection = http.client.HTTPConnection(*address, timeout=timeout, source_address=(source, 0))
    started = time.monotonic()
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        return Answer(response.status, response.headers, data, time.monotonic() - started)
    finally:
        connection.close()


def raw_exchange(address: tuple[str, int], data: bytes, *, timeout: float = 5) -> bytes:
    """Send bytes as they are; read one response (as far as its Content-Length says), or until
    the server closes, or until `timeout` passes quietly."""
    received = b""
    with socket.create_connection(address, timeout=timeout) as sock:
        with suppress(OSError):
            sock.sendall(data)
        with suppress(OSError):
            while not _complete(received) and (chunk := sock.recv(65536)):
                received += chunk
    return received


def _complete(received: bytes) -> bool:
    head, found, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    return bool(found and length and len(body) >= int(length.group(1)))


KINDS = ("request line", "header", "body")


def slow_opening(kind: str, headers: Mapping[str, str]) -> bytes:
    """What a slow client has sent when it goes quiet: part of a request line; a whole request
    line and part of a header; or a whole header (with `headers`, say a key, so the app reads
    the body) announcing a body of which it has sent one byte."""
    if kind == "request line":
        return b"GET /v1/narratives?limit=1"
    if kind == "header":
        return b"GET /readyz HTTP/1.1\r\nHost: slow.example\r\nX-Slow: "
    lines = [
        "POST /v1/narratives HTTP/1.1",
        "Host: slow.example",
        "Content-Type: application/json",
        "Content-Length: 100000",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n{").encode()


class SlowClients:
    """`per_kind` connections of each of KINDS from `source`, held open and fed one byte every
    `interval` seconds (header and body kinds) until closed."""

    def __init__(
        self,
        address: tuple[str, int],
        per_kind: int,
        *,
        source: str = "127.0.0.2",
        interval: float = 1.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.sockets: dict[str, list[socket.socket]] = {kind: [] for kind in KINDS}
        self.closed_after: dict[str, list[float]] = {kind: [] for kind in KINDS}
        self.opened = 0
        self._address, self._source, self._per_kind = address, source, per_kind
        self._openings = {kind: slow_opening(kind, headers or {}) for kind in KINDS}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._interval = interval
        self._started = time.monotonic()
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        try:
            self.replenish()
        except BaseException:
            self.close()
            raise
        self._feeder.start()

    def replenish(self) -> None:
        """Reconnect whatever the server has closed, as a persistent attacker would."""
        self.still_open()
        for kind in KINDS:
            while len(self.sockets[kind]) < self._per_kind:
                sock = socket.create_connection(
                    self._address, timeout=5, source_address=(self._source, 0)
                )
                with self._lock:
                    self.sockets[kind].append(sock)
                self.opened += 1
                sock.sendall(self._openings[kind])

    def __enter__(self) -> SlowClients:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def count(self) -> int:
        return sum(len(socks) for socks in self.sockets.values())

    def _feed(self) -> None:
        while not self._stop.wait(self._interval):
            for kind in ("header", "body"):
                with self._lock:
                    socks = list(self.sockets[kind])
                for sock in socks:
                    try:
                        sock.send(b"a" if kind == "header" else b" ")
                    except OSError:
                        self._drop(kind, sock)

    def _drop(self, kind: str, sock: socket.socket) -> None:
        with self._lock:
            if sock in self.sockets[kind]:
                self.sockets[kind].remove(sock)
                self.closed_after[kind].append(time.monotonic() - self._started)
                sock.close()

    def still_open(self) -> dict[str, int]:
        """How many of each kind the server still holds open, waiting for the rest."""
        for kind, socks in self.sockets.items():
            for sock in list(socks):
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                if poller.poll(0):  # closed, reset or answered: no longer held
                    self._drop(kind, sock)
        with self._lock:
            return {kind: len(socks) for kind, socks in self.sockets.items()}

    def close(self) -> None:
        self._stop.set()
        if self._feeder.is_alive():
            self._feeder.join(timeout=5)
        with self._lock:
            for socks in self.sockets.values():
                for sock in socks:
                    sock.close()
                socks.clear()
