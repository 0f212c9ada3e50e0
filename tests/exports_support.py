"""What the export tests share: the demo data, the standards files beside the repository, and a
guard that makes any attempt to reach the network fail the test."""

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

from service.ops import demo

REPO = Path(__file__).resolve().parent.parent
# The CI clones the repository with shared/ beside it; so do the developers' worktrees.
STANDARDS = REPO.parent / "shared" / "standards"

DEMO = demo.dataset()
DEMO_SLUGS = [n["slug"] for n in DEMO["narratives"]]


class NetworkRefused(AssertionError):
    pass


def _loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return address[0] == "localhost"


@pytest.fixture
def no_network(monkeypatch):
    """Refuse every connection that is not to loopback or a Unix socket, and every DNS lookup
    of another host: a library that tries to download a schema or a context fails the test."""
    real_connect = socket.socket.connect

    def connect(self, address):
        if not _loopback(address):
            raise NetworkRefused(f"network access attempted: {address!r}")
        return real_connect(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost") and not _loopback((host,)):
            raise NetworkRefused(f"DNS lookup attempted: {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def load_demo(conn) -> dict[str, Any]:
    """The demo dataset loaded into the test's transaction: {slug: narrative id} and the
    rebuttal ids."""
    demo.load(conn)
    narratives = conn.execute("SELECT id, slug FROM narratives").fetchall()
    rebuttals = conn.execute("SELECT id FROM rebuttals ORDER BY published_at, id").fetchall()
    return {
        "narratives": {row["slug"]: row["id"] for row in narratives},
        "rebuttals": [row["id"] for row in rebuttals],
    }
