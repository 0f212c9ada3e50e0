"""How a gunicorn worker lets go of a connection after answering (service/closing.py), against a
real gunicorn with one worker, sync or threaded: the thread that closes a connection (the sync
worker's only one, the threaded worker's main thread) serves nobody while it waits."""

import socket
import time

import pytest

from tests.live import gunicorn

# gunicorn lingers up to 2 s for the client's close; well under it, well over a local answer.
UNDER_THE_LINGER = 1.5


@pytest.fixture(scope="module")
def one_worker(migrated_database):
    """The sync worker (threads = 1): it closes every connection after its answer."""
    with (
        migrated_database("closing") as url,
        gunicorn(url, workers=1, GUNICORN_THREADS="1") as live,
    ):
        host, port = live.base_url.removeprefix("http://").split(":")
        yield host, int(port)


@pytest.fixture(scope="module")
def threaded_worker(migrated_database):
    """gthread (threads > 1): connections are kept alive, one socket serves many requests."""
    with (
        migrated_database("closing_threads") as url,
        gunicorn(url, workers=1, GUNICORN_THREADS="4") as live,
    ):
        host, port = live.base_url.removeprefix("http://").split(":")
        yield host, int(port)


def _read_to_end(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _get(address, path: str = "/healthz") -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: tests\r\n\r\n".encode())
    return sock


def test_a_client_that_keeps_its_socket_open_does_not_hold_the_worker(one_worker):
    """A request read in full is closed at once: the next client is answered while the first
    still holds its end open (mutation: gunicorn's two-second linger for every request, and
    the second client waits it out)."""
    first = _get(one_worker)
    assert _read_to_end(first).startswith(b"HTTP/1.1 200 ")
    try:
        started = time.monotonic()
        second = _get(one_worker)
        second.settimeout(UNDER_THE_LINGER)
        answer = _read_to_end(second)
        waited = time.monotonic() - started
        second.close()
    finally:
        first.close()

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert waited < UNDER_THE_LINGER


def _send_early_refused_body(sock: socket.socket) -> bytes:
    """POST a body in three parts that the app refuses (no key) before reading any of it, the
    parts sent after the refusal is written; returns the whole answer."""
    part = b"x" * 20_000
    sock.sendall(
        b"POST /v1/sightings HTTP/1.1\r\nHost: tests\r\nContent-Type: application/json\r\n"
        + f"Connection: close\r\nContent-Length: {3 * len(part)}\r\n\r\n".encode()
    )
    head = sock.recv(65536)  # the refusal, written before any of the body was read
    for _ in range(3):
        time.sleep(0.2)  # the worker is closing by now, and so a reset would be back
        sock.sendall(part)
    return head + _read_to_end(sock)


def test_a_body_left_unread_by_an_early_answer_is_still_taken_in(one_worker):
    """An early refusal (no key) leaves the body on the socket. The worker keeps gunicorn's
    linger and reads what the client goes on sending, rather than meeting it with a reset,
    which would destroy whatever of the answer was still on its way (mutation: close every
    connection at once, and the client's later writes fail with a reset)."""
    sock = socket.create_connection(one_worker, timeout=10)
    try:
        answer = _send_early_refused_body(sock)
    finally:
        sock.close()

    assert answer.startswith(b"HTTP/1.1 401 ")
    assert answer.rstrip().endswith(b"}")


def test_a_kept_alive_connections_mark_does_not_outlive_its_request(threaded_worker):
    """Under gthread one socket serves several requests: a GET read in full, answered and kept
    alive, must not leave the connection marked for a prompt close, or a later request whose
    body is left unread is closed on at once (mutation: mark when the app returns, as the first
    version did, and never unmark: the client's later writes fail with a reset)."""
    sock = socket.create_connection(threaded_worker, timeout=10)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: tests\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += sock.recv(65536)
        head, _, body = first.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        while len(body) < length:
            body += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in head.lower()

        answer = _send_early_refused_body(sock)
    finally:
        sock.close()

    assert answer.startswith(b"HTTP/1.1 401 ")
    assert answer.rstrip().endswith(b"}")


@pytest.mark.parametrize("threads", ["4", "1"])
def test_clients_that_never_close_after_an_unread_body_do_not_stall_the_worker(
    migrated_database, threads
):
    """A body left unread keeps gunicorn's wait for the client to close, but in a background
    thread, for all such connections at once. gunicorn waits in the thread that closes: six
    clients that keep their sockets open held one worker for 12 s, and the threaded worker,
    whose main thread sends the heartbeat, was killed as stuck (mutation: linger in place,
    gunicorn's close_graceful, and /healthz waits behind them)."""
    with (
        migrated_database(f"closing_linger_{threads}") as url,
        gunicorn(url, workers=1, GUNICORN_THREADS=threads, GUNICORN_TIMEOUT="5") as live,
    ):
        host, port = live.base_url.removeprefix("http://").split(":")
        holders = []
        try:
            for _ in range(6):
                sock = socket.create_connection((host, int(port)), timeout=10)
                sock.sendall(
                    b"POST /nope HTTP/1.1\r\nHost: tests\r\nConnection: close\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 10\r\n\r\n0123456789"
                )
                holders.append(sock)
            time.sleep(0.5)
            started = time.monotonic()
            probe = socket.create_connection((host, int(port)), timeout=10)
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: tests\r\nConnection: close\r\n\r\n")
            probe.settimeout(UNDER_THE_LINGER)
            answer = _read_to_end(probe)
            waited = time.monotonic() - started
            probe.close()
            # Each holder got its answer, and its connection is closed within gunicorn's two
            # seconds even though the client never closes.
            for sock in holders:
                sock.settimeout(4)
                assert _read_to_end(sock).startswith(b"HTTP/1.1 404 ")
        finally:
            for sock in holders:
                sock.close()
        assert "WORKER TIMEOUT" not in live.output()
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert waited < UNDER_THE_LINGER
