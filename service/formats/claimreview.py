"""schema.org ClaimReview (JSON-LD) from narratives, their sightings and rebuttals.

The unit is one rebuttal as it bears on one narrative: a ClaimReview reviews exactly one claim
(`claimReviewed` is one text, `itemReviewed` one Claim), so a rebuttal that answers three
narratives is three ClaimReviews, all pointing at the same statement URL (search engines accept
several ClaimReviews on one page).

Documents: `claim_review` is one standalone ClaimReview. The narrative and rebuttal exports are
`{"@context": "https://schema.org", "@graph": [...]}` holding the ClaimReviews: one JSON object
(so the response can grow and is the same shape whether it holds none, one or many), with the
context said once, which JSON-LD processors and Google's structured-data reader both accept.
The feed is a schema.org DataFeed whose elements are DataFeedItems, each holding a ClaimReview.

Rows come in the API's shapes (service/repo/exports.py): a narrative with `aliases`, sightings
with `source`, `actor` and an optional `reported_in` {url, name}, rebuttals with `issuer`.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from service.formats.common import stable_uuid, timestamp

CONTEXT = "https://schema.org"

# The verdict as a rating on schema.org's usual 1 (false) .. 5 (true) scale. The service records
# only statements against a claim, so 4 and 5 are never used: 1 says the claim is false, 2 that
# it distorts or rests on a basis shown to be wrong, 3 that it is unproven or contested without
# being shown false. `alternateName` always carries the verdict itself.
BEST_RATING = 5
WORST_RATING = 1
VERDICT_RATING = {
    "false": 1,
    "misleading": 2,
    "undermined": 2,
    "unsupported": 3,
    "disputed": 3,
}

Row = Mapping[str, Any]


def claim_review(rebuttal: Row, narrative: Row, sightings: Iterable[Row] = ()) -> dict[str, Any]:
    """One rebuttal as a ClaimReview of one narrative; `sightings` (any order) are the
    narrative's appearances, the earliest being its first appearance."""
    return {"@context": CONTEXT, **_review(rebuttal, narrative, list(sightings))}


def narrative_document(
    narrative: Row, rebuttals: Sequence[Row], sightings: Iterable[Row] = ()
) -> dict[str, Any]:
    """A narrative's rebuttals as a @graph of ClaimReviews, newest rebuttal first."""
    appearances = list(sightings)
    return _graph(_review(rebuttal, narrative, appearances) for rebuttal in rebuttals)


def rebuttal_document(
    rebuttal: Row, narratives: Sequence[Row], sightings: Mapping[Any, Sequence[Row]]
) -> dict[str, Any]:
    """A rebuttal as a @graph of ClaimReviews, one per narrative it answers; `sightings` maps a
    narrative's id to its sightings."""
    by_id = _by_id(sightings)
    return _graph(
        _review(rebuttal, narrative, by_id.get(str(narrative["id"]), ()))
        for narrative in narratives
    )


def data_feed(
    rebuttals: Sequence[Row],
    narratives: Mapping[Any, Row],
    sightings: Mapping[Any, Sequence[Row]],
) -> dict[str, Any]:
    """A page of the feed: a DataFeedItem per (rebuttal, narrative) pair, in the rebuttals' order.
    A rebuttal's narratives missing from `narratives` (archived ones) are left out."""
    known, appearances = _by_id(narratives), _by_id(sightings)
    elements = []
    for rebuttal in rebuttals:
        for ref in rebuttal["narratives"]:
            narrative = known.get(str(ref["id"]))
            if narrative is None:
                continue
            elements.append(
                {
                    "@type": "DataFeedItem",
                    "dateCreated": timestamp(rebuttal["created_at"]),
                    "dateModified": timestamp(rebuttal["updated_at"]),
                    "item": _review(rebuttal, narrative, appearances.get(str(ref["id"]), ())),
                }
            )
    feed: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "DataFeed",
        "name": "Narrative Tracker: rebuttals of tracked narratives",
        "dataFeedElement": elements,
    }
    if rebuttals:
        feed["dateModified"] = max(timestamp(r["updated_at"]) for r in rebuttals)
    return feed


def _by_id(mapping: Mapping[Any, Any]) -> dict[str, Any]:
    """Keyed by the id as text: a row's id is a UUID, a nested reference's (from SQL's json
    functions) is a string."""
    return {str(key): value for key, value in mapping.items()}


