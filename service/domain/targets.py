"""Where a webhook may be sent: an http(s) URL whose host resolves only to public addresses.

A subscription's URL is checked when it is created and again before every attempt, and the
attempt connects to the very address that was checked: a name that resolved to a public
address at creation and to 169.254.169.254 later (DNS rebinding) is refused then too.
WEBHOOK_ALLOW_PRIVATE_TARGETS lets local receivers (development, tests) through.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(ValueError):
    """The URL is not an allowed target; the message says why, for the client."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (for Host and TLS), without brackets
    port: int
    path: str  # path and query, what the request line carries
    address: str  # the checked IP to connect to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an absolute http(s) URL without credentials."""
    if len(url) > MAX_URL:
        raise Refused(f"Longer than {MAX_URL} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise Refused("Must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused("Not a valid URL.") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise Refused("Must be an http or https URL.")
    if not parts.hostname:
        raise Refused("Must name a host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("Must not carry credentials; the signature authenticates deliveries.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or _DEFAULT_PORTS[scheme], path


def forbidden(address: str) -> str | None:
    """Why an address is no place to send to, or None if it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag, reason in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local (cloud metadata) address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    ):
        if getattr(ip, flag):
            return reason
    if not ip.is_global:  # shared (100.64/10), documentation and other special ranges
        return "a non-public address"
    return None


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"The host '{host}' does not resolve.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def check(url: str, *, allow_private: bool) -> Target:
    """The target to connect to; Refused if the URL or any address it resolves to is not
    allowed (one bad address is enough: a resolver may hand out either)."""
    scheme, host, port, path = parse(url)
    addresses = resolve(host, port)
    if not addresses:
        raise Refused(f"The host '{host}' does not resolve.")
    if not allow_private:
        for address in addresses:
            reason = forbidden(address)
            if reason:
                raise Refused(f"The host '{host}' resolves to {reason} ({address}).")
    return Target(scheme, host, port, path, addresses[0])
