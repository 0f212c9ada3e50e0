"""The nginx in front of gunicorn (deploy/nginx/, docker-compose.yml's `nginx` service), run for
real: the shipped template rendered as the official image renders it, `nginx -t`, then Debian's
nginx in front of a real gunicorn with two sync workers, as deployed.

Slow and idle clients must not starve the workers behind the proxy (and, as a control, do starve
them without it); nginx's own errors are problem documents, the app's pass through untouched; the
body cap is the app's; the client address reaches the app; the Server header names no stack.
Skipped where nginx is not installed, except under CI=true, where that is a failure.
"""

import json
import re
import shutil
import subprocess
import time
import uuid

import pytest

from service import config
from tests.live import admin_key, gunicorn
from tests.proxy import (
    COMPOSE_FILE,
    TEMPLATES,
    SlowClients,
    compose_environment,
    configured,
    envsubst,
    fetch,
    free_port,
    nginx,
    nginx_binary,
    raw_exchange,
)

CAP = config.Settings().MAX_CONTENT_LENGTH
PROMPT = 5.0  # seconds: generous, and far under gunicorn's 30 s worker timeout
SLOW_PER_KIND = 10  # 30 slow connections in all: partial request lines, headers and bodies
PROBLEM_MEMBERS = {"type", "title", "status", "detail"}
MANY_FIELDS = b"".join(b"X-%d: a\r\n" % i for i in range(150))  # gunicorn takes 100


@pytest.fixture(scope="module")
def stack(migrated_database):
    """(gunicorn, nginx in front of it, an admin key), for the whole module."""
    nginx_binary()  # skip (or fail, in CI) before starting anything
    with migrated_database("proxy") as url:
        key = admin_key(url, "proxy-admin")
        with gunicorn(url, workers=2, ACCESS_LOG="true", FORWARDED_ALLOW_IPS="127.0.0.1") as app:
            upstream = app.base_url.removeprefix("http://")
            with nginx(upstream) as proxy:
                yield app, proxy, key


def _address(server) -> tuple[str, int]:
    host, port = server.base_url.removeprefix("http://").split(":")
    return host, int(port)


def _problem(answer, status: int) -> dict:
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["Content-Type"] == "application/problem+json", answer.headers
    document = json.loads(answer.body)
    assert set(document) >= PROBLEM_MEMBERS, document
    assert document["status"] == status and document["title"] and document["detail"]
    return document


def _raw_problem(received: bytes, status: int) -> dict:
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status}"), received[:300]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == "application/problem+json", headers
    assert "gunicorn" not in received.decode("latin-1").lower()
    document = json.loads(body[: int(headers["content-length"])])
    assert set(document) >= PROBLEM_MEMBERS and document["status"] == status, document
    return document


# --------------------------------------------------------------------------- the configuration


