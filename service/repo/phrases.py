"""The phrases matching reads, where the triggers of migrations 0010 and 0021 leave work to do.

New sightings' quotes are queued by their insert and built by the worker (`build_quotes`, a
second or two later), so that a burst of ingest pays for the sightings alone.

Ukrainian phrases' lexemes: the triggers index every phrasing as it is built, but PostgreSQL
cannot lemmatise Ukrainian: they store its raw words and flag the row; `lemmatize_pending`
replaces them with the lexemes of the lemmatised text. The repo functions that write narratives
and edit sightings, and `build_quotes`, call it before returning, so phrases and their lexemes
commit together; any row left flagged (a write from plain SQL) is picked up by the next one."""

from psycopg import Connection

from service.matching.lemmas import lemmatize_uk


def needs_lemmas(language: str | None) -> bool:
    """Whether text in this language is indexed only once lemmatised here."""
    return (language or "").split("-")[0].lower() == "uk"


def lemmatize_pending(conn: Connection) -> int:
    """Lemmatise the flagged phrases this transaction can see; returns how many."""
    rows = conn.execute(
        """
        SELECT id, text FROM narrative_phrases WHERE NOT lemmatized
         ORDER BY id
           FOR UPDATE SKIP LOCKED
        """
    ).fetchall()
    if not rows:
        return 0
    conn.execute(
        """
        UPDATE narrative_phrases p
           SET terms = match_terms('match_simple', l.lemmas), lemmatized = true
          FROM unnest(%(ids)s::bigint[], %(lemmas)s::text[]) AS l (id, lemmas)
         WHERE p.id = l.id
        """,
        {
            "ids": [row["id"] for row in rows],
            "lemmas": [lemmatize_uk(row["text"]) for row in rows],
        },
    )
    return len(rows)


# Queue rows built per transaction: each holds up to 1,000 sightings (one per batch of ingest),
# so a transaction stays short, and an edit waiting on a sighting it locked waits little.
QUOTE_ROWS = 2


def build_quotes(conn: Connection, rows: int = QUOTE_ROWS) -> int:
    """Build the phrases of queued quotes, up to `rows` queue rows; returns the sightings built.
    Call it in a transaction: the phrases and the queue rows' removal commit together."""
    built = conn.execute("SELECT match_build_quotes(%(rows)s) AS built", {"rows": rows})
    count = built.fetchone()["built"]
    if count:
        lemmatize_pending(conn)
    return count


def queued_quotes(conn: Connection) -> dict:
    """How many sightings wait for their phrase, and the oldest's wait in seconds (0: none)."""
    return conn.execute(
        """
        SELECT coalesce(sum(cardinality(sighting_ids)), 0)::bigint AS sightings,
               coalesce(extract(epoch FROM now() - min(queued_at)), 0)::float AS age
          FROM narrative_phrase_queue
        """
    ).fetchone()
