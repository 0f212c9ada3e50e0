"""Checks on the claims of sighting identities (migration 0016), for the tests of every path
that writes sightings."""


def claims_are_exact(conn) -> None:
    """The claims are exactly the identities of the stored sightings, each held by its own
    sighting (so no two sightings share one)."""
    expected = conn.execute(
        """
        SELECT k.identity, s.id AS sighting_id
          FROM sightings s,
               unnest(sighting_identities_of(s.narrative_id, s.url_normalized, s.reported_by,
                                             s.external_id, s.content_key)) AS k (identity)
         WHERE k.identity IS NOT NULL
         ORDER BY 1, 2
        """
    ).fetchall()
    held = conn.execute("SELECT identity, sighting_id FROM sighting_identities ORDER BY 1, 2")
    assert held.fetchall() == expected