def test_the_template_is_rendered_from_the_filtered_variables_only():
    environ = compose_environment("nginx")
    names = {n for n in environ if re.search(environ["NGINX_ENVSUBST_FILTER"], n)}
    assert names == {"API_UPSTREAM", "PROXY_LISTEN", "MAX_CONTENT_LENGTH"}
    for template in TEMPLATES.glob("*.template"):
        text = template.read_text("utf-8")
        referenced = set(re.findall(r"\$\{(\w+)\}", text))
        assert referenced == names, f"{template.name} uses {referenced}, the filter lets {names}"
        # nginx's own variables survive, even where the environment has one of the same name.
        clashing = {"NGINX_VERSION": "x", "HOSTNAME": "x", "http_host": "x", "status": "x"}
        rendered = envsubst(text, {**environ, **clashing})
        assert "${" not in rendered
        assert "$remote_addr" in rendered and "$http_host" in rendered and "$status" in rendered
        gettext = shutil.which("envsubst")
        if gettext:  # gettext's envsubst, which the image runs, agrees
            shell_format = " ".join(f"${{{name}}}" for name in sorted(names))
            real = subprocess.run(
                [gettext, shell_format],
                input=text,
                env=environ,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert real == envsubst(text, environ)


def test_the_proxy_body_cap_is_the_services():
    raw = COMPOSE_FILE.read_text("utf-8")
    # Both services read the one variable with the one default ...
    assert raw.count("MAX_CONTENT_LENGTH: ${MAX_CONTENT_LENGTH:-" + str(CAP) + "}") == 2
    assert compose_environment("api")["MAX_CONTENT_LENGTH"] == str(CAP)
    # ... and the rendered nginx configuration caps bodies at exactly service/config.py's default.
    with configured("127.0.0.1:9") as setup:
        caps = re.findall(r"client_max_body_size\s+(\S+);", setup.rendered())
    assert caps == [str(CAP)]


def test_nginx_accepts_the_shipped_configuration():
    # Compose's upstream, api:8000, only resolves inside compose: point it at loopback here.
    with configured(f"127.0.0.1:{free_port()}") as setup:
        checked = setup.test()
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


# --------------------------------------------------------------------------- slow clients


def test_slow_clients_do_not_starve_the_workers_behind_the_proxy(stack):
    _, proxy, key = stack
    auth = {"Authorization": f"Bearer {key}"}
    with SlowClients(proxy.address, SLOW_PER_KIND, headers=auth) as slow:
        time.sleep(0.5)  # let nginx accept them all
        before = slow.still_open()
        assert sum(before.values()) == 3 * SLOW_PER_KIND, before
        answers = [
            fetch(proxy.address, "GET", "/v1/narratives?limit=1", headers=auth, timeout=PROMPT)
            for _ in range(20)
        ]
        after = slow.still_open()
    assert [a.status for a in answers] == [200] * 20
    slowest = max(a.elapsed for a in answers)
    assert slowest < PROMPT, f"slowest answer {slowest:.2f}s"
    # The bodies were still being trickled when the last answer came: the attack never let up.
    assert after["body"] == SLOW_PER_KIND, after


def test_control_the_same_slow_clients_do_starve_sync_workers_without_the_proxy(
    migrated_database,
):
    """The control, against gunicorn's sync worker (GUNICORN_THREADS=1, the default), which reads
    one request at a time. A threaded worker shrugs these 30 off (its poller waits for their
    bytes), but not three times as many (measured): the proxy stays the defence."""
    with (
        migrated_database("proxy_control") as url,
        gunicorn(url, workers=2, GUNICORN_THREADS="1") as app,
    ):
        key = admin_key(url, "proxy-control-admin")
        direct = _address(app)
        with SlowClients(direct, SLOW_PER_KIND, headers={"Authorization": f"Bearer {key}"}):
            time.sleep(0.5)
            with pytest.raises(TimeoutError):
                fetch(direct, "GET", "/healthz", timeout=3)
        # Once they go away, the same workers answer again: it was the slow clients.
        assert fetch(direct, "GET", "/healthz", timeout=10).status == 200


def test_a_client_that_never_finishes_its_header_is_dropped(stack):
    _, proxy, _ = stack
    with SlowClients(proxy.address, 1, interval=0.5) as slow:  # trickles a header byte at a time
        deadline = time.monotonic() + 10
        while slow.still_open()["header"] and time.monotonic() < deadline:
            time.sleep(0.25)
        assert slow.closed_after["header"], "nginx still waits for the header after 10 s"
        assert slow.closed_after["request line"], "nginx still waits for the request line"
    assert max(slow.closed_after["header"]) < 8  # client_header_timeout is 5 s


def test_one_address_cannot_take_every_connection(stack):
    _, proxy, key = stack
    auth = {"Authorization": f"Bearer {key}"}
    # Slow bodies count against limit_conn once their header is in: 16 fill the address's share.
    with SlowClients(proxy.address, 16, source="127.0.0.3", headers=auth) as slow:
        time.sleep(0.5)
        assert slow.still_open()["body"] == 16
        refused = fetch(proxy.address, "GET", "/healthz", source="127.0.0.3")
        others = fetch(proxy.address, "GET", "/healthz", source="127.0.0.1")
    _problem(refused, 429)
    assert others.status == 200


# --------------------------------------------------------------------------- nginx's own errors


def test_a_body_over_the_cap_is_refused_by_the_proxy_and_one_at_the_cap_reaches_the_app(stack):
    _, proxy, key = stack
    over = raw_exchange(
        proxy.address,
        b"POST /v1/narratives.html HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {CAP + 1}\r\n\r\n".encode(),
        timeout=3,
    )
    _raw_problem(over, 413)
    body = json.dumps({"title": "At the cap", "slug": f"cap-{uuid.uuid4().hex[:8]}"}).encode()
    body += b" " * (CAP - len(body))
    at_cap = fetch(
        proxy.address,
        "POST",
        "/v1/narratives",
        body=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert at_cap.status == 201, at_cap.body[:300]


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: %s\r\n" % (b"a" * 7000) * 6 + b"\r\n", 431),
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    ],
    ids=["long request line", "long header field", "large header", "garbage", "unknown coding"],
)
def test_requests_nginx_refuses_get_problem_documents(stack, request_bytes, status):
    _, proxy, _ = stack
    _raw_problem(raw_exchange(proxy.address, request_bytes, timeout=3), status)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + MANY_FIELDS + b"\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400),
    ],
    ids=["more header fields than gunicorn takes", "control character in a header"],
)
def test_requests_gunicorn_refuses_behind_nginx_get_problem_documents(stack, request_bytes, status):
    # nginx lets these through; gunicorn refuses them before the app runs, in its own words.
    app, proxy, _ = stack
    for address in (proxy.address, _address(app)):
        _raw_problem(raw_exchange(address, request_bytes, timeout=3), status)


