"""How a gunicorn worker closes a client's connection once its answer is written.

gunicorn (27) closes every connection as RFC 9112 §9.6 asks: it half-closes, then waits up to
two seconds for the client to close its side, reading what it sends. That wait is there for
request bytes still unread: closing on them would send a reset, and the client could lose the
end of its answer. But a sync worker serves nobody else while it waits, so every request paid a
client's round trip through its event loop (a tenth of a read's time under load, more on a busy
machine), and a client that never closed held the worker for the full two seconds.

Once every byte of a request has been taken off the socket (a request without a body, or one
whose body the app read to its declared length), nothing the client sent can be left unread.
When gunicorn is about to close such a connection (a sync worker always is), it is half-closed, whatever has already arrived behind the request is drained
without waiting, and it is closed at once. Any other request (a body cut short, chunked, or an
error before the app returned) keeps gunicorn's wait.
"""

import contextlib
import socket
import weakref
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
    """gunicorn.util.close_graceful, without the wait when nothing can be left unread."""
    if sock not in _READ_IN_FULL:
        _gunicorn_close(sock, timeout, max_drain)
        return
    _READ_IN_FULL.discard(sock)
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)  # with a timeout set, recv would wait for it even so
        drained = 0
        while drained < max_drain:
            data = sock.recv(65536, socket.MSG_DONTWAIT)
            if not data:
                break
            drained += len(data)
    except OSError:  # nothing more waiting (EAGAIN), or the client has gone
        pass
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def install() -> None:
    """The workers look close_graceful up on gunicorn.util at every call."""
    gunicorn.util.close_graceful = close
