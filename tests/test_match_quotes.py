"""New sightings' quotes are queued by their insert and made matchable by the worker
(migrations/0021_quote_phrases_queued.sql, service/repo/phrases.build_quotes)."""

import signal
import threading
import time
import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from service import config
from service.jobs import MORE, Job, worker
from service.jobs import matching as jobs
from service.repo import phrases
from tests.factories import create_narrative, create_sighting

QUOTE = "Бенкендорф лично руководил операцией под Красногорском"


def quote_phrases(conn, sighting_id) -> list[str]:
    rows = conn.execute(
        "SELECT text FROM narrative_phrases WHERE sighting_id = %(id)s ORDER BY id",
        {"id": sighting_id},
    ).fetchall()
    return [row["text"] for row in rows]


def queued(conn) -> int:
    return phrases.queued_quotes(conn)["sightings"]


def built(conn, **kwargs) -> int:
    """One transaction's worth of the worker's build: the sightings built."""
    return phrases.build_quotes(conn, **kwargs)["built"]


def enqueue(conn, *ids, age_seconds: float = 0) -> None:
    conn.execute(
        "INSERT INTO narrative_phrase_queue (sighting_ids, size, queued_at)"
        " VALUES (%(ids)s::uuid[], %(size)s, now() - make_interval(secs => %(age)s))",
        {"ids": list(ids), "size": len(ids), "age": age_seconds},
    )


def matched(client, text: str) -> list[str]:
    response = client.post("/v1/match", json={"text": text})
    assert response.status_code == 200, response.get_json()
    return [m["narrative"]["slug"] for m in response.get_json()["matches"]]


def test_a_new_quote_is_matchable_once_the_worker_has_built_it(client, conn):
    """Mutation: build the phrase in the insert trigger again (0010's), and the first
    assertions fail; skip the DELETE of built queue rows, and the queue never empties."""
    create_narrative(client, slug="false-flag", title="The attack was staged")
    sighting = create_sighting(client, "false-flag", quote=QUOTE)

    assert quote_phrases(conn, sighting["id"]) == []
    assert queued(conn) == 1
    assert "false-flag" not in matched(client, QUOTE)

    assert built(conn) == 1

    assert quote_phrases(conn, sighting["id"]) == [QUOTE]
    assert queued(conn) == 0
    assert matched(client, QUOTE)[0] == "false-flag"
    assert built(conn) == 0


def test_a_batch_is_queued_in_rows_of_a_thousand_and_only_what_can_match(client, conn):
    narrative = create_narrative(client, slug="false-flag", title="The attack was staged")
    conn.execute(
        """
        INSERT INTO sightings (narrative_id, observed_at, source_name, source_kind, language,
                               quote, status)
        SELECT %(narrative)s, now(), 'outlet', 'outlet', 'ru',
               CASE WHEN i %% 10 = 0 THEN NULL WHEN i %% 10 = 1 THEN '' ELSE 'слово ' || i END,
               CASE WHEN i %% 10 = 2 THEN 'false_positive' ELSE 'unreviewed' END
          FROM generate_series(1, 2500) AS i
        """,
        {"narrative": narrative["id"]},
    )
    sizes = [
        row["n"]
        for row in conn.execute(
            "SELECT cardinality(sighting_ids) AS n FROM narrative_phrase_queue ORDER BY id"
        )
    ]
    # No quote, an empty one, a false positive: 3 in 10 can never match.
    assert sizes == [1000, 750]

    # Whole queue rows, up to about the number asked for.
    assert built(conn, sightings=1000) == 1000
    assert built(conn, sightings=1000) == 750
    assert queued(conn) == 0


def test_building_twice_leaves_one_phrase_and_edits_before_the_build_win(client, conn):
    create_narrative(client, slug="false-flag", title="The attack was staged")
    edited = create_sighting(client, "false-flag", url="https://e.example/1", quote=QUOTE)
    dismissed = create_sighting(client, "false-flag", url="https://e.example/2", quote=QUOTE)
    enqueue(conn, edited["id"], dismissed["id"])  # both queued a second time
    response = client.patch(f"/v1/sightings/{edited['id']}", json={"quote": "Новая цитата"})
    assert response.status_code == 200
    response = client.patch(f"/v1/sightings/{dismissed['id']}", json={"status": "false_positive"})
    assert response.status_code == 200

    assert built(conn) == 2  # three queue rows, two sightings
    assert built(conn) == 0

    assert quote_phrases(conn, edited["id"]) == ["Новая цитата"]
    assert quote_phrases(conn, dismissed["id"]) == []


