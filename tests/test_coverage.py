"""GET /v1/stats/coverage: per narrative and overall, sightings and rebuttals, whether and how
fast a narrative was rebutted, and its sightings in the week before and after the rebuttal."""

import base64
import json

from service.repo import stats
from tests.factories import create_narrative, create_rebuttal, create_sighting
from tests.problems import assert_problem


def tagged(client, tag, **fields):
    return create_narrative(client, tags=[tag], **fields)["slug"]


def sight(client, slug, at, n=1):
    return [create_sighting(client, slug, observed_at=at) for _ in range(n)]


def coverage(client, **query):
    response = client.get("/v1/stats/coverage", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def slugs(body):
    return [item["narrative"]["slug"] for item in body["items"]]


def test_the_week_before_and_after_the_first_rebuttal(client):
    slug = tagged(client, "windows")
    sight(client, slug, "2024-03-02T12:00:00Z")  # 8 days before: outside
    sight(client, slug, "2024-03-03T12:00:00Z")  # exactly 7 days before: inside
    sight(client, slug, "2024-03-10T11:59:59Z")  # a second before
    sight(client, slug, "2024-03-10T12:00:00Z")  # at the rebuttal: after
    sight(client, slug, "2024-03-17T11:59:59Z")  # the last second of the week after
    sight(client, slug, "2024-03-17T12:00:00Z")  # exactly 7 days after: outside
    [wrong] = sight(client, slug, "2024-03-10T13:00:00Z")
    client.patch(f"/v1/sightings/{wrong['id']}", json={"status": "false_positive"})
    create_rebuttal(client, [slug], published_at="2024-03-10T12:00:00Z")
    create_rebuttal(client, [slug], published_at="2024-03-12T12:00:00Z")

    [item] = coverage(client, tag="windows")["items"]

    assert item == {
        "narrative": item["narrative"],
        "sightings": 6,
        "rebuttals": 2,
        "rebutted": True,
        "first_sighting_at": "2024-03-02T12:00:00Z",
        "first_rebuttal_at": "2024-03-10T12:00:00Z",
        "latency_seconds": 8 * 86400,
        "latency": "P8DT0H0M0S",
        "sightings_7d_before": 2,
        "sightings_7d_after": 2,
    }
    assert item["narrative"]["slug"] == slug


def test_most_sighted_unrebutted_come_first_and_archived_are_left_out(client):
    tag = "ranking"
    quiet = tagged(client, tag)
    loud = tagged(client, tag)
    answered_fast = tagged(client, tag)
    answered_slow = tagged(client, tag)
    gone = tagged(client, tag)
    sight(client, quiet, "2024-03-01T00:00:00Z", 1)
    sight(client, loud, "2024-03-01T00:00:00Z", 3)
    sight(client, answered_fast, "2024-03-01T00:00:00Z", 5)
    sight(client, answered_slow, "2024-03-01T00:00:00Z", 2)
    sight(client, gone, "2024-03-01T00:00:00Z", 9)
    create_rebuttal(client, [answered_fast], published_at="2024-03-01T01:00:00Z")
    create_rebuttal(client, [answered_slow], published_at="2024-03-04T00:00:00Z")
    client.delete(f"/v1/narratives/{gone}")

    assert slugs(coverage(client, tag=tag)) == [loud, quiet, answered_fast, answered_slow]
    assert slugs(coverage(client, tag=tag, sort="sightings")) == [
        answered_fast,
        loud,
        answered_slow,
        quiet,
    ]
    by_latency = coverage(client, tag=tag, sort="latency")
    assert slugs(by_latency)[:2] == [answered_slow, answered_fast]
    assert [i["latency_seconds"] for i in by_latency["items"]] == [3 * 86400, 3600, None, None]

    overall = coverage(client, tag=tag)["overall"]
    assert overall == {
        "narratives": 4,
        "rebutted": 2,
        "unrebutted": 2,
        "sightings": 11,
        "sightings_unrebutted": 4,
        "rebuttals": 2,
        "median_latency_seconds": (3 * 86400 + 3600) // 2,
        "median_latency": "P1DT12H30M0S",
        "sightings_7d_before": 7,
        "sightings_7d_after": 0,
    }


def test_pages_follow_the_sort_to_the_end_with_keyset_cursors(client):
    tag = "paging"
    made = [tagged(client, tag) for _ in range(5)]
    for count, slug in enumerate(made):
        sight(client, slug, "2024-03-01T00:00:00Z", count)
    for sort in ("unrebutted_first", "sightings", "latency"):
        whole = slugs(coverage(client, tag=tag, sort=sort, limit=50))
        seen, cursor = [], None
        while True:
            query = {"tag": tag, "sort": sort, "limit": 2}
            page = coverage(client, **query, **({"cursor": cursor} if cursor else {}))
            seen += slugs(page)
            assert page["overall"]["narratives"] == 5
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole, sort
        if sort != "latency":  # no narrative has a latency: that sort is by id alone
            assert whole == made[::-1], sort


def test_since_counts_recent_sightings_and_rebuttals_but_rebutted_stays_all_time(client):
    slug = tagged(client, "since")
    sight(client, slug, "2024-01-01T00:00:00Z", 2)
    sight(client, slug, "2024-03-01T00:00:00Z", 1)
    create_rebuttal(client, [slug], published_at="2024-01-02T00:00:00Z")

    [item] = coverage(client, tag="since", since="2024-02-01T00:00:00Z")["items"]

    assert (item["sightings"], item["rebuttals"], item["rebutted"]) == (1, 0, True)
    assert item["first_rebuttal_at"] == "2024-01-02T00:00:00Z"
    assert coverage(client, tag="since", since="2024-02-01T00:00:00Z")["overall"]["sightings"] == 1


def test_counts_follow_duplicates_reviews_and_batches_before_and_after_a_fold(client, conn):
    tag = "counting"
    slug = tagged(client, tag)
    [first] = sight(client, slug, "2024-03-01T00:00:00Z")
    duplicate = client.post(
        "/v1/sightings",
        json={k: first[k] for k in ("observed_at", "url", "source", "language")}
        | {"narrative": slug},
    )
    assert duplicate.status_code == 200  # a duplicate: stored nothing
    batch = [
        {
            "narrative": slug,
            "observed_at": "2024-03-02T00:00:00Z",
            "url": f"https://b.example/{i}",
            "source": {"name": "RT", "kind": "outlet"},
            "language": "ru",
        }
        for i in range(3)
    ]
    assert client.post("/v1/sightings", json={"sightings": batch + batch[:1]}).status_code == 200
    client.patch(f"/v1/sightings/{first['id']}", json={"status": "false_positive"})

    def count():
        return coverage(client, tag=tag)["items"][0]["sightings"]

    assert count() == 3
    assert stats.fold(conn) > 0
    assert conn.execute("SELECT count(*) AS n FROM narrative_sighting_deltas").fetchone()["n"] == 0
    assert count() == 3
    client.patch(f"/v1/sightings/{first['id']}", json={"status": "confirmed"})
    assert count() == 4
    stats.fold(conn)
    assert count() == 4


def test_an_empty_selection_has_zero_figures(client):
    body = coverage(client, tag="nothing-carries-this")
    assert body["items"] == [] and body["next_cursor"] is None
    assert body["overall"]["narratives"] == 0
    assert body["overall"]["median_latency_seconds"] is None


# ---------------------------------------------------------------------------------- bad input


def _cursor(*parts):
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def test_bad_and_foreign_cursors_are_400(client):
    tagged(client, "cursors")
    good_id = "00000000-0000-0000-0000-000000000000"
    for cursor in (
        "not-a-cursor",
        _cursor("coverage:sightings", 0, -3, good_id),  # another sort's
        _cursor("narratives", "2024-03-01T00:00:00+00:00", good_id),  # another list's
        _cursor("coverage:unrebutted_first", 0, 2**70, good_id),
        _cursor("coverage:unrebutted_first", 0, "3", good_id),
        _cursor("coverage:unrebutted_first", 0, 3, "not-an-id"),
    ):
        response = client.get("/v1/stats/coverage", query_string={"cursor": cursor})
        assert_problem(response, 400, kind="bad-cursor", errors="cursor")


def test_bad_parameters_are_422(client):
    for query, field in (
        ("sort=newest", "sort"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("since=last-week", "since"),
        ("tag=Not%20A%20Slug", "tag"),
        ("order=sightings", "order"),
    ):
        assert_problem(client.get(f"/v1/stats/coverage?{query}"), 422, errors=field)


def test_readers_may_read_coverage_and_anonymous_callers_may_not(client_for, anon_client):
    assert client_for("reader").get("/v1/stats/coverage").status_code == 200
    assert_problem(anon_client.get("/v1/stats/coverage"), 401)
