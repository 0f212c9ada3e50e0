"""Which of a text's lexemes the matcher looks up: the rarest, by the worker's counts of the
phrases holding each (migrations/0020_phrase_term_counts.sql, service/matching/pruning.py)."""

import threading
import time

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


def test_split_looks_unseen_lexemes_up_free_of_the_budget_but_bounds_how_many():
    """A text of 30 words the sample never saw, and two counted: every unseen one is looked up
    (a name sorting last among them too), and the budget still goes to the counted ones. Past
    MAX_UNSEEN, the shortest unseen are left over. Mutation: charge unseen lexemes to the
    budget, and the counted ones (or some unseen) are left over; drop the cap, and the last
    assertion fails."""
    unseen = [f"word{n:02d}" for n in range(30)] + ["zelenskyy"]
    counts = {"attack": 300.0, "crocus": 600.0}

    search, common = pruning.split([*unseen, *counts], counts, unseen=50.0)

    assert set(search) == {*unseen, "attack", "crocus"}
    assert common == []

    many = [f"w{n:04d}" for n in range(pruning.MAX_UNSEEN)] + ["longest-word", "short"]
    search, common = pruning.split(many, {}, unseen=50.0)
    assert len(search) == pruning.MAX_UNSEEN
    assert search[0] == "longest-word"
    assert common == [f"w{n:04d}" for n in range(pruning.MAX_UNSEEN - 2, pruning.MAX_UNSEEN)]
    assert pruning.split(many, {}, unseen=0.0) == (sorted(many, key=lambda t: (-len(t), t)), [])


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
    found = repo.terms(conn, text="Ukrainian window unheard", language="en")
    assert found.counts == {"ukrainian": 1, "window": counted(conn)["window"]}
    assert found.unseen == 0
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
    conn.execute("ANALYZE narrative_phrases")  # the row estimate the draws are scaled by
    total = conn.execute("SELECT count(*) AS n FROM narrative_phrases").fetchone()["n"]

    repo.count_terms(conn, sample=2000)

    counts = counted(conn)
    assert counts["everywhere"] == pytest.approx(total, rel=0.05)
    assert counts["half"] == pytest.approx(total / 2, rel=0.2)
    assert not [term for term in counts if term.startswith("unique")]
    assert total / 2000 <= unseen(conn) <= total / 1800  # 2,000 draws, some the same id
    found = repo.terms(conn, text="unique17 half", language="en")
    assert found.terms == ["half", "unique17"]
    assert found.counts == {"half": counts["half"]}
    assert found.unseen == unseen(conn)


def test_the_sample_is_of_rows_so_a_lexeme_written_in_one_clump_is_counted_near_its_size(
    client, conn
):
    """300 phrases in a row hold `clumped` (a few pages, as one batch's quotes are written).
    A sample of a tenth of the rows sees about 30 of them; a sample of a tenth of the pages
    sees all of them or none, and estimates 0 or about 3,000. Mutation: sample with TABLESAMPLE
    SYSTEM, and the estimate is off by far more than half."""
    narrative = create_narrative(client, slug="clumps")
    conn.execute(
        """
        INSERT INTO narrative_phrases (narrative_id, kind, position, text, language, terms)
        SELECT %(id)s, 'keyword', g, 'k', 'en',
               CASE WHEN g BETWEEN 10001 AND 10300 THEN ARRAY['clumped', 'filler']
                    ELSE ARRAY['filler'] END
          FROM generate_series(1, 20000) g
        """,
        {"id": narrative["id"]},
    )
    conn.execute("ANALYZE narrative_phrases")  # the row estimate the draws are scaled by

    repo.count_terms(conn, sample=2000)

    assert counted(conn).get("clumped", 0) == pytest.approx(300, rel=0.5)


def test_a_sample_draws_more_ids_where_phrases_were_deleted(client, conn):
    """Nine phrases in ten deleted: about the sample's size still finds a phrase, so the
    estimates are as sharp. Mutation: draw `p_sample` ids whatever the density, and a tenth
    as many find one: `unseen` is then ten times what it should be."""
    narrative = create_narrative(client, slug="sparse")
    conn.execute(
        """
        INSERT INTO narrative_phrases (narrative_id, kind, position, text, language, terms)
        SELECT %(id)s, 'keyword', g, 'k', 'en',
               CASE WHEN g %% 10 = 0 THEN ARRAY['kept'] ELSE ARRAY['gone'] END
          FROM generate_series(1, 40000) g
        """,
        {"id": narrative["id"]},
    )
    conn.execute("DELETE FROM narrative_phrases WHERE terms = ARRAY['gone']")
    conn.execute("ANALYZE narrative_phrases")
    total = conn.execute("SELECT count(*) AS n FROM narrative_phrases").fetchone()["n"]

    repo.count_terms(conn, sample=1000)

    assert counted(conn)["kept"] == pytest.approx(total, rel=0.1)
    span = conn.execute("SELECT max(id) - min(id) + 1 AS n FROM narrative_phrases").fetchone()["n"]
    assert unseen(conn) <= 1.2 * total / 1000 < span / 1000  # about the sample's size found


def test_a_sample_of_nothing_is_refused(conn):
    with pytest.raises(psycopg.errors.RaiseException, match="counts nothing"):
        repo.count_terms(conn, sample=0)


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


def test_two_recounts_at_once_take_turns(migrated_database):
    """A recount started while another is under way waits for it to commit, then replaces its
    counts. Mutation: drop the LOCK TABLE, and the second inserts the lexemes the first has
    just committed (a unique violation)."""
    outcome: dict[str, object] = {}
    with migrated_database("term_recounts") as url:
        with psycopg.connect(url) as conn:
            conn.execute(
                "INSERT INTO narratives (slug, title, created_by) VALUES ('one', 'A claim', 't')"
            )
        first = psycopg.connect(url)
        first.execute("SELECT match_count_terms(1000)")  # its transaction stays open

        def second() -> None:
            with psycopg.connect(url) as conn:
                try:
                    outcome["kept"] = conn.execute("SELECT match_count_terms(1000)").fetchone()[0]
                except psycopg.Error as exc:
                    outcome["error"] = exc

        thread = threading.Thread(target=second)
        thread.start()
        with psycopg.connect(url, autocommit=True) as watcher:
            deadline = time.monotonic() + 10
            while (
                time.monotonic() < deadline
                and not watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ).fetchone()[0]
            ):
                time.sleep(0.05)
        first.commit()
        first.close()
        thread.join(10)
    assert outcome == {"kept": 1}  # the title's one lexeme (`a` is a stop word): `claim`