def _graph(reviews: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"@context": CONTEXT, "@graph": list(reviews)}


def _review(rebuttal: Row, narrative: Row, sightings: Sequence[Row]) -> dict[str, Any]:
    verdict = rebuttal["verdict"]
    return {
        "@type": "ClaimReview",
        "@id": f"urn:uuid:{stable_uuid('claimreview', rebuttal['id'], narrative['id'])}",
        "url": rebuttal["url"],
        "claimReviewed": narrative["title"],
        "itemReviewed": _claim(narrative, sightings),
        "author": _issuer(rebuttal["issuer"]),
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": VERDICT_RATING[verdict],
            "bestRating": BEST_RATING,
            "worstRating": WORST_RATING,
            "alternateName": verdict,
        },
        "reviewBody": rebuttal["statement"],
        "datePublished": timestamp(rebuttal["published_at"]),
        "inLanguage": rebuttal["language"],
    }


def _claim(narrative: Row, sightings: Sequence[Row]) -> dict[str, Any]:
    claim: dict[str, Any] = {"@type": "Claim", "name": narrative["title"]}
    if narrative.get("summary"):
        claim["description"] = narrative["summary"]
    aliases = [alias["text"] for alias in narrative.get("aliases") or ()]
    if aliases:
        claim["alternateName"] = aliases
    ordered = _dedupe(sorted(sightings, key=lambda s: (timestamp(s["observed_at"]), str(s["id"]))))
    if ordered:
        first, rest = ordered[0], ordered[1:]
        claim["datePublished"] = timestamp(first["observed_at"])
        claim["author"] = _speaker(first)
        claim["firstAppearance"] = _appearance(first)
        if rest:
            # Newest first, like every list of the service.
            claim["appearance"] = [_appearance(s) for s in reversed(rest)]
    return claim


def _appearance(sighting: Row) -> dict[str, Any]:
    work: dict[str, Any] = {
        "@type": "CreativeWork",
        "datePublished": timestamp(sighting["observed_at"]),
        "author": _speaker(sighting),
        "publisher": _organization(sighting["source"]["name"]),
        "inLanguage": sighting["language"],
    }
    reported_in = sighting.get("reported_in") or {}
    if sighting.get("url"):
        work["url"] = sighting["url"]
    elif reported_in.get("url"):
        # Heard in a video or reported second-hand: the page a reader can open is the report,
        # published by whoever reported it.
        work["url"] = reported_in["url"]
        if reported_in.get("name"):
            work["publisher"] = _organization(reported_in["name"])
    if sighting.get("quote"):
        work["text"] = sighting["quote"]
    return work


def _speaker(sighting: Row) -> dict[str, Any]:
    """Who said it: the actor when known, else the source that carried it."""
    actor = sighting.get("actor")
    if actor:
        person: dict[str, Any] = {"@type": "Person", "name": actor["name"]}
        if actor.get("role"):
            person["jobTitle"] = actor["role"]
        return person
    return _organization(sighting["source"]["name"])


def _issuer(issuer: Row) -> dict[str, Any]:
    """An issuer with a role is a person holding an office; one without is an organization (a
    government, a newsroom, "US officials")."""
    country = issuer.get("country")
    organization = issuer.get("organization")
    if issuer.get("role"):
        person: dict[str, Any] = {
            "@type": "Person",
            "name": issuer["name"],
            "jobTitle": issuer["role"],
        }
        if organization:
            person["affiliation"] = _organization(organization, country)
        elif country:
            person["nationality"] = {"@type": "Country", "identifier": country}
        return person
    result = _organization(issuer["name"], country)
    if organization and organization != issuer["name"]:
        result["parentOrganization"] = _organization(organization)
    return result


def _organization(name: str, country: str | None = None) -> dict[str, Any]:
    organization: dict[str, Any] = {"@type": "Organization", "name": name}
    if country:
        organization["address"] = {"@type": "PostalAddress", "addressCountry": country}
    return organization


def _dedupe(sightings: list[Row]) -> list[Row]:
    seen: set[str] = set()
    unique = []
    for sighting in sightings:
        if str(sighting["id"]) not in seen:
            seen.add(str(sighting["id"]))
            unique.append(sighting)
    return unique
