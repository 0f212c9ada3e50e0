"""How a gunicorn worker closes a client's connection once its answer is written.

gunicorn (27) closes every connection as RFC 9112 §9.6 asks: it half-closes, then waits up to
two seconds for the client to close its side, reading what it sends. That wait is there for
request bytes still unread: closing on them would send a reset, and the client could lose the
end of its answer. But gunicorn waits in the thread that closes: the sync worker's only one, and
the threaded worker's main thread, which accepts, polls and sends the heartbeat for all its
threads. Every request paid a client's round trip there, a client that never closed held it for
the full two seconds, and a few such clients in a row stalled a threaded worker until the
arbiter killed it, with every other thread's request.

So the wait never happens in the worker's own threads:
- once every byte of a request has been taken off the socket (no body, or a body the app read
  to its declared length), nothing the client sent can be left unread: the connection is
  half-closed, whatever has already arrived is drained without waiting, and it is closed;
- any other (a body cut short, chunked, an error before the app returned) is half-closed and
  handed to one background thread, which keeps gunicorn's wait for all of them at once, on a
  selector, and closes each when its client does or its two seconds are up.
"""

import contextlib
import selectors
import socket
import threading
import time
import weakref
from collections import deque
from typing import Any

import gunicorn.util
from gunicorn.http.body import LengthReader

_gunicorn_close = gunicorn.util.close_graceful
_READ_IN_FULL: "weakref.WeakSet[socket.socket]" = weakref.WeakSet()


def note_answered(environ: dict, response: Any) -> None:
    """gunicorn's post_request hook: mark the connection when gunicorn is about to close it
    and its request was read in full; unmark it otherwise, so that on a kept-alive connection
    (gthread) each request decides afresh and no mark outlives the request that earned it."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return
    if (
        response is not None
        and response.should_close()
        and environ.get("HTTP_VERSION") != "2"  # one socket, many streams: never close early
        and _read_in_full(environ.get("wsgi.input"))
    ):
        _READ_IN_FULL.add(sock)
    else:
        _READ_IN_FULL.discard(sock)


def _read_in_full(body: Any) -> bool:
    """Every declared byte of the body has left the socket (none declared counts)."""
    reader = getattr(body, "reader", None)
    return isinstance(reader, LengthReader) and reader.length == 0 and not body.failed


def close(sock: socket.socket, timeout: float = 2.0, max_drain: int = 65536) -> None:
    """gunicorn.util.close_graceful, without its wait in the calling thread."""
    prompt = sock in _READ_IN_FULL
    _READ_IN_FULL.discard(sock)
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)  # with a timeout set, recv would wait for it even so
        if _drained(sock, max_drain) or prompt:
            _close(sock)
            return
    except OSError:  # the client has gone
        _close(sock)
        return
    LINGERING.add(sock, timeout, max_drain)


def _drained(sock: socket.socket, limit: int) -> bool:
    """Read what has already arrived, without waiting; whether the client has closed (or sent
    more than `limit`, after which there is no point waiting for it)."""
    drained = 0
    while drained < limit:
        try:
            data = sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        if not data:
            return True
        drained += len(data)
    return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


class Lingering:
    """Half-closed connections whose clients may still be sending: read and discarded until the
    client closes, `timeout` passes or `max_drain` bytes came, then closed; by one daemon thread
    on a selector, started on first use (after gunicorn forked the worker). At most `limit` at
    once: past that the oldest is closed at once, so clients that never close cannot pile up
    sockets without end."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._incoming: deque[tuple[socket.socket, float, int]] = deque()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = None, None

    def add(self, sock: socket.socket, timeout: float, max_drain: int) -> None:
        with self._lock:
            if self._thread is None:
                self._wake_r, self._wake_w = socket.socketpair()
                self._wake_r.setblocking(False)
                self._wake_w.setblocking(False)
                self._thread = threading.Thread(
                    target=self._run, name="narratives-lingering", daemon=True
                )
                self._thread.start()
            self._incoming.append((sock, time.monotonic() + timeout, max_drain))
        with contextlib.suppress(OSError):  # a full wake-up pipe already says "wake up"
            self._wake_w.send(b"\0")  # type: ignore[union-attr]

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)  # type: ignore[arg-type]
        waiting: dict[socket.socket, list] = {}  # sock -> [deadline, bytes still allowed]
        while True:
            now = time.monotonic()
            nearest = min((entry[0] for entry in waiting.values()), default=now + 60)
            for key, _ in selector.select(max(0.0, nearest - now)):
                sock = key.fileobj
                if sock is self._wake_r:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)  # type: ignore[union-attr]
                    continue
                entry = waiting[sock]  # type: ignore[index]
                try:
                    data = sock.recv(65536)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                entry[1] -= len(data)
                if not data or entry[1] <= 0:
                    self._forget(selector, waiting, sock)  # type: ignore[arg-type]
            with self._lock:
                while self._incoming:
                    sock, deadline, allowed = self._incoming.popleft()
                    try:
                        selector.register(sock, selectors.EVENT_READ)
                    except (OSError, ValueError):
                        _close(sock)
                        continue
                    waiting[sock] = [deadline, allowed]
            now = time.monotonic()
            for sock in [s for s, (deadline, _) in waiting.items() if deadline <= now]:
                self._forget(selector, waiting, sock)
            while len(waiting) > self.limit:
                self._forget(selector, waiting, min(waiting, key=lambda s: waiting[s][0]))

    @staticmethod
    def _forget(selector: selectors.BaseSelector, waiting: dict, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            selector.unregister(sock)
        waiting.pop(sock, None)
        _close(sock)


LINGERING = Lingering()


def install() -> None:
    """The workers look close_graceful up on gunicorn.util at every call."""
    gunicorn.util.close_graceful = close
