"""Ukrainian phrases' lexemes. The triggers of migration 0010 index every phrasing as it is
written, but PostgreSQL cannot lemmatise Ukrainian: they store its raw words and flag the row;
this replaces them with the lexemes of the lemmatised text. The repo functions that write
narratives and sightings call it before returning, so a write and its phrases commit together;
any row left flagged (a write from plain SQL) is picked up by the next write."""

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
