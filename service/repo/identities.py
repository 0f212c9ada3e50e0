"""Claims on sighting identities (migration 0016): how writers of sightings avoid each other.

A sighting's identities (narrative + normalised URL, content, key + external_id) are rows of
one table under one primary key. A writer claims every identity of what it writes in one
statement, in identity order, before it writes any sighting: it then only ever waits for an
identity greater than all those it holds, so concurrent writers cannot deadlock, and no lock per
monitor is needed. Whatever it could not claim is held by a stored sighting: the item is a
duplicate of it. Functions take a connection first and never commit.
"""

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import Connection

# An identity as 32 hex digits, as PostgreSQL reads a uuid: cheaper to make than a UUID.
Keys = tuple[str | None, str | None, str | None]


def digest(tagged: str) -> str:
    """SQL's sighting_identity(tagged): the first 128 bits of its SHA-256."""
    return hashlib.sha256(tagged.encode()).hexdigest()[:32]


def of(row: Mapping[str, Any], by: str) -> Keys:
    """SQL's sighting_identities_of: a row's identities in order of precedence (URL, content,
    external_id), None for one it lacks (tests/test_identities.py holds the two equal)."""
    narrative = str(row["narrative_id"])
    url, content = row.get("url_normalized"), row.get("content_key")
    external = row.get("external_id")
    return (
        None if url is None else digest("u" + narrative + url),
        None if content is None else digest("c" + narrative + content),
        None if external is None else digest(f"e{len(by)}:{by}{external}"),
    )


# The one statement that waits: each identity for the sighting id given, in identity order.
CLAIM = """
INSERT INTO sighting_identities (identity, sighting_id)
SELECT c.identity, c.sighting_id
  FROM unnest(%(identity)b::uuid[], %(sighting_id)b::uuid[]) AS c (identity, sighting_id)
 ORDER BY c.identity
ON CONFLICT DO NOTHING
"""

# Who holds identities after a claim: this writer (the id it claimed for), a stored sighting
# (a holder that was still writing was waited for), or one that is gone (stored false).
_HOLDERS = """
SELECT c.identity, c.sighting_id, s.id IS NOT NULL AS stored
  FROM sighting_identities c
  LEFT JOIN sightings s ON s.id = c.sighting_id
 WHERE c.identity = ANY(%(identity)b::uuid[])
"""

# Claims this writer holds and will not use are freed (sighting_id NULL), or moved to the item
# that is stored under them. Only its own claims: nothing here waits.
_SETTLE = """
WITH f AS (
    SELECT * FROM unnest(%(identity)b::uuid[], %(sighting_id)b::uuid[]) AS f (identity, sighting_id)
), freed AS (
    DELETE FROM sighting_identities c USING f
     WHERE c.identity = f.identity AND f.sighting_id IS NULL
)
UPDATE sighting_identities c SET sighting_id = f.sighting_id
  FROM f
 WHERE c.identity = f.identity AND f.sighting_id IS NOT NULL
"""


def claim(
    conn: Connection, wanted: Mapping[str, uuid.UUID]
) -> tuple[dict[str, uuid.UUID], dict[str, uuid.UUID]]:
    """Claim each identity of `wanted` for its sighting id; returns (the claims taken: {identity:
    id}, the identities stored sightings hold: {identity: their id}). An identity in neither
    was held by a sighting that has since gone."""
    params = {"identity": list(wanted), "sighting_id": list(wanted.values())}
    if conn.execute(CLAIM, params).rowcount == len(wanted):
        return dict(wanted), {}
    mine, held = {}, {}
    for row in conn.execute(_HOLDERS, {"identity": list(wanted)}).fetchall():
        key = row["identity"].hex
        if row["sighting_id"] == wanted[key]:
            mine[key] = wanted[key]
        elif row["stored"]:
            held[key] = row["sighting_id"]
    return mine, held


def settle(conn: Connection, moves: Mapping[str, uuid.UUID | None]) -> None:
    """Free (None) or move this transaction's claims."""
    conn.execute(_SETTLE, {"identity": list(moves), "sighting_id": list(moves.values())})


@dataclass
class Fate:
    """What becomes of each item: stored, a duplicate of a sighting (its id), or blocked (an
    identity it needs is neither its writer's nor held by a sighting: the holder vanished after
    the claim; it needs another claim). `moves` settles the writer's claims."""

    created: list[int] = field(default_factory=list)
    duplicates: dict[int, uuid.UUID] = field(default_factory=dict)
    blocked: list[int] = field(default_factory=list)
    moves: dict[str, uuid.UUID | None] = field(default_factory=dict)


def decide(
    order: Iterable[int],
    keys: Mapping[int, Keys],
    ids: Mapping[int, uuid.UUID],
    mine: Mapping[str, uuid.UUID],
    held: Mapping[str, uuid.UUID],
) -> Fate:
    """Items in `order` (input order: of items sharing an identity the first is stored), with
    their identities (`keys`) and would-be ids (`ids`), given the claims this writer holds
    (`mine`: identity -> the id it was claimed for) and those stored sightings hold (`held`).

    An item is a duplicate of the first of its identities (in precedence order) held by a
    sighting or by an item stored before it; else it is stored if the writer holds all its
    identities. An item that is not stored frees its claims for the items after it: its other
    identities are no one's yet."""
    fate = Fate()
    taken: dict[str, int] = {}  # identity -> the stored item it is claimed for
    for index in order:
        duplicate_of = None
        blocked = False
        for key in keys[index]:
            if key is None:
                continue
            if key in held:
                duplicate_of = held[key]
                break
            if key in taken:
                duplicate_of = ids[taken[key]]
                break
            if key not in mine:
                blocked = True
        if duplicate_of is not None:
            fate.duplicates[index] = duplicate_of
        elif blocked:
            fate.blocked.append(index)
        else:
            fate.created.append(index)
            taken.update((key, index) for key in keys[index] if key is not None)
    for key, claimed_for in mine.items():
        owner = ids[taken[key]] if key in taken else None
        if owner != claimed_for:
            fate.moves[key] = owner
    return fate
