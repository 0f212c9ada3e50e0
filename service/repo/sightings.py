"""SQL for sightings. Functions take a connection first and never commit."""

import hashlib
import json
import uuid
from datetime import UTC
from typing import Any

from psycopg import Connection, sql

from service import db
from service.domain import urls
from service.repo import identities, pages, phrases
from service.repo.pages import Keyset, Page
from service.repo.updates import update_columns

# Nested objects with to_json (compact, as orjson writes them): a page can pass them through
# as written (pages.fetch).
_SELECT = """
SELECT s.id, s.observed_at, s.url, s.url_normalized, s.quote, s.language, s.country,
       s.external_id, s.confidence, s.status, s.reported_by, s.updated_by, s.created_at,
       s.updated_at,
       (SELECT to_json(o) FROM (SELECT n.id, n.slug, n.title) o) AS narrative,
       (SELECT to_json(o) FROM (SELECT s.source_name AS name, s.source_kind AS kind) o) AS source,
       CASE WHEN s.actor_name IS NULL THEN NULL
            ELSE (SELECT to_json(o) FROM (SELECT s.actor_name AS name, s.actor_role AS role) o)
       END AS actor,
       CASE WHEN s.reported_in_name IS NULL THEN NULL
            ELSE (SELECT to_json(o)
                    FROM (SELECT s.reported_in_url AS url, s.reported_in_name AS name) o)
       END AS reported_in
  FROM sightings s
  JOIN narratives n ON n.id = s.narrative_id
"""

# Flat column -> value, as stored; PATCH may set any of these.
COLUMNS = (
    "narrative_id",
    "observed_at",
    "url",
    "url_normalized",
    "source_name",
    "source_kind",
    "actor_name",
    "actor_role",
    "quote",
    "language",
    "country",
    "external_id",
    "confidence",
    "reported_in_url",
    "reported_in_name",
    "status",
)


def get(conn: Connection, id_: uuid.UUID) -> dict[str, Any] | None:
    return conn.execute(_SELECT + " WHERE s.id = %(id)s", {"id": id_}).fetchone()


def insert(conn: Connection, data: dict[str, Any], *, by: str) -> tuple[uuid.UUID, bool]:
    """Store one sighting (the API's shape, with `narrative_id`) unless it exists; returns
    (id, created)."""
    return insert_many(conn, [data], by=by)[0]


# One multi-row INSERT from arrays (a single round trip, whatever the batch size), of rows whose
# every identity this transaction has claimed (service/repo/identities.py): no other writer can
# be writing them, so it never waits and never conflicts. In input order, so that created_at
# follows it.
_INSERT_MANY = """
INSERT INTO sightings (id, narrative_id, observed_at, url, url_normalized, source_name,
                       source_kind, actor_name, actor_role, quote, language, country,
                       external_id, confidence, reported_in_url, reported_in_name, content_key,
                       reported_by)
SELECT t.id, t.narrative_id, t.observed_at, t.url, t.url_normalized, t.source_name,
       t.source_kind, t.actor_name, t.actor_role, t.quote, t.language, t.country,
       t.external_id, t.confidence, t.reported_in_url, t.reported_in_name, t.content_key, %(by)s
  FROM unnest(%(id)b::uuid[], %(narrative_id)b::uuid[], %(observed_at)b::timestamptz[],
              %(url)b::text[], %(url_normalized)b::text[], %(source_name)b::text[],
              %(source_kind)b::text[], %(actor_name)b::text[], %(actor_role)b::text[],
              %(quote)b::text[], %(language)b::text[], %(country)b::text[],
              %(external_id)b::text[], %(confidence)b::real[], %(reported_in_url)b::text[],
              %(reported_in_name)b::text[], %(content_key)b::text[])
       AS t (id, narrative_id, observed_at, url, url_normalized, source_name, source_kind,
             actor_name, actor_role, quote, language, country, external_id, confidence,
             reported_in_url, reported_in_name, content_key)
"""

# What an insert sets: every column but the review status, which starts as unreviewed.
_INSERTED = (*(name for name in COLUMNS if name != "status"), "content_key")
_ATTEMPTS = 3


def insert_many(
    conn: Connection, items: list[dict[str, Any]], *, by: str
) -> list[tuple[uuid.UUID, bool]]:
    """Store sightings (the API's shape, each with `narrative_id`) set-wise; returns, in input
    order, (id, created) for each: the new id, or the id of the sighting it duplicates.

    Identity is (narrative, normalised URL), (reporting key, external_id), or for a sighting
    with neither, (narrative, content); an item repeating an earlier item of the same batch is
    a duplicate of it.
    """
    # reported_in is the one optional part of the shape: callers written before it need not
    # say it is absent.
    rows = [_columns({"reported_in": None, **item}) for item in items]
    for row in rows:
        row["content_key"] = content_key(row)
    if sum(map(_text_bytes, rows)) > db.LARGE_MESSAGE:
        db.retire(conn)
    keys = {index: identities.of(row, by) for index, row in enumerate(rows)}
    results: list[tuple[uuid.UUID, bool] | None] = [None] * len(rows)
    todo = list(range(len(rows)))
    for _ in range(_ATTEMPTS):
        todo = _insert_round(conn, rows, keys, todo, results, by)
        if not todo:
            return results  # type: ignore[return-value]
    raise RuntimeError("sightings kept conflicting with rows that vanished; retry the request")