def test_an_upstream_that_is_down_is_a_502_problem():
    with nginx(f"127.0.0.1:{free_port()}") as proxy:
        _problem(fetch(proxy.address, "GET", "/v1/narratives"), 502)


# --------------------------------------------------------------------------- what passes through


def test_the_apps_own_problems_pass_through_untouched(stack):
    app, proxy, key = stack
    auth = {"Authorization": f"Bearer {key}"}
    via = fetch(proxy.address, "GET", "/v1/narratives/no-such-narrative", headers=auth)
    direct = fetch(_address(app), "GET", "/v1/narratives/no-such-narrative", headers=auth)
    for answer in (via, direct):
        _problem(answer, 404)
    strip = lambda doc: {k: v for k, v in json.loads(doc).items() if k != "request_id"}  # noqa: E731
    assert strip(via.body) == strip(direct.body)
    assert via.headers["X-Request-ID"]  # the app's answer, not nginx's
    unauthorized = fetch(proxy.address, "GET", "/v1/narratives")
    _problem(unauthorized, 401)
    assert unauthorized.headers["WWW-Authenticate"]


def test_the_client_address_reaches_the_app_and_cannot_be_forged(stack):
    app, proxy, _ = stack
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example"}

    def logged_address(address, source) -> str:
        request_id = uuid.uuid4().hex
        headers = {**forged, "X-Request-ID": request_id}
        assert fetch(address, "GET", "/healthz", headers=headers, source=source).status == 200
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for line in app.output().splitlines():
                if request_id in line and '"narratives.access"' in line:
                    return json.loads(line)["remote_addr"]
            time.sleep(0.05)
        raise AssertionError(f"no access line for {request_id}")

    # Through nginx from 127.0.0.2: the app sees 127.0.0.2 (not nginx's 127.0.0.1, and not the
    # forged header, which nginx replaces).
    assert logged_address(proxy.address, "127.0.0.2") == "127.0.0.2"
    # Straight to gunicorn from an address FORWARDED_ALLOW_IPS does not list: header ignored.
    assert logged_address(_address(app), "127.0.0.2") == "127.0.0.2"
    # From the trusted address (the proxy's), the header is believed.
    assert logged_address(_address(app), "127.0.0.1") == "203.0.113.9"


def test_no_server_header_names_the_stack(stack):
    app, proxy, _ = stack
    via = fetch(proxy.address, "GET", "/healthz")
    direct = fetch(_address(app), "GET", "/healthz")
    assert via.headers.get_all("Server") == ["nginx"]  # no version (server_tokens off)
    for answer in (via, direct):
        for value in answer.headers.get_all("Server") or []:
            assert not re.search(r"gunicorn|python|werkzeug|flask|\d", value, re.I), value
    refused = raw_exchange(proxy.address, b"NOT HTTP\r\n\r\n", timeout=3)
    assert b"Server: nginx\r\n" in refused
