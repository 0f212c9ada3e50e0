"""GET /v1/narratives/{ref}/timeline: sightings per UTC bucket, split by source kind and
language, zeros included, with the narrative's rebuttals on the same axis."""

from tests.factories import create_narrative, create_rebuttal, create_sighting
from tests.problems import assert_problem

KINDS = {"outlet": 0, "channel": 0, "account": 0, "official": 0, "other": 0}


def sight(client, slug, at, *, kind="outlet", language="ru"):
    return create_sighting(
        client, slug, observed_at=at, source={"name": "SHOT", "kind": kind}, language=language
    )


def timeline(client, ref, **query):
    response = client.get(f"/v1/narratives/{ref}/timeline", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_days_are_counted_per_utc_day_with_empty_days_as_zeros(client):
    slug = create_narrative(client)["slug"]
    sight(client, slug, "2024-03-01T00:00:00Z", kind="outlet", language="ru")
    sight(client, slug, "2024-03-01T23:59:59Z", kind="channel", language="en")
    # 23:30 at UTC-05:00 is 04:30 UTC the next day: buckets are UTC days.
    sight(client, slug, "2024-03-01T23:30:00-05:00", kind="channel", language="RU")
    sight(client, slug, "2024-03-04T12:00:00Z", kind="account", language="uk")

    body = timeline(client, slug, interval="day")

    assert body["narrative"]["slug"] == slug
    assert (body["interval"], body["from"], body["to"]) == (
        "day",
        "2024-03-01T00:00:00Z",
        "2024-03-05T00:00:00Z",
    )
    starts = [b["start"] for b in body["buckets"]]
    assert starts == [f"2024-03-0{d}T00:00:00Z" for d in (1, 2, 3, 4)]
    assert [b["sightings"] for b in body["buckets"]] == [2, 1, 0, 1]
    zero_day = body["buckets"][2]
    assert zero_day["by_source_kind"] == KINDS
    assert zero_day["by_language"] == {"en": 0, "ru": 0, "uk": 0}
    assert body["buckets"][0]["by_source_kind"] == {**KINDS, "outlet": 1, "channel": 1}
    assert body["buckets"][0]["by_language"] == {"en": 1, "ru": 1, "uk": 0}
    assert body["buckets"][1]["by_language"] == {"en": 0, "ru": 1, "uk": 0}
    assert body["totals"]["sightings"] == 4
    assert body["totals"]["by_source_kind"] == {**KINDS, "outlet": 1, "channel": 2, "account": 1}
    assert body["totals"]["by_language"] == {"en": 1, "ru": 2, "uk": 1}


def test_hours_split_at_the_hour_and_cross_midnight_utc(client):
    slug = create_narrative(client)["slug"]
    for at in ("2024-12-31T22:59:59Z", "2024-12-31T23:00:00Z", "2025-01-01T00:00:00Z"):
        sight(client, slug, at)
    sight(client, slug, "2025-01-01T01:30:00+01:00")  # 00:30 UTC

    body = timeline(
        client,
        slug,
        interval="hour",
        **{"from": "2024-12-31T22:00:00Z", "to": "2025-01-01T01:00:00Z"},
    )

    assert [(b["start"], b["sightings"]) for b in body["buckets"]] == [
        ("2024-12-31T22:00:00Z", 1),
        ("2024-12-31T23:00:00Z", 1),
        ("2025-01-01T00:00:00Z", 2),
        ("2025-01-01T01:00:00Z", 0),
    ]
    assert body["to"] == "2025-01-01T02:00:00Z"


def test_weeks_start_on_monday_utc_and_the_range_widens_to_whole_weeks(client):
    slug = create_narrative(client)["slug"]
    sight(client, slug, "2024-03-03T23:59:59Z")  # Sunday: the week of Monday 26 February
    sight(client, slug, "2024-03-04T00:00:00Z")  # Monday
    sight(client, slug, "2024-03-10T12:00:00Z")  # Sunday of that week
    sight(client, slug, "2024-03-20T12:00:00Z")

    body = timeline(client, slug, interval="week")

    assert [(b["start"], b["sightings"]) for b in body["buckets"]] == [
        ("2024-02-26T00:00:00Z", 1),
        ("2024-03-04T00:00:00Z", 2),
        ("2024-03-11T00:00:00Z", 0),
        ("2024-03-18T00:00:00Z", 1),
    ]
    assert (body["from"], body["to"]) == ("2024-02-26T00:00:00Z", "2024-03-25T00:00:00Z")


def test_false_positives_and_other_narratives_are_not_counted(client):
    slug = create_narrative(client)["slug"]
    other = create_narrative(client)["slug"]
    sight(client, slug, "2024-03-01T10:00:00Z")
    wrong = sight(client, slug, "2024-03-01T11:00:00Z")
    sight(client, other, "2024-03-01T12:00:00Z")
    response = client.patch(f"/v1/sightings/{wrong['id']}", json={"status": "false_positive"})
    assert response.status_code == 200

    body = timeline(client, slug, interval="day")

    assert [b["sightings"] for b in body["buckets"]] == [1]
    assert body["totals"]["sightings"] == 1


def test_rebuttals_are_dated_events_on_the_same_axis(client):
    slug = create_narrative(client)["slug"]
    sight(client, slug, "2024-03-01T10:00:00Z")
    sight(client, slug, "2024-03-05T10:00:00Z")
    inside = create_rebuttal(
        client, [slug], published_at="2024-03-03T18:30:00Z", verdict="misleading"
    )
    create_rebuttal(client, [slug], published_at="2024-04-01T00:00:00Z")  # after the range

    body = timeline(client, slug, interval="day")

    assert body["rebuttals"] == [
        {
            "id": inside["id"],
            "published_at": "2024-03-03T18:30:00Z",
            "bucket": "2024-03-03T00:00:00Z",
            "verdict": "misleading",
            "issuer": inside["issuer"],
            "url": inside["url"],
        }
    ]
    assert body["totals"]["rebuttals"] == 1
    assert "2024-03-03T00:00:00Z" in [b["start"] for b in body["buckets"]]


def test_a_narrative_without_sightings_shows_the_last_30_days_of_zeros(client):
    slug = create_narrative(client)["slug"]

    body = timeline(client, slug)

    assert body["interval"] == "day"
    assert len(body["buckets"]) == 31
    assert all(b["sightings"] == 0 for b in body["buckets"])
    assert body["totals"] == {
        "sightings": 0,
        "by_source_kind": KINDS,
        "by_language": {},
        "rebuttals": 0,
    }


def test_a_narrative_is_found_by_id_and_archived_ones_still_have_a_timeline(client):
    narrative = create_narrative(client)
    sight(client, narrative["slug"], "2024-03-01T10:00:00Z")
    assert client.delete(f"/v1/narratives/{narrative['slug']}").status_code == 204

    body = timeline(client, narrative["id"], interval="day")

    assert body["totals"]["sightings"] == 1


def test_the_largest_range_allowed_is_2000_buckets(client):
    slug = create_narrative(client)["slug"]
    # 2,000 hours from 00:00 on 1 January 2024: the last bucket starts at 07:00 on 24 March.
    body = timeline(
        client,
        slug,
        interval="hour",
        **{"from": "2024-01-01T00:00:00Z", "to": "2024-03-24T07:59:59Z"},
    )
    assert len(body["buckets"]) == 2000


# ---------------------------------------------------------------------------------- bad input


def test_more_than_2000_buckets_is_a_422_naming_from_to_and_interval(client):
    slug = create_narrative(client)["slug"]
    response = client.get(
        f"/v1/narratives/{slug}/timeline",
        query_string={
            "interval": "hour",
            "from": "2024-01-01T00:00:00Z",
            "to": "2024-03-24T08:00:00Z",
        },
    )
    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"from", "to", "interval"}
    assert "2001 hour buckets" in body["detail"]


