"""Keeping a worker's memory to what it uses.

A batch of a thousand long URLs, or an import's buffers, takes tens of megabytes for the length
of one request. CPython frees those objects, but glibc's malloc keeps the freed pages, in a heap
per thread that touched them (glibc makes up to eight per core), behind whatever small
allocation survived above them. Measured with four threads each posting hostile batches, a
worker grew from 58 to 175 MiB and stayed there. So:

- `tune_malloc` (in each worker, before its threads start) caps the heaps at two, and fixes
  glibc's mmap threshold at 128 KiB: a block at or above it that no free chunk of a heap can
  serve is mapped on its own, and goes back whole when freed. Left alone, glibc raises the
  threshold to the size of each mapped block that is freed (up to 32 MiB), so after one large
  body every later buffer of the kind (a body, its parse, an answer) was carved from the heaps,
  and what survived beside it pinned the pages: 2-3 MiB a worker after the hostile batches, for
  good. (Fixing it also stops glibc raising its trim threshold with it: the heaps' tops go back
  above 128 KiB free rather than a few MiB; no brk or mmap call per request shows for it on
  small requests, and A/B runs differ within this machine's noise.);
- a `Trimmer` trims them (`malloc_trim(0)`, which hands every whole free page back, glibc
  2.8 and later) once the worker is idle after a request whose body was large; about a
  millisecond, paid only then (under load that never lets the worker go idle, not at all:
  the trim waits for the lull). It first empties the caches it is given (`forget`): the URL
  normalisation cache keeps a batch's URLs for its own second look at them, and after a
  batch of the longest URLs that is ~4 MiB a worker would otherwise hold until other URLs
  pushed them out;
- a connection that sent a message of more than a mebibyte is closed rather than lent again
  (service/db.py `retire`; libpq keeps its buffers as large as the largest message).

Together, with four threads, 90 to 120 MiB after the same load (measured at different times).
Elsewhere than glibc (musl, macOS) the tuning and the trim do nothing; the caches are still
emptied and the collection still runs.

And Python's own: before the trim, a full garbage collection, which also empties the
interpreter's free lists and gives their blocks back to the allocator. Without it a worker
took ~1.5 MiB more with every hostile batch until the next automatic full collection (in
process: 76 -> 89 MiB in eight batches, then back to 81), and ended the benchmark anywhere in
that saw-tooth. A full collection walks every tracked object, ~29 ms in a loaded worker, so
`settle` freezes what the worker loaded at start (gc.freeze: the app, its libraries, the
dictionary) out of the collector's sight: the collection then costs ~0.3 ms, and so does
every automatic full collection a request triggers."""

import ctypes
import gc
import threading
from collections.abc import Callable, Sequence

# A body above this (bytes) is worth a trim after its request: a batch of a few hundred
# sightings. Small requests never pay for one.
LARGE_BODY = 256 * 1024


def _libc() -> ctypes.CDLL | None:
    # The process's own symbols, libc's among them: no `find_library`, which runs ldconfig.
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


_LIBC = _libc()
_TRIM = getattr(_LIBC, "malloc_trim", None)
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_M_ARENA_MAX = -8
ARENAS = 2
# glibc's own starting value; setting it, whatever the value, turns its dynamic raising off.
MMAP_THRESHOLD = 128 * 1024


def tune_malloc(arenas: int = ARENAS, mmap_threshold: int = MMAP_THRESHOLD) -> bool:
    """Cap glibc's heaps and fix its mmap threshold for this process (call before it starts
    threads). False where there is no `mallopt` (musl, macOS); glibc's accepts both."""
    mallopt = getattr(_LIBC, "mallopt", None)
    if mallopt is None:
        return False
    mallopt(_M_ARENA_MAX, arenas)
    mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    return True


def settle() -> None:
    """Once a worker has loaded everything it keeps for life (post_worker_init): collect, then
    freeze the survivors, so that later full collections walk only what requests make."""
    gc.collect()
    gc.freeze()


def large_body(environ: dict) -> bool:
    """Whether a request sent more than LARGE_BODY bytes, or a body of unstated length."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return True
    try:
        return int(environ.get("CONTENT_LENGTH") or 0) > LARGE_BODY
    except ValueError:
        return False


class Trimmer:
    """Trims once the worker is idle after a large request. A trim while another request is
    still building its objects gives back little; the last request out does it instead, after
    emptying the `forget` caches and a full collection."""

    def __init__(
        self,
        trim: Callable[[int], int] | None = _TRIM,
        forget: Sequence[Callable[[], None]] = (),
    ) -> None:
        self._trim = trim
        self._forget = forget
        self._lock = threading.Lock()
        self._in_flight = 0
        self._owed = False

    def started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def finished(self, environ: dict) -> bool:
        """After a request (started or not); whether this call emptied, collected and trimmed."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._owed = self._owed or large_body(environ)
            due = self._owed and self._in_flight == 0
            if due:
                self._owed = False
        if due:
            for empty in self._forget:
                empty()
            gc.collect()
            if self._trim is not None:  # glibc's alone
                self._trim(0)
        return due
