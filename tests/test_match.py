"""POST /v1/match and GET /v1/match: which known narratives a text or a link carries."""

# ruff: noqa: RUF001 (Cyrillic letters and apostrophes are data here)

import pytest

from service.repo import phrases
from tests.factories import create_narrative, create_rebuttal, create_sighting


def match(client, **body):
    response = client.post("/v1/match", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def scores(result) -> dict[str, float]:
    return {m["narrative"]["slug"]: m["score"] for m in result["matches"]}


@pytest.fixture
def crocus(client):
    """Three narratives about one event, English titles, aliases in Russian and Ukrainian."""
    return {
        "window": create_narrative(
            client,
            slug="ukrainian-window",
            title="Ukrainian window",
            summary="Claims the attackers fled towards a prepared window on the Ukrainian border.",
            aliases=[
                {"text": "украинское окно", "language": "ru"},
                {"text": "українське вікно на кордоні", "language": "uk"},
            ],
            keywords=["Crocus City Hall"],
        ),
        "west": create_narrative(
            client,
            slug="western-special-services",
            title="Western special services were behind the attack",
            summary="Claims that American and British intelligence organised the attack.",
            aliases=[
                {"text": "за терактом стоят западные спецслужбы", "language": "ru"},
                {"text": "за терактом стоять західні спецслужби", "language": "uk"},
            ],
            keywords=["Crocus City Hall", "MI6"],
        ),
        "false-flag": create_narrative(
            client,
            slug="false-flag",
            title="The attack was staged by the Kremlin",
            summary="Claims the Russian security services staged the attack themselves.",
            aliases=[{"text": "теракт устроили сами спецслужбы России", "language": "ru"}],
            keywords=["Crocus City Hall", "false flag"],
        ),
    }


def test_russian_text_finds_an_english_titled_narrative_through_its_russian_alias(client, crocus):
    result = match(
        client,
        text="Следователи снова говорят про «украинское окно» на границе с Брянской областью.",
    )

    assert result["language"] == "ru"
    best = result["matches"][0]
    assert best["narrative"]["slug"] == "ukrainian-window"
    assert best["narrative"]["title"] == "Ukrainian window"
    assert best["score"] >= 0.5
    assert {"kind": "alias", "text": "украинское окно", "language": "ru"} in best["evidence"]


def test_ukrainian_inflected_forms_match_through_the_lemmatiser(client, crocus):
    # Longer than a headline, so that trigrams cannot stand in for lemmas; and neither
    # "західних", "спецслужб" nor "стояли" appears in the alias in this form.
    text = (
        "Увечері в ефірі державного телебачення Росії вкотре пролунала версія, що за терактом "
        "стояли західних країн спецслужби; доказів не навели, а незалежні журналісти нагадали, "
        "що відповідальність за напад на концертний зал взяло на себе угруповання ІДІЛ."
    )
    inflected = match(client, text=text)

    assert inflected["language"] == "uk"
    best = inflected["matches"][0]
    assert best["narrative"]["slug"] == "western-special-services"
    assert best["score"] >= 0.5
    assert best["evidence"][0] == {
        "kind": "alias",
        "text": "за терактом стоять західні спецслужби",
        "language": "uk",
    }


def test_a_misspelt_short_phrase_matches_through_trigrams(client, crocus):
    result = match(client, text="Ukrainain window")

    assert result["matches"], result
    assert result["matches"][0]["narrative"]["slug"] == "ukrainian-window"
    assert result["matches"][0]["score"] >= 0.5
    assert result["matches"][0]["evidence"][0]["kind"] in ("title", "alias")


def test_a_url_already_sighted_is_an_exact_hit_whatever_its_tracking_parameters(client, crocus):
    sighting = create_sighting(
        client, "false-flag", url="https://outlet.example/news/42?id=7", quote=None
    )

    result = match(client, url="https://OUTLET.example/news/42?utm_source=tg&id=7&fbclid=x#top")

    best = result["matches"][0]
    assert best["narrative"]["slug"] == "false-flag"
    assert best["score"] >= 0.9
    assert best["evidence"][0]["kind"] == "url"
    assert best["evidence"][0]["sighting_id"] == sighting["id"]
    assert len(result["matches"]) == 1


def test_get_looks_a_link_up_and_may_be_cached_privately(client, crocus):
    create_sighting(client, "ukrainian-window", url="https://outlet.example/a/1", quote=None)

    response = client.get("/v1/match?url=https://outlet.example/a/1%3Futm_medium%3Dx")

    assert response.status_code == 200
    assert response.headers["Cache-Control"].startswith("private, max-age=")
    assert [m["narrative"]["slug"] for m in response.get_json()["matches"]] == ["ukrainian-window"]


def test_archived_narratives_never_match(client, crocus):
    create_sighting(client, "ukrainian-window", url="https://outlet.example/a/2", quote=None)
    assert client.delete("/v1/narratives/ukrainian-window").status_code == 204

    result = match(client, text="украинское окно", url="https://outlet.example/a/2")

    assert "ukrainian-window" not in scores(result)


def test_false_positive_sightings_never_match(client, conn, crocus):
    sighting = create_sighting(
        client,
        "false-flag",
        url="https://outlet.example/a/3",
        quote="Бенкендорф лично руководил операцией под Красногорском",
    )
    phrases.build_quotes(conn)  # the worker's part
    text = "Бенкендорф лично руководил операцией под Красногорском"
    assert scores(match(client, text=text)).get("false-flag", 0) >= 0.5

    response = client.patch(f"/v1/sightings/{sighting['id']}", json={"status": "false_positive"})
    assert response.status_code == 200

    assert "false-flag" not in scores(match(client, text=text, url="https://outlet.example/a/3"))


def test_quote_evidence_names_its_sighting(client, conn, crocus):
    sighting = create_sighting(
        client, "false-flag", quote="Бенкендорф лично руководил операцией под Красногорском"
    )
    phrases.build_quotes(conn)

    result = match(client, text="Говорят, Бенкендорф лично руководил операцией под Красногорском.")

    evidence = result["matches"][0]["evidence"]
    assert {"kind": "quote", "sighting_id": sighting["id"]}.items() <= evidence[0].items()


def test_rebuttals_are_attached_newest_first(client, crocus):
    older = create_rebuttal(client, ["ukrainian-window"], published_at="2024-03-24T10:00:00Z")
    newer = create_rebuttal(client, ["ukrainian-window"], published_at="2024-03-26T10:00:00Z")

    result = match(client, text="украинское окно")

    best = result["matches"][0]
    assert [r["id"] for r in best["rebuttals"]] == [newer["id"], older["id"]]
    listed = client.get("/v1/narratives/ukrainian-window/rebuttals").get_json()["items"]
    assert best["rebuttals"] == listed


def test_a_phrase_sharing_too_little_with_the_text_stays_in_the_database(conn, crocus):
    """A summary sharing one word of eight could reach a strength of 0.1 % at most: the SQL
    leaves it behind instead of sending it to be scored. Mutation: drop the coverage cut in
    repo.match's phrase hits, and the first look-up returns the summary."""
    from service.repo import match as repo

    one_word = repo.terms(conn, text="prepared", language="en").terms
    assert repo.phrase_hits(conn, terms=one_word, search=one_word) == []

    most = repo.terms(
        conn, text="The attackers fled to a prepared window at the border", language="en"
    ).terms
    hits = repo.phrase_hits(conn, terms=most, search=most)
    assert "summary" in {hit["kind"] for hit in hits}


def test_a_large_population_is_counted_once_a_minute_and_a_small_one_on_every_match(
    client, conn, crocus, monkeypatch
):
    """Mutation: make Periodic.due always true, and the large count is read again at once (the
    first assertion fails); drop `always_below`, and the small one stays stale (the last)."""
    from service.api import match as match_api
    from service.matching.periodic import Periodic

    large = Periodic(60, 0, always_below=1)  # any count here is large
    monkeypatch.setattr(match_api, "POPULATION", large)
    before = match_api._population(conn)
    create_narrative(client, slug="one-more-claim", title="One more claim")
    assert match_api._population(conn) == before, "counted again within the minute"
    large.at -= 61
    assert match_api._population(conn) == before + 1, "counted again a minute later"

    small = Periodic(60, 0, always_below=10**9)
    monkeypatch.setattr(match_api, "POPULATION", small)
    before = match_api._population(conn)
    create_narrative(client, slug="yet-another-claim", title="Yet another claim")
    assert match_api._population(conn) == before + 1


def test_more_of_a_narrative_scores_higher_and_shared_keywords_stay_low(client, crocus):
    weak = match(client, text="Crocus City Hall")
    strong = match(
        client,
        text="MI6 and the CIA were behind the attack on Crocus City Hall: western special "
        "services were behind the attack, the Kremlin says.",
    )

    assert all(score < 0.5 for score in scores(weak).values()), weak
    ranked = [m["score"] for m in strong["matches"]]
    assert ranked == sorted(ranked, reverse=True)
    assert strong["matches"][0]["narrative"]["slug"] == "western-special-services"
    assert strong["matches"][0]["score"] >= 0.5
    assert all(score < strong["matches"][0]["score"] for score in ranked[1:])


def test_limit_caps_the_matches(client, crocus):
    result = match(client, text="Crocus City Hall attack", limit=1)

    assert len(result["matches"]) <= 1


def test_language_hint_is_used_and_an_unusable_one_falls_back_to_neutral(client, crocus):
    assert match(client, text="украинское окно", language="ru-RU")["language"] == "ru"
    fallback = match(client, text="украинское окно", language="xx-not a tag!")
    assert fallback["language"] == "und"
    assert match(client, text="Ukrainian window", language="de")["language"] == "und"


def test_a_ukrainian_quote_is_lemmatised_when_its_phrase_is_built(client, conn, crocus):
    sighting = create_sighting(
        client,
        "false-flag",
        language="uk",
        quote="Терористи отримали гроші від українських посередників у криптовалюті",
    )
    phrases.build_quotes(conn)
    # Other forms of the same words, in a text too long for trigrams to stand in.
    text = (
        "За версією слідства, кожен терорист нібито отримав гроші від українського посередника "
        "в криптовалюті, хоча жодних підтверджень цьому так і не оприлюднили, а канали, що "
        "поширили версію, послалися на анонімне джерело."
    )

    best = match(client, text=text)["matches"][0]

    assert best["narrative"]["slug"] == "false-flag"
    assert best["score"] >= 0.5
    assert {"kind": "quote", "sighting_id": sighting["id"]}.items() <= best["evidence"][0].items()
