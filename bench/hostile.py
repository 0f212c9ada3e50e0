"""Hostile but valid URLs: each within every limit of service/domain/url_limits.py and accepted, and
each as costly to normalise as those limits allow (issue 7, item 2). bench/lua/post_hostile.lua
makes the same four shapes; reliability/test_hostile_urls.py posts them to a live server."""

HOSTILE_BATCH = 1000  # the most a batch may hold; the body stays under the 2 MiB cap


def url(id_: str, n: int) -> str:
    """Shape n % 4, unique by id_ (and by host where the host is the costly part, so that no
    cache of hosts can hide the cost)."""
    shape = n % 4
    if shape == 0:  # 81 parameters, every name and value percent-escaped, %2B kept apart
        return f"https://news.example.org/{id_}?" + "%41%42=%43%2B%44&" * 80 + "z=1"
    if shape == 1:  # an IDN host at the limits, IDNA2008 refuses its last label (IDNA2003 takes it)
        host = f"h{n}" + "я" * 15 + "." + "я" * 16 + ".\u2764"
        return f"https://{host}/{id_}/" + "%D1%8F" * 120
    if shape == 2:  # reserved escapes and dot segments in the path
        return f"https://news.example.org/{id_}/" + "%2B" * 250 + "/." * 300
    return f"https://news.example.org/{id_}#!" + "%2B" * 450  # a "#!" fragment turned query