def test_a_ukrainian_quote_is_built_lemmatised(client, conn):
    create_narrative(client, slug="false-flag", title="The attack was staged")
    sighting = create_sighting(
        client, "false-flag", language="uk", quote="Терористи отримали гроші від посередників"
    )

    phrases.build_quotes(conn)

    flagged = conn.execute(
        "SELECT lemmatized FROM narrative_phrases WHERE sighting_id = %(id)s",
        {"id": sighting["id"]},
    ).fetchone()
    assert flagged == {"lemmatized": True}


@pytest.fixture
def committed(migrated_database):
    """A migrated database of its own, with one narrative and one queued sighting committed."""
    with migrated_database("quote_queue") as url:
        with psycopg.connect(url, row_factory=dict_row) as conn:
            narrative = conn.execute(
                "INSERT INTO narratives (slug, title, created_by) VALUES ('n', 'A claim', 't')"
                " RETURNING id"
            ).fetchone()["id"]
            sighting = conn.execute(
                """
                INSERT INTO sightings (narrative_id, observed_at, source_name, source_kind,
                                       language, quote)
                VALUES (%(n)s, now(), 'outlet', 'outlet', 'en', 'the old words')
                RETURNING id
                """,
                {"n": narrative},
            ).fetchone()["id"]
        yield url, sighting


def test_a_sighting_being_edited_is_skipped_and_queued_again_not_waited_on(committed):
    """An editor's transaction holds the sighting while the worker builds: the worker neither
    waits nor builds the old quote; the editor's own trigger builds the new one, and the
    worker's next round rebuilds it once more from the edited row. Mutation: drop SKIP LOCKED,
    and the build waits (lock_timeout fails it); drop the FOR SHARE lock, and the old quote's
    phrase survives beside the new one."""
    url, sighting = committed
    editor = psycopg.connect(url, row_factory=dict_row)
    editor.execute(
        "UPDATE sightings SET quote = 'the new words' WHERE id = %(id)s", {"id": sighting}
    )
    with psycopg.connect(url, row_factory=dict_row) as worker:
        worker.execute("SET lock_timeout = '2s'")
        assert built(worker) == 0
        worker.commit()
        assert queued(worker) == 1  # queued again
        editor.commit()
        editor.close()
        assert built(worker) == 1
        worker.commit()
        assert quote_phrases(worker, sighting) == ["the new words"]
        assert queued(worker) == 0


def test_an_edit_waits_for_a_build_under_way_then_rebuilds_from_its_own_row(committed):
    """The worker locked the sighting first: the edit waits for its commit, then its trigger
    replaces the phrase the worker built. Mutation: drop the FOR SHARE lock, and the edit does
    not wait (its trigger cannot see the worker's uncommitted phrase, which survives)."""
    url, sighting = committed
    worker = psycopg.connect(url, row_factory=dict_row)
    assert built(worker) == 1  # its transaction stays open
    outcome: dict[str, object] = {}

    def edit() -> None:
        with psycopg.connect(url) as conn:
            conn.execute(
                "UPDATE sightings SET quote = 'the new words' WHERE id = %(id)s", {"id": sighting}
            )
            outcome["done"] = time.monotonic()

    thread = threading.Thread(target=edit)
    thread.start()
    thread.join(1.0)
    assert "done" not in outcome, "the edit did not wait for the build"
    worker.commit()
    worker.close()
    thread.join(10)
    with psycopg.connect(url, row_factory=dict_row) as conn:
        assert quote_phrases(conn, sighting) == ["the new words"]


def test_the_worker_job_builds_the_queue_and_reports_what_waits(committed):
    """Mutation: return from drain_quotes before its first transaction, and nothing is built."""
    url, sighting = committed
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        outcome = jobs.build_quotes(conn, config.read({}))
        assert outcome == {"quotes": 1}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        assert quote_phrases(conn, sighting) == ["the old words"]
        assert queued(conn) == 0
    assert jobs.QUEUED._value.get() == 0


