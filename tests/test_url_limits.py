"""URL limits: what may not be normalised is refused first, cheaply and by name; what may be
keeps the key it always had, at a cost linear in its size."""

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from url_normalize import url_normalize

from service.domain import url_limits, urls
from tests.factories import create_narrative, rebuttal_body, sighting_body

NARRATIVE = "ukrainian-window"


@pytest.fixture
def narrative(client):
    return create_narrative(client, slug=NARRATIVE)


def key_as_before(url: str) -> str:
    """The identity key as it was computed before the limits: the library over the whole URL,
    then parse_qsl, tracking filter, sort, urlencode."""
    normalized = url_normalize(url.strip())
    parts = urlsplit(normalized)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not urls._is_tracking(name)
    ]
    query.sort()
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


_text = st.lists(
    st.sampled_from(
        [
            *"aZ09-._~+=&!$'()*,;:@/? ",
            "%2B",
            "%2b",
            "%26",
            "%3D",
            "%41",
            "%20",
            "%25",
            "%D1%8F",
            "%D1",
            "%8F",
            "%ff",
            *["%ED%A0%80", "%ed%a0%80", "я", "e\u0301", "\u212a", "中", "\ufffd", "utm_", "fbclid"],
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_text, fragment=_text)
def test_the_one_pass_query_gives_the_librarys_key(query, fragment):
    url = f"https://example.com/p?{query}#{fragment}"
    if url_limits.problem(url) is None:
        assert urls.normalize.__wrapped__(url) == key_as_before(url)


_ldh_label = st.from_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(labels=st.lists(_ldh_label, min_size=1, max_size=5), dot=st.booleans())
def test_the_host_shortcut_gives_the_librarys_answer(labels, dot):
    host = ".".join(labels) + ("." if dot else "")
    try:
        expected = urls._library_host_step(host)
    except UnicodeError:
        return  # the library refuses "ab--c": the shortcut must not take it either
    assert urls._host_step(host) == expected


@pytest.mark.parametrize("host", ["ab--cd.com", "xn--e1afmkfd.xn--p1ai", "a_b.com", "-a.com"])
def test_hosts_the_shortcut_must_leave_to_the_library(host):
    assert urls._LDH_HOST.fullmatch(host.lower()) is None


def _host(length: int, label: int = 63) -> str:
    labels, left = [], length
    while left > 0:
        take = min(label, left)
        labels.append("a" * take)
        left -= take + 1
    return ".".join(labels)[:length].rstrip(".")


TOO_MUCH = {
    "host": "https://" + _host(254) + "/",
    "label": "https://" + "a" * 64 + ".com/",
    "non-ascii host": "https://" + "я" * 33 + ".com/",
    "idn labels": "https://" + "я." * 5 + "com/",
    "parameters": "https://e.com/?" + "&".join(f"p{i}=1" for i in range(101)),
    "path escapes": "https://e.com/" + "%41" * 257,
    "control": "https://e.com/a\tb",
    "credentials": "https://user:pw@e.com/",
    "length": "https://e.com/" + "a" * 2040,
}
AT_THE_LIMIT = {
    "host": "https://" + _host(253) + "/",
    "label": "https://" + "a" * 63 + ".com/",
    "non-ascii host": "https://" + "я" * 16 + "." + "я" * 16 + ".com/",
    "idn labels": "https://" + "я." * 4 + "com/",
    "parameters": "https://e.com/?" + "&".join(f"p{i}=1" for i in range(100)),
    "path escapes": "https://e.com/" + "%41" * 256,
    "length": "https://e.com/" + "a" * (2048 - 14),
}


@pytest.mark.parametrize("name", sorted(TOO_MUCH))
def test_each_limit_refuses_a_single_sighting_by_field(client, conn, narrative, name):
    response = client.post("/v1/sightings", json=sighting_body(NARRATIVE, url=TOO_MUCH[name]))
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["url"]
    assert conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"] == 0


@pytest.mark.parametrize("name", sorted(AT_THE_LIMIT))
def test_each_limit_lets_its_boundary_through(client, narrative, name):
    url = AT_THE_LIMIT[name]
    assert url_limits.problem(url) is None
    response = client.post("/v1/sightings", json=sighting_body(NARRATIVE, url=url))
    assert response.status_code == 201, response.get_json()


def test_a_batch_of_refused_urls_writes_nothing(client, conn, narrative):
    items = [sighting_body(NARRATIVE, url=url) for url in TOO_MUCH.values()]
    response = client.post("/v1/sightings", json={"sightings": items})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {f"sightings.{i}.url" for i in range(len(items))}
    assert conn.execute("SELECT count(*) AS n FROM sightings").fetchone()["n"] == 0


def test_the_limits_hold_for_rebuttals_and_the_url_filter(client, conn, narrative):
    bad = TOO_MUCH["non-ascii host"]
    rebuttal = client.post("/v1/rebuttals", json=rebuttal_body([NARRATIVE], url=bad))
    assert rebuttal.status_code == 422 and list(rebuttal.get_json()["errors"]) == ["url"]
    assert conn.execute("SELECT count(*) AS n FROM rebuttals").fetchone()["n"] == 0
    listing = client.get("/v1/sightings", query_string={"url": bad})
    assert listing.status_code == 422 and list(listing.get_json()["errors"]) == ["url"]


def _cpu(build, n: int, repeat: int = 30) -> float:
    urls.normalize.cache_clear()
    inputs = [build(n, i) for i in range(repeat)]  # distinct: no cache may hide the cost
    start = time.process_time()
    for url in inputs:
        assert url_limits.problem(url) is None
        urls.normalize(url)
    return time.process_time() - start


SHAPES = {
    "query": lambda n, i: f"https://e{i}.com/?" + "&".join(["%41%42=%43%2B%44"] * n),
    "path": lambda n, i: f"https://e{i}.com/" + "%2B/./" * n,
    "fragment": lambda n, i: f"https://e{i}.com/#!" + "%2B" * (5 * n),
    "host": lambda n, i: f"https://x{i}." + "a." * n + "com/",
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_normalising_costs_linear_time_up_to_the_limits(shape):
    """Four times the input costs at most eight times the CPU (linear, with room for noise);
    compared in-process, so the figure does not depend on the machine."""
    build = SHAPES[shape]
    _cpu(build, 25)  # warm caches of code and regexes
    small, large = _cpu(build, 25), _cpu(build, 100)
    assert large / small < 8, (shape, small, large)


def test_the_issues_hostile_batch_is_refused_before_normalising(monkeypatch):
    """The reported shape (1,000 items, hosts of a thousand IDN labels) never reaches IDNA."""
    calls = []
    monkeypatch.setattr(urls, "_library_host_step", lambda host: calls.append(host) or host)
    for i in range(1000):
        assert url_limits.problem("https://" + "я." * 1000 + f"x{i}.com/") is not None
    assert calls == []


@pytest.mark.parametrize("parameters", [1, 10, 100])
def test_a_query_is_decoded_and_encoded_once_whatever_its_size(monkeypatch, parameters):
    """The structure that keeps the query step cheap: one decoding and one encoding call per
    URL, not several per parameter (which cost 2.5 s a batch before)."""
    calls = {"decode": 0, "encode": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(urls, "unquote_to_bytes", counted("decode", urls.unquote_to_bytes))
    monkeypatch.setattr(urls, "quote", counted("encode", urls.quote))
    query = "&".join(f"p{i}=%D1%8F+{i}" for i in range(parameters))
    assert urls.normalize.__wrapped__(f"https://e.com/?{query}").count("&") == parameters - 1
    assert calls == {"decode": 1, "encode": 1}


def test_a_plain_host_never_reaches_idna(monkeypatch):
    calls = []
    monkeypatch.setattr(urls, "_library_host_step", lambda host: calls.append(host) or host)
    assert urls._host_step("A." * 120 + "Example.COM.") == "a." * 120 + "example.com"
    assert calls == []