def _insert_round(
    conn: Connection,
    rows: list[dict[str, Any]],
    keys: dict[int, identities.Keys],
    todo: list[int],
    results: list[tuple[uuid.UUID, bool] | None],
    by: str,
) -> list[int]:
    """Claim the identities of rows[todo], insert those wholly claimed; fill results; return
    the indexes still unresolved (a sighting holding one of their identities was changed or
    deleted between the claim and the look-up). A later round claims again while holding this
    round's claims, out of the global order: the deadlock that could then follow is
    PostgreSQL's to detect (a 503 to retry), in a race that needs a sighting's identity changed
    between two statements of this one."""
    new_ids = {index: uuid.uuid4() for index in todo}
    wanted: dict[str, uuid.UUID] = {}  # identity -> the first item of todo that has it
    for index in todo:
        for key in keys[index]:
            if key is not None:
                wanted.setdefault(key, new_ids[index])
    mine, held = identities.claim(conn, wanted)
    fate = identities.decide(todo, keys, new_ids, mine, held)
    if fate.moves:
        identities.settle(conn, fate.moves)
    if fate.created:
        params: dict[str, Any] = {name: [rows[i][name] for i in fate.created] for name in _INSERTED}
        params.update(id=[new_ids[i] for i in fate.created], by=by)
        conn.execute(_INSERT_MANY, params)
    for index in fate.created:
        results[index] = (new_ids[index], True)
    for index, existing in fate.duplicates.items():
        results[index] = (existing, False)
    return fate.blocked


# The columns a sighting's identity is made of: a change to any of them gives it a new one.
_IDENTITY = (
    "observed_at",
    "url_normalized",
    "source_name",
    "source_kind",
    "actor_name",
    "quote",
    "external_id",
)


def update(conn: Connection, id_: uuid.UUID, changes: dict[str, Any], *, by: str | None) -> None:
    """Apply a PATCH (the API's shape, `narrative_id` for a move); only given keys change.

    A change to what identifies the sighting recomputes its content key from the row as it
    will be, so that the sighting is found (and deduplicated) under what it now says, and its
    old words are free for a new sighting. The UPDATE's trigger (migration 0016) moves the
    sighting's identity claims; one another sighting holds is a unique violation (a 409)."""
    changes = _columns(changes)
    if any(name in changes for name in _IDENTITY):
        current = conn.execute(
            "SELECT observed_at, url_normalized, source_name, source_kind, actor_name, quote,"
            "       external_id"
            "  FROM sightings WHERE id = %(id)s FOR NO KEY UPDATE",
            {"id": id_},
        ).fetchone()
        if current is not None:
            changes["content_key"] = content_key({**current, **changes})
    update_columns(conn, "sightings", (*COLUMNS, "content_key"), id_, changes, by=by)
    phrases.lemmatize_pending(conn)


# Optional filters: parameter name -> condition. Only these fragments ever reach the SQL.
_FILTERS = {
    "narrative_id": "s.narrative_id = %(narrative_id)s",
    "source": "lower(s.source_name) = lower(%(source)s)",
    "actor": "lower(s.actor_name) = lower(%(actor)s)",
    "language": "lower(s.language) = lower(%(language)s)",
    "country": "s.country = %(country)s",
    "status": "s.status = %(status)s",
    "since": "s.observed_at >= %(since)s",
    "until": "s.observed_at < %(until)s",
    "url_normalized": "s.url_normalized = %(url_normalized)s",
}


LIST_ORDER = Keyset("s.observed_at", "s.id")


def list_page(
    conn: Connection, page: Page, *, json_as_written: bool = False, **filters: Any
) -> list[dict[str, Any]]:
    """Newest observed first; up to limit + 1 rows (the extra one says another page exists).
    `json_as_written`: the nested objects as PostgreSQL wrote them (pages.fetch)."""
    given = {name: value for name, value in filters.items() if value is not None}
    unknown = set(given) - set(_FILTERS)
    if unknown:
        raise ValueError(f"unknown sighting filters: {sorted(unknown)}")
    where = [sql.SQL(_FILTERS[name]) for name in given]  # type: ignore[arg-type]
    query, params = pages.query(sql.SQL(_SELECT), where, LIST_ORDER, page)
    return pages.fetch(conn, query, {**given, **params}, json_as_written=json_as_written)


def _text_bytes(row: dict[str, Any]) -> int:
    """Roughly what a row adds to the INSERT's message: its long texts, twice for the URL."""
    return (
        2 * len(row.get("url") or "")
        + len(row.get("quote") or "")
        + len(row.get("source_name") or "")
    )


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    """The API's shape (nested source and actor, raw URL) as columns, for the keys present."""
    row = {key: value for key, value in data.items() if key in COLUMNS}
    if "url" in data:
        row["url_normalized"] = urls.normalize(data["url"]) if data["url"] else None
    if "source" in data:
        row["source_name"] = data["source"]["name"]
        row["source_kind"] = data["source"]["kind"]
    if "actor" in data:
        actor = data["actor"] or {}
        row["actor_name"] = actor.get("name")
        row["actor_role"] = actor.get("role")
    if "reported_in" in data:
        reported_in = data["reported_in"] or {}
        row["reported_in_url"] = reported_in.get("url")
        row["reported_in_name"] = reported_in.get("name")
    return row


def content_key(row: dict[str, Any]) -> str | None:
    """The identity of a sighting with neither URL nor external_id: narrative (kept apart in
    the index), moment, source, speaker and words."""
    if row.get("url_normalized") or row.get("external_id"):
        return None
    parts = [
        row["observed_at"].astimezone(UTC).isoformat(),
        row["source_name"].casefold(),
        row["source_kind"],
        (row.get("actor_name") or "").casefold(),
        row.get("quote") or "",
    ]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()
