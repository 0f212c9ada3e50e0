"""URL normalisation for sighting identity and lookup.

`url_normalize` does the RFC 3986 work (scheme and host case, default ports, percent-encoding,
dot segments, IDNA). On top of it we drop the fragment and the tracking parameters that make one
article look like many, and sort what is left, so that the same page shared from two places maps
to one key. Scheme and `www.` are kept: they can name different resources.
"""

import functools
import importlib
import re
import unicodedata
from urllib.parse import quote, unquote_to_bytes, urlsplit, urlunsplit

from url_normalize import url_normalize

# The package exports a function of the same name as its module: fetch the module itself.
_url_normalize_module = importlib.import_module("url_normalize.url_normalize")
_library_host_step = _url_normalize_module.normalize_host

# A host of plain letter-digit-hyphen labels is its own IDNA form once lower-cased, but the
# library still runs IDNA on every label (pure Python, about a microsecond a character). Such
# hosts skip it; anything else (IDN, "xn--", "_", IP literals, empty labels) goes to the library.
# The "--" in third and fourth place is IDNA's reserved-prefix rule.
_LDH_LABEL = r"(?![a-z0-9-]{2}--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_LDH_HOST = re.compile(rf"{_LDH_LABEL}(?:\.{_LDH_LABEL})*\.?")


def _host_step(host: str) -> str:
    lowered = host.lower()
    if _LDH_HOST.fullmatch(lowered):
        return lowered.rstrip(".")
    return _library_host_step(host)


# A feed repeats few hosts: memoise the host step (tests/test_urls.py checks the library still
# calls it by that name, and that the shortcut gives the library's answer).
_url_normalize_module.normalize_host = functools.lru_cache(maxsize=4096)(_host_step)

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


# A base (before "?") already in normal form: lower-case http(s), a lower-case letter-digit-hyphen
# host, no user or port, a path of unreserved characters with no empty, "." or ".." segment.
# The library gives such a base back unchanged (an empty path as "/"), at tens of microseconds
# each; most URLs monitors send are of this kind (tests/test_urls.py holds the two equal).
_NORMAL_BASE = re.compile(
    rf"https?://{_LDH_LABEL}(?:\.{_LDH_LABEL})*(?P<path>(?:/(?!\.\.?(?:/|$))[A-Za-z0-9._~-]+)*/?)"
)


# Validation and storage both ask, for the same URLs: room for a whole batch (MAX_BATCH, 1,000)
# keeps that reuse. Not more: a URL may be 2,048 characters, and 4,096 such entries (the URL and
# its key) held ~18 MiB in every worker for good after a few costly batches. A worker empties it
# after each large body, before it trims (service/gunicorn_conf.py, service/memory.py).
NORMALIZE_CACHE = 1024


@functools.lru_cache(maxsize=NORMALIZE_CACHE)
def normalize(url: str) -> str:
    """The identity key of a URL: same page, same key. Callers check url_limits first."""
    base, _, fragment = url.strip().partition("#")
    base, _, query = base.partition("?")
    plain = _NORMAL_BASE.fullmatch(base)
    if plain is not None:
        query = _query(query, fragment)
        base = base if plain["path"] else base + "/"
        return f"{base}?{query}" if query else base
    # The library normalises scheme, user, host, port and path. The query and fragment are not
    # given to it: the fragment is dropped here anyway, and its query step costs several
    # microseconds a parameter; _query below gives the same pairs at a fraction of the cost.
    parts = urlsplit(url_normalize(base))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, _query(query, fragment), ""))


def _query(query: str, fragment: str) -> str:
    """The library's query step, then ours: parse, drop tracking, sort, re-encode.

    The library percent-decodes each name and value, puts it in NFC and re-encodes it, keeping
    "%2B" apart from "+" (a space); decoding once as parse_qsl does, then NFC, gives the same
    pairs (tests/test_url_limits.py holds the two equal on generated queries)."""
    texts = [text for piece in query.split("&") if piece for text in _name_value(piece)]
    if fragment.startswith("!"):  # a "#!" URL names the page its _escaped_fragment_ form does
        texts += ["_escaped_fragment_", fragment[1:].replace("+", "%2B")]
    if not texts:
        return ""
    flat = _decode_all(texts)
    pairs = sorted(
        (name, value)
        for name, value in zip(flat[::2], flat[1::2], strict=True)
        if not _is_tracking(name)
    )
    if not pairs:
        return ""
    # quote() once over all texts, not twice a pair: the separator's UTF-8 bytes (surrogatepass)
    # are never valid UTF-8, so no encoded text holds "%ED%A0%80".
    joined = _SEPARATOR.join(text for pair in pairs for text in pair)
    encoded = quote(joined, safe=" ", errors="surrogatepass").replace(" ", "+").split("%ED%A0%80")
    return "&".join(
        f"{name}={value}" for name, value in zip(encoded[::2], encoded[1::2], strict=True)
    )


def _name_value(piece: str) -> tuple[str, str]:
    name, _, value = piece.partition("=")
    return name, value


# Decoding every text in one unquote_to_bytes call, not one unquote call each (a parameter costs
# microseconds so): texts are joined by a lone surrogate, which no input text holds, and split
# again on its bytes before UTF-8 decoding. Only the escapes "%ED%A0%80" decode to those bytes;
# they are invalid UTF-8 that decodes to three U+FFFD whatever surrounds it, so they are given as
# three escaped U+FFFD instead.
_SEPARATOR = "\ud800"
_SEPARATOR_BYTES = _SEPARATOR.encode("utf-8", "surrogatepass")
_ESCAPED_SEPARATOR = re.compile("%ED%A0%80", re.IGNORECASE)


def _decode_all(texts: list[str]) -> list[str]:
    joined = _ESCAPED_SEPARATOR.sub("%EF%BF%BD" * 3, _SEPARATOR.join(texts).replace("+", " "))
    data = unquote_to_bytes(joined.encode("utf-8", "surrogatepass"))
    return [
        unicodedata.normalize("NFC", part.decode("utf-8", "replace"))
        for part in data.split(_SEPARATOR_BYTES)
    ]


def is_web_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
