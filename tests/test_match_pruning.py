"""Which of a text's lexemes the matcher looks up: the rarest, by the worker's counts of the
phrases holding each (migrations/0020_phrase_term_counts.sql, service/matching/pruning.py)."""

import psycopg
import pytest

from service import config
from service.jobs import matching, registry, worker
from service.matching import pruning
from service.repo import match as repo
from tests.factories import create_narrative


def unseen(conn) -> float:
    return conn.execute("SELECT unseen FROM narrative_phrase_term_sample").fetchone()["unseen"]


def counted(conn) -> dict[str, float]:
    rows = conn.execute("SELECT term, phrases FROM narrative_phrase_terms").fetchall()
    return {row["term"]: row["phrases"] for row in rows}


def exact(conn) -> dict[str, int]:
    rows = conn.execute(
        "SELECT t AS term, count(*) AS phrases FROM narrative_phrases, unnest(terms) t GROUP BY t"
    ).fetchall()
    return {row["term"]: row["phrases"] for row in rows}


def test_split_takes_the_rarest_lexemes_until_the_budget_and_every_uncounted_one():
    counts = {"crocus": 900.0, "window": 40.0, "ukrainian": 70.0, "attack": 5000.0}
    terms = ["attack", "crocus", "ukrainian", "window", "border"]

    search, common = pruning.split(terms, counts, budget=1000)

    assert search == ["border", "window", "ukrainian"]  # unestimated first, then rarest first
    assert common == ["crocus", "attack"]  # 40 + 70 + 900 is over the budget


def test_split_looks_the_rarest_lexeme_up_past_the_budget_but_not_past_the_ceiling():
    """Mutation: drop the exception for the rarest, and a text of common words finds nothing;
    drop the ceiling, and a text of stop words reads millions of phrases."""
    counts = {"kremlin": 1500.0, "attack": 3000.0}
    assert pruning.split(["attack", "kremlin"], counts, budget=1000) == (["kremlin"], ["attack"])

    stop_words = {"the": float(pruning.CANDIDATE_CEILING + 1), "and": 1e7}
    assert pruning.split(["the", "and"], stop_words, budget=1000) == ([], ["the", "and"])


def test_below_the_sample_every_lexeme_is_counted_exactly(client, conn):
    create_narrative(client, slug="window", title="Ukrainian window", keywords=["window"])
    create_narrative(client, slug="border", title="The border window")

    kept = repo.count_terms(conn)

    assert counted(conn) == exact(conn)
    assert kept == len(exact(conn))
    assert unseen(conn) == 0
    _, counts = repo.terms(conn, text="Ukrainian window unheard", language="en")
    assert counts == {"ukrainian": 1, "window": counted(conn)["window"], "unheard": 0}
    assert counted(conn)["window"] >= 3  # two titles and a keyword at least


def test_above_the_sample_counts_are_scaled_and_lexemes_seen_once_left_out(client, conn):
    """20,000 phrases, a sample of about 2,000: a lexeme every phrase holds is estimated at
    the table's size, one in every other phrase at about half, and a lexeme of one phrase only
    is not kept: the matcher takes it to be held by the phrases one sighting stands for, about
    ten. Mutation: drop the scaling, and `everywhere` is estimated at the sample's size; drop
    the HAVING, and the unique lexemes are kept; leave `unseen` at 0, and the last fails."""
    narrative = create_narrative(client, slug="many")
    conn.execute(
        """
        INSERT INTO narrative_phrases (narrative_id, kind, position, text, language, terms)
        SELECT %(id)s, 'keyword', g, 'k', 'en',
               ARRAY['everywhere', 'unique' || g] || CASE WHEN g %% 2 = 0 THEN ARRAY['half']
                                                          ELSE ARRAY[]::text[] END
          FROM generate_series(1, 20000) g
        """,
        {"id": narrative["id"]},
    )
    total = conn.execute("SELECT count(*) AS n FROM narrative_phrases").fetchone()["n"]

    repo.count_terms(conn, sample=2000)

    counts = counted(conn)
    assert counts["everywhere"] == pytest.approx(total, rel=0.05)
    assert counts["half"] == pytest.approx(total / 2, rel=0.2)
    assert not [term for term in counts if term.startswith("unique")]
    assert total / 2000 <= unseen(conn) <= total / 1800  # 2,000 draws, some the same id
    _, estimates = repo.terms(conn, text="unique17", language="en")
    assert estimates == {"unique17": unseen(conn)}


def test_a_lexeme_past_the_budget_finds_no_phrases_once_counted(client, conn, monkeypatch):
    """Before the first count every lexeme is looked up, so the narratives that share only the
    common word come back too; once counted, the common word is past the budget and only the
    rare one finds phrases. (The text is too long for the trigram comparison of short texts,
    which would find the others by their titles' likeness.) Mutation: make find() ignore the
    counts, and the second answer still holds the six others."""
    create_narrative(client, slug="target", title="Zorblat quixle", keywords=[])
    for n in range(6):
        create_narrative(client, slug=f"other-{n}", title=f"Quixle {n}", keywords=[])
    monkeypatch.setattr(pruning, "CANDIDATE_BUDGET", 5)

    text = "Zorblat quixle, they wrote. " + "Nothing else in this long text is stored. " * 6

    def found() -> set[str]:
        response = client.post("/v1/match", json={"text": text, "limit": 20})
        assert response.status_code == 200, response.get_json()
        return {match["narrative"]["slug"] for match in response.get_json()["matches"]}

    assert found() >= {"target", *(f"other-{n}" for n in range(6))}
    repo.count_terms(conn)
    assert found() == {"target"}


def test_the_worker_recounts_the_lexemes(migrated_database):
    job = next(job for job in registry() if job.run is matching.count_terms)
    with migrated_database("term_counts") as url:
        with psycopg.connect(url) as conn:
            conn.execute(
                """
                INSERT INTO narratives (slug, title, summary, created_by)
                VALUES ('fresh', 'Freshly recorded claim', '', 'test')
                """
            )
            before = conn.execute(
                "SELECT count(*) FROM narrative_phrase_terms WHERE term = 'fresh'"
            ).fetchone()[0]

        outcome = worker.run_once(url, job, config.read({}))

        with psycopg.connect(url) as conn:
            after = conn.execute(
                "SELECT phrases FROM narrative_phrase_terms WHERE term = 'fresh'"
            ).fetchone()
    assert before == 0
    assert after == (1,)
    assert outcome["lexemes"] >= 1