def test_two_builds_of_one_sighting_at_once_leave_one_phrase(committed):
    """Queued twice, the sighting is built by two workers at once: the second waits on the
    first's phrase and replaces it. Mutation: insert without ON CONFLICT over a non-unique
    index (0010's rebuild), and both phrases survive."""
    url, sighting = committed
    with psycopg.connect(url, row_factory=dict_row) as conn:
        enqueue(conn, sighting)
    first = psycopg.connect(url, row_factory=dict_row)
    assert built(first, sightings=1) == 1  # the first queue row; its transaction stays open
    outcome: dict[str, object] = {}

    def second() -> None:
        with psycopg.connect(url, row_factory=dict_row) as conn:
            # Asked for two, it looks at both queue rows, skips the held one, takes the other.
            outcome["built"] = built(conn, sightings=2)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(1.0)
    first.commit()
    first.close()
    thread.join(10)
    assert outcome == {"built": 1}
    with psycopg.connect(url, row_factory=dict_row) as conn:
        assert quote_phrases(conn, sighting) == ["the old words"]
        assert queued(conn) == 0


def test_a_round_goes_on_past_queue_rows_of_deleted_sightings(committed):
    """Mutation: end the round on the first transaction that builds nothing, and the live
    sighting queued behind the deleted ones waits for the next round."""
    url, sighting = committed
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("DELETE FROM narrative_phrase_queue")
        gone = [uuid.uuid4() for _ in range(phrases.QUOTE_SIGHTINGS)]
        enqueue(conn, *gone)
        enqueue(conn, sighting)
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        assert jobs.build_quotes(conn, config.read({})) == {"quotes": 1}
        assert queued(conn) == 0


def test_a_quote_queued_again_keeps_its_age(committed):
    """The gauge of the oldest wait must show a sighting stuck behind a lock. Mutation: queue
    it again as new, and its age starts over."""
    url, sighting = committed
    with psycopg.connect(url, row_factory=dict_row) as conn:
        conn.execute("DELETE FROM narrative_phrase_queue")
        enqueue(conn, sighting, age_seconds=3600)
    editor = psycopg.connect(url)
    editor.execute("SELECT 1 FROM sightings WHERE id = %(id)s FOR UPDATE", {"id": sighting})
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        with conn.transaction():
            assert phrases.build_quotes(conn) == {"claimed": 1, "built": 0}
        assert phrases.queued_quotes(conn)["age"] >= 3600
    editor.rollback()
    editor.close()


def test_a_round_out_of_time_says_more_is_queued(committed, monkeypatch):
    """Mutation: drop the MORE flag, and the worker waits MATCH_QUOTES_SECONDS between rounds
    of a backlog (the next test hangs until its timeout)."""
    url, sighting = committed
    with psycopg.connect(url, row_factory=dict_row) as conn:
        enqueue(conn, sighting)
    monkeypatch.setattr(jobs, "ROUND_SECONDS", 0.0)
    with psycopg.connect(url, row_factory=dict_row, autocommit=True) as conn:
        assert jobs.build_quotes(conn, config.read({})) == {"quotes": 1, MORE: True}
        assert jobs.build_quotes(conn, config.read({})) == {}


def test_the_worker_runs_a_job_again_at_once_while_it_says_more(committed, monkeypatch):
    """Mutation: ignore MORE in the worker's loop, and the second round waits an hour."""
    url, _ = committed
    rounds = []

    def busy(conn, settings):
        rounds.append(time.monotonic())
        return {MORE: True} if len(rounds) == 1 else {}

    hourly = Job("busy", busy, every=lambda settings: 3600, exclusive=False)
    monkeypatch.setattr(worker, "registry", lambda: [hourly])
    monkeypatch.setattr(signal, "signal", lambda *args: None)  # not the main thread
    thread = threading.Thread(target=worker.run, args=(url, config.read({})), kwargs={"rounds": 2})
    thread.daemon = True
    thread.start()
    thread.join(10)
    assert len(rounds) == 2


def test_a_repeatable_read_editor_behind_a_build_must_retry_not_leave_a_stale_phrase(committed):
    """The editor's snapshot predates the worker's phrase, so its trigger cannot see it; the
    unique index makes its upsert fail to serialise instead. Mutation: 0010's delete and insert
    over a non-unique index, and the old quote's phrase survives beside the new one."""
    url, sighting = committed
    editor = psycopg.connect(url)
    editor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    editor.execute("SELECT 1")  # the snapshot: no phrase yet
    with psycopg.connect(url, row_factory=dict_row) as worker_conn:
        assert built(worker_conn) == 1
    with pytest.raises(psycopg.errors.SerializationFailure):
        editor.execute(
            "UPDATE sightings SET quote = 'the new words' WHERE id = %(id)s", {"id": sighting}
        )
    editor.rollback()
    editor.close()
    with psycopg.connect(url, row_factory=dict_row) as conn:
        assert quote_phrases(conn, sighting) == ["the old words"]
