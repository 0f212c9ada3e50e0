"""Every curl in the README works as printed, against a real gunicorn serving the demo data.

Blocks run in README order through bash (state carries over: create, then patch, then
archive). Only the base URL is rewritten. A block that is meant to show an error must show one;
every other block must print no problem document."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from service import db
from service.ops import demo
from tests.live import admin_key, gunicorn

README = Path(__file__).resolve().parent.parent / "README.md"
BASE = "http://127.0.0.1:8000"
PROBLEM = re.compile(r'"type":\s*"(urn:narrative-tracker:problem:|about:blank)')


def curl_blocks() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    return [block for block in blocks if "curl " in block and BASE in block]


@pytest.fixture(scope="module")
def demo_server(migrated_database):
    with migrated_database("readme") as url:
        with db.connect(url) as conn, conn.transaction():
            demo.load(conn)
        key = admin_key(url, "readme-admin")
        with gunicorn(url, workers=1) as live:
            live.authorize(key)
            yield live


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory):
    """PATH with real curl, or a minimal stand-in where the machine has none."""
    env = {**os.environ, "NO_PROXY": "*"}
    if shutil.which("curl") is None:
        bin_dir = tmp_path_factory.mktemp("bin")
        shim = bin_dir / "curl"
        shim.write_text(f"#!{sys.executable}\n" + CURL_SHIM)
        shim.chmod(0o755)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def test_the_readme_has_curl_examples():
    assert len(curl_blocks()) >= 7


def test_every_readme_curl_works_as_printed(demo_server, shell_env):
    shell_env = {**shell_env, "NT_KEY": demo_server.headers["Authorization"].split()[1]}
    for block in curl_blocks():
        script = "set -eu\n" + block.replace(BASE, demo_server.base_url)
        result = subprocess.run(
            ["bash", "-c", script], env=shell_env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{block}\n{result.stderr}"
        shows_error = "nope" in block or "no key" in block
        assert bool(PROBLEM.search(result.stdout)) == shows_error, f"{block}\n{result.stdout}"


CURL_SHIM = r"""
import json, sys, urllib.request, urllib.error
args, method, headers, data, url = sys.argv[1:], None, {}, None, None
i = 0
while i < len(args):
    a = args[i]
    if a in ("-X", "--request"): method = args[i + 1]; i += 1
    elif a in ("-H", "--header"):
        k, v = args[i + 1].split(":", 1); headers[k.strip()] = v.strip(); i += 1
    elif a in ("-d", "--data"): data = args[i + 1].encode(); i += 1
    elif a == "--data-binary":
        data = open(args[i + 1][1:], "rb").read() if args[i + 1].startswith("@") else args[i + 1].encode(); i += 1
    elif a.startswith("-"): pass
    else: url = a
    i += 1
req = urllib.request.Request(url, data=data, method=method, headers=headers)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    body = opener.open(req, timeout=30).read()
except urllib.error.HTTPError as e:
    body = e.read()
sys.stdout.write(body.decode())
"""