def test_a_default_range_too_long_for_hours_is_refused_not_truncated(client):
    slug = create_narrative(client)["slug"]
    sight(client, slug, "2023-01-01T00:00:00Z")
    sight(client, slug, "2024-01-01T00:00:00Z")
    body = assert_problem(client.get(f"/v1/narratives/{slug}/timeline?interval=hour"), 422)
    assert set(body["errors"]) == {"from", "to", "interval"}


def test_from_after_to_is_a_422(client):
    slug = create_narrative(client)["slug"]
    response = client.get(
        f"/v1/narratives/{slug}/timeline",
        query_string={"from": "2024-03-02T00:00:00Z", "to": "2024-03-01T00:00:00Z"},
    )
    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"from", "to"}


def test_unknown_interval_is_a_422(client):
    slug = create_narrative(client)["slug"]
    body = assert_problem(client.get(f"/v1/narratives/{slug}/timeline?interval=month"), 422)
    assert set(body["errors"]) == {"interval"}


def test_malformed_bounds_and_unknown_parameters_are_422(client):
    slug = create_narrative(client)["slug"]
    for query, field in (
        ("from=yesterday", "from"),
        ("to=2024-03-01", "to"),
        ("from=1800-01-01T00:00:00Z", "from"),
        ("bucket=day", "bucket"),
    ):
        body = assert_problem(client.get(f"/v1/narratives/{slug}/timeline?{query}"), 422)
        assert field in body["errors"], query


def test_unknown_narrative_is_a_404(client):
    assert_problem(client.get("/v1/narratives/no-such-thing/timeline"), 404)


def test_readers_may_read_a_timeline_and_anonymous_callers_may_not(client_for, anon_client, client):
    slug = create_narrative(client)["slug"]
    assert client_for("reader").get(f"/v1/narratives/{slug}/timeline").status_code == 200
    assert_problem(anon_client.get(f"/v1/narratives/{slug}/timeline"), 401)
