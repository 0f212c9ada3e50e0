"""What a URL may be before anyone normalises it.

Normalising costs CPU per label, per query parameter and per non-ASCII character of the host (IDNA
runs in pure Python, and a name IDNA2008 refuses is tried again under IDNA2003, whose nameprep
costs microseconds a character). Unchecked, one batch of 1,000 hostile URLs took seconds of a
worker's CPU. These limits are checked first, with plain string operations whose cost is linear
and small, so that what reaches the normaliser is bounded; each refusal says which limit it was.

The limits sit far above real links: news and Telegram URLs run to a few hundred characters with
a handful of parameters; DNS itself allows 253 characters a name and 63 a label (RFC 1035); an
internationalised label holds at most 59 characters once its `xn--` form fits in 63, and real
hosts carry one or two such labels of a dozen or so.
"""

import re
from urllib.parse import urlsplit

MAX_URL = 2048  # the sitemaps.org and browser-era convention; the identity index holds as much
MAX_HOST = 253  # RFC 1035, so at most 127 labels
MAX_LABEL = 63
MAX_HOST_NON_ASCII = 32  # characters IDNA must map and encode (see the module docstring)
MAX_IDN_LABELS = 4  # labels holding any of them
MAX_PATH_ESCAPES = 256  # percent-escapes in the path: 128 non-Latin characters of a slug
MAX_QUERY_PARAMETERS = 100

# C0 and C1 controls and DEL: never part of a link, and url-normalize would silently drop tabs
# and newlines, so that two different strings would name one page.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# UTS 46 maps these to "." before splitting a name into labels.
_LABEL_SEPARATORS = re.compile(r"[.\u3002\uff0e\uff61]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def problem(url: str) -> str | None:
    """Why `url` may not be normalised, or None if it may. Cost: linear in len(url)."""
    if len(url) > MAX_URL:
        return f"Longer than {MAX_URL} characters."
    if _CONTROL.search(url):
        return "Must not contain control characters."
    try:
        parts = urlsplit(url)
    except ValueError:
        return "Not a valid URL."
    if "@" in parts.netloc:
        # Credentials do not name a page, and must not be stored with one.
        return "Must not carry a user name or password."
    host = parts.hostname or ""
    if len(host) > MAX_HOST:
        return f"The host name is longer than {MAX_HOST} characters."
    if any(len(label) > MAX_LABEL for label in _LABEL_SEPARATORS.split(host)):
        return f"A label of the host name is longer than {MAX_LABEL} characters."
    if not host.isascii():
        if len(_NON_ASCII.findall(host)) > MAX_HOST_NON_ASCII:
            return f"The host name holds more than {MAX_HOST_NON_ASCII} non-ASCII characters."
        labels = _LABEL_SEPARATORS.split(host)
        if sum(1 for label in labels if not label.isascii()) > MAX_IDN_LABELS:
            return f"The host name has more than {MAX_IDN_LABELS} internationalised labels."
    if parts.path.count("%") > MAX_PATH_ESCAPES:
        return f"The path holds more than {MAX_PATH_ESCAPES} percent-escapes."
    # Counted as the normaliser splits them: empty pieces ("a&&b") are no parameters.
    if parts.query.count("&") + 1 > MAX_QUERY_PARAMETERS and (
        sum(1 for piece in parts.query.split("&") if piece) > MAX_QUERY_PARAMETERS
    ):
        return f"More than {MAX_QUERY_PARAMETERS} query parameters."
    return None
