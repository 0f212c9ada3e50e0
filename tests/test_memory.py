"""A worker's memory after large requests (service/memory.py): the trim, the collection before
it, the caches it empties, glibc's mmap threshold and the frozen start-up objects."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_memory_is_trimmed_once_the_worker_is_idle_after_a_large_body():
    """glibc keeps freed pages; the worker gives them back after a large request, but only when
    no other request is still in flight (a trim then gives back little), and never for small
    requests; the caches it is given are emptied first. (Mutations: trim at once whatever is in
    flight; trim after every request; never call `forget`.)"""
    from service import memory

    trims, forgotten = [], []
    trimmer = memory.Trimmer(trim=trims.append, forget=(lambda: forgotten.append(True),))
    large = {"CONTENT_LENGTH": str(memory.LARGE_BODY + 1)}
    chunked = {"HTTP_TRANSFER_ENCODING": "chunked"}
    small = {"CONTENT_LENGTH": "100"}

    trimmer.started()
    assert not trimmer.finished(small)
    trimmer.started()
    trimmer.started()
    assert not trimmer.finished(large)  # the other request is still running
    assert trimmer.finished(small)  # the last one out pays the debt
    assert trims == [0]
    trimmer.started()
    assert trimmer.finished(chunked)  # a streamed body (an import) counts as large
    trimmer.started()
    assert not trimmer.finished(small)
    assert trims == [0, 0]
    assert len(forgotten) == 2  # the caches are emptied with each trim, and only then


def test_large_blocks_are_mapped_on_their_own_even_after_a_larger_one_was_freed():
    """tune_malloc fixes glibc's mmap threshold: left dynamic, freeing one large mapped block
    (a 2 MiB body) raises the threshold to its size, and every later block below that comes from
    the heap, where a small survivor can pin it. In a child, as gunicorn's post_fork does.
    (Mutation: set only the arena cap; the 300 KB block then comes from the heap.)"""
    script = textwrap.dedent(
        """
        import ctypes
        from service import memory

        class Info(ctypes.Structure):  # glibc's struct mallinfo2
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]

        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = Info
        assert memory.tune_malloc()
        first = bytearray(4 * 1024 * 1024)  # mapped (above 128 KiB), then freed
        del first
        before = libc.mallinfo2().hblkhd
        second = bytearray(300_000)
        print(libc.mallinfo2().hblkhd - before >= 300_000)
        """
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert found.stdout.strip() == "True"


def test_the_trim_first_collects_what_requests_left_in_cycles():
    """A full collection before the trim (it also empties the free lists), so that memory held
    only until the next automatic collection goes back too. (Mutation: trim without collecting:
    the cycle outlives the trim.)"""
    import gc
    import weakref

    from service import memory

    class Node:
        pass

    trimmer = memory.Trimmer(trim=lambda _pad: 0)
    enabled = gc.isenabled()
    gc.disable()
    try:
        node = Node()
        node.itself = node
        gone = weakref.ref(node)
        del node
        trimmer.started()
        assert trimmer.finished({"CONTENT_LENGTH": str(memory.LARGE_BODY + 1)})
        assert gone() is None
    finally:
        if enabled:
            gc.enable()


def test_a_settled_worker_keeps_what_it_loaded_out_of_collections():
    """settle() (post_worker_init) freezes what the worker loaded, so a full collection walks
    only what requests made: ~0.3 ms instead of ~29. (Mutation: no freeze.)"""
    import gc

    from service import memory

    before = gc.get_freeze_count()
    memory.settle()
    try:
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_the_workers_trim_empties_the_url_cache(tmp_path):
    """gunicorn's config gives its trimmer the URL normalisation cache: after a batch of the
    longest URLs a worker would otherwise keep ~4 MiB of them. (Mutation: a Trimmer with nothing
    to forget.) In a child: the config module sets up the metrics directory of its process."""
    script = textwrap.dedent(
        """
        import service.gunicorn_conf as conf
        from service import memory
        from service.domain import urls

        urls.normalize("https://news.example.org/a?b=c")
        conf._trimmer.started()
        conf._trimmer.finished({"CONTENT_LENGTH": str(memory.LARGE_BODY + 1)})
        print(urls.normalize.cache_info().currsize)
        """
    )
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://unused/x",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT,
        env=env,
    )  # fmt: skip
    assert found.stdout.strip() == "0"
