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


# Sightings built per transaction, about (whole queue rows are taken: a batch's is up to 1,000),
# so that a transaction stays short, and an edit waiting on a sighting it locked waits little.
QUOTE_SIGHTINGS = 2000


def build_quotes(conn: Connection, sightings: int = QUOTE_SIGHTINGS) -> dict[str, int]:
    """Build the phrases of the oldest queued quotes, about `sightings` of them; returns
    {"claimed": queue rows taken (0: none left to take), "built": sightings built}. Call it in
    a transaction: the phrases and the queue rows' removal commit together."""
    row = conn.execute(
        "SELECT claimed, built FROM match_build_quotes(%(sightings)s)", {"sightings": sightings}
    ).fetchone()
    if row["built"]:
        lemmatize_pending(conn)
    return row


def queued_quotes(conn: Connection) -> dict:
    """How many sightings wait for their phrase (deleted ones included, until the worker finds
    them gone), and the oldest's wait in seconds (0: none)."""
    return conn.execute(
        """
        SELECT coalesce(sum(size), 0)::bigint AS sightings,
               coalesce(extract(epoch FROM now() - min(queued_at)), 0)::float AS age
          FROM narrative_phrase_queue
        """
    ).fetchone()
