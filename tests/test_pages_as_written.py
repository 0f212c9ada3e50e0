"""List pages pass their nested objects through as PostgreSQL wrote them (service/repo/pages.py's
`fetch` with `json_as_written`): the bytes must be the ones the same rows make when parsed into
dicts and written by orjson, whatever the strings hold, and the pooled connection's own
statements must still get dicts."""

import orjson
import pytest

from service.repo import rebuttals, sightings
from service.repo.pages import Page
from service.web import jsonio, pagination
from tests.factories import create_narrative, create_rebuttal, create_sighting

# Quotes, a backslash, control characters, non-ASCII, an astral character, a line separator and
# markup: what an escaping difference between PostgreSQL and orjson would show in.
TRICKY = 'Q "quoted" \\ back\tslash\n\u0001\u001f\u007f é 😀 \u2028 </script> &'


@pytest.fixture
def tricky(client, conn):
    narrative = create_narrative(client, slug="tricky-strings")
    create_narrative(client, slug="tricky-other")
    sighting = create_sighting(client, "tricky-strings")
    create_sighting(client, "tricky-strings", actor=None)
    rebuttal = create_rebuttal(client, ["tricky-strings", "tricky-other"])
    conn.execute("UPDATE narratives SET title = %s WHERE slug = 'tricky-strings'", (TRICKY,))
    conn.execute(
        "UPDATE sightings SET source_name = %(t)s, actor_name = %(t)s, actor_role = NULL,"
        " reported_in_url = 'https://x.example/', reported_in_name = %(t)s WHERE id = %(id)s",
        {"t": TRICKY, "id": sighting["id"]},
    )
    conn.execute(
        "UPDATE rebuttals SET issuer_name = %(t)s, issuer_role = NULL WHERE id = %(id)s",
        {"t": TRICKY, "id": rebuttal["id"]},
    )
    return narrative


def _page(listing, rows, key):
    return jsonio.dumps_bytes(pagination.page(listing, rows, 50, key))


@pytest.mark.parametrize("by_narrative", [False, True])
def test_pages_as_written_are_the_bytes_of_pages_of_dicts(conn, tricky, by_narrative):
    """Red when a page's SQL builds an object with json_build_object or json_agg (they space
    their colons and commas) or when an escape differs."""
    scope = {"narrative_id": tricky["id"]} if by_narrative else {}
    for repo, listing, key in (
        (sightings, "sightings", "observed_at"),
        (rebuttals, "rebuttals", "published_at"),
    ):
        as_written = repo.list_page(conn, Page(50), json_as_written=True, **scope)
        as_dicts = repo.list_page(conn, Page(50), **scope)
        assert isinstance(as_written[0][next(k for k in as_written[0] if k in _NESTED)],
                          orjson.Fragment)  # fmt: skip
        assert _page(listing, as_written, key) == _page(listing, as_dicts, key)
        assert TRICKY in _strings(orjson.loads(_page(listing, as_written, key)))


_NESTED = {"narrative", "source", "issuer"}


def _strings(value):
    """Every string in a parsed document."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return set()


def test_the_connections_own_statements_still_get_dicts(conn, tricky):
    """The loader is the cursor's own: red when it is registered on the (pooled) connection,
    whose next statement would hand a Fragment to code that reads a dict."""
    rows = sightings.list_page(conn, Page(50), json_as_written=True)
    again = sightings.get(conn, rows[0]["id"])
    assert again["narrative"]["slug"] == "tricky-strings"
    assert isinstance(sightings.list_page(conn, Page(50))[0]["source"], dict)


def test_the_api_pages_pass_the_objects_through(client, tricky):
    """The list views ask for them as written, and the answer still parses to the documented
    shape."""
    for path in ("/v1/sightings", "/v1/narratives/tricky-strings/rebuttals"):
        response = client.get(path)
        assert response.status_code == 200
        assert TRICKY in _strings(response.get_json())
    items = client.get("/v1/narratives/tricky-strings/sightings").get_json()["items"]
    assert {item["source"]["name"] for item in items} >= {TRICKY}
