"""URL normalisation for sighting identity and lookup.

`url_normalize` does the RFC 3986 work (scheme and host case, default ports, percent-encoding,
dot segments, IDNA). On top of it we drop the fragment and the tracking parameters that make one
article look like many, and sort what is left, so that the same page shared from two places maps
to one key. Scheme and `www.` are kept: they can name different resources.
"""

import functools
import importlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from url_normalize import url_normalize

# The package exports a function of the same name as its module: fetch the module itself.
_url_normalize_module = importlib.import_module("url_normalize.url_normalize")

# IDNA-encoding the host is most of url_normalize's cost and a feed repeats few hosts: memoise
# the library's host step (tests/test_urls.py checks the library still calls it by that name).
_url_normalize_module.normalize_host = functools.lru_cache(maxsize=4096)(
    _url_normalize_module.normalize_host
)

_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "ysclid",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "s_cid",
        "twclid",
        "ttclid",
        "si",
        "cmpid",
        "spm",
    }
)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


@functools.lru_cache(maxsize=4096)  # validation and storage both ask, for the same URLs
def normalize(url: str) -> str:
    """The identity key of a URL: same page, same key."""
    normalized = url_normalize(url.strip())
    parts = urlsplit(normalized)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    query.sort()
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
